package marathonsim

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

func taskIDs(ts []TaskState) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	slices.Sort(out)
	return out
}

// TestScaleOnlyDoesNotRestart: a PUT of instances alone is a
// ScaleApplication; running tasks keep their ids and start times, and the
// version moves with lastScalingAt only.
func TestScaleOnlyDoesNotRestart(t *testing.T) {
	gens(t, func(t *testing.T, gen Generation) {
		h := newHarness(t, gen)
		h.create(withHealth(dockerApp("/scale", "web:1", 3), 5, 5, 3))
		h.until("healthy", 5*time.Minute, func() bool { return h.app("/scale").TasksHealthy == 3 })
		before := h.sim.Tasks("/scale")
		app0 := h.app("/scale")
		h.advance(time.Minute)

		h.must(http.StatusOK, "PUT", "/v2/apps/scale", map[string]any{"id": "/scale", "instances": 5})
		deps := h.sim.Deployments()
		if len(deps) != 1 || len(deps[0].Steps) != 1 || deps[0].Steps[0][0].Action != "ScaleApplication" {
			t.Fatalf("deployment %+v, want one ScaleApplication step", deps)
		}
		h.until("scaled up", 5*time.Minute, func() bool { return h.settled() && h.app("/scale").TasksHealthy == 5 })
		after := map[string]TaskState{}
		for _, tk := range h.sim.Tasks("/scale") {
			after[tk.ID] = tk
		}
		for _, tk := range before {
			got, ok := after[tk.ID]
			if !ok || !got.StartedAt.Equal(tk.StartedAt) || !got.CurrentConfig {
				t.Errorf("task %s was restarted or lost: %+v", tk.ID, got)
			}
		}
		app1 := h.app("/scale")
		if !app1.Version.Equal(app1.LastScalingAt) || !app1.LastConfigChangeAt.Equal(app0.LastConfigChangeAt) || !app1.Version.After(app0.Version) {
			t.Errorf("versions after scale: %v / %v / %v (before %v)", app1.Version, app1.LastScalingAt, app1.LastConfigChangeAt, app0.Version)
		}

		// Scale down kills the youngest first.
		h.must(http.StatusOK, "PUT", "/v2/apps/scale", map[string]any{"instances": 2})
		h.until("scaled down", 5*time.Minute, h.settled)
		left := taskIDs(h.sim.Tasks("/scale"))
		if len(left) != 2 {
			t.Fatalf("%d tasks after scaling to 2", len(left))
		}
		for _, id := range left {
			if !slices.Contains(taskIDs(before), id) {
				t.Errorf("task %s survived although it was younger than the first three", id)
			}
		}
	})
}

// TestConfigChangeAndRestartVersions: a config change or a restart sets
// lastConfigChangeAt (and lastScalingAt) to the new version.
func TestConfigChangeAndRestartVersions(t *testing.T) {
	h := newHarness(t, Gen15)
	h.create(dockerApp("/cfg", "web:1", 1))
	v0 := h.app("/cfg")
	h.advance(time.Second)
	r := h.must(http.StatusOK, "POST", "/v2/apps/cfg/restart", nil).obj(t)
	v1 := h.app("/cfg")
	if r["version"] != formatTimestamp(v1.Version) || !v1.LastConfigChangeAt.Equal(v1.Version) || !v1.LastScalingAt.Equal(v1.Version) || !v1.Version.After(v0.Version) {
		t.Fatalf("after restart: %+v (answer %v)", v1, r)
	}
	if deps := h.sim.Deployments(); len(deps) != 1 || deps[0].Steps[0][0].Action != "RestartApplication" {
		t.Fatalf("deployments %+v", deps)
	}
	h.until("restart", 5*time.Minute, h.settled)
	h.advance(time.Second)
	h.must(http.StatusOK, "PUT", "/v2/apps/cfg", map[string]any{"cpus": 0.2})
	v2 := h.app("/cfg")
	if !v2.LastConfigChangeAt.Equal(v2.Version) || !v2.Version.After(v1.Version) {
		t.Fatalf("after config change: %+v", v2)
	}
	// The same definition again is no change at all.
	h.until("update", 5*time.Minute, h.settled)
	h.must(http.StatusOK, "PUT", "/v2/apps/cfg", map[string]any{"cpus": 0.2})
	if v3 := h.app("/cfg"); !v3.Version.Equal(v2.Version) || !h.settled() {
		t.Fatalf("identical PUT changed the app: %+v, deployments %+v", v3, h.sim.Deployments())
	}
}

