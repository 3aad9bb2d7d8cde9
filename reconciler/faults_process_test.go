package reconciler_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/drivers/marathon"
	"theseus.dev/drivers/marathon/marathonsim"
	"theseus.dev/model"
	"theseus.dev/reconciler"
	"theseus.dev/specs"
)

// TestReconcilePanicRecovered (row 23): a reconcile that panics (here in
// the call that creates the app; no spec makes normalise or diff panic
// since their fuzzing) is recovered and counted, retried with backoff
// until it succeeds, and the daemon goes on in the same term: the other
// groups converge and the group is created once.
func TestReconcilePanicRecovered(t *testing.T) {
	e := newEnv(t)
	m := reconciler.NewMetrics()
	bad := key(t, "api", "bad")
	var panics atomic.Int32
	tap := &tapMarathon{before: func(method string, k specs.GroupKey) {
		if method == "create" && k == bad && panics.Add(1) <= 2 {
			panic("injected: reconcile of " + k.String())
		}
	}}
	d, _ := e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a", metrics: m},
		marathon: func(mc reconciler.Marathon) reconciler.Marathon { tap.Marathon = mc; return tap }})
	keys := e.deploy("api", 2)
	ctl := d.Controller()
	e.putSpec(bad, spec(bad, "nginx:1.27", 2, ""))
	e.eventually(converge, "the group is created after two panics", running(e, bad, 2))
	if n := metric(t, m, "controller_runtime_reconcile_panics_total"); n != 2 {
		t.Errorf("%v panics counted, want 2", n)
	}
	if !d.Leading() || d.Controller() != ctl {
		t.Error("the panics ended the term")
	}
	if n := len(e.writesTo("POST", "/v2/apps")); n != 3 {
		t.Errorf("%d creates for 3 groups", n)
	}
	e.checkInvariants(append(keys, bad)...)
}

