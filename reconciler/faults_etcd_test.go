package reconciler_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/marathon"
	"theseus.dev/reconciler"
	"theseus.dev/specs"
)

// dropEvery drops every etcd connection through the proxy each period
// until the returned stop is called.
func (e *env) dropEvery(period time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(e.t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				e.etcd.DropConnections()
			}
		}
	}()
	return func() { cancel(); <-done }
}

// directPut writes a spec with a client that bypasses the proxy, as a
// user on the healthy side of a partition would.
func directPut(t *testing.T, e *env, k specs.GroupKey, s string) {
	t.Helper()
	if _, err := e.etcd.NewDirectClient(t).Put(t.Context(), specs.DesiredKey("", k), s); err != nil {
		t.Fatal(err)
	}
}

// TestEtcdConnectionsDropped (row 2): the controller's etcd connections
// are cut again and again while specs change. Its desired state is never
// read as empty or partial (with pruning on, nothing is deleted and the
// prune guard never fires) and every change converges with one write.
func TestEtcdConnectionsDropped(t *testing.T) {
	e := newEnv(t)
	m := reconciler.NewMetrics()
	e.start(controllerOpts{id: "a", prune: true, metrics: m})
	keys := e.deploy("api", 3)
	stopDrops := e.dropEvery(30 * time.Millisecond)
	for i, k := range keys {
		directPut(t, e, k, spec(k, "nginx:1.27", 2+i, ""))
	}
	for i, k := range keys {
		e.eventually(converge, k.String()+" scales under dropped connections", running(e, k, 2+i))
	}
	stopDrops()
	if n := len(e.writesTo("DELETE", "/v2/apps")); n != 0 {
		t.Errorf("%d deletes while etcd connections dropped", n)
	}
	if n := testutil.ToFloat64(m.PruneBlockedCounter("empty_desired")) + testutil.ToFloat64(m.PruneBlockedCounter("max_deletes")); n != 0 {
		t.Errorf("the prune guard fired %v times: /desired was read as emptied", n)
	}
	for _, k := range keys {
		if n := len(e.writesTo("PUT", appPath(k))); n != 1 {
			t.Errorf("%s: %d writes for one change, want 1", k, n)
		}
	}
	e.checkInvariants(keys...)
}

// TestEtcdBlackholedLeader (row 3): the leader's etcd goes silent (no
// resets). It stops leading when its lease runs out, is not ready, and
// writes nothing to Marathon from its stuck view, even when Marathon and
// /desired change meanwhile; once etcd answers it leads again from fresh
// state and writes nothing either, since Marathon already matches.
func TestEtcdBlackholedLeader(t *testing.T) {
	e := newEnv(t)
	tap := &tapMarathon{}
	d, _ := e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"},
		marathon: func(m reconciler.Marathon) reconciler.Marathon { tap.Marathon = m; return tap }})
	keys := e.deploy("api", 2)
	e.eventually(converge, "the first group's status", func() bool { return e.statusTruthful(keys[0]) == "" })

	e.etcd.Blackhole()
	e.eventually(converge, "the leader notices its lease ran out", func() bool { return !d.Leading() })
	lost := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	if err := d.Ready(ctx); err == nil {
		t.Error("ready while etcd is blackholed")
	}
	cancel()
	// Meanwhile a user scales the group in /desired and in Marathon (as
	// `theseusd apply` would). The stuck view still says 1 instance.
	directPut(t, e, keys[0], spec(keys[0], "nginx:1.27", 2, ""))
	if _, err := e.mc.Scale(t.Context(), keys[0], 2); err != nil {
		t.Fatal(err)
	}
	e.eventually(converge, "Marathon runs the user's scale", running(e, keys[0], 2))
	e.holds(500*time.Millisecond, "no Marathon writes from the partitioned daemon", func() bool { return tap.writesAfter(lost) == 0 })

	// The proxy dropped bytes mid-stream: the partition heals with the
	// connections reset, as TCP would after a long enough one.
	e.etcd.Unblackhole()
	e.etcd.DropConnections()
	e.eventually(converge, "the daemon leads again", d.Leading)
	e.eventually(converge, "the daemon is ready", func() bool { return d.Ready(t.Context()) == nil })
	e.checkInvariants(keys...)
	if n := tap.writesAfter(lost); n != 0 {
		t.Errorf("%d Marathon writes after the partition although Marathon matched /desired", n)
	}
	if a, _ := e.app(keys[0]); a.Instances != 2 {
		t.Errorf("the user's scale was undone: %d instances", a.Instances)
	}
}

