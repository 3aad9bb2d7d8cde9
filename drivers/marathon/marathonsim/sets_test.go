package marathonsim

import (
	"fmt"
	"net/http"
	"reflect"
	"testing"
)

// TestSetsDeduped: Marathon keeps an app's constraints, health checks,
// dependencies and accepted resource roles as sets, so an app written
// with one of them twice answers with it once, in the order written; two
// equal Mesos checks are one, which is allowed.
func TestSetsDeduped(t *testing.T) {
	gens(t, func(t *testing.T, gen Generation) {
		h := newHarness(t, gen)
		op := "UNIQUE"
		if gen == Gen15 {
			op = "unique" // 1.5+ reads operators in any case and keeps none
		}
		h.create(map[string]any{"id": "/dep", "cmd": "sleep 100"})
		h.create(map[string]any{"id": "/dup", "cmd": "sleep 100",
			"portDefinitions": []any{map[string]any{"port": 0, "name": "http"}},
			"constraints":     [][]string{{"hostname", "UNIQUE"}, {"rack", "GROUP_BY", "2"}, {"hostname", op}},
			"healthChecks": []any{
				map[string]any{"protocol": "TCP"},
				map[string]any{"protocol": "MESOS_HTTP", "path": "/h"},
				map[string]any{"protocol": "TCP", "portIndex": 0, "gracePeriodSeconds": 300},
				map[string]any{"protocol": "MESOS_HTTP", "path": "/h", "portIndex": 0},
			},
			"dependencies":          []string{"/dep", "/dep"},
			"acceptedResourceRoles": []string{"*", "*"},
		})
		app := h.must(http.StatusOK, "GET", "/v2/apps/dup", nil).obj(t)["app"].(map[string]any)
		want := map[string]any{
			"constraints":           []any{[]any{"hostname", "UNIQUE"}, []any{"rack", "GROUP_BY", "2"}},
			"dependencies":          []any{"/dep"},
			"acceptedResourceRoles": []any{"*"},
		}
		for k, w := range want {
			if !reflect.DeepEqual(app[k], w) {
				t.Errorf("%s: %v, want %v", k, app[k], w)
			}
		}
		checks, _ := app["healthChecks"].([]any)
		var protocols []any
		for _, c := range checks {
			protocols = append(protocols, c.(map[string]any)["protocol"])
		}
		if !reflect.DeepEqual(protocols, []any{"TCP", "MESOS_HTTP"}) {
			t.Errorf("health checks %v", checks)
		}
	})
}

// TestHealthCheckSetOrder: of more than four health checks, Marathon's
// set keeps an order of its own, the same whatever the order written;
// of up to four, the order written.
func TestHealthCheckSetOrder(t *testing.T) {
	h := newHarness(t, Gen15)
	paths := func(n int, reverse bool) []any {
		var checks []any
		for i := range n {
			if reverse {
				i = n - 1 - i
			}
			checks = append(checks, map[string]any{"protocol": "HTTP", "path": "/" + string(rune('a'+i))})
		}
		return checks
	}
	answered := func(id string, checks []any) []any {
		h.create(map[string]any{"id": id, "cmd": "sleep 100", "healthChecks": checks,
			"portDefinitions": []any{map[string]any{"port": 0}}})
		app := h.must(http.StatusOK, "GET", "/v2/apps"+id, nil).obj(t)["app"].(map[string]any)
		var out []any
		for _, c := range app["healthChecks"].([]any) {
			out = append(out, c.(map[string]any)["path"])
		}
		return out
	}
	pathsOf := func(checks []any) []any {
		var out []any
		for _, c := range checks {
			out = append(out, c.(map[string]any)["path"])
		}
		return out
	}
	for _, n := range []int{4, 5} {
		fwd, rev := answered(fmt.Sprintf("/fwd%d", n), paths(n, false)), answered(fmt.Sprintf("/rev%d", n), paths(n, true))
		switch {
		case n <= 4 && (!reflect.DeepEqual(fwd, pathsOf(paths(n, false))) || !reflect.DeepEqual(rev, pathsOf(paths(n, true)))):
			t.Errorf("%d checks: answered %v and %v, not in the order written", n, fwd, rev)
		case n > 4 && !reflect.DeepEqual(fwd, rev):
			t.Errorf("%d checks: answered %v and %v, in the order written", n, fwd, rev)
		}
	}
}

// TestPersistentConstraintsDeduped: a persistent volume's constraints are
// a set in Marathon as well.
func TestPersistentConstraintsDeduped(t *testing.T) {
	gens(t, func(t *testing.T, gen Generation) {
		h := newHarness(t, gen, allFeatures, func(o *Options) { o.MesosRole = "data" })
		app := residentApp(1)
		like := []string{"path", "LIKE", "/mnt/.*"}
		app["container"].(map[string]any)["volumes"] = []any{map[string]any{"containerPath": "data", "mode": "RW",
			"persistent": map[string]any{"type": "path", "size": 2048, "constraints": [][]string{like, like}}}}
		got := h.must(http.StatusCreated, "POST", "/v2/apps", app).obj(t)
		vol := got["container"].(map[string]any)["volumes"].([]any)[0].(map[string]any)
		if cs := vol["persistent"].(map[string]any)["constraints"]; !reflect.DeepEqual(cs, []any{[]any{"path", "LIKE", "/mnt/.*"}}) {
			t.Errorf("persistent volume constraints %v", cs)
		}
	})
}