// TestShutdownDuringRollout (row 25): the leader is stopped (SIGTERM
// cancels the daemon's context) while a rolling update is under way. It
// returns within its grace period having resigned, so the standby takes
// over without waiting for the lease to expire; Marathon's deployment
// carries on untouched, and the standby sees it through without a second
// write.
func TestShutdownDuringRollout(t *testing.T) {
	e := newEnv(t)
	a, stopA := e.start(controllerOpts{id: "a"})
	e.eventually(converge, "a leads", a.Leading)
	b, _ := e.start(controllerOpts{id: "b"})
	k := e.deploy("api", 1)[0]
	never := e.sim.Faults().NeverHealthyImage("nginx:1.28")
	e.putSpec(k, spec(k, "nginx:1.28", 2, neverDone))
	var dep string
	e.eventually(converge, "the rollout is under way and recorded", func() bool {
		app, _ := e.app(k)
		st := e.status(k)
		dep = app.Deployment
		return dep != "" && st != nil && st.DeploymentID == dep
	})

	start := time.Now()
	stopA()
	stopped := time.Since(start)
	if stopped > 1500*time.Millisecond { // Grace is 1s
		t.Errorf("stopping took %v", stopped)
	}
	resp, err := e.etcd.Client.Get(t.Context(), specs.TheseusDir+"leader", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range resp.Kvs {
		if string(kv.Value) == "a" {
			t.Errorf("a's election key %s outlived it: it did not resign", kv.Key)
		}
	}
	e.eventually(converge, "b takes over", b.Leading)
	t.Logf("a stopped in %v; b leads %v after the stop began", stopped.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	if !slices.ContainsFunc(e.sim.Deployments(), func(d2 marathonsim.DeploymentState) bool { return d2.ID == dep }) {
		t.Errorf("deployment %s did not survive the shutdown: %+v", dep, e.sim.Deployments())
	}

	e.sim.Faults().Clear(never)
	e.checkInvariants(k)
	if n := len(e.writesTo("PUT", appPath(k))); n != 1 {
		t.Errorf("%d updates, want 1", n)
	}
	if n := len(e.writesTo(http.MethodDelete, "/v2/deployments")); n != 0 {
		t.Errorf("%d deployments cancelled", n)
	}
}

// tapMarathon is the driver with hooks before its writes, and a log of
// the writes made through it.
type tapMarathon struct {
	reconciler.Marathon
	// before, if set, is called before each write of k, ahead of the
	// write's guard; a panic in it is a panic of the reconcile.
	before func(method string, k specs.GroupKey)

	mu     sync.Mutex
	writes []time.Time // sent
	calls  []time.Time // ended, sent or not
}

// heldUpdate is the driver with, once armed, the next update of its key
// held inside the write until released: a leader caught with a call to
// Marathon in flight.
type heldUpdate struct {
	tapMarathon
	key     specs.GroupKey // set before armed
	armed   atomic.Bool
	held    chan struct{} // closed once the update is held
	gate    chan struct{}
	release func() // lets the update go; more calls do nothing
}

func newHeldUpdate() *heldUpdate {
	h := &heldUpdate{held: make(chan struct{}), gate: make(chan struct{})}
	var once sync.Once
	h.release = func() { once.Do(func() { close(h.gate) }) }
	h.before = func(method string, k specs.GroupKey) {
		// armed first: the key was set before it was.
		if h.armed.Load() && method == "update" && k == h.key && h.armed.CompareAndSwap(true, false) {
			close(h.held)
			<-h.gate
		}
	}
	return h
}

// wrap is a daemonOpts.marathon.
func (h *heldUpdate) wrap(m reconciler.Marathon) reconciler.Marathon { h.Marathon = m; return h }

// arm holds the next update of k.
func (h *heldUpdate) arm(k specs.GroupKey) {
	h.key = k
	h.armed.Store(true)
}

// await waits until the update is held.
func (h *heldUpdate) await(t *testing.T) {
	t.Helper()
	select {
	case <-h.held:
	case <-time.After(converge):
		t.Fatal("the update never came")
	}
}

// write returns ctx with a write guard that calls before, then the
// guard already in ctx, and notes the write of k if that lets it
// through, as the driver sends it (each attempt): a write the guard
// stops is not a write.
func (m *tapMarathon) write(ctx context.Context, method string, k specs.GroupKey) context.Context {
	return model.WithWriteGuard(ctx, func(context.Context) error {
		if m.before != nil {
			m.before(method, k)
		}
		if err := model.CheckWriteGuard(ctx); err != nil {
			return err
		}
		m.mu.Lock()
		m.writes = append(m.writes, time.Now())
		m.mu.Unlock()
		return nil
	})
}

// writesAfter counts the writes sent through m after t.
func (m *tapMarathon) writesAfter(t time.Time) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return countAfter(m.writes, t)
}

// callsAfter counts the calls of write methods of m that ended after t,
// whether they sent the write or not.
func (m *tapMarathon) callsAfter(t time.Time) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return countAfter(m.calls, t)
}

func countAfter(ts []time.Time, t time.Time) int {
	n := 0
	for _, w := range ts {
		if w.After(t) {
			n++
		}
	}
	return n
}

// ended notes the end of a call of a write method.
func (m *tapMarathon) ended(res marathon.Result, err error) (marathon.Result, error) {
	m.mu.Lock()
	m.calls = append(m.calls, time.Now())
	m.mu.Unlock()
	return res, err
}

func (m *tapMarathon) Create(ctx context.Context, w marathon.Write) (marathon.Result, error) {
	return m.ended(m.Marathon.Create(m.write(ctx, "create", w.Key), w))
}

func (m *tapMarathon) Update(ctx context.Context, w marathon.Write) (marathon.Result, error) {
	return m.ended(m.Marathon.Update(m.write(ctx, "update", w.Key), w))
}

func (m *tapMarathon) Scale(ctx context.Context, k specs.GroupKey, n int) (marathon.Result, error) {
	return m.ended(m.Marathon.Scale(m.write(ctx, "scale", k), k, n))
}

func (m *tapMarathon) Restart(ctx context.Context, k specs.GroupKey) (marathon.Result, error) {
	return m.ended(m.Marathon.Restart(m.write(ctx, "restart", k), k))
}

func (m *tapMarathon) Delete(ctx context.Context, k specs.GroupKey) (marathon.Result, error) {
	return m.ended(m.Marathon.Delete(m.write(ctx, "delete", k), k))
}

// metric sums the samples of the named metric as m exposes them on
// /metrics.
func metric(t testing.TB, m *reconciler.Metrics, name string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	sum := 0.0
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, name+" ") && !strings.HasPrefix(l, name+"{") {
			continue
		}
		v, err := strconv.ParseFloat(l[strings.LastIndexByte(l, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", l, err)
		}
		sum += v
	}
	return sum
}

