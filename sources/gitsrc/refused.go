package gitsrc

import (
	"errors"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"

	"theseus.dev/internal/httpclient"
)

// refusedFetch is a fetch the server refused (HTTP 401, 403 or 404),
// told in one line; errors.Is still sees the transport's error.
type refusedFetch struct {
	err error
	msg string
}

func (e *refusedFetch) Error() string { return e.msg }
func (e *refusedFetch) Unwrap() error { return e.err }

// refused says what err means when the server refused the fetch, and
// returns other errors as they are. go-git follows its error with the
// whole body of the answer: nothing at all, a line of text, or a proxy's
// or login page's HTML, quoted over many lines at every failed poll.
func (r *Repo) refused(err error) error {
	sent := r.cfg.Auth != nil || r.secret != "" || strings.Contains(r.cfg.URL, "@")
	var what string
	var cause error
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired):
		cause, what = transport.ErrAuthenticationRequired, "the server wants credentials, and none were given"
		if sent {
			what = "the server refused the credentials given"
		}
	case errors.Is(err, transport.ErrAuthorizationFailed):
		cause, what = transport.ErrAuthorizationFailed, "the credentials given may not read this repository"
	case errors.Is(err, transport.ErrRepositoryNotFound):
		cause, what = transport.ErrRepositoryNotFound, "no such repository, or one that needs credentials"
		if sent {
			what = "no such repository, or one the credentials given may not read"
		}
	default:
		return err
	}
	msg := cause.Error() + " (" + what + ")"
	if reason := serverReason(err, cause); reason != "" {
		msg += "; the server says: " + reason
	}
	return &refusedFetch{err: err, msg: msg}
}

// serverReason is the text of the answer that err quotes after cause,
// as httpclient.ErrorText gives an error page: one line, without markup
// or control characters, at most 200 characters.
func serverReason(err, cause error) string {
	_, body, ok := strings.Cut(err.Error(), cause.Error()+": ")
	if !ok {
		return ""
	}
	return httpclient.ErrorText([]byte(body))
}