// TestStaleDesiredViewNotActedOn (rows 3 and 6): a leader whose view of
// /desired is behind (its watch stalled, or it is cut off from the etcd
// majority for as long as its lease lasts) must not "heal" Marathon back
// to the spec it last saw when Marathon changes under it. Every Marathon
// write is preceded by a fenced, linearizable read of the group's
// /desired revision; a newer one holds the write back until the watch
// delivers it.
func TestStaleDesiredViewNotActedOn(t *testing.T) {
	e := newEnv(t)
	tap := &tapMarathon{}
	stalled := &stalledDesired{release: make(chan struct{})}
	e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"},
		marathon: func(m reconciler.Marathon) reconciler.Marathon { tap.Marathon = m; return tap },
		desired:  func(d reconciler.DesiredSource) reconciler.DesiredSource { stalled.DesiredSource = d; return stalled }})
	keys := e.deploy("api", 2)
	e.eventually(converge, "the first group's status", func() bool { return e.statusTruthful(keys[0]) == "" })

	stalled.hold.Store(true)
	cut := time.Now()
	// A user scales the group to 2; the leader's watch does not say so.
	// Someone scales the app to 3 by hand; the leader hears of it.
	directPut(t, e, keys[0], spec(keys[0], "nginx:1.27", 2, ""))
	if _, err := e.mc.Scale(t.Context(), keys[0], 3); err != nil {
		t.Fatal(err)
	}
	e.eventually(converge, "Marathon runs the hand-made scale", running(e, keys[0], 3))
	e.holds(time.Second, "no Marathon write from the stale view (which says 1 instance)", func() bool {
		return tap.writesAfter(cut) == 0
	})

	close(stalled.release)
	e.eventually(converge, "the user's spec is carried out once the watch delivers it", running(e, keys[0], 2))
	e.checkInvariants(keys...)
}

// TestConfirmedAfterRateLimitWait: a write that waits for the rate limit
// after its group's app was read and planned on confirms /desired after
// the wait: a spec that changed during the wait, and that the watch has
// not delivered, is not overwritten by the older one.
func TestConfirmedAfterRateLimitWait(t *testing.T) {
	e := newEnv(t)
	tap := &tapMarathon{}
	reads := &readTap{reads: make(chan specs.GroupKey, 100)}
	stalled := &stalledDesired{release: make(chan struct{})}
	e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"}, writeQPS: 1,
		marathon: func(m reconciler.Marathon) reconciler.Marathon {
			reads.Marathon = m
			tap.Marathon = reads
			return tap
		},
		desired: func(d reconciler.DesiredSource) reconciler.DesiredSource { stalled.DesiredSource = d; return stalled }})
	keys := e.deploy("api", 2)
	e.eventually(converge, "both statuses", func() bool { return e.statusTruthful(keys[0]) == "" && e.statusTruthful(keys[1]) == "" })

	// A write to the other group takes the one token of the second.
	before := time.Now()
	e.putSpec(keys[1], spec(keys[1], "nginx:1.27", 2, ""))
	e.eventually(converge, "the other group's write", func() bool { return tap.writesAfter(before) == 1 })
	for len(reads.reads) > 0 {
		<-reads.reads
	}
	e.putSpec(keys[0], spec(keys[0], "nginx:1.28", 1, ""))
	// Once its app is read again for the write, the write waits for a
	// token.
	for read := false; !read; {
		select {
		case k := <-reads.reads:
			read = k == keys[0]
		case <-time.After(converge):
			t.Fatalf("the app of %s was not read within %v", keys[0], converge)
		}
	}
	stalled.hold.Store(true)
	directPut(t, e, keys[0], spec(keys[0], "nginx:1.29", 1, ""))
	e.holds(1500*time.Millisecond, "no write of nginx:1.28 after its spec moved on", func() bool {
		a, _ := e.app(keys[0])
		return a.Image == "nginx:1.27"
	})
	close(stalled.release)
	e.eventually(converge, "the newest spec runs", func() bool {
		a, _ := e.app(keys[0])
		return a.Image == "nginx:1.29" && a.Deployment == ""
	})
}

// readTap is Marathon that reports each group whose app it read, without
// blocking.
type readTap struct {
	reconciler.Marathon
	reads chan specs.GroupKey
}

func (r *readTap) Get(ctx context.Context, k specs.GroupKey) (marathon.App, error) {
	a, err := r.Marathon.Get(ctx, k)
	select {
	case r.reads <- k:
	default:
	}
	return a, err
}

