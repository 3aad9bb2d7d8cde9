package reconciler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"theseus.dev/diff"
	"theseus.dev/drivers/marathon"
	"theseus.dev/drivers/marathon/marathonsim"
	"theseus.dev/reconciler"
	"theseus.dev/specs"
	"theseus.dev/viewer"
)

// neverDone is a health check that never passes on an image made
// NeverHealthyImage, without Marathon killing the tasks: a deployment
// waiting for it never ends.
const neverDone = `,"healthChecks":[{"protocol":"COMMAND","command":"true","gracePeriodSeconds":1,"intervalSeconds":1,"maxConsecutiveFailures":0}]`

// TestMarathonLockedNoForce (row 11): another client's deployment takes
// the app between theseus's read and its write, so the write gets
// Marathon's real 409. theseus waits, reports the deployment, turns
// Stalled past the progress deadline, never forces, and writes once the
// deployment ends.
func TestMarathonLockedNoForce(t *testing.T) {
	e := newEnv(t)
	k := key(t, "api", "g0")
	held := make(chan string, 1)
	var stall marathonsim.FaultID
	var once sync.Once
	tap := &tapMarathon{before: func(method string, wk specs.GroupKey) {
		if method != "update" || wk != k {
			return
		}
		once.Do(func() {
			stall = e.sim.Faults().StallDeployments(specs.AppID("", k))
			res, err := e.mc.Restart(context.Background(), k)
			if err != nil {
				t.Errorf("restart by another client: %v", err)
			}
			held <- res.DeploymentID
		})
	}}
	e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"}, progressDeadline: 300 * time.Millisecond,
		marathon: func(m reconciler.Marathon) reconciler.Marathon { tap.Marathon = m; return tap }})
	e.deploy("api", 1)
	e.putSpec(k, spec(k, "nginx:1.28", 1, ""))
	var dep string
	select {
	case dep = <-held:
	case <-time.After(converge):
		t.Fatal("theseus never tried the update")
	}
	e.eventually(converge, "a 409 answered", func() bool {
		return e.sim.RequestCounts()[marathonsim.RequestKey{Method: "PUT", Route: marathonsim.RouteApp, Status: http.StatusConflict}] > 0
	})
	e.eventually(converge, "Stalled on the other deployment", func() bool {
		st := e.status(k)
		return st != nil && st.Phase == specs.PhaseStalled && st.DeploymentID == dep
	})
	if n := len(e.writesTo("PUT", appPath(k))); n != 0 {
		t.Errorf("%d updates went through while the app was locked", n)
	}
	e.sim.Faults().Clear(stall)
	e.eventually(converge, "the update is done after the lock", func() bool {
		a, _ := e.app(k)
		return a.Image == "nginx:1.28" && running(e, k, 1)()
	})
	if f := e.forced(); len(f) != 0 {
		t.Errorf("forced requests: %v", f)
	}
	if n := len(e.writesTo("PUT", appPath(k))); n != 1 {
		t.Errorf("%d updates, want 1", n)
	}
	e.checkInvariants(k)
}