// lostStatus is a /status store whose writes all fail once lose is set,
// as a daemon's that dies between a Marathon write and its status.
type lostStatus struct {
	reconciler.StatusStore
	lose atomic.Bool
}

func (s *lostStatus) Write(ctx context.Context, f model.Fence, changes []model.StatusChange) error {
	if s.lose.Load() {
		return errors.New("injected: the daemon died before its status was written")
	}
	return s.StatusStore.Write(ctx, f, changes)
}

// TestShutdownSaysItWaits: a leader stopped while a call to Marathon is
// in flight says at once that it lets the call finish within its grace
// period before it resigns, and says so again when the grace is over and
// the call is cancelled: it said nothing until it had resigned, and an
// operator watched a stop that seemed to hang for up to --grace.
func TestShutdownSaysItWaits(t *testing.T) {
	e := newEnv(t)
	hold := newHeldUpdate()
	logs := &lockedBuffer{}
	a, stop := e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"}, logTo: logs, marathon: hold.wrap})
	t.Cleanup(hold.release) // before the daemon's stop
	e.eventually(converge, "a leads", a.Leading)
	k := e.deploy("api", 1)[0]
	e.eventually(converge, "the group's status", func() bool { return e.statusTruthful(k) == "" })
	hold.arm(k)
	e.putSpec(k, spec(k, "nginx:1.28", 1, ""))
	hold.await(t)

	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	e.eventually(converge, "a says it waits for the call in flight", func() bool {
		return strings.Contains(logs.String(), "letting calls in flight finish")
	})
	e.eventually(converge, "a says the grace is over", func() bool {
		return strings.Contains(logs.String(), "grace period over")
	})
	hold.release()
	<-stopped
}

// TestCrashBetweenWriteAndStatus (row 19): the leader dies after
// Marathon took its update of a new revision and before /status
// recorded it. The next leader writes nothing again, and follows the
// rollout as the one the lost status would have followed: an image that
// crashes is rolled back to the last Synced revision, and its revision
// is never recorded Synced, though its tasks run for a while between
// crashes.
func TestCrashBetweenWriteAndStatus(t *testing.T) {
	e := newEnv(t)
	lost := &lostStatus{}
	tap := &tapMarathon{before: func(method string, k specs.GroupKey) {
		if method == "update" {
			lost.lose.Store(true)
		}
	}}
	_, stopA := e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"},
		marathon: func(m reconciler.Marathon) reconciler.Marathon { tap.Marathon = m; return tap },
		status:   func(s reconciler.StatusStore) reconciler.StatusStore { lost.StatusStore = s; return lost }})
	e.sim.Faults().CrashImage("nginx:bad", 0)
	k := key(t, "web", "dev")
	good := e.syncedForGood(k, spec(k, "nginx:1.27", 2, ""))
	e.putSpec(k, spec(k, "nginx:bad", 2, ""))
	bad := e.modRevision(k)
	e.eventually(converge, "the update sent", func() bool { return len(e.writesTo("PUT", appPath(k))) == 1 })
	stopA()
	if st := e.status(k); st == nil || st.ObservedRevision != good {
		t.Fatalf("the status of the update was written: %+v", st)
	}

	e.start(controllerOpts{id: "b"})
	e.eventually(converge, "RolledBack", e.phaseIs(k, specs.PhaseRolledBack, bad))
	if f := e.status(k).Failure; f == nil || f.Revision != bad || f.RestoredRevision != good {
		t.Errorf("failure %+v, want revision %d rolled back to %d", f, bad, good)
	}
	e.eventually(converge, "the good image running again", func() bool {
		a, _ := e.app(k)
		return a.Image == "nginx:1.27" && running(e, k, 2)() && a.Deployment == ""
	})
	if f := e.forced(); len(f) != 1 {
		t.Errorf("forced writes %v, want the one rollback", f)
	}
	if n := len(e.writesTo("PUT", appPath(k))); n != 2 {
		t.Errorf("%d updates, want the bad one and its rollback", n)
	}
	want := []string{fmt.Sprintf("%d:Synced", good), fmt.Sprintf("%d:RolledBack", bad)}
	e.eventually(converge, "the history", func() bool { return slices.Equal(e.outcomes(k), want) })
}
