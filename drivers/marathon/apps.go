package marathon

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"theseus.dev/specs"
)

// List returns every app under the root whose id names a group, managed
// or not, with its tasks, deployments and last task failure, sorted by
// id. It is one call, GET /v2/apps; with a root, Marathon is asked only for
// ids containing it.
func (c *Client) List(ctx context.Context) ([]App, error) {
	return c.list(ctx, fullEmbeds())
}

// ListDefinitions is List without the tasks and last task failures: the
// definitions and deployments in flight, all that a plan compares. With
// three tasks an app, Marathon's answer is less than half as long.
func (c *Client) ListDefinitions(ctx context.Context) ([]App, error) {
	return c.list(ctx, []string{"apps.deployments"})
}

func (c *Client) list(ctx context.Context, embeds []string) ([]App, error) {
	var apps []App
	err := c.listApps(ctx, embeds, func(rd io.Reader, role string) (err error) {
		apps, err = decodeAppList(rd, c.root, role)
		return err
	})
	if err != nil {
		return nil, err
	}
	return apps, nil
}

// fullEmbeds are the parts of each app that List and Relist ask for.
// apps.tasks comes first: Marathon before 1.0 read only the first embed
// parameter.
func fullEmbeds() []string { return []string{"apps.tasks", "apps.deployments", "apps.lastTaskFailure"} }

// listApps makes the call of List with embeds, handing the answer as it
// streams in to decode with the role Marathon gives an app without one.
func (c *Client) listApps(ctx context.Context, embeds []string, decode func(rd io.Reader, role string) error) error {
	q := url.Values{"embed": embeds}
	if c.root != "" {
		q.Set("id", c.root+"/")
	}
	role := c.defaultRole(ctx)
	r := &call{method: http.MethodGet, path: "/v2/apps", endpoint: "/v2/apps", query: q, read: true,
		decode: func(rd io.Reader) error { return decode(rd, role) }}
	a, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	if a.status != http.StatusOK {
		return c.apiError(r.method, r.path, a.status, a.body, "")
	}
	return nil
}

// decodeAppList decodes the answer of GET /v2/apps and keeps the apps
// whose id names a group under root, sorted by id. defaultRole is the
// role Marathon gives an app without one. The answer is scanned as it
// streams in and its apps decoded in batches on every core
// (listDecoder): decoding 10,000 apps on one was most of what a plan
// waited for.
func decodeAppList(r io.Reader, root, defaultRole string) ([]App, error) {
	d := newListDecoder(root, defaultRole)
	_, err := scanListArray(r, "apps", nil, d.add)
	apps, derr := d.wait()
	switch {
	case derr != nil:
		// Every app decoded came before where the scan stopped: the
		// first bad app is the first thing wrong with the answer.
		return nil, derr
	case err != nil:
		return nil, err
	}
	slices.SortFunc(apps, func(a, b App) int { return strings.Compare(a.ID, b.ID) })
	return apps, nil
}

// Get reads the group's app with its tasks, deployments and last task
// failure; an absent app is an error matching ErrNotFound.
func (c *Client) Get(ctx context.Context, key specs.GroupKey) (App, error) {
	q := url.Values{"embed": {"app.tasks", "app.deployments", "app.lastTaskFailure"}}
	role := c.defaultRole(ctx)
	var j *appJSON
	r := &call{method: http.MethodGet, path: c.appPath(key), endpoint: "/v2/apps/{id}", query: q, read: true,
		limit: c.maxAnswer, decode: func(body io.Reader) (err error) {
			j, err = decodeOne[appJSON](body, "app")
			return err
		}}
	a, err := c.do(ctx, r)
	if err != nil {
		return App{}, err
	}
	if a.status != http.StatusOK {
		return App{}, c.apiError(r.method, r.path, a.status, a.body, specs.AppID(c.root, key))
	}
	if j.ID != specs.AppID(c.root, key) {
		return App{}, fmt.Errorf("marathon GET %s: answered with app %q", r.path, j.ID)
	}
	app := convert(c.root, key, j)
	if j.Role != nil {
		app.DefaultRole = role
	}
	return app, nil
}