// TestPartialUpdate: PUT keeps absent fields by default and resets them
// with partialUpdate=false; PATCH never creates; PUT creates.
func TestPartialUpdate(t *testing.T) {
	gens(t, func(t *testing.T, gen Generation) {
		h := newHarness(t, gen)
		app := map[string]any{"id": "/pu", "cmd": "sleep 100", "instances": 2, "cpus": 0.5, "mem": 64,
			"env": map[string]string{"A": "1"}, "labels": map[string]string{"team": "x"},
			"constraints": [][]string{{"hostname", "UNIQUE"}}}
		h.create(app)

		h.must(http.StatusOK, "PUT", "/v2/apps/pu", map[string]any{"cmd": "sleep 200"})
		h.until("partial", 5*time.Minute, h.settled)
		got := h.must(http.StatusOK, "GET", "/v2/apps/pu", nil).obj(t)["app"].(map[string]any)
		if got["cmd"] != "sleep 200" || got["instances"] != jsonNum(2) || got["cpus"] != jsonNum(0.5) ||
			len(got["env"].(map[string]any)) != 1 || len(got["labels"].(map[string]any)) != 1 || len(got["constraints"].([]any)) != 1 {
			t.Fatalf("partial update lost fields: %v", got)
		}

		h.must(http.StatusOK, "PUT", "/v2/apps/pu?partialUpdate=false", map[string]any{"cmd": "sleep 300"})
		h.until("full", 5*time.Minute, h.settled)
		got = h.must(http.StatusOK, "GET", "/v2/apps/pu", nil).obj(t)["app"].(map[string]any)
		// 1.5+ leaves empty env and constraints out.
		env, _ := got["env"].(map[string]any)
		constraints, _ := got["constraints"].([]any)
		if got["cmd"] != "sleep 300" || got["instances"] != jsonNum(1) || got["cpus"] != jsonNum(1) || got["mem"] != jsonNum(128) ||
			len(env) != 0 || len(got["labels"].(map[string]any)) != 0 || len(constraints) != 0 {
			t.Fatalf("full replacement kept fields: %v", got)
		}
		if ids := h.sim.Tasks("/pu"); len(ids) != 1 {
			t.Fatalf("%d tasks, want 1", len(ids))
		}

		h.must(http.StatusNotFound, "PATCH", "/v2/apps/missing", map[string]any{"instances": 1})
		r := h.must(http.StatusCreated, "PUT", "/v2/apps/created", map[string]any{"cmd": "sleep 1000"})
		if r.header.Get("Location") == "" || r.header.Get("Marathon-Deployment-Id") == "" || r.obj(t)["deploymentId"] == nil {
			t.Fatalf("PUT create answer: %v %s", r.header, r.body)
		}
		if _, ok := h.sim.App("/created"); !ok {
			t.Fatal("PUT did not create the app")
		}
	})
}

func jsonNum(f float64) any { return jsonNumber(f) }

// TestLockAndForce: a deployment locks its app (409 listing it) until it
// ends; force=true cancels it (deployment_failed) and starts anew; DELETE
// of an app forces by default.
func TestLockAndForce(t *testing.T) {
	h := newHarness(t, Gen15)
	h.sim.Faults().NeverHealthyImage("broken:1")
	h.must(http.StatusCreated, "POST", "/v2/apps", withHealth(dockerApp("/lock", "broken:1", 2), 5, 5, 0))
	h.advance(time.Hour)
	deps := h.sim.Deployments()
	if len(deps) != 1 {
		t.Fatalf("deployments %+v", deps)
	}
	for _, c := range []struct{ method, path string }{
		{"PUT", "/v2/apps/lock"}, {"PATCH", "/v2/apps/lock"}, {"POST", "/v2/apps/lock/restart"},
		{"DELETE", "/v2/apps/lock?force=false"},
	} {
		r := h.do(c.method, c.path, map[string]any{"instances": 3})
		if r.status != http.StatusConflict {
			t.Fatalf("%s %s: %d %s", c.method, c.path, r.status, r.body)
		}
		locks := r.obj(t)["deployments"].([]any)
		if len(locks) != 1 || locks[0].(map[string]any)["id"] != deps[0].ID {
			t.Fatalf("%s: deployments %v", c.path, locks)
		}
	}
	r := h.must(http.StatusOK, "PUT", "/v2/apps/lock?force=true", map[string]any{"instances": 1})
	now := h.sim.Deployments()
	if len(now) != 1 || now[0].ID == deps[0].ID || now[0].ID != r.header.Get("Marathon-Deployment-Id") {
		t.Fatalf("after force: %+v", now)
	}
	h.must(http.StatusOK, "DELETE", "/v2/apps/lock", nil)
	if _, ok := h.sim.App("/lock"); ok {
		t.Fatal("app still exists after DELETE")
	}
	h.until("stopped", time.Minute, func() bool { return h.settled() && len(h.sim.Tasks("")) == 0 })
}

