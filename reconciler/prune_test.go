package reconciler_test

import (
	"strings"
	"testing"
	"time"

	"theseus.dev/diff"
	"theseus.dev/drivers/etcd"
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
