package marathon

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	gomarathon "github.com/gambol99/go-marathon"

	"theseus.dev/specs"
)

// Create posts the full definition of the group's app (POST /v2/apps). A
// 409 "already exists" counts as created when the app there carries w's
// hash and revision: an earlier attempt whose answer was lost made it.
func (c *Client) Create(ctx context.Context, w Write) (Result, error) {
	r, err := c.definitionCall(ctx, http.MethodPost, "/v2/apps", "/v2/apps", nil, w)
	if err != nil {
		return Result{}, err
	}
	a, settled, err := c.write(ctx, r, w.Key, writtenFrom(w))
	switch {
	case settled != nil || err != nil:
		return deref(settled, Result{}), err
	case a.status == http.StatusConflict:
		if app, gerr := c.Get(ctx, w.Key); gerr == nil && writtenFrom(w)(app, nil) {
			return Result{Version: app.Version, DeploymentID: first(app.Deployments)}, nil
		}
	case a.status >= 200 && a.status <= 299:
		// The answer is the app, with its deployment.
		var app struct {
			Version     string   `json:"version"`
			Deployments []idJSON `json:"deployments"`
		}
		_ = unmarshalV1(a.body, &app) // the app is created whatever the body says
		res := Result{Version: app.Version, DeploymentID: a.header.Get("Marathon-Deployment-Id")}
		if res.DeploymentID == "" && len(app.Deployments) > 0 {
			res.DeploymentID = app.Deployments[0].ID
		}
		return res, nil
	}
	return Result{}, c.apiError(r.method, r.path, a.status, a.body, specs.AppID(c.root, w.Key))
}

// Update replaces the group's app definition with the full definition of
// w (PUT /v2/apps/{id}): with partialUpdate=false, which Marathon 1.5+
// obeys, and every controlled field sent, empty when unset, for ≤1.4,
// which merges. A field removed from the spec is removed from the app.
// With w.Force it takes the app over a deployment in flight, which
// Marathon cancels.
func (c *Client) Update(ctx context.Context, w Write) (Result, error) {
	q := url.Values{"partialUpdate": {"false"}}
	if w.Force {
		q.Set("force", "true")
	}
	r, err := c.definitionCall(ctx, http.MethodPut, c.appPath(w.Key), "/v2/apps/{id}", q, w)
	if err != nil {
		return Result{}, err
	}
	return c.deployment(ctx, r, w.Key, writtenFrom(w))
}

// Scale sets the number of instances only (PUT {"instances": n}, merged
// into the app): Marathon scales without restarting the running tasks.
// An absent app is an error matching ErrNotFound.
func (c *Client) Scale(ctx context.Context, key specs.GroupKey, instances int) (Result, error) {
	body, _ := json.Marshal(map[string]int{"instances": instances})
	r := &call{method: http.MethodPut, path: c.appPath(key), endpoint: "/v2/apps/{id}", body: body}
	res, err := c.deployment(ctx, r, key, func(a App, err error) bool { return err == nil && a.Counts.Wanted == instances })
	if IsPermanent(err) {
		// A PUT to a missing app creates it, and {"instances": n} is no
		// app: Marathon refuses it as invalid. Say what really happened.
		if _, gerr := c.Get(ctx, key); errors.Is(gerr, ErrNotFound) {
			return Result{}, gerr
		}
	}
	return res, err
}

// Restart asks Marathon for a rolling restart of the group's app (POST
// /v2/apps/{id}/restart). A restart whose answer is lost cannot be told
// from none by reading the app: it ends in an UnknownOutcomeError.
func (c *Client) Restart(ctx context.Context, key specs.GroupKey) (Result, error) {
	// Marathon reads no body here, but takes JSON only: a standby passes a
	// POST without a content type on to the leader as a form, which it
	// refuses (415).
	r := &call{method: http.MethodPost, path: c.appPath(key) + "/restart", endpoint: "/v2/apps/{id}/restart",
		body: []byte("{}")}
	return c.deployment(ctx, r, key, nil)
}

// Delete deletes the group's app (DELETE /v2/apps/{id}; Marathon cancels a
// deployment of the app in flight). An absent app is an error matching
// ErrNotFound.
func (c *Client) Delete(ctx context.Context, key specs.GroupKey) (Result, error) {
	r := &call{method: http.MethodDelete, path: c.appPath(key), endpoint: "/v2/apps/{id}"}
	return c.deployment(ctx, r, key, func(_ App, err error) bool { return errors.Is(err, ErrNotFound) })
}

// definitionCall builds the call that writes w in the shape of the
// Marathon generation answering.
func (c *Client) definitionCall(ctx context.Context, method, path, endpoint string, q url.Values, w Write) (*call, error) {
	gen, err := c.generation(ctx)
	if err != nil {
		return nil, err
	}
	def, err := definition(c.root, w, gen)
	if err != nil {
		return nil, fmt.Errorf("marathon %s %s: %w", method, path, err)
	}
	body, err := json.Marshal(def)
	if err != nil {
		return nil, fmt.Errorf("marathon %s %s: encode: %w", method, path, err)
	}
	return &call{method: method, path: path, endpoint: endpoint, query: q, body: body}, nil
}

// deployment makes a write answered by {deploymentId, version}.
func (c *Client) deployment(ctx context.Context, r *call, key specs.GroupKey, done settleFunc) (Result, error) {
	a, settled, err := c.write(ctx, r, key, done)
	if settled != nil || err != nil {
		return deref(settled, Result{}), err
	}
	if a.status < 200 || a.status > 299 {
		return Result{}, c.apiError(r.method, r.path, a.status, a.body, specs.AppID(c.root, key))
	}
	return decodeResult(a.header, a.body), nil
}

// decodeResult reads Marathon's answer to a write that started a
// deployment: {"deploymentId", "version"} and the Marathon-Deployment-Id
// header. The write is done whatever the body says (a forced deployment
// cancel answers 202 without one), so nothing here is an error.
func decodeResult(h http.Header, body []byte) Result {
	var d gomarathon.DeploymentID
	_ = unmarshalV1(body, &d)
	return Result{DeploymentID: cmp.Or(h.Get("Marathon-Deployment-Id"), d.DeploymentID), Version: d.Version}
}

// settleFunc says whether the app as read (or the error reading it) shows
// that a write took effect.
type settleFunc func(App, error) bool

// write sends a write once. When it is not known whether Marathon did it
// (no answer, or a 5xx), it reads the app: settled is the result if done
// says the write took effect, else err is an UnknownOutcomeError. A write
// that never left (no connection) is a plain error.
func (c *Client) write(ctx context.Context, r *call, key specs.GroupKey, done settleFunc) (a answer, settled *Result, err error) {
	a, err = c.do(ctx, r)
	switch {
	case isNotSent(err):
		return a, nil, err
	case err == nil && a.status < 500:
		return a, nil, nil
	case err == nil:
		err = c.apiError(r.method, r.path, a.status, a.body, specs.AppID(c.root, key))
	}
	unknown := &UnknownOutcomeError{Op: fmt.Sprintf("marathon %s %s", r.method, r.path), Err: err}
	if done == nil || ctx.Err() != nil {
		return a, nil, unknown
	}
	app, gerr := c.Get(ctx, key)
	if !done(app, gerr) {
		return a, nil, unknown
	}
	return a, &Result{Version: app.Version, DeploymentID: first(app.Deployments)}, nil
}

// writtenFrom says whether an app carries w's hash and revision.
func writtenFrom(w Write) settleFunc {
	return func(a App, err error) bool {
		return err == nil && a.Managed && a.SpecHash == w.Hash && a.Revision == w.Revision
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}