// TestDeploymentNeverCompletes (row 12): a rolling update whose tasks
// never turn healthy, of a group that is not rolled back automatically
// (spec.upgrade.autoRollback: false), is Failed past the progress
// deadline, and stays so: neither rolled back, nor written again, nor
// reported Synced when its deployment is cancelled by hand and leaves a
// task of the old definition. A new revision rolls them all.
func TestDeploymentNeverCompletes(t *testing.T) {
	e := newEnv(t)
	e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"}, progressDeadline: 300 * time.Millisecond})
	k := e.deploy("api", 1)[0]
	never := e.sim.Faults().NeverHealthyImage("nginx:1.28")
	const noRollback = `,"upgrade":{"autoRollback":false}`
	e.putSpec(k, spec(k, "nginx:1.28", 2, neverDone+noRollback))
	rev := e.modRevision(k)
	synced := false
	watch := func() {
		if st := e.status(k); st != nil && st.ObservedRevision == rev && st.Phase == specs.PhaseSynced {
			synced = true
		}
	}
	failed := func() bool {
		watch()
		st := e.status(k)
		return st != nil && st.Phase == specs.PhaseFailed && st.Failure != nil && st.Failure.Revision == rev &&
			strings.Contains(st.Failure.Reason, "progress deadline") && strings.Contains(st.Message, "autoRollback is false")
	}
	var dep string
	e.eventually(converge, "Failed past the deadline", func() bool {
		a, _ := e.app(k)
		dep = a.Deployment
		return dep != "" && failed()
	})
	e.holds(500*time.Millisecond, "stays Failed", failed)

	// Cancelled by hand: the deployment is gone, the tasks still unhealthy.
	if code, body := e.simRequest("DELETE", "/v2/deployments/"+dep+"?force=true", ""); code != http.StatusAccepted {
		t.Fatalf("cancel the deployment: %d %s", code, body)
	}
	e.eventually(converge, "the deployment gone", func() bool { return len(e.sim.Deployments()) == 0 })
	e.holds(300*time.Millisecond, "still Failed, not Synced with unhealthy tasks", func() bool { return failed() && !synced })

	// The cancelled deployment left a task of the old version running
	// beside the new ones: healthy or not, that is not the spec running.
	e.sim.Faults().Clear(never)
	e.holds(300*time.Millisecond, "still Failed with a task of the old definition", func() bool { return failed() && !synced })

	// A new revision rolls them all.
	e.putSpec(k, spec(k, "nginx:1.28", 2, neverDone+noRollback+`,"env":{"ROLL":"1"}`))
	e.checkInvariants(k)
	if n := len(e.writesTo("PUT", appPath(k))); n != 2 {
		t.Errorf("%d updates, want 2 (one per revision)", n)
	}
	if n := len(e.writesTo("DELETE", "/v2/deployments")); n != 1 {
		t.Errorf("%d deployment deletes, want only the test's", n)
	}
}

// fullSpec sets every field Marathon fills in or reorders: ports (service
// ports, port definitions), named-port health checks, env in no order,
// constraints, fractions written as 0.10.
const fullSpec = `,"env":{"B":"2","A":"1"},"ports":[{"name":"http","containerPort":80},{"containerPort":9000,"protocol":"udp"}],` +
	`"healthChecks":[{"protocol":"HTTP","portName":"http","path":"/healthz"}],"constraints":[["hostname","UNIQUE"]],` +
	`"upgrade":{"minimumHealthCapacity":0.50,"maximumOverCapacity":0.10}`

// TestMarathonDefaultsNoRedeploy (row 15): after an app with every
// defaulted field converges, the plan is empty and resyncs write nothing.
func TestMarathonDefaultsNoRedeploy(t *testing.T) {
	e := newEnv(t)
	e.start(controllerOpts{id: "a"})
	k := key(t, "api", "full")
	e.putSpec(k, spec(k, "nginx:1.27", 3, fullSpec))
	e.eventually(converge, "the app runs healthy", func() bool {
		a, _ := e.app(k)
		return running(e, k, 3)() && a.TasksHealthy == 3
	})
	if a, _ := e.app(k); len(a.ServicePorts) != 2 {
		t.Fatalf("Marathon assigned service ports %v; the test needs its defaults", a.ServicePorts)
	}
	e.eventually(converge, "in sync", func() bool { return e.converged(false) })
	if p := e.plan(false); len(p.Actions) != 0 {
		t.Errorf("plan after apply: %+v", p.Actions)
	}
	e.checkInvariants(k)
	if n := e.sim.WriteCount(); n != 1 {
		t.Errorf("%d Marathon writes, want the one create", n)
	}
}

