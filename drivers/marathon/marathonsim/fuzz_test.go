package marathonsim

import (
	"bytes"
	"encoding/json"
	"fmt"
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

// FuzzLabelSelector: any label selector of GET /v2/apps?label= is parsed
// or refused with Marathon's 422, never a 5xx or a panic, and what parses
// is well formed: a name, an operator and the values it takes.
func FuzzLabelSelector(f *testing.F) {
	for _, seed := range []string{"", "a", "a==b", "a!=b", " a in (b, c) ", "a notin (b)", "a,b==c",
		`a\,b==c\ d`, "a==", "a in (", "a in ()", ",", "a,", "==b", "a in b", "in in (in)", `\`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sel, err := parseLabelSelectors(s)
		for _, l := range sel {
			n := map[string]int{"exists": 0, "==": 1, "!=": 1}[l.op]
			if l.op == "in" || l.op == "notin" {
				n = max(1, len(l.values))
			}
			if l.key == "" || len(l.values) != n || n == 0 && l.op != "exists" {
				t.Fatalf("%q parsed as %+v", s, l)
			}
			l.matches(map[string]string{l.key: "x"})
		}
		h := newHarness(t, Gen15)
		r := h.do("GET", "/v2/apps?"+url.Values{"label": {s}}.Encode(), nil)
		switch {
		case err == nil && r.status != http.StatusOK:
			t.Fatalf("%q parsed, answered %d: %s", s, r.status, r.body)
		case err != nil && (r.status != http.StatusUnprocessableEntity || !json.Valid(r.body) ||
			!strings.Contains(string(r.body), "Can not parse label selector")):
			t.Fatalf("%q refused as %v, answered %d: %s", s, err, r.status, r.body)
		}
	})
}

// FuzzTasksDelete: any body of POST /v2/tasks/delete, with or without
// scale, gets Marathon's answer (200, or a 4xx with a JSON body), never a
// 5xx, and the app whose tasks it names still reads back.
func FuzzTasksDelete(f *testing.F) {
	for _, seed := range []string{`{"ids":["fz.0"]}`, `{"ids":[]}`, `{"ids":["x"]}`, `{"ids":[1]}`, `{}`, `[]`, `null`,
		`{"ids":"fz.0"}`, `{"ids":["fz.0","fz.0"]}`, `{`} {
		f.Add(false, []byte(seed))
		f.Add(true, []byte(seed))
	}
	f.Fuzz(func(t *testing.T, scale bool, body []byte) {
		h := newHarness(t, Gen15)
		h.create(map[string]any{"id": "/fz", "cmd": "sleep 100", "instances": 2})
		var ids []string
		for _, task := range h.sim.Tasks("/fz") {
			ids = append(ids, task.ID)
		}
		// Name the app's tasks by their ids: "fz.N" is task N.
		for i, id := range ids {
			body = bytes.ReplaceAll(body, []byte(fmt.Sprintf("fz.%d", i)), []byte(id))
		}
		r := h.do("POST", fmt.Sprintf("/v2/tasks/delete?scale=%v", scale), body)
		switch {
		case r.status == http.StatusOK:
		case r.status >= 400 && r.status < 500:
			if !json.Valid(r.body) {
				t.Fatalf("%q answered %d with a body that is not JSON: %q", body, r.status, r.body)
			}
		default:
			t.Fatalf("%q: status %d: %s", body, r.status, r.body)
		}
		h.advance(5 * time.Minute)
		if one := h.do("GET", "/v2/apps/fz", nil); one.status != http.StatusOK || !json.Valid(one.body) {
			t.Fatalf("GET /v2/apps/fz after %q: %d %s", body, one.status, one.body)
		}
	})
}
