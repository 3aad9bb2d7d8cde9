package marathon

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	gomarathon "github.com/gambol99/go-marathon"
)

// Deployments lists the deployments in flight (GET /v2/deployments).
// go-marathon's Deployment type decodes them: it reads every generation's
// shape of the fields used here.
func (c *Client) Deployments(ctx context.Context) ([]Deployment, error) {
	r := &call{method: http.MethodGet, path: "/v2/deployments", endpoint: "/v2/deployments", read: true}
	a, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	if a.status != http.StatusOK {
		return nil, c.apiError(r.method, r.path, a.status, a.body, "")
	}
	return decodeDeployments(a.body)
}

func decodeDeployments(body []byte) ([]Deployment, error) {
	var list []*gomarathon.Deployment
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("marathon GET /v2/deployments: decode: %w", err)
	}
	out := make([]Deployment, 0, len(list))
	for _, d := range list {
		if d == nil {
			continue
		}
		dep := Deployment{ID: d.ID, Version: d.Version, AffectedApps: d.AffectedApps,
			CurrentStep: d.CurrentStep, TotalSteps: d.TotalSteps}
		for _, s := range d.CurrentActions {
			if s != nil {
				dep.CurrentActions = append(dep.CurrentActions, DeploymentAction{Action: s.Action, App: s.App})
			}
		}
		out = append(out, dep)
	}
	return out, nil
}

// CancelDeployment cancels a deployment (DELETE /v2/deployments/{id}):
// with force it just stops (202) and may leave the app half old, half new;
// without, Marathon starts a rollback deployment, whose id the Result
// carries. An unknown id is an error matching ErrNotFound. When the answer
// is lost, the deployment list settles it: gone means cancelled.
func (c *Client) CancelDeployment(ctx context.Context, id string, force bool) (Result, error) {
	q := url.Values{}
	if force {
		q.Set("force", "true")
	}
	r := &call{method: http.MethodDelete, path: "/v2/deployments/" + url.PathEscape(id),
		endpoint: "/v2/deployments/{id}", query: q}
	a, err := c.do(ctx, r)
	switch {
	case isNotSent(err):
		return Result{}, err
	case err == nil && a.status < 500:
	case err == nil:
		err = c.apiError(r.method, r.path, a.status, a.body, "")
		fallthrough
	default:
		if ctx.Err() == nil {
			if deps, lerr := c.Deployments(ctx); lerr == nil &&
				!slices.ContainsFunc(deps, func(d Deployment) bool { return d.ID == id }) {
				return Result{}, nil
			}
		}
		return Result{}, &UnknownOutcomeError{Op: fmt.Sprintf("marathon %s %s", r.method, r.path), Err: err}
	}
	if a.status < 200 || a.status > 299 {
		return Result{}, c.apiError(r.method, r.path, a.status, a.body, "")
	}
	return decodeResult(a.header, a.body), nil
}
