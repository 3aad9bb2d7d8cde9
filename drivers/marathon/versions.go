package marathon

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"

	jsonv2 "github.com/go-json-experiment/json"

	"theseus.dev/specs"
)

// Version reads the group's app as it was defined at version, one of the
// versions Marathon keeps (GET /v2/apps/{id}/versions/{version}), so that
// tasks started from an older definition can be told what they run. The
// answer has no tasks or deployments. A version Marathon no longer keeps,
// like an absent app, is an error matching ErrNotFound.
func (c *Client) Version(ctx context.Context, key specs.GroupKey, version string) (App, error) {
	path := c.appPath(key) + "/versions/" + url.PathEscape(version)
	r := &call{method: http.MethodGet, path: path, endpoint: "/v2/apps/{id}/versions/{version}", read: true}
	a, err := c.do(ctx, r)
	if err != nil {
		return App{}, err
	}
	if a.status != http.StatusOK {
		return App{}, c.apiError(r.method, r.path, a.status, a.body, specs.AppID(c.root, key))
	}
	j, err := decodeVersion(a.body)
	if err != nil {
		return App{}, fmt.Errorf("marathon GET %s: decode: %w", r.path, err)
	}
	if j.ID != specs.AppID(c.root, key) {
		return App{}, fmt.Errorf("marathon GET %s: answered with app %q", r.path, j.ID)
	}
	return convert(c.root, key, j), nil
}

// decodeVersion decodes an app definition answered on its own, not under
// a key.
func decodeVersion(body []byte) (*appJSON, error) {
	var j appJSON
	if err := jsonv2.UnmarshalRead(bytes.NewReader(body), &j, decodeOptions); err != nil {
		return nil, err
	}
	return &j, nil
}
