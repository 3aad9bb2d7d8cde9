package reconciler_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"theseus.dev/drivers/marathon/marathonsim"
	"theseus.dev/reconciler"
	"theseus.dev/specs"
)

// deploy puts n groups svc/g0 … and waits until they all run.
func (e *env) deploy(svc string, n int) []specs.GroupKey {
	e.t.Helper()
	keys := make([]specs.GroupKey, n)
	for i := range keys {
		keys[i] = key(e.t, svc, fmt.Sprintf("g%d", i))
		if _, err := e.store.Desired().Put(e.t.Context(), keys[i], []byte(spec(keys[i], "nginx:1.27", 1, "")), 0); err != nil {
			e.t.Fatal(err)
		}
	}
	for _, k := range keys {
		e.eventually(converge, k.String()+" runs", running(e, k, 1))
	}
	return keys
}

func (e *env) putSpec(k specs.GroupKey, s string) {
	e.t.Helper()
	if _, err := e.etcd.Client.Put(e.t.Context(), specs.DesiredKey("", k), s); err != nil {
		e.t.Fatal(err)
	}
}

// TestMarathonErrorsAndHang: 500s on lists and creates are retried; a
// hung update of one group does not hold up the others, and it converges
// once Marathon answers again.
func TestMarathonErrorsAndHang(t *testing.T) {
	e := newEnv(t)
	f := e.sim.Faults()
	f.FailRequests("GET", marathonsim.RouteApps, 500, 3)
	f.FailRequests("POST", marathonsim.RouteApps, 500, 2)
	e.start(controllerOpts{id: "a"})
	keys := e.deploy("api", 3)
	if n := len(e.writesTo("POST", "/v2/apps")); n != 3 {
		t.Errorf("%d successful creates, want 3", n)
	}

	hang := f.HangRequests("PUT", marathonsim.RouteApp)
	e.putSpec(keys[0], spec(keys[0], "nginx:1.28", 1, ""))
	other := key(t, "api", "other")
	e.putSpec(other, spec(other, "nginx:1.27", 1, ""))
	e.eventually(converge, "a new group converges while an update hangs", running(e, other, 1))
	f.Clear(hang)
	e.eventually(converge, "the hung update is carried out", func() bool {
		a, _ := e.app(keys[0])
		return a.Image == "nginx:1.28" && a.Deployment == ""
	})
	e.eventually(converge, "in sync", func() bool { return e.converged(false) })
}

// TestEventStreamDropped: with no event stream at all, changes converge
// through the periodic resync.
func TestEventStreamDropped(t *testing.T) {
	e := newEnv(t)
	e.sim.Faults().DropEventStreams(1000 * time.Hour)
	e.start(controllerOpts{id: "a"})
	keys := e.deploy("api", 2)
	e.putSpec(keys[1], spec(keys[1], "nginx:1.27", 3, ""))
	e.eventually(converge, "the scale converges without events", running(e, keys[1], 3))
	// A change made in Marathon by hand is found by the resync's list
	// alone, though the group was settled when the resync before ran.
	if _, err := e.mc.Scale(t.Context(), keys[0], 3); err != nil {
		t.Fatal(err)
	}
	e.eventually(converge, "the hand-made scale is undone without events", func() bool {
		a, _ := e.app(keys[0])
		return a.Instances == 1 && a.TasksRunning == 1 && a.Deployment == ""
	})
}

// TestMarathonLeaderChange: Marathon loses its leader in the middle of a
// rolling update; theseus waits it out and starts no second deployment.
func TestMarathonLeaderChange(t *testing.T) {
	e := newEnv(t)
	e.start(controllerOpts{id: "a"})
	k := e.deploy("api", 1)[0]
	e.putSpec(k, spec(k, "nginx:1.28", 1, `,"healthChecks":[{"protocol":"COMMAND","command":"true","gracePeriodSeconds":60}]`))
	e.eventually(converge, "the update is in flight", func() bool { a, _ := e.app(k); return a.Deployment != "" })
	e.sim.Faults().LoseLeadership(5 * time.Minute)
	e.eventually(converge, "the update completes", func() bool {
		a, _ := e.app(k)
		return a.Image == "nginx:1.28" && a.Deployment == "" && a.TasksHealthy == 1
	})
	if n := len(e.writesTo("PUT", appPath(k))); n != 1 {
		t.Errorf("%d updates of %s, want 1", n, k)
	}
}

