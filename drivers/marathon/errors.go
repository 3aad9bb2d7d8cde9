package marathon

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	gomarathon "github.com/gambol99/go-marathon"

	"theseus.dev/internal/httpclient"
	"theseus.dev/model"
)

// ErrNotFound: Marathon has no such app (404 with Marathon's "... does
// not exist"; any other 404 is an APIError). Match it with errors.Is.
var ErrNotFound = model.ErrAppNotFound

// LockedError is Marathon's 409 "App is locked by one or more
// deployments" (model.LockedError): a wait, not a failure.
type LockedError = model.LockedError

// Detail is one entry of the details of Marathon's 400 and 422 answers:
// the JSON path of a field and what is wrong with it.
type Detail struct {
	Path   string   `json:"path"`
	Errors []string `json:"errors"`
}

// APIError is an error answer of Marathon other than 404 and 409 locked.
// Endpoint is the path called, e.g. /v2/apps/web/dev.
type APIError struct {
	Method, Endpoint string
	Status           int
	// Message is Marathon's message; Details its per-field complaints.
	Message string
	Details []Detail
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "marathon %s %s: %d", e.Method, e.Endpoint, e.Status)
	if e.Message != "" {
		fmt.Fprintf(&b, " %s", e.Message)
	}
	for i, d := range e.Details {
		sep := "; "
		if i == 0 {
			sep = ": "
		}
		fmt.Fprintf(&b, "%s%s: %s", sep, d.Path, strings.Join(d.Errors, ", "))
	}
	return b.String()
}

// Permanent reports whether sending the same request again cannot help:
// Marathon refused it as malformed (400) or invalid (422).
func (e *APIError) Permanent() bool {
	return e.Status == http.StatusBadRequest || e.Status == http.StatusUnprocessableEntity
}

// Is makes a 409 that is not a lock, Marathon's answer to a create of an
// id that exists, match model.ErrAppExists.
func (e *APIError) Is(target error) bool {
	return target == model.ErrAppExists && e.Status == http.StatusConflict
}

// IsPermanent reports whether err is, or wraps, an error that retrying
// cannot fix (model.IsPermanent).
func IsPermanent(err error) bool { return model.IsPermanent(err) }

// UnknownOutcomeError is a write whose outcome is not known (a timeout, a
// connection lost after the request was sent, a 5xx), and that a read of
// the app could not settle. The app must be read again before anything is
// retried.
type UnknownOutcomeError struct {
	Op  string
	Err error
}

func (e *UnknownOutcomeError) Error() string {
	return fmt.Sprintf("%s: outcome unknown: %v", e.Op, e.Err)
}

func (e *UnknownOutcomeError) Unwrap() error { return e.Err }

// errorBody is every shape of Marathon's error bodies: {message,
// details:[{path, errors}]} (1.0+), details as one string (400 from the
// JSON parser), {errors:[{attribute, error}]} (before 1.0), and the
// deployments of a 409 lock.
type errorBody struct {
	Message     string          `json:"message"`
	Details     json.RawMessage `json:"details"`
	Errors      json.RawMessage `json:"errors"`
	Deployments []struct {
		ID string `json:"id"`
	} `json:"deployments"`
}

// parseDetails reads the details of an error body, whatever their shape.
func (b *errorBody) parseDetails() []Detail {
	var out []Detail
	for _, raw := range []json.RawMessage{b.Details, b.Errors} {
		var list []struct {
			Detail
			Attribute string `json:"attribute"`
			Error     string `json:"error"`
		}
		var text string
		switch {
		case len(raw) == 0:
		case json.Unmarshal(raw, &list) == nil:
			for _, d := range list {
				if d.Attribute != "" || d.Error != "" {
					d.Path, d.Errors = d.Attribute, []string{d.Error}
				}
				out = append(out, d.Detail)
			}
		case json.Unmarshal(raw, &text) == nil && text != "":
			out = append(out, Detail{Path: "/", Errors: []string{text}})
		}
	}
	return out
}

// apiError turns a non-2xx answer into the driver's errors. go-marathon's
// classification tells a 409 lock (the body lists deployments) from a 409
// duplicate id.
func (c *Client) apiError(method, path string, status int, body []byte, appID string) error {
	var b errorBody
	jsonErr := json.Unmarshal(body, &b)
	var code int
	if ae, ok := gomarathon.NewAPIError(status, body).(*gomarathon.APIError); ok {
		code = ae.ErrCode
	}
	switch code {
	case gomarathon.ErrCodeNotFound:
		// Only Marathon's own word ("App '/x' does not exist", "DeploymentPlan
		// x does not exist") says the thing is absent; a proxy's page or
		// "URI not found" says the URL is wrong, and is an APIError.
		if jsonErr == nil && strings.Contains(b.Message, "does not exist") {
			return fmt.Errorf("marathon %s %s: %s: %w", method, path, b.Message, ErrNotFound)
		}
	case gomarathon.ErrCodeAppLocked:
		if h := c.cfg.Hooks.Conflict; h != nil {
			h()
		}
		ids := make([]string, len(b.Deployments))
		for i, d := range b.Deployments {
			ids[i] = d.ID
		}
		return &LockedError{AppID: appID, Deployments: ids}
	}
	msg := b.Message
	if jsonErr != nil || msg == "" {
		// Not Marathon's JSON: a proxy's or Jetty's page (502 while there
		// is no leader). Keep its start for the operator.
		msg = httpclient.ErrorText(body)
	}
	return &APIError{Method: method, Endpoint: path, Status: status, Message: msg, Details: b.parseDetails()}
}
