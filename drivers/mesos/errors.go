package mesos

import (
	"errors"
	"fmt"
	"net/http"

	"theseus.dev/internal/httpclient"
)

// ErrNotFound is a 404 of Mesos (an unknown path or file, an agent that
// does not serve an endpoint), or an agent, task or sandbox the driver
// looked for and did not find. Match it with errors.Is.
var ErrNotFound = errors.New("not found in Mesos")

// APIError is an error answer of Mesos other than 404. Mesos answers
// errors with a line of text ("No leader elected", "Failed to parse
// offset: ..."), kept in Message.
type APIError struct {
	// URL is what was asked, with the credentials left out.
	URL     string
	Status  int
	Message string
}

func (e *APIError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("mesos GET %s: %d %s", e.URL, e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("mesos GET %s: %d %s", e.URL, e.Status, e.Message)
}

// Permanent reports whether asking again cannot help: a malformed request
// (400), missing or refused credentials (401, 403), or an endpoint the
// Mesos asked does not have (405, 501).
func (e *APIError) Permanent() bool {
	switch e.Status {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden,
		http.StatusMethodNotAllowed, http.StatusNotImplemented:
		return true
	}
	return false
}

// IsPermanent reports whether err is, or wraps, an error that retrying
// cannot fix.
func IsPermanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}

// decodeError is an answer that is not Mesos's JSON: never retried.
type decodeError struct{ err error }

func (e *decodeError) Error() string   { return e.err.Error() }
func (e *decodeError) Unwrap() error   { return e.err }
func (e *decodeError) Permanent() bool { return true }

func isDecodeError(err error) bool {
	var de *decodeError
	return errors.As(err, &de)
}

// apiError turns a non-200 answer into the driver's errors.
func apiError(url string, status int, body []byte) error {
	msg := httpclient.ErrorText(body)
	if status == http.StatusNotFound {
		if msg == "" {
			msg = "404"
		}
		return fmt.Errorf("mesos GET %s: %s: %w", url, msg, ErrNotFound)
	}
	return &APIError{URL: url, Status: status, Message: msg}
}

// notLeaderError is a master that answered though it does not lead (Mesos
// before 1.0 does not redirect): the next master is asked.
type notLeaderError struct{ pid, leader string }

func (e *notLeaderError) Error() string {
	if e.leader == "" {
		return fmt.Sprintf("%s does not lead and knows of no leader", e.pid)
	}
	return fmt.Sprintf("%s does not lead, %s does: list it among the Mesos masters", e.pid, e.leader)
}
