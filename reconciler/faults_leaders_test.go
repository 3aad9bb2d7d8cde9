package reconciler_test

import (
	"context"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"theseus.dev/drivers/etcd"
	"theseus.dev/reconciler"
	"theseus.dev/specs"
)

// TestTwoLeadersAtOnce (rows 6 and 8): the leader is held up between its
// decision to update a group and its Marathon write, and meanwhile its
// leadership ends in etcd without its knowing: its lease is gone (as
// after a pause longer than the TTL) and its etcd traffic is cut, so it
// hears of nothing. The standby leads and acts: it carries out the spec
// the old leader was about to write, then a newer one. Released, the old
// leader still holds a live work context (its lease has long to run by
// its own clock), yet its stale write does not reach Marathon: the
// driver checks the fence just before it sends. Marathon keeps the newest
// spec, and /status and /services end exact.
func TestTwoLeadersAtOnce(t *testing.T) {
	e := newEnv(t)
	var armed atomic.Bool
	paused, release := make(chan struct{}), make(chan struct{})
	var k specs.GroupKey
	tapA := &tapMarathon{}
	tapA.before = func(method string, key specs.GroupKey) {
		if armed.Load() && method == "update" && key == k && armed.CompareAndSwap(true, false) {
			close(paused)
			<-release
		}
	}
	// A's lease outlives the test by its own clock; only etcd ends it.
	a, _ := e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"}, ttl: time.Minute,
		marathon: func(m reconciler.Marathon) reconciler.Marathon { tapA.Marathon = m; return tapA }})
	e.eventually(converge, "a leads", a.Leading)
	direct := e.directStore()
	b, _ := e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "b"}, store: direct})
	k = e.deploy("api", 1)[0]
	e.eventually(converge, "the group's status", func() bool { return e.statusTruthful(k) == "" })

	armed.Store(true)
	directPut(t, e, k, spec(k, "nginx:1.28", 1, ""))
	select {
	case <-paused:
	case <-time.After(converge):
		t.Fatal("a never got to its write")
	}
	// a is held between decision and write. Its lease ends in etcd, and
	// it can hear nothing of it.
	e.etcd.Blackhole() // only a goes through the proxy
	if err := revokeLeader(t.Context(), direct); err != nil {
		t.Fatal(err)
	}
	e.eventually(converge, "b leads", b.Leading)
	e.eventually(converge, "b carries out nginx:1.28", func() bool {
		app, _ := e.app(k)
		return app.Image == "nginx:1.28" && app.Deployment == ""
	})
	directPut(t, e, k, spec(k, "nginx:1.29", 1, ""))
	e.eventually(converge, "b carries out nginx:1.29", func() bool {
		app, _ := e.app(k)
		return app.Image == "nginx:1.29" && app.Deployment == "" && running(e, k, 1)()
	})
	if !a.Leading() {
		t.Fatal("a noticed the end of its leadership: the test shows nothing")
	}

	released := time.Now()
	close(release)
	e.eventually(converge, "a's write is over", func() bool { return tapA.callsAfter(released) == 1 })
	e.etcd.Unblackhole()
	e.etcd.DropConnections()
	e.eventually(converge, "a stops leading", func() bool { return !a.Leading() })
	for _, w := range e.writesTo("PUT", appPath(k)) {
		if w.at.After(released) {
			t.Errorf("a write of the old leader reached Marathon at %v", w.at.Sub(released))
		}
	}
	if app, _ := e.app(k); app.Image != "nginx:1.29" {
		t.Errorf("Marathon runs %s, want the newest spec, nginx:1.29", app.Image)
	}
	e.checkInvariants(k)
	if !b.Leading() {
		t.Error("b no longer leads")
	}
}

// revokeLeader ends the leader's lease in etcd, as a leader partitioned
// past its TTL, or killed, would see it end.
func revokeLeader(ctx context.Context, c *etcd.Client) error {
	leader, err := c.Leader(ctx)
	if err != nil {
		return err
	}
	_, err = c.Etcd().Revoke(ctx, leader.Lease)
	return err
}

