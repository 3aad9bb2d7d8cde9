package marathon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"theseus.dev/specs"
)

// List returns every app under the root whose id names a group, managed or
// not, with tasks, deployments and last task failure, in one call, sorted
// by id.
func (c *Client) List(ctx context.Context) ([]App, error) {
	q := url.Values{"embed": {"apps.tasks", "apps.deployments", "apps.lastTaskFailure"}}
	if c.root != "" {
		q.Set("id", c.root+"/")
	}
	r := request{method: http.MethodGet, path: "/v2/apps", endpoint: "/v2/apps", query: q, idempotent: true}
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	if resp.status != http.StatusOK {
		return nil, c.apiError(r, resp, "")
	}
	return decodeApps(c.root, resp.body)
}

// decodeApps decodes the answer of GET /v2/apps.
func decodeApps(root string, body []byte) ([]App, error) {
	var list struct {
		Apps []appJSON `json:"apps"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("marathon GET /v2/apps: decode: %w", err)
	}
	apps := make([]App, 0, len(list.Apps))
	for i := range list.Apps {
		if a, ok := toApp(root, &list.Apps[i]); ok {
			apps = append(apps, a)
		}
	}
	slices.SortFunc(apps, func(a, b App) int { return strings.Compare(a.ID, b.ID) })
	return apps, nil
}

// Get reads the group's app with its tasks, deployments and last task
// failure; an absent app is an error matching ErrNotFound.
func (c *Client) Get(ctx context.Context, key specs.GroupKey) (App, error) {
	q := url.Values{"embed": {"app.tasks", "app.deployments", "app.lastTaskFailure"}}
	r := request{method: http.MethodGet, path: c.appPath(key), endpoint: "/v2/apps/{id}", query: q, idempotent: true}
	resp, err := c.do(ctx, r)
	if err != nil {
		return App{}, err
	}
	if resp.status != http.StatusOK {
		return App{}, c.apiError(r, resp, specs.AppID(c.root, key))
	}
	return decodeApp(c.root, resp.body)
}

func decodeApp(root string, body []byte) (App, error) {
	var one struct {
		App appJSON `json:"app"`
	}
	if err := json.Unmarshal(body, &one); err != nil {
		return App{}, fmt.Errorf("marathon GET /v2/apps/{id}: decode: %w", err)
	}
	a, ok := toApp(root, &one.App)
	if !ok {
		return App{}, fmt.Errorf("marathon app %q names no group under %q", one.App.ID, root)
	}
	return a, nil
}

// writeResult is Marathon's answer to a PUT, restart or DELETE.
type writeResult struct {
	Version      string `json:"version"`
	DeploymentID string `json:"deploymentId"`
}

// Create posts the full definition of the group's app.
func (c *Client) Create(ctx context.Context, w Write) (Result, error) {
	gen, err := c.generation(ctx)
	if err != nil {
		return Result{}, err
	}
	r := request{method: http.MethodPost, path: "/v2/apps", endpoint: "/v2/apps", body: definition(c.root, w, gen)}
	resp, err := c.do(ctx, r)
	if err != nil {
		return c.settle(ctx, "create "+w.Key.String(), err, func(a *App) bool { return writtenFrom(a, w) })
	}
	switch {
	case resp.status == http.StatusCreated:
		var a appJSON
		if err := json.Unmarshal(resp.body, &a); err != nil {
			return Result{}, fmt.Errorf("marathon create %s: decode: %w", w.Key, err)
		}
		res := Result{Version: a.Version}
		if len(a.Deployments) > 0 {
			res.DeploymentID = a.Deployments[0].ID
		}
		return res, nil
	case resp.status == http.StatusConflict:
		// Already there: ours from an earlier attempt whose answer was
		// lost, or someone else's.
		if a, gerr := c.Get(ctx, w.Key); gerr == nil && writtenFrom(&a, w) {
			return Result{Version: a.Version, DeploymentID: first(a.Deployments)}, nil
		}
	}
	return Result{}, c.apiError(r, resp, specs.AppID(c.root, w.Key))
}

// Update replaces the group's app definition with the full definition of
// w: partialUpdate=false where Marathon knows it (1.5+), and every
// controlled field sent, empty when unset, so nothing removed survives.
func (c *Client) Update(ctx context.Context, w Write) (Result, error) {
	gen, err := c.generation(ctx)
	if err != nil {
		return Result{}, err
	}
	q := url.Values{}
	if gen {
		q.Set("partialUpdate", "false")
	}
	return c.write(ctx, request{method: http.MethodPut, path: c.appPath(w.Key), endpoint: "/v2/apps/{id}",
		query: q, body: definition(c.root, w, gen)}, w.Key, func(a *App) bool { return writtenFrom(a, w) })
}

// Scale sets the instances only: Marathon scales without restarting the
// running tasks.
func (c *Client) Scale(ctx context.Context, key specs.GroupKey, instances int) (Result, error) {
	body := map[string]int{"instances": instances}
	return c.write(ctx, request{method: http.MethodPut, path: c.appPath(key), endpoint: "/v2/apps/{id}", body: body},
		key, func(a *App) bool { return a.Counts.Wanted == instances })
}

// Restart asks Marathon for a rolling restart of the group's app.
func (c *Client) Restart(ctx context.Context, key specs.GroupKey) (Result, error) {
	return c.write(ctx, request{method: http.MethodPost, path: c.appPath(key) + "/restart",
		endpoint: "/v2/apps/{id}/restart", body: struct{}{}}, key, nil)
}

// Delete deletes the group's app; an absent app is an error matching
// ErrNotFound.
func (c *Client) Delete(ctx context.Context, key specs.GroupKey) (Result, error) {
	return c.write(ctx, request{method: http.MethodDelete, path: c.appPath(key), endpoint: "/v2/apps/{id}"}, key, nil)
}

// write makes a write answered by {version, deploymentId}. A failure with
// no answer is settled by reading the app with done.
func (c *Client) write(ctx context.Context, r request, key specs.GroupKey, done func(*App) bool) (Result, error) {
	op := strings.ToLower(r.method) + " " + r.path
	resp, err := c.do(ctx, r)
	if err != nil {
		if r.method == http.MethodDelete {
			return c.settleDelete(ctx, op, key, err)
		}
		return c.settle(ctx, op, err, done, key)
	}
	if resp.status < 200 || resp.status > 299 {
		return Result{}, c.apiError(r, resp, specs.AppID(c.root, key))
	}
	var wr writeResult
	if err := json.Unmarshal(resp.body, &wr); err != nil {
		return Result{}, fmt.Errorf("marathon %s: decode: %w", op, err)
	}
	return Result{DeploymentID: wr.DeploymentID, Version: wr.Version}, nil
}

// settle decides a write that got no answer by reading the app: if it
// shows the write, the write happened; otherwise its outcome is unknown
// and the caller must look again before retrying.
func (c *Client) settle(ctx context.Context, op string, err error, done func(*App) bool, key ...specs.GroupKey) (Result, error) {
	if done == nil || len(key) == 0 || ctx.Err() != nil {
		return Result{}, &UnknownOutcomeError{Op: op, Err: err}
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.Timeout)
	defer cancel()
	a, gerr := c.Get(rctx, key[0])
	if gerr == nil && done(&a) {
		return Result{Version: a.Version, DeploymentID: first(a.Deployments)}, nil
	}
	return Result{}, &UnknownOutcomeError{Op: op, Err: err}
}

func (c *Client) settleDelete(ctx context.Context, op string, key specs.GroupKey, err error) (Result, error) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.Timeout)
	defer cancel()
	if _, gerr := c.Get(rctx, key); errors.Is(gerr, ErrNotFound) {
		return Result{}, nil
	}
	return Result{}, &UnknownOutcomeError{Op: op, Err: err}
}

// writtenFrom reports whether the app carries w's hash and revision.
func writtenFrom(a *App, w Write) bool {
	return a.Managed && a.SpecHash == w.Hash && a.Revision == w.Revision
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// deploymentJSON is one entry of GET /v2/deployments. Steps and actions
// are objects in Marathon ≥0.10, {"actions":[{"action","app"}]}.
type deploymentJSON struct {
	ID             string   `json:"id"`
	Version        string   `json:"version"`
	AffectedApps   []string `json:"affectedApps"`
	CurrentStep    int      `json:"currentStep"`
	TotalSteps     int      `json:"totalSteps"`
	CurrentActions []struct {
		Action string `json:"action"`
		App    string `json:"app"`
	} `json:"currentActions"`
}

// Deployments lists the deployments in flight.
func (c *Client) Deployments(ctx context.Context) ([]Deployment, error) {
	r := request{method: http.MethodGet, path: "/v2/deployments", endpoint: "/v2/deployments", idempotent: true}
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	if resp.status != http.StatusOK {
		return nil, c.apiError(r, resp, "")
	}
	var list []deploymentJSON
	if err := json.Unmarshal(resp.body, &list); err != nil {
		return nil, fmt.Errorf("marathon GET /v2/deployments: decode: %w", err)
	}
	out := make([]Deployment, len(list))
	for i, d := range list {
		out[i] = Deployment{ID: d.ID, Version: d.Version, AffectedApps: d.AffectedApps,
			CurrentStep: d.CurrentStep, TotalSteps: d.TotalSteps}
		for _, a := range d.CurrentActions {
			out[i].CurrentActions = append(out[i].CurrentActions, DeploymentAction{Action: a.Action, App: a.App})
		}
	}
	return out, nil
}

// CancelDeployment cancels a deployment: with force it just stops (202),
// without it Marathon starts a rollback deployment.
func (c *Client) CancelDeployment(ctx context.Context, id string, force bool) (Result, error) {
	q := url.Values{}
	if force {
		q.Set("force", "true")
	}
	r := request{method: http.MethodDelete, path: "/v2/deployments/" + url.PathEscape(id), endpoint: "/v2/deployments/{id}", query: q}
	resp, err := c.do(ctx, r)
	if err != nil {
		return Result{}, &UnknownOutcomeError{Op: "cancel deployment " + id, Err: err}
	}
	if resp.status < 200 || resp.status > 299 {
		return Result{}, c.apiError(r, resp, "")
	}
	var wr writeResult
	if len(resp.body) > 0 {
		_ = json.Unmarshal(resp.body, &wr)
	}
	return Result{DeploymentID: wr.DeploymentID, Version: wr.Version}, nil
}
