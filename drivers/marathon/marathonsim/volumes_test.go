package marathonsim

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// residentApp is a Docker app with a persistent volume in group /db,
// running as the group's role.
func residentApp(instances int) map[string]any {
	return map[string]any{"id": "/db/node", "instances": instances, "cpus": 1, "mem": 1024, "role": "db",
		"container": map[string]any{"type": "DOCKER", "docker": map[string]any{"image": "cassandra:4"},
			"volumes": []any{map[string]any{"containerPath": "data", "mode": "RW", "persistent": map[string]any{"size": 2048}}}}}
}

func agentDisk(h *harness, host string) float64 {
	for _, a := range h.sim.Agents() {
		if a.Hostname == host {
			return a.UsedDisk
		}
	}
	h.t.Fatalf("no agent %s", host)
	return 0
}

// TestPersistentVolumes: a resident app's instance reserves its resources
// and volume on an agent; its next task (after a restart, a failure or a
// scale down and up) runs there again, on the same volume; the
// reservation goes with the app.
func TestPersistentVolumes(t *testing.T) {
	gens(t, func(t *testing.T, gen Generation) {
		h := newHarness(t, gen)
		h.create(residentApp(1))
		first := h.sim.Tasks("/db/node")[0]
		if got := agentDisk(h, first.Host); got != 2048 {
			t.Fatalf("disk used on %s: %v, want the volume's 2048", first.Host, got)
		}
		task := h.must(http.StatusOK, "GET", "/v2/apps/db/node", nil).obj(t)["app"].(map[string]any)["tasks"].([]any)[0].(map[string]any)
		vols := task["localVolumes"].([]any)
		if len(vols) != 1 || vols[0].(map[string]any)["containerPath"] != "data" {
			t.Fatalf("localVolumes %v", vols)
		}

		// A restart replaces the task on the same agent (upgrade strategy
		// {0.5, 0}: the old task goes first, then the new one takes its
		// reservation).
		h.must(http.StatusOK, "POST", "/v2/apps/db/node/restart", nil)
		h.until("restart", time.Hour, h.settled)
		second := h.sim.Tasks("/db/node")[0]
		if second.ID == first.ID || second.Host != first.Host {
			t.Fatalf("restarted task %s on %s, the first ran on %s", second.ID, second.Host, first.Host)
		}
		// A failed task is relaunched there too.
		if err := h.sim.FailTask(second.ID, "crashed"); err != nil {
			t.Fatal(err)
		}
		h.until("relaunch", time.Hour, func() bool { ts := h.sim.Tasks("/db/node"); return len(ts) == 1 && ts[0].State == "TASK_RUNNING" })
		if third := h.sim.Tasks("/db/node")[0]; third.Host != first.Host {
			t.Fatalf("relaunched on %s", third.Host)
		}
		// Scaled to 0 the reservation stays; scaled up again it is used.
		h.must(http.StatusOK, "PUT", "/v2/apps/db/node", map[string]any{"instances": 0})
		h.until("scale to 0", time.Hour, h.settled)
		if got := agentDisk(h, first.Host); got != 2048 {
			t.Fatalf("reservation gone at 0 instances: disk %v", got)
		}
		h.must(http.StatusOK, "PUT", "/v2/apps/db/node", map[string]any{"instances": 1})
		h.until("scale to 1", time.Hour, h.settled)
		if ts := h.sim.Tasks("/db/node"); ts[0].Host != first.Host {
			t.Fatalf("scaled up on %s", ts[0].Host)
		}
		// Deleted, the app gives its reservation back.
		h.must(http.StatusOK, "DELETE", "/v2/apps/db/node", nil)
		h.until("delete", time.Hour, h.settled)
		if got := agentDisk(h, first.Host); got != 0 {
			t.Fatalf("disk used after delete: %v", got)
		}

		// Marathon refuses to change what a reservation holds.
		h.create(residentApp(1))
		bigger := residentApp(1)
		bigger["cpus"] = 2
		r := h.do("PUT", "/v2/apps/db/node", bigger)
		if r.status != http.StatusUnprocessableEntity || !hasDetail(t, r, "/", msgResidentResources) {
			t.Fatalf("resource change of a resident app: %d %s", r.status, r.body)
		}
	})
}

