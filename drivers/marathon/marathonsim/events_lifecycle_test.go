package marathonsim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// busEvent is one event taken from an in-process subscription.
type busEvent struct {
	typ  string
	data map[string]any
}

// subscribe attaches an in-process subscriber to the event bus, as a
// /v2/events stream with these event_type filters would be.
func (h *harness) subscribe(types ...string) *subscriber {
	h.sim.mu.Lock()
	defer h.sim.mu.Unlock()
	return h.sim.bus.subscribe("127.0.0.1", types)
}

// take returns the events published to sub so far. Events are published
// while the simulator's lock is held, so everything a request or a clock
// advance caused is queued by the time it returns.
func take(t *testing.T, sub *subscriber) []busEvent {
	t.Helper()
	var out []busEvent
	for {
		select {
		case frame := <-sub.ch:
			if string(frame) == "\r\n" { // heartbeat
				continue
			}
			head, data, ok := strings.Cut(strings.TrimSuffix(string(frame), "\r\n\r\n"), "\r\ndata: ")
			if !ok {
				t.Fatalf("frame %q", frame)
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(data), &m); err != nil {
				t.Fatalf("event data %q: %v", data, err)
			}
			out = append(out, busEvent{typ: strings.TrimPrefix(head, "event: "), data: m})
		default:
			return out
		}
	}
}

// TestHealthCheckAndGroupChangeEvents follows an app with two health
// checks through create, scale, restart, a change of several apps and
// delete. Every deployment step runs Marathon's healthCheckManager.addAllFor
// for the version it takes up, which publishes add_health_check_event
// once per check of a version not yet checked (a scale-only change is a
// new version too); stopping the app runs removeAllFor, one
// remove_health_check_event per check of every version still checked.
// Up to 1.9 each accepted change publishes group_change_success naming
// the group changed: the app's parent, or the root for PUT /v2/apps;
// 1.10 publishes none.
func TestHealthCheckAndGroupChangeEvents(t *testing.T) {
	twoChecks := func(id string) map[string]any {
		app := withHealth(dockerApp(id, "nginx:1", 1), 5, 5, 3)
		app["healthChecks"] = append(app["healthChecks"].([]any),
			map[string]any{"protocol": "TCP", "portIndex": 0, "gracePeriodSeconds": 5, "intervalSeconds": 5})
		return app
	}
	steps := []struct {
		name   string
		method string
		path   string
		body   any
		// want lists the events in order: "add", "remove" or the groupId
		// of a group_change_success.
		want []string
	}{
		{"create", "POST", "/v2/apps", twoChecks("/web/api"), []string{"add", "add", "/web"}},
		{"scale", "PUT", "/v2/apps/web/api", map[string]any{"instances": 2}, []string{"add", "add", "/web"}},
		{"restart", "POST", "/v2/apps/web/api/restart", nil, []string{"add", "add", "/web"}},
		{"change of several apps", "PUT", "/v2/apps", []any{map[string]any{"id": "/web/api", "instances": 1}}, []string{"add", "add", "/"}},
		{"app without checks", "POST", "/v2/apps", dockerApp("/db", "postgres:16", 1), []string{"/"}},
		{"delete", "DELETE", "/v2/apps/web/api", nil,
			[]string{"remove", "remove", "remove", "remove", "remove", "remove", "remove", "remove", "/web"}},
	}
	gens(t, func(t *testing.T, gen Generation) {
		h := newHarness(t, gen)
		sub := h.subscribe(EventAddHealthCheck, EventRemoveHealthCheck, EventGroupChangeSuccess)
		for _, st := range steps {
			r := h.do(st.method, st.path, st.body)
			if r.status != http.StatusOK && r.status != http.StatusCreated {
				t.Fatalf("%s: %s %s: %d %s", st.name, st.method, st.path, r.status, r.body)
			}
			version := r.obj(t)["version"]
			h.until(st.name, 30*time.Minute, h.settled)
			var got []string
			for _, ev := range take(t, sub) {
				switch ev.typ {
				case EventAddHealthCheck:
					got = append(got, "add")
					if ev.data["appId"] != "/web/api" || ev.data["version"] != version {
						t.Errorf("%s: %s for %v version %v, want /web/api version %v", st.name, ev.typ, ev.data["appId"], ev.data["version"], version)
					}
				case EventRemoveHealthCheck:
					got = append(got, "remove")
					if ev.data["appId"] != "/web/api" {
						t.Errorf("%s: %s for %v", st.name, ev.typ, ev.data["appId"])
					}
				case EventGroupChangeSuccess:
					got = append(got, ev.data["groupId"].(string))
					if ev.data["version"] != version {
						t.Errorf("%s: %s version %v, want the change's %v", st.name, ev.typ, ev.data["version"], version)
					}
				}
			}
			want := st.want
			if gen != Gen14 {
				want = slices.DeleteFunc(slices.Clone(want), func(e string) bool { return strings.HasPrefix(e, "/") })
			}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("%s: events %v, want %v", st.name, got, want)
			}
		}
	})
}
