package marathon

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNotFound: Marathon has no such app (404).
var ErrNotFound = errors.New("not found in Marathon")

// LockedError is Marathon's 409 "App is locked by one or more
// deployments": a wait, not a failure. The app is looked at again when
// the deployments end.
type LockedError struct {
	AppID       string
	Deployments []string
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("app %s is locked by deployment(s) %s", e.AppID, strings.Join(e.Deployments, ", "))
}

// Detail is one entry of the details of Marathon's 422 answer.
type Detail struct {
	Path   string   `json:"path"`
	Errors []string `json:"errors"`
}

// APIError is an error answer of Marathon other than 404 and 409 locked.
type APIError struct {
	Method, Endpoint string
	Status           int
	Message          string
	Details          []Detail
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "marathon %s %s: %d", e.Method, e.Endpoint, e.Status)
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	for _, d := range e.Details {
		fmt.Fprintf(&b, "; %s: %s", d.Path, strings.Join(d.Errors, ", "))
	}
	return b.String()
}

// Permanent reports whether sending the same request again cannot help:
// Marathon refused it as invalid (400, 422).
func (e *APIError) Permanent() bool { return e.Status == 400 || e.Status == 422 }

// IsPermanent reports whether err is, or wraps, an error that retrying
// cannot fix.
func IsPermanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}

// UnknownOutcomeError is a write whose outcome is not known (a timeout, a
// connection lost after the request was sent), and that a read of the app
// could not settle. The app must be read again before anything is retried.
type UnknownOutcomeError struct {
	Op  string
	Err error
}

func (e *UnknownOutcomeError) Error() string {
	return fmt.Sprintf("%s: outcome unknown: %v", e.Op, e.Err)
}

func (e *UnknownOutcomeError) Unwrap() error { return e.Err }