// TestStaleLeaderTellsNothing (rows 6 and 8): a leader whose lease ended
// in etcd without its knowing sees an app changed by hand as the new
// leader does, and decides the group Drifted too; but it cannot record
// that, and tells the webhooks nothing of it: the receivers hear of the
// drift once, from the leader that recorded it.
func TestStaleLeaderTellsNothing(t *testing.T) {
	e := newEnv(t)
	notesA, notesB, metricsA := &recordedChanges{}, &recordedChanges{}, reconciler.NewMetrics()
	// A's lease outlives the test by its own clock; only etcd ends it.
	a, _ := e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a", metrics: metricsA}, ttl: time.Minute, notifier: notesA})
	e.eventually(converge, "a leads", a.Leading)
	direct := e.directStore()
	b, _ := e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "b"}, store: direct, notifier: notesB})
	k := key(t, "web", "dev")
	e.putSpec(k, spec(k, "nginx:1.27", 2, `,"drift":"report"`))
	rev := e.modRevision(k)
	e.eventually(converge, "Synced", func() bool { return e.phaseIs(k, specs.PhaseSynced, rev)() && running(e, k, 2)() })

	e.etcd.Blackhole() // only a goes through the proxy
	if err := revokeLeader(t.Context(), direct); err != nil {
		t.Fatal(err)
	}
	e.eventually(converge, "b leads", b.Leading)
	if code, body := e.simRequest("PUT", appPath(k), `{"instances":1}`); code != 200 {
		t.Fatalf("scale by hand: %d %s", code, body)
	}
	e.eventually(converge, "Drifted", func() bool { // read past the proxy a is cut off behind
		got, err := direct.Status().Get(t.Context(), k)
		return err == nil && got.Status != nil && got.Status.Phase == specs.PhaseDrifted && got.Status.ObservedRevision == rev
	})
	e.eventually(converge, "a decides Drifted too", func() bool { return metric(t, metricsA, "theseus_drift_detected_total") == 1 })
	if !a.Leading() {
		t.Fatal("a noticed the end of its leadership: the test shows nothing")
	}
	e.etcd.Unblackhole()
	e.etcd.DropConnections()
	e.eventually(converge, "a stops leading", func() bool { return !a.Leading() })

	told := func(r *recordedChanges) (n int) {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, c := range r.changes {
			if c.Group == k && c.To == specs.PhaseDrifted {
				n++
			}
		}
		return n
	}
	if n := told(notesA); n != 0 {
		t.Errorf("the stale leader told Drifted %d times, want 0: it never recorded it", n)
	}
	e.eventually(converge, "the leader told Drifted", func() bool { return told(notesB) > 0 })
	if n := told(notesB); n != 1 {
		t.Errorf("the leader told Drifted %d times, want 1", n)
	}
}

// TestStandbyReportsNoWorkInFlight: a leader that loses its leadership
// while a reconcile has run for a while reports, as a standby, no work in
// flight: workqueue_unfinished_work_seconds and
// workqueue_longest_running_processor_seconds are 0, not the last value
// its queue published before it shut down, which stayed for as long as
// the daemon stood by and read as a stuck worker.
func TestStandbyReportsNoWorkInFlight(t *testing.T) {
	e := newEnv(t)
	hold := newHeldUpdate()
	m := reconciler.NewMetrics()
	a, _ := e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a", metrics: m}, marathon: hold.wrap})
	t.Cleanup(hold.release) // before a's stop
	e.eventually(converge, "a leads", a.Leading)
	b, _ := e.start(controllerOpts{id: "b"})
	k := e.deploy("api", 1)[0]
	e.eventually(converge, "the group's status", func() bool { return e.statusTruthful(k) == "" })

	hold.arm(k)
	directPut(t, e, k, spec(k, "nginx:1.28", 1, ""))
	hold.await(t)
	busy := func() bool {
		return gaugeValue(t, m, "workqueue_unfinished_work_seconds", "theseus") > 0 &&
			gaugeValue(t, m, "workqueue_longest_running_processor_seconds", "theseus") > 0
	}
	e.eventually(converge, "a reports its reconcile in flight", busy)
	if err := revokeLeader(t.Context(), e.store); err != nil {
		t.Fatal(err)
	}
	hold.release()
	e.eventually(converge, "b leads", b.Leading)
	e.eventually(converge, "a stands by", func() bool { return !a.Leading() })
	for _, name := range []string{"workqueue_unfinished_work_seconds", "workqueue_longest_running_processor_seconds"} {
		if v := gaugeValue(t, m, name, "theseus"); v != 0 {
			t.Errorf("standby a reports %s %g, want 0", name, v)
		}
	}
}

// gaugeValue is the value of the gauge name of engine controller in
// m's exposition.
func gaugeValue(t *testing.T, m *reconciler.Metrics, name, controller string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for line := range strings.Lines(rec.Body.String()) {
		series, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		if ok && strings.HasPrefix(series, name+"{") && strings.Contains(series, `controller="`+controller+`"`) {
			v, err := strconv.ParseFloat(value, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return v
		}
	}
	t.Fatalf("no %s{controller=%q}", name, controller)
	return 0
}