// stalledDesired is a /desired source whose watch stops delivering while
// hold is set, until release is closed; ConfirmUnpaused reads etcd as it
// is.
type stalledDesired struct {
	reconciler.DesiredSource
	hold    atomic.Bool
	release chan struct{}
}

func (s *stalledDesired) Sync(ctx context.Context, fn func(etcd.Update) error) error {
	return s.DesiredSource.Sync(ctx, func(u etcd.Update) error {
		if s.hold.Load() {
			select {
			case <-s.release:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return fn(u)
	})
}

// TestEtcdDownAtStartup (row 4): a daemon started while etcd is down is
// not ready and touches nothing in Marathon, not even with pruning on;
// when etcd comes back the same process leads and converges.
func TestEtcdDownAtStartup(t *testing.T) {
	e := newEnv(t)
	_, stop := e.start(controllerOpts{id: "a"})
	keys := e.deploy("api", 2)
	stop()
	e.putSpec(keys[1], spec(keys[1], "nginx:1.27", 3, ""))
	e.etcd.Stop()
	e.sim.ResetRequests()

	d, _ := e.start(controllerOpts{id: "b", prune: true})
	notReady := func() bool {
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		return d.Ready(ctx) != nil
	}
	// Many of the daemon's retry periods (at most 100ms here).
	e.holds(time.Second, "not leading, not ready, no Marathon writes while etcd is down", func() bool {
		return !d.Leading() && notReady() && e.sim.WriteCount() == 0
	})

	e.etcd.Restart(t)
	e.eventually(converge, "the daemon leads once etcd is up", d.Leading)
	e.eventually(converge, "the change made before converges", running(e, keys[1], 3))
	e.eventually(converge, "the daemon is ready", func() bool { return d.Ready(t.Context()) == nil })
	if n := len(e.writesTo("DELETE", "/v2/apps")); n != 0 {
		t.Errorf("%d deletes", n)
	}
	e.checkInvariants(keys...)
}

// lostReplies is a /status store whose first writes are committed but
// answered with an error, as when a member restarts after applying a
// request and before replying: the ambiguous write.
type lostReplies struct {
	reconciler.StatusStore
	left atomic.Int32
	lost atomic.Int32
}

func (s *lostReplies) Write(ctx context.Context, f etcd.Fence, changes []etcd.StatusChange) error {
	err := s.StatusStore.Write(ctx, f, changes)
	if err == nil && s.left.Add(-1) >= 0 {
		s.lost.Add(1)
		return errors.New("etcdserver: request timed out")
	}
	return err
}

// TestEtcdAmbiguousStatusWrite (row 5): status writes that were applied
// but whose reply was lost, and connections cut under them, make the
// controller retry, never write to Marathon twice for one change.
func TestEtcdAmbiguousStatusWrite(t *testing.T) {
	e := newEnv(t)
	st := &lostReplies{}
	e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"},
		status: func(s reconciler.StatusStore) reconciler.StatusStore { st.StatusStore = s; return st }})
	keys := e.deploy("api", 4)
	st.left.Store(8)
	stopDrops := e.dropEvery(50 * time.Millisecond)
	for _, k := range keys {
		directPut(t, e, k, spec(k, "nginx:1.28", 2, ""))
	}
	for _, k := range keys {
		e.eventually(converge, k.String()+" updated", func() bool {
			a, _ := e.app(k)
			return a.Image == "nginx:1.28" && running(e, k, 2)()
		})
		// Its status written too: the status writer runs behind the
		// Marathon writes.
		e.eventually(converge, k.String()+"'s status", func() bool { return e.statusTruthful(k) == "" })
	}
	stopDrops()
	if st.lost.Load() == 0 {
		t.Fatal("no status write was made ambiguous")
	}
	for _, k := range keys {
		if n := len(e.writesTo("PUT", appPath(k))); n != 1 {
			t.Errorf("%s: %d Marathon writes for one change, want 1", k, n)
		}
	}
	e.checkInvariants(keys...)
}