// marathonApp reads an app's definition as Marathon serves it.
func (e *env) marathonApp(k specs.GroupKey) (app struct {
	Env          map[string]any `json:"env"`
	HealthChecks []any          `json:"healthChecks"`
	Constraints  [][]string     `json:"constraints"`
}) {
	e.t.Helper()
	code, body := e.simRequest("GET", appPath(k), "")
	var out struct{ App any }
	out.App = &app
	if err := json.Unmarshal([]byte(body), &out); code != http.StatusOK || err != nil {
		e.t.Fatalf("GET %s: %d %v", appPath(k), code, err)
	}
	return app
}

// TestFieldRemoved (row 16): an env var, a health check and a constraint
// removed from the spec disappear from Marathon, and the plan is empty.
func TestFieldRemoved(t *testing.T) {
	e := newEnv(t)
	e.start(controllerOpts{id: "a"})
	k := key(t, "api", "trim")
	e.putSpec(k, spec(k, "nginx:1.27", 2, `,"env":{"KEEP":"1","DROP":"2"},"healthChecks":[{"protocol":"COMMAND","command":"true"}],"constraints":[["hostname","UNIQUE"]]`))
	e.eventually(converge, "runs", running(e, k, 2))
	if a := e.marathonApp(k); len(a.Env) != 2 || len(a.HealthChecks) != 1 || len(a.Constraints) != 1 {
		t.Fatalf("before: %+v", a)
	}
	e.putSpec(k, spec(k, "nginx:1.27", 2, `,"env":{"KEEP":"1"}`))
	e.eventually(converge, "the fields are gone from Marathon", func() bool {
		a := e.marathonApp(k)
		return len(a.Env) == 1 && a.Env["KEEP"] == "1" && len(a.HealthChecks) == 0 && len(a.Constraints) == 0
	})
	e.eventually(converge, "in sync", func() bool { return e.converged(false) })
	if p := e.plan(false); len(p.Actions) != 0 {
		t.Errorf("plan after the removal: %+v", p.Actions)
	}
	e.checkInvariants(k)
	if n := len(e.writesTo("PUT", appPath(k))); n != 1 {
		t.Errorf("%d updates, want 1", n)
	}
}

// rawApp is an app definition as another Marathon client would post it.
func rawApp(k specs.GroupKey, labels map[string]string) string {
	l, _ := json.Marshal(labels)
	return fmt.Sprintf(`{"id":%q,"instances":1,"cpus":0.1,"mem":64,"container":{"type":"DOCKER","docker":{"image":"nginx:1.20"}},"labels":%s}`,
		specs.AppID("", k), l)
}