// TestEtcdRestart: etcd restarts under the controller; a change made
// afterwards converges.
func TestEtcdRestart(t *testing.T) {
	e := newEnv(t)
	e.start(controllerOpts{id: "a"})
	k := e.deploy("api", 1)[0]
	e.etcd.Restart(t)
	e.putSpec(k, spec(k, "nginx:1.27", 2, ""))
	e.eventually(converge, "a change after the restart converges", running(e, k, 2))
}

// TestCompactionPastWatch (row 1): while the controller cannot reach
// etcd, the spec changes and history is compacted past its watch; its
// watch ends as compacted, it relists /desired (counted), and converges
// on the last spec with one write.
func TestCompactionPastWatch(t *testing.T) {
	e := newEnv(t)
	m := reconciler.NewMetrics()
	store := e.storeWithHooks(m)
	e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a", metrics: m}, store: store})
	k := e.deploy("api", 1)[0]
	e.etcd.Blackhole()
	direct := e.etcd.NewDirectClient(t)
	for n := 2; n <= 4; n++ {
		if _, err := direct.Put(t.Context(), specs.DesiredKey("", k), spec(k, "nginx:1.27", n, "")); err != nil {
			t.Fatal(err)
		}
	}
	e.etcd.Compact(t, e.etcd.Revision(t))
	e.etcd.Proxy().Unblackhole()
	e.etcd.DropConnections()
	e.eventually(converge, "the last spec converges", running(e, k, 4))
	if n := len(e.writesTo("PUT", appPath(k))); n != 1 {
		t.Errorf("%d writes for one settled change, want 1", n)
	}
	if n := testutil.ToFloat64(m.WatchRestartCounter("compacted")); n < 1 {
		t.Errorf("the watch ended as compacted %v times, want at least once", n)
	}
	if n := testutil.ToFloat64(m.RelistCounter()); n < 1 {
		t.Errorf("%v relists of /desired after its watch was compacted, want at least one", n)
	}
}

// TestTwoControllers: exactly one of two daemons acts; when it stops the
// other takes over.
func TestTwoControllers(t *testing.T) {
	e := newEnv(t)
	a, stopA := e.start(controllerOpts{id: "a"})
	b, stopB := e.start(controllerOpts{id: "b"})
	keys := e.deploy("api", 5)
	if n := len(e.writesTo("POST", "/v2/apps")); n != 5 {
		t.Errorf("%d creates for 5 groups, want 5", n)
	}
	if a.Leading() == b.Leading() {
		t.Fatalf("leading: a %v, b %v; want exactly one", a.Leading(), b.Leading())
	}
	standby, stopLeader := b, stopA
	if b.Leading() {
		standby, stopLeader = a, stopB
	}
	stopLeader()
	e.eventually(converge, "the standby leads", standby.Leading)
	e.putSpec(keys[0], spec(keys[0], "nginx:1.27", 2, ""))
	e.eventually(converge, "the standby converges a change", running(e, keys[0], 2))
}