// TestLeaderSessionExpires (row 6): the leader is cut off from etcd for
// longer than its lease. It stops writing to Marathon; the standby, which
// still reaches etcd, takes over when the lease expires and converges a
// change with one write; no group is created twice. When the old leader
// can reach etcd again it stays standby.
func TestLeaderSessionExpires(t *testing.T) {
	e := newEnv(t)
	tap := &tapMarathon{}
	a, _ := e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"},
		marathon: func(m reconciler.Marathon) reconciler.Marathon { tap.Marathon = m; return tap }})
	e.eventually(converge, "a leads", a.Leading)
	direct := e.directStore()
	b, _ := e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "b"}, store: direct})
	keys := e.deploy("api", 3)

	e.etcd.Blackhole() // only a goes through the proxy
	start := time.Now()
	e.eventually(converge, "b takes over", func() bool { return b.Leading() && !a.Leading() })
	lost := time.Now()
	t.Logf("b leads %v after a was cut off", lost.Sub(start).Round(time.Millisecond))
	directPut(t, e, keys[0], spec(keys[0], "nginx:1.28", 1, ""))
	e.eventually(converge, "b converges the change", func() bool {
		app, _ := e.app(keys[0])
		return app.Image == "nginx:1.28" && running(e, keys[0], 1)()
	})
	if n := tap.writesAfter(lost); n != 0 {
		t.Errorf("the expired leader made %d Marathon writes", n)
	}

	e.etcd.Unblackhole()
	e.etcd.DropConnections()
	e.eventually(converge, "a is ready again, as standby", func() bool { return a.Ready(t.Context()) == nil })
	e.checkInvariants(keys...)
	if a.Leading() || !b.Leading() {
		t.Errorf("leading: a %v, b %v; want b only", a.Leading(), b.Leading())
	}
	if n := len(e.writesTo("POST", "/v2/apps")); n != 3 {
		t.Errorf("%d creates for 3 groups", n)
	}
	if n := len(e.writesTo("PUT", appPath(keys[0]))); n != 1 {
		t.Errorf("%d writes for one change, want 1", n)
	}
}

// TestOversizedSpec (row 26): a spec larger than the 1 MiB limit is
// refused for its group alone, with the size and the limit in its
// status; its running app is untouched and other groups proceed.
func TestOversizedSpec(t *testing.T) {
	e := newEnv(t)
	e.start(controllerOpts{id: "a", prune: true})
	keys := e.deploy("api", 2)
	before, _ := e.app(keys[0])
	big := fmt.Sprintf(`,"env":{"BLOB":%q}`, strings.Repeat("x", specs.MaxSpecBytes+100<<10))
	e.putSpec(keys[0], spec(keys[0], "nginx:1.28", 3, big))
	e.putSpec(keys[1], spec(keys[1], "nginx:1.27", 2, ""))
	e.eventually(converge, "the oversized spec is reported", func() bool {
		st := e.status(keys[0])
		return st != nil && st.Phase == specs.PhaseInvalid && len(st.Errors) > 0
	})
	if msg := strings.Join(e.status(keys[0]).Errors, "; "); !strings.Contains(msg, "MiB limit") || !strings.Contains(msg, "/desired/"+keys[0].String()) {
		t.Errorf("errors %q do not name the key, the size and the limit", msg)
	}
	e.eventually(converge, "the other group converges", running(e, keys[1], 2))
	if after, _ := e.app(keys[0]); after.Version != before.Version || after.Image != "nginx:1.27" || after.Instances != 1 {
		t.Errorf("the app of the oversized spec changed: %+v → %+v", before, after)
	}
	if n := len(e.writesTo("PUT", appPath(keys[0]))) + len(e.writesTo("DELETE", appPath(keys[0]))); n != 0 {
		t.Errorf("%d writes to the app of the oversized spec", n)
	}
	e.checkInvariants(keys[1])
}

// TestReadyBlamesOnlyWhatDoesNotAnswer: while etcd is silent and
// Marathon answers, /readyz names etcd alone. The two are checked side
// by side, each within the probe's time: Marathon's check, made after a
// silent etcd had used it all up, failed too and sent the operator
// after a Marathon that was fine.
func TestReadyBlamesOnlyWhatDoesNotAnswer(t *testing.T) {
	e := newEnv(t)
	d, _ := e.start(controllerOpts{id: "a"})
	e.eventually(converge, "the daemon is ready", func() bool { return d.Ready(t.Context()) == nil })

	e.etcd.Blackhole()
	defer e.etcd.Unblackhole()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	err := d.Ready(ctx)
	cancel()
	if err == nil || !strings.Contains(err.Error(), "etcd:") {
		t.Fatalf("ready while etcd is silent, or etcd not named: %v", err)
	}
	if strings.Contains(err.Error(), "marathon:") {
		t.Errorf("Marathon, which answers, named as not ready: %v", err)
	}
}