// TestStuckDeploymentStays: tasks that never become healthy keep their
// deployment, and its lock, for ever; unhealthy tasks are killed and
// relaunched with backoff meanwhile.
func TestStuckDeploymentStays(t *testing.T) {
	h := newHarness(t, Gen15)
	h.sim.Faults().NeverHealthyImage("broken:1")
	h.must(http.StatusCreated, "POST", "/v2/apps", withHealth(dockerApp("/stuck", "broken:1", 2), 10, 5, 3))
	h.advance(6 * time.Hour)
	deps := h.sim.Deployments()
	if len(deps) != 1 || deps[0].CurrentStep != 2 {
		t.Fatalf("deployments after 6h: %+v", deps)
	}
	a := h.app("/stuck")
	if a.TasksHealthy != 0 || a.Deployment != deps[0].ID {
		t.Fatalf("app %+v", a)
	}
	got := h.must(http.StatusOK, "GET", "/v2/apps/stuck", nil).obj(t)["app"].(map[string]any)
	if got["lastTaskFailure"] == nil {
		t.Fatal("no lastTaskFailure although tasks were killed for failing health checks")
	}
	q := h.must(http.StatusOK, "GET", "/v2/queue", nil).obj(t)
	_ = q
	h.must(http.StatusConflict, "PUT", "/v2/apps/stuck", map[string]any{"instances": 1})
}

// TestDeploymentRollback: DELETE /v2/deployments/{id} starts a rollback
// to the previous definition, which keeps the old tasks; with force=true
// the deployment just stops (202, empty body).
func TestDeploymentRollback(t *testing.T) {
	gens(t, func(t *testing.T, gen Generation) {
		h := newHarness(t, gen)
		app := withHealth(dockerApp("/rb", "web:1", 4), 5, 5, 0)
		app["upgradeStrategy"] = map[string]any{"minimumHealthCapacity": 1.0, "maximumOverCapacity": 0.2}
		h.create(app)
		h.until("healthy", 5*time.Minute, func() bool { return h.app("/rb").TasksHealthy == 4 })
		v1 := h.app("/rb")
		old := taskIDs(h.sim.Tasks("/rb"))
		h.sim.Faults().NeverHealthyImage("web:2")
		h.must(http.StatusOK, "PUT", "/v2/apps/rb", map[string]any{
			"container": map[string]any{"type": "DOCKER", "docker": map[string]any{"image": "web:2"}},
		})
		h.advance(10 * time.Minute)
		dep := h.sim.Deployments()[0]

		r := h.must(http.StatusOK, "DELETE", "/v2/deployments/"+dep.ID, nil).obj(t)
		deps := h.sim.Deployments()
		if len(deps) != 1 || deps[0].ID == dep.ID || deps[0].ID != r["deploymentId"] {
			t.Fatalf("rollback deployments %+v, answer %v", deps, r)
		}
		h.until("rollback", time.Hour, h.settled)
		a := h.app("/rb")
		if a.Image != "web:1" || !a.Version.Equal(v1.Version) {
			t.Fatalf("after rollback: %+v", a)
		}
		if now := taskIDs(h.sim.Tasks("/rb")); !slices.Equal(now, old) {
			t.Fatalf("rollback replaced the old tasks: %v, want %v", now, old)
		}

		// Forced delete: stop as is.
		h.must(http.StatusOK, "PUT", "/v2/apps/rb", map[string]any{
			"container": map[string]any{"type": "DOCKER", "docker": map[string]any{"image": "web:2"}},
		})
		h.advance(10 * time.Minute)
		dep = h.sim.Deployments()[0]
		f := h.do("DELETE", "/v2/deployments/"+dep.ID+"?force=true", nil)
		if f.status != http.StatusAccepted || len(f.body) != 0 {
			t.Fatalf("forced delete: %d %q", f.status, f.body)
		}
		if !h.settled() {
			t.Fatalf("deployments after forced delete: %+v", h.sim.Deployments())
		}
		if a := h.app("/rb"); a.Image != "web:2" || len(h.sim.Tasks("/rb")) != 5 {
			t.Fatalf("forced delete changed the app: %+v, %d tasks", a, len(h.sim.Tasks("/rb")))
		}
		h.must(http.StatusNotFound, "DELETE", "/v2/deployments/"+dep.ID, nil)
	})
}