// TestUnmanagedAndProtectedApps (row 17): apps under the managed path
// that theseus did not write, or that are protected, are never changed or
// deleted, with or without a desired spec and with pruning on; the plan
// lists the ones with a spec as unmanaged. A managed orphan next to them
// is pruned, so pruning does run.
func TestUnmanagedAndProtectedApps(t *testing.T) {
	e := newEnv(t)
	e.start(controllerOpts{id: "a", prune: true})
	keys := e.deploy("api", 2)
	ok, gone := keys[0], keys[1]
	foreign, guarded, stray, kept := key(t, "api", "foreign"), key(t, "api", "guarded"), key(t, "api", "stray"), key(t, "api", "kept")
	protect := func(k specs.GroupKey) map[string]string {
		return map[string]string{marathon.LabelManaged: "true", marathon.LabelGroup: k.String(), marathon.LabelProtect: "true"}
	}
	for k, labels := range map[specs.GroupKey]map[string]string{
		foreign: {"team": "other"}, stray: nil, guarded: protect(guarded), kept: protect(kept),
	} {
		if code, body := e.simRequest("POST", "/v2/apps", rawApp(k, labels)); code != http.StatusCreated {
			t.Fatalf("create %s: %d %s", k, code, body)
		}
		e.eventually(converge, k.String()+" runs", running(e, k, 1))
	}
	versions := map[specs.GroupKey]time.Time{}
	for _, k := range []specs.GroupKey{foreign, guarded, stray, kept} {
		a, _ := e.app(k)
		versions[k] = a.Version
	}
	e.putSpec(foreign, spec(foreign, "nginx:1.28", 2, ""))
	e.putSpec(guarded, spec(guarded, "nginx:1.28", 2, ""))
	e.etcd.Etcdctl(t, "del", specs.DesiredKey("", gone))
	e.eventually(converge, "the managed orphan is pruned", func() bool { _, ok := e.app(gone); return !ok })
	for k, why := range map[specs.GroupKey]string{foreign: "does not manage", guarded: "protected"} {
		e.eventually(converge, k.String()+" reported as left alone", func() bool {
			st := e.status(k)
			return st != nil && st.Phase == specs.PhaseStalled && strings.Contains(st.Message, why)
		})
	}
	e.checkInvariants(ok)
	for k, v := range versions {
		if a, found := e.app(k); !found || !a.Version.Equal(v) || a.Image != "nginx:1.20" {
			t.Errorf("%s was changed: exists %v, %+v", k, found, a)
		}
		if n := len(e.writesTo("PUT", appPath(k))) + len(e.writesTo("DELETE", appPath(k))); n != 0 {
			t.Errorf("%s: %d writes", k, n)
		}
	}
	p := e.plan(true)
	got := map[specs.GroupKey]diff.Kind{}
	for _, a := range p.Actions {
		got[a.Key] = a.Kind
	}
	if len(got) != 2 || got[foreign] != diff.Unmanaged || got[guarded] != diff.Unmanaged {
		t.Errorf("plan %v; want foreign and guarded unmanaged, nothing else", got)
	}
}

// TestOutOfBandScaleHealed (row 18): an app scaled down by hand is shown
// as drift in the plan and scaled back, after a restart of theseus and
// while it runs.
func TestOutOfBandScaleHealed(t *testing.T) {
	e := newEnv(t)
	_, stop := e.start(controllerOpts{id: "a"})
	k := key(t, "api", "g0")
	e.putSpec(k, spec(k, "nginx:1.27", 3, ""))
	e.eventually(converge, "runs 3", running(e, k, 3))
	stop()
	if _, err := e.mc.Scale(t.Context(), k, 1); err != nil {
		t.Fatal(err)
	}
	e.eventually(converge, "scaled to 1 by hand", running(e, k, 1))
	p := e.plan(false)
	if len(p.Actions) != 1 || p.Actions[0].Kind != diff.Scale || !p.Actions[0].Drift || !strings.Contains(p.Actions[0].Reason, "outside theseus") {
		t.Fatalf("plan after the manual scale: %+v", p.Actions)
	}

	m := reconciler.NewMetrics()
	e.start(controllerOpts{id: "b", metrics: m})
	e.eventually(converge, "healed to 3", running(e, k, 3))
	if _, err := e.mc.Scale(t.Context(), k, 2); err != nil {
		t.Fatal(err)
	}
	e.eventually(converge, "drift counted twice", func() bool { return metric(t, m, "theseus_drift_detected_total") >= 2 })
	e.eventually(converge, "healed to 3 again", running(e, k, 3))
	e.checkInvariants(k)
}

