package reconciler_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"theseus.dev/diff"
	"theseus.dev/drivers/etcd"
	"theseus.dev/model"
	"theseus.dev/reconciler"
	"theseus.dev/specs"
)

// heldBack reports whether k's status says its delete is held back and
// how to release it.
func (e *env) heldBack(k specs.GroupKey) bool {
	st := e.status(k)
	return st != nil && st.Phase == specs.PhaseStalled && strings.Contains(st.Message, "held back") &&
		strings.Contains(st.Message, "theseusd prune --allow-mass-delete")
}

// TestPruneGuardWindow (row 9): with --prune, 8 of 10 specs are deleted
// one key at a time. The guard counts the deletions of its window
// together: 5 apps go (half of the 10), the other 3 are held back, also
// by a new leader, since the window is kept in etcd. The plan shows them
// held back. An operator's release (`theseusd prune --allow-mass-delete`)
// lets them through without a restart, and is noted with each deletion.
func TestPruneGuardWindow(t *testing.T) {
	e := newEnv(t)
	_, stopA := e.start(controllerOpts{id: "a", prune: true})
	keys := e.deploy("api", 10)
	gone := func(k specs.GroupKey) func() bool { return func() bool { _, ok := e.app(k); return !ok } }
	for i, k := range keys[:8] {
		if i == 5 {
			// A new leader takes over: the window is not forgotten.
			stopA()
			e.start(controllerOpts{id: "b", prune: true})
		}
		e.etcd.Etcdctl(t, "del", specs.DesiredKey("", k))
		if i < 5 {
			e.eventually(converge, k.String()+" is deleted", gone(k))
			continue
		}
		e.eventually(converge, k.String()+"'s delete is held back", func() bool { return e.heldBack(k) })
	}
	e.holds(time.Second, "three deletes held back over two resyncs", func() bool {
		for _, k := range keys[5:8] {
			if _, ok := e.app(k); !ok {
				return false
			}
		}
		return true
	})
	st, err := e.store.Prune().Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	p, err := reconciler.Plan(t.Context(), e.store.Desired(), nil, e.mc, diff.Options{Prune: true,
		History: reconciler.PruneHistory(st, time.Now(), reconciler.DefaultPruneWindow)})
	if err != nil {
		t.Fatal(err)
	}
	if c := p.Counts(); c[diff.Delete] != 0 || c[diff.Orphan] != 3 || !strings.Contains(p.PruneRefused, "3 more app(s) after 5") {
		t.Errorf("plan: %v, refused %q; want the 3 orphans held back after 5 deletions", c, p.PruneRefused)
	}
	for _, a := range p.Actions {
		if a.Reason != diff.HeldBackReason {
			t.Errorf("%s: reason %q, want it held back", a.Key, a.Reason)
		}
	}

	if err := e.store.Prune().Release(t.Context(), etcd.PruneRelease{By: "ops@bastion", At: time.Now(),
		Until: time.Now().Add(time.Minute), Reason: "retiring the api"}); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys[5:8] {
		e.eventually(converge, k.String()+" is deleted after the release", gone(k))
	}
	st, err = e.store.Prune().Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	released := 0
	for _, d := range st.Deletions {
		if d.ReleasedBy == "ops@bastion" {
			released++
		}
	}
	if len(st.Deletions) != 8 || released != 3 {
		t.Errorf("the window holds %d deletions, %d released; want 8 and 3: %+v", len(st.Deletions), released, st.Deletions)
	}
	e.checkInvariants(keys[8:]...)
}

// TestPruneGuardCountsRetriedDeleteOnce: a delete that Marathon fails
// and the controller tries again is one deletion in the guard's window,
// not one per try: 1 of 4 apps deleted after two failed tries leaves
// room for a second within the half the guard allows.
func TestPruneGuardCountsRetriedDeleteOnce(t *testing.T) {
	e := newEnv(t)
	flaky := &failDeletes{left: 2}
	e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a", prune: true},
		marathon: func(m reconciler.Marathon) reconciler.Marathon { flaky.Marathon = m; return flaky }})
	keys := e.deploy("api", 4)
	gone := func(k specs.GroupKey) func() bool { return func() bool { _, ok := e.app(k); return !ok } }
	e.etcd.Etcdctl(t, "del", specs.DesiredKey("", keys[0]))
	e.eventually(converge, keys[0].String()+" is deleted after two failed tries", gone(keys[0]))
	if n := flaky.failed(); n != 2 {
		t.Fatalf("%d deletes failed, want 2", n)
	}
	e.etcd.Etcdctl(t, "del", specs.DesiredKey("", keys[1]))
	e.eventually(converge, keys[1].String()+" is deleted: 2 of 4 apps", gone(keys[1]))
}

// failDeletes fails the first left deletes, as a Marathon that answers
// 503 would.
type failDeletes struct {
	reconciler.Marathon
	mu         sync.Mutex
	left, done int
}

func (f *failDeletes) Delete(ctx context.Context, k specs.GroupKey) (model.Result, error) {
	f.mu.Lock()
	fail := f.left > 0
	if fail {
		f.left--
		f.done++
	}
	f.mu.Unlock()
	if fail {
		return model.Result{}, errors.New("marathon answered 503")
	}
	return f.Marathon.Delete(ctx, k)
}

func (f *failDeletes) failed() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.done
}

// TestPruneLastAppHeldBack (row 9): `del --prefix /desired` while one
// app is managed is a wipe too: nothing is deleted, whatever the count.
func TestPruneLastAppHeldBack(t *testing.T) {
	e := newEnv(t)
	e.start(controllerOpts{id: "a", prune: true})
	k := e.deploy("api", 1)[0]
	e.etcd.Etcdctl(t, "del", "--prefix", "/desired/")
	e.eventually(converge, "the delete is held back", func() bool { return e.heldBack(k) })
	e.holds(time.Second, "the last app stays", func() bool { _, ok := e.app(k); return ok })
	if n := len(e.writesTo("DELETE", "/v2/apps")); n != 0 {
		t.Errorf("%d deletes", n)
	}
}