// TestKillTasks: killing without scale relaunches; with scale the
// instances go down in a deployment.
func TestKillTasks(t *testing.T) {
	gens(t, func(t *testing.T, gen Generation) {
		h := newHarness(t, gen)
		h.create(dockerApp("/kill", "web:1", 3))
		tasks := h.sim.Tasks("/kill")
		r := h.must(http.StatusOK, "DELETE", "/v2/apps/kill/tasks/"+tasks[0].ID, nil).obj(t)
		if r["task"].(map[string]any)["id"] != tasks[0].ID {
			t.Fatalf("answer %v", r)
		}
		h.until("replaced", time.Minute, func() bool {
			ts := h.sim.Tasks("/kill")
			return len(ts) == 3 && !slices.Contains(taskIDs(ts), tasks[0].ID) && h.app("/kill").TasksRunning == 3
		})
		tasks = h.sim.Tasks("/kill")
		r = h.must(http.StatusOK, "DELETE", "/v2/apps/kill/tasks/"+tasks[1].ID+"?scale=true", nil).obj(t)
		if r["deploymentId"] == nil {
			t.Fatalf("answer %v", r)
		}
		h.until("scaled", time.Minute, h.settled)
		if a := h.app("/kill"); a.Instances != 2 || slices.Contains(taskIDs(h.sim.Tasks("/kill")), tasks[1].ID) {
			t.Fatalf("after kill and scale: %+v", a)
		}
		h.must(http.StatusNotFound, "DELETE", "/v2/apps/kill/tasks/nope.1", nil)
		ids := taskIDs(h.sim.Tasks("/kill"))
		h.must(http.StatusOK, "POST", "/v2/tasks/delete?scale=true", map[string]any{"ids": ids[:1]})
		h.until("scaled again", time.Minute, h.settled)
		if a := h.app("/kill"); a.Instances != 1 {
			t.Fatalf("after /v2/tasks/delete: %+v", a)
		}
		h.must(http.StatusBadRequest, "POST", "/v2/tasks/delete", map[string]any{"ids": []string{"garbage"}})
	})
}

// TestNewVersionEndsBackOff: instances waiting out the launch backoff of
// a crashing version are launched at once when a new version is
// deployed, as Marathon resets the delay; the deployment of the new
// version does not wait for the delay that was cancelled.
func TestNewVersionEndsBackOff(t *testing.T) {
	h := newHarness(t, Gen15)
	h.sim.Faults().CrashImage("crash:1", 5*time.Second)
	h.create(dockerApp("/web", "good:1", 2))
	bad := dockerApp("/web", "crash:1", 2)
	bad["backoffSeconds"] = 3600
	h.must(http.StatusOK, "PUT", "/v2/apps/web", bad)
	h.until("the crashed instances in the launch backoff", time.Hour, func() bool {
		a := h.app("/web")
		return a.Queued == 2 && a.TasksRunning == 0 && a.TasksStaged == 0
	})
	h.must(http.StatusOK, "PUT", "/v2/apps/web?force=true", dockerApp("/web", "good:1", 2))
	h.until("the new version running", time.Minute, func() bool {
		a := h.app("/web")
		return a.TasksRunning == 2 && a.Queued == 0 && h.settled()
	})
}

// TestFailedTasksBackOff: a crashing image is relaunched with growing
// delays and reported in lastTaskFailure and the queue.
func TestFailedTasksBackOff(t *testing.T) {
	h := newHarness(t, Gen15)
	h.sim.Faults().CrashImage("crash:1", 5*time.Second)
	app := dockerApp("/crash", "crash:1", 1)
	app["backoffSeconds"] = 10
	app["backoffFactor"] = 2
	h.must(http.StatusCreated, "POST", "/v2/apps", app)
	var stagings []time.Time
	seen := map[string]bool{}
	h.until("four launches", time.Hour, func() bool {
		for _, tk := range h.sim.Tasks("/crash") {
			if !seen[tk.ID] {
				seen[tk.ID] = true
				stagings = append(stagings, tk.StagedAt)
			}
		}
		return len(stagings) >= 4
	})
	// Each task runs 3s to start and 5s before crashing; the delays then
	// are 10s, 20s, 40s.
	for i, want := range []time.Duration{18 * time.Second, 28 * time.Second, 48 * time.Second} {
		if got := stagings[i+1].Sub(stagings[i]); got != want {
			t.Errorf("launch %d after %v, want %v", i+2, got, want)
		}
	}
	got := h.must(http.StatusOK, "GET", "/v2/apps/crash", nil).obj(t)["app"].(map[string]any)
	ltf, _ := got["lastTaskFailure"].(map[string]any)
	if ltf == nil || ltf["state"] != "TASK_FAILED" {
		t.Fatalf("lastTaskFailure %v", got["lastTaskFailure"])
	}
	if !h.settled() {
		// Expected: the deployment never ends while the tasks crash.
		if len(h.sim.Deployments()) != 1 {
			t.Fatal("deployment vanished")
		}
	}
}