// TestFailedWriteNotSynced: every update Marathon is sent for a new
// revision fails (500). Marathon still runs the revision before, so
// /status, the metrics and `theseusd get` must not say Synced: the group
// is Progressing with the write's error until the write goes through,
// and Stalled past its progress deadline.
func TestFailedWriteNotSynced(t *testing.T) {
	e := newEnv(t)
	e.start(controllerOpts{id: "a"})
	k := key(t, "web", "dev")
	e.putSpec(k, spec(k, "nginx:1.27", 1, ""))
	e.eventually(converge, "synced", func() bool {
		st := e.status(k)
		return st != nil && st.Phase == specs.PhaseSynced
	})

	fault := e.sim.Faults().FailRequests("PUT", marathonsim.RouteApp, 500, 0)
	e.putSpec(k, spec(k, "nginx:1.28", 1, ""))
	rev := e.modRevision(k)
	e.eventually(converge, "the failed write recorded", func() bool {
		st := e.status(k)
		return st != nil && st.ObservedRevision == rev && st.LastError != ""
	})
	st := e.status(k)
	a, _ := e.app(k)
	if a.Image != "nginx:1.27" {
		t.Fatalf("the update went through: %s", a.Image)
	}
	if st.Phase != specs.PhaseProgressing || !strings.Contains(st.Message, "update to Marathon failed") {
		t.Errorf("/status at revision %d (nginx:1.28) while Marathon runs %s: %s %q", rev, a.Image, st.Phase, st.Message)
	}
	// What `theseusd get` shows.
	v, err := viewer.New(viewer.Config{Desired: e.store.Desired(), Status: e.store.Status(), Marathon: e.mc})
	if err != nil {
		t.Fatal(err)
	}
	l, err := v.Load(t.Context(), viewer.Query{})
	if err != nil || len(l.Items) != 1 {
		t.Fatalf("get: %v %+v", err, l)
	}
	if g := l.Items[0]; g.Phase == viewer.Synced {
		t.Errorf("get shows %s, image %s, for a group whose revision %d (nginx:1.28) was never written", g.Phase, g.Image, rev)
	}

	e.sim.Faults().Clear(fault)
	e.eventually(converge, "Synced once the write goes through", func() bool {
		a, _ := e.app(k)
		return a.Image == "nginx:1.28" && e.phaseIs(k, specs.PhaseSynced, rev)() && e.status(k).LastError == ""
	})
}

// TestRefusedWriteNotRepeated: Marathon refuses the update of a new
// revision (422). The group is Stalled with Marathon's answer, and the
// same definition is not sent again at every resync, which would spend
// the write rate limit of every group on writes Marathon refuses; a new
// revision is tried.
func TestRefusedWriteNotRepeated(t *testing.T) {
	e := newEnv(t)
	m := reconciler.NewMetrics()
	e.start(controllerOpts{id: "a", metrics: m})
	k := key(t, "web", "dev")
	e.putSpec(k, spec(k, "nginx:1.27", 1, ""))
	e.eventually(converge, "runs", running(e, k, 1))

	refuse := e.sim.Faults().FailRequests("PUT", marathonsim.RouteApp, http.StatusUnprocessableEntity, 0)
	e.putSpec(k, spec(k, "nginx:1.28", 1, ""))
	rev := e.modRevision(k)
	e.eventually(converge, "Stalled on the refusal", func() bool {
		st := e.status(k)
		return e.phaseIs(k, specs.PhaseStalled, rev)() && strings.Contains(st.Message, "refused the update; it is sent again when /desired changes") &&
			strings.Contains(st.LastError, "422")
	})
	resyncs := metric(t, m, "theseus_resyncs_total")
	e.eventually(converge, "three more resyncs", func() bool { return metric(t, m, "theseus_resyncs_total") >= resyncs+3 })
	if n := len(e.answered("PUT", appPath(k))); n != 1 {
		t.Errorf("the refused update was sent %d times, want once", n)
	}
	if !e.phaseIs(k, specs.PhaseStalled, rev)() {
		t.Errorf("status after the resyncs: %+v", e.status(k))
	}

	e.sim.Faults().Clear(refuse)
	e.putSpec(k, spec(k, "nginx:1.28", 1, ""))
	e.eventually(converge, "the new revision converges", func() bool {
		a, _ := e.app(k)
		return a.Image == "nginx:1.28" && e.phaseIs(k, specs.PhaseSynced, e.modRevision(k))()
	})
	e.checkInvariants(k)
}
