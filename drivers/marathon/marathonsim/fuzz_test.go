package marathonsim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzAppWrite sends any body to the app writes of the simulator, on an
// installation that runs an app /fz: whatever the body, the answer is
// Marathon's (an accepted write, or a 4xx with a JSON body, never a
// 5xx), and an accepted definition then deploys and is read back as
// JSON without failing the simulator.
func FuzzAppWrite(f *testing.F) {
	// The app writes a body is sent with, chosen by the fuzzed byte.
	appWrites := []struct{ method, target string }{
		{"POST", "/v2/apps"},
		{"PUT", "/v2/apps/fz"},
		{"PATCH", "/v2/apps/fz"},
		{"PUT", "/v2/apps"},
		{"POST", "/v2/apps?force=true"},
	}
	for _, name := range refGlob(f, "app-definitions/*.json") {
		f.Add(uint8(0), refBytes(f, name))
	}
	f.Add(uint8(2), refBytes(f, "docs-examples/app_patch.json"))
	f.Add(uint8(3), refBytes(f, "docs-examples/apps_create.json"))
	for _, seed := range []string{
		`{"id":"/fz","cmd":"sleep 1","instances":2}`,
		`{"instances":-1}`, `{"id":"/a","cmd":"x","cpus":1e308,"mem":-0}`,
		`{"id":"/a","container":{"type":"DOCKER","docker":{"image":"x"},"portMappings":[{"containerPort":99999}]}}`,
		`{"id":"/a","cmd":"x","constraints":[["hostname","GROUP_BY","x"]],"healthChecks":[{"protocol":"TCP","portIndex":3}]}`,
		`[{"id":"/a","cmd":"x"},{"id":"/a","cmd":"y"}]`,
		`null`, `[]`, `{`, `"x"`, `{"id":"/fz","id":"/y","cmd":"x"}`,
	} {
		for m := range appWrites {
			f.Add(uint8(m), []byte(seed))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		w := appWrites[int(which)%len(appWrites)]
		h := newHarness(t, Gen15)
		h.create(map[string]any{"id": "/fz", "cmd": "sleep 100", "instances": 1})
		r := h.do(w.method, w.target, body)
		switch r.status {
		case http.StatusOK, http.StatusCreated:
		case http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity:
			if !json.Valid(r.body) {
				t.Fatalf("%s %s answered %d with a body that is not JSON: %q", w.method, w.target, r.status, r.body)
			}
			return
		default:
			t.Fatalf("%s %s %q: status %d: %s", w.method, w.target, body, r.status, r.body)
		}
		if len(bytes.TrimSpace(r.body)) > 0 && !json.Valid(r.body) {
			t.Fatalf("%s %s accepted with a body that is not JSON: %q", w.method, w.target, r.body)
		}
		// The accepted definitions deploy, and every app reads back.
		h.advance(5 * time.Minute)
		list := h.must(http.StatusOK, "GET", "/v2/apps?embed=apps.tasks&embed=apps.deployments", nil)
		var apps struct {
			Apps []struct{ ID string }
		}
		if err := json.Unmarshal(list.body, &apps); err != nil {
			t.Fatalf("GET /v2/apps after %s %s: %v\n%s", w.method, w.target, err, list.body)
		}
		for _, a := range apps.Apps {
			if !strings.HasPrefix(a.ID, "/") {
				t.Fatalf("app id %q listed", a.ID)
			}
			one := h.do("GET", "/v2/apps"+(&url.URL{Path: a.ID}).EscapedPath()+"?embed=app.taskStats", nil)
			if one.status != http.StatusOK || !json.Valid(one.body) {
				t.Fatalf("GET /v2/apps%s: %d %s", a.ID, one.status, one.body)
			}
		}
	})
}
