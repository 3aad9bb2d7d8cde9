package marathonsim

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestContractErrorBodies checks every error answer against the recorded
// one: same shape, and the same text where the recorded text is not
// specific to its example.
func TestContractErrorBodies(t *testing.T) {
	gens(t, func(t *testing.T, gen Generation) {
		h := newHarness(t, gen)
		exact := func(what string, r response, status int, ref string) {
			t.Helper()
			if r.status != status {
				t.Errorf("%s: status %d, want %d: %s", what, r.status, status, r.body)
				return
			}
			if got, want := r.json(t), refJSON(t, ref); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: body %s, want the body of %s", what, r.body, ref)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("%s: Content-Type %q", what, ct)
			}
		}
		shape := func(what string, r response, status int, ref string) map[string]any {
			t.Helper()
			if r.status != status {
				t.Errorf("%s: status %d, want %d: %s", what, r.status, status, r.body)
				return nil
			}
			if diffs := compareShape(refJSON(t, ref), r.json(t), shapeRules{}); len(diffs) > 0 {
				t.Errorf("%s differs from %s:\n  %s", what, ref, strings.Join(diffs, "\n  "))
			}
			return r.obj(t)
		}

		// A type error is 400 up to 1.4, 422 from 1.5 on, with the same body.
		invalidStatus := http.StatusBadRequest
		if gen == Gen15 {
			invalidStatus = http.StatusUnprocessableEntity
		}
		exact("400 invalid JSON", h.do("POST", "/v2/apps", `{"id": 5, "cmd": "sleep 1"}`), invalidStatus, "errors/400-invalid-json.json")
		exact("404 app", h.do("GET", "/v2/apps/not_existent", nil), 404, "errors/404-app-does-not-exist.json")
		exact("404 deployment", h.do("DELETE", "/v2/deployments/unknown_deployment", nil), 404, "errors/404-deployment-does-not-exist.json")
		if gen == Gen14 {
			exact("422 not valid", h.do("POST", "/v2/apps", map[string]any{
				"id": "/v", "cmd": "sleep 1", "upgradeStrategy": map[string]any{"minimumHealthCapacity": 1.5},
			}), 422, "errors/422-object-not-valid.json")
		} else {
			// 1.5+ checks the bounds of the upgrade strategy while reading
			// (TestParseTimeChecks); a rule checked after reading answers
			// the recorded shape.
			shape("422 not valid", h.do("POST", "/v2/apps", map[string]any{
				"id": "/v", "cmd": "sleep 1", "instances": 2, "labels": map[string]string{"MARATHON_SINGLE_INSTANCE_APP": "true"},
				"upgradeStrategy": map[string]any{"minimumHealthCapacity": 0, "maximumOverCapacity": 0},
			}), 422, "errors/422-object-not-valid.json")
		}

		h.create(map[string]any{"id": "/existing-app", "cmd": "sleep 100"})
		m := shape("409 exists", h.do("POST", "/v2/apps", map[string]any{"id": "/existing-app", "cmd": "sleep 1"}), 409, "errors/409-app-already-exists.json")
		if m != nil && m["message"] != "An app with id [/existing-app] already exists." {
			t.Errorf("409 exists message %q", m["message"])
		}

		lockedApp("/locked")(h)
		deps := h.sim.Deployments()
		m = shape("409 locked", h.do("PUT", "/v2/apps/locked", map[string]any{"instances": 2}), 409, "errors/409-app-locked-by-deployment.json")
		want := refJSON(t, "errors/409-app-locked-by-deployment.json").(map[string]any)["message"]
		if m != nil && m["message"] != want {
			t.Errorf("409 locked message %q, want %q", m["message"], want)
		}
		if m != nil && (len(deps) != 1 || !reflect.DeepEqual(m["deployments"], []any{map[string]any{"id": deps[0].ID}})) {
			t.Errorf("409 locked deployments %v, want the id of %v", m["deployments"], deps)
		}

		id := h.sim.Faults().FailRequests("GET", RouteInfo, http.StatusUnauthorized, 1)
		exact("401 injected", h.do("GET", "/v2/info", nil), 401, "errors/401-unauthorized.json")
		h.sim.Faults().Clear(id)
		h.sim.Faults().FailRequests("GET", RouteInfo, http.StatusForbidden, 1)
		exact("403 injected", h.do("GET", "/v2/info", nil), 403, "errors/403-forbidden.json")

		h.sim.Faults().LoseLeadership(time.Minute)
		exact("404 no leader", h.do("GET", "/v2/leader", nil), 404, "errors/404-no-leader.json")
	})
}

// TestUnknownRoute: paths no resource serves answer {"message": "URI not
// found"}.
func TestUnknownRoute(t *testing.T) {
	gens(t, func(t *testing.T, gen Generation) {
		h := newHarness(t, gen)
		r := h.do("GET", "/v2/nothing", nil)
		want := http.StatusNotFound
		if gen == Gen15 {
			want = http.StatusInternalServerError
		}
		if r.status != want || r.obj(t)["message"] != "URI not found" {
			t.Fatalf("status %d body %s", r.status, r.body)
		}
	})
}
