package marathonsim

import (
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