// TestExternalVolumes: an external volume attaches to one task at a time:
// a second task that needs it waits until the first is gone.
func TestExternalVolumes(t *testing.T) {
	h := newHarness(t, Gen15, allFeatures)
	app := map[string]any{"id": "/ext", "cmd": "sleep 100", "instances": 2, "portDefinitions": []any{},
		"container": map[string]any{"type": "DOCKER", "docker": map[string]any{"image": "busybox"},
			"volumes": []any{map[string]any{"containerPath": "/data", "mode": "RW",
				"external": map[string]any{"name": "v1", "provider": "dvdi", "options": map[string]string{"dvdi/driver": "rexray"}}}}}}
	h.must(http.StatusCreated, "POST", "/v2/apps", app)
	h.advance(time.Minute)
	if ts, a := h.sim.Tasks("/ext"), h.app("/ext"); len(ts) != 1 || a.Queued != 1 {
		t.Fatalf("%d tasks, %d queued: one task holds the volume, the other waits", len(ts), a.Queued)
	}
	// The deployment waits for the second task for ever: force a scale
	// to one. With upgrade strategy {0, 0} a restart stops the old task
	// before the new one needs the volume (with Marathon's default for
	// external volumes, {0.5, 0}, a single instance waits for itself, as
	// in Marathon).
	h.must(http.StatusOK, "PUT", "/v2/apps/ext?force=true", map[string]any{"instances": 1,
		"upgradeStrategy": map[string]any{"minimumHealthCapacity": 0, "maximumOverCapacity": 0}})
	h.until("scale to 1", time.Hour, h.settled)
	h.must(http.StatusOK, "POST", "/v2/apps/ext/restart", nil)
	h.until("restart", time.Hour, h.settled)
	if ts := h.sim.Tasks("/ext"); len(ts) != 1 || ts[0].State != "TASK_RUNNING" {
		t.Fatalf("after restart: %+v", ts)
	}
}

// TestReadinessGatesDeployments: a new task counts for a deployment only
// once its readiness check passed, and /v2/deployments shows the results;
// a task that never gets ready holds the deployment.
func TestReadinessGatesDeployments(t *testing.T) {
	gens(t, func(t *testing.T, gen Generation) {
		h := newHarness(t, gen)
		app := map[string]any{"id": "/r", "cmd": "sleep 100", "portDefinitions": []any{map[string]any{"port": 0, "name": "http"}},
			"readinessChecks": []any{map[string]any{"portName": "http", "intervalSeconds": 20, "timeoutSeconds": 5}}}
		h.must(http.StatusCreated, "POST", "/v2/apps", app)
		h.advance(10 * time.Second) // running, not yet checked
		if ts := h.sim.Tasks("/r"); len(ts) != 1 || ts[0].State != "TASK_RUNNING" || h.settled() {
			t.Fatalf("running task, deployment done %v: %+v", h.settled(), ts)
		}
		h.advance(20 * time.Second)
		if !h.settled() {
			t.Fatal("deployment still running after the readiness check passed")
		}

		h.sim.Faults().NeverReadyImage("never-ready:1")
		h.must(http.StatusCreated, "POST", "/v2/apps", map[string]any{"id": "/n", "portDefinitions": []any{map[string]any{"port": 0, "name": "http"}},
			"container":       map[string]any{"type": "DOCKER", "docker": map[string]any{"image": "never-ready:1"}},
			"readinessChecks": []any{map[string]any{"portName": "http", "intervalSeconds": 5, "timeoutSeconds": 1}}})
		h.advance(5 * time.Minute)
		deps := h.must(http.StatusOK, "GET", "/v2/deployments", nil).json(t).([]any)
		if len(deps) != 1 {
			t.Fatalf("deployments %v", deps)
		}
		results := deps[0].(map[string]any)["currentActions"].([]any)[0].(map[string]any)["readinessCheckResults"].([]any)
		if len(results) != 1 || results[0].(map[string]any)["ready"] != false || results[0].(map[string]any)["name"] != "readinessCheck" {
			t.Fatalf("readinessCheckResults %v", results)
		}
	})
}