// TestWipeRefused: with --prune, emptying /desired deletes nothing.
func TestWipeRefused(t *testing.T) {
	e := newEnv(t)
	m := reconciler.NewMetrics()
	e.start(controllerOpts{id: "a", prune: true, metrics: m})
	keys := e.deploy("api", 3)
	e.etcd.Etcdctl(t, "del", "--prefix", "/desired/")
	e.eventually(converge, "the prune guard refuses", func() bool {
		return testutil.ToFloat64(m.PruneBlockedCounter("empty_desired")) > 0
	})
	e.eventually(converge, "each group's status says so, and /services holds its task", func() bool {
		for _, k := range keys {
			st := e.status(k)
			if st == nil || st.Phase != specs.PhaseStalled || !strings.Contains(st.Message, "refused") || st.Tasks.Running != 1 {
				return false
			}
			if g, err := e.store.Discovery().ReadGroup(t.Context(), k); err != nil || g.Revision.Ready != 1 {
				return false // discovery settles too, so that nothing is left to write
			}
		}
		return true
	})
	// While the guard refuses, a resync costs the list alone: no read of
	// an app, no write to etcd. Counted from the resync after the one in
	// which things settled, so that late events of the creates are done.
	settled := testutil.ToFloat64(m.ResyncCounter())
	e.eventually(converge, "one more resync", func() bool { return testutil.ToFloat64(m.ResyncCounter()) > settled })
	e.sim.ResetRequests()
	rev := e.etcd.Revision(t)
	resyncs := testutil.ToFloat64(m.ResyncCounter())
	e.eventually(converge, "two more resyncs", func() bool { return testutil.ToFloat64(m.ResyncCounter()) >= resyncs+2 })
	if n := e.sim.RequestCount("GET", marathonsim.RouteApp); n != 0 {
		t.Errorf("%d reads of an app while the guard refuses", n)
	}
	if r := e.etcd.Revision(t); r != rev {
		t.Errorf("etcd written while the guard refuses: revision %d, then %d", rev, r)
	}
	if n := len(e.sim.Apps()); n != 3 {
		t.Fatalf("%d apps left after /desired was wiped, want 3", n)
	}
	if n := len(e.writesTo("DELETE", "/v2/apps")); n != 0 {
		t.Errorf("%d deletes", n)
	}
}

// TestInvalidAmongValid: one invalid spec among 50 valid ones: the 50
// converge, the invalid one is reported in /status and its app is left
// alone.
func TestInvalidAmongValid(t *testing.T) {
	e := newEnv(t)
	e.start(controllerOpts{id: "a"})
	bad := e.deploy("bad", 1)[0]
	e.putSpec(bad, `{"apiVersion":"theseus/v1","kind":"Group","spec":{"image":"nginx:1.29","instances":-1}}`)
	keys := make([]specs.GroupKey, 50)
	for i := range keys {
		keys[i] = key(t, "api", fmt.Sprintf("g%d", i))
		e.putSpec(keys[i], spec(keys[i], "nginx:1.27", 1, ""))
	}
	for _, k := range keys {
		e.eventually(converge, k.String()+" runs", running(e, k, 1))
	}
	e.eventually(converge, "the invalid group's status", func() bool {
		st := e.status(bad)
		return st != nil && st.Phase == specs.PhaseInvalid && len(st.Errors) > 0
	})
	if a, _ := e.app(bad); a.Image != "nginx:1.27" || a.Instances != 1 {
		t.Errorf("the invalid group's app was changed: %+v", a)
	}
}

// TestBurst: 200 writes to one key within a second end in a few
// deployments, the last with the final spec. The simulator runs at 20×
// here, so that a deployment takes about as long, relative to the burst,
// as a real one does.
func TestBurst(t *testing.T) {
	e := newEnvAt(t, 20)
	e.start(controllerOpts{id: "a"})
	k := e.deploy("api", 1)[0]
	direct := e.etcd.NewDirectClient(t)
	start := time.Now()
	for i := range 200 {
		if _, err := direct.Put(t.Context(), specs.DesiredKey("", k), spec(k, fmt.Sprintf("nginx:1.%d", 100+i), 1, "")); err != nil {
			t.Fatal(err)
		}
	}
	burst := time.Since(start)
	e.eventually(converge, "the final spec runs", func() bool {
		a, _ := e.app(k)
		return a.Image == "nginx:1.299" && a.Deployment == ""
	})
	// One update runs at a time and the next takes the latest spec, so
	// updates are bounded by how many rolling updates (about 250 ms each
	// at this speed) fit in the burst, not by the 200 writes; a loaded
	// machine stretches the burst.
	limit := max(5, 2+int(burst/(200*time.Millisecond)))
	if n := len(e.writesTo("PUT", appPath(k))); n > limit {
		t.Errorf("%d updates for a burst of 200 writes in %v, want at most %d", n, burst, limit)
	}
}