// TestResidentDefaults: an app with persistent volumes is resident even
// without a residency object, and a resident app or one with external
// volumes gets upgradeStrategy {0.5, 0} when it gives none (Marathon's
// ResidencyAndUpgradeStrategy); a resident one gets unreachableStrategy
// "disabled" (UnreachableStrategy.default(resident)).
func TestResidentDefaults(t *testing.T) {
	volume := func(kind string) map[string]any {
		if kind == "external" {
			return map[string]any{"containerPath": "/data", "mode": "RW", kind: map[string]any{"name": "v1", "provider": "dvdi",
				"options": map[string]any{"dvdi/driver": "rexray"}}}
		}
		return map[string]any{"containerPath": "data", "mode": "RW", kind: map[string]any{"size": 10}}
	}
	app := func(mod func(m map[string]any), volumes ...any) map[string]any {
		m := map[string]any{"id": "/r", "cmd": "sleep 100", "container": map[string]any{"type": "DOCKER",
			"docker": map[string]any{"image": "busybox"}, "volumes": volumes}}
		mod(m)
		return m
	}
	none := func(map[string]any) {}
	tests := []struct {
		name        string
		body        map[string]any
		residency   string // JSON; "" for absent or null
		upgrade     string
		unreachable string
	}{
		{"persistent volume", app(none, volume("persistent")),
			`{"relaunchEscalationTimeoutSeconds":3600,"taskLostBehavior":"WAIT_FOREVER"}`,
			`{"maximumOverCapacity":0,"minimumHealthCapacity":0.5}`, `"disabled"`},
		{"partial residency", app(func(m map[string]any) { m["residency"] = map[string]any{"relaunchEscalationTimeoutSeconds": 60} }, volume("persistent")),
			`{"relaunchEscalationTimeoutSeconds":60,"taskLostBehavior":"WAIT_FOREVER"}`,
			`{"maximumOverCapacity":0,"minimumHealthCapacity":0.5}`, `"disabled"`},
		{"external volume", app(none, volume("external")), "",
			`{"maximumOverCapacity":0,"minimumHealthCapacity":0.5}`, `{"expungeAfterSeconds":0,"inactiveAfterSeconds":0}`},
		{"resident with its own strategies", app(func(m map[string]any) {
			m["upgradeStrategy"] = map[string]any{"minimumHealthCapacity": 0, "maximumOverCapacity": 0}
		}, volume("persistent")), `{"relaunchEscalationTimeoutSeconds":3600,"taskLostBehavior":"WAIT_FOREVER"}`,
			`{"maximumOverCapacity":0,"minimumHealthCapacity":0}`, `"disabled"`},
		{"not resident", app(none), "",
			`{"maximumOverCapacity":1,"minimumHealthCapacity":1}`, `{"expungeAfterSeconds":0,"inactiveAfterSeconds":0}`},
	}
	gens(t, func(t *testing.T, gen Generation) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				// A resident app needs a role of its own to reserve for.
				h := newHarness(t, gen, allFeatures, func(o *Options) { o.MesosRole = "data" })
				got := h.must(http.StatusCreated, "POST", "/v2/apps", tt.body).obj(t)
				enc := func(v any) string {
					if v == nil {
						return ""
					}
					b, _ := json.Marshal(v)
					return string(b)
				}
				if r, u, un := enc(got["residency"]), enc(got["upgradeStrategy"]), enc(got["unreachableStrategy"]); r != tt.residency || u != tt.upgrade || un != tt.unreachable {
					t.Fatalf("residency %s, upgradeStrategy %s, unreachableStrategy %s; want %s, %s, %s",
						r, u, un, tt.residency, tt.upgrade, tt.unreachable)
				}
			})
		}
	})
}
