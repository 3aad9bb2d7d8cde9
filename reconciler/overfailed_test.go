package reconciler_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"theseus.dev/diff"
	"theseus.dev/reconciler"
	"theseus.dev/specs"
)

// TestFixForcedOverFailedRollout: the first revision of a group never
// turns healthy; past its deadline it is Failed, with nothing to roll
// back to, and Marathon goes on deploying it. A fix is then written over that deployment (the plan
// says so), with one forced write, rather than waiting behind it for
// ever, and the group is Synced.
func TestFixForcedOverFailedRollout(t *testing.T) {
	e := newEnv(t)
	_, stop := e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"}})
	e.sim.Faults().NeverHealthyImage("nginx:bad")
	k := key(t, "web", "dev")
	const deadline = neverDone + `,"upgrade":{"progressDeadlineSeconds":1}`
	e.putSpec(k, spec(k, "nginx:bad", 2, deadline))
	bad := e.modRevision(k)
	e.eventually(converge, "Failed in the history", func() bool {
		return slices.Equal(e.outcomes(k), []string{fmt.Sprintf("%d:Failed", bad)})
	})
	if a, _ := e.app(k); a.Deployment == "" {
		t.Fatal("the failed rollout's deployment is over: nothing would wait behind it")
	}
	stop()

	fix := spec(k, "nginx:1.27", 2, deadline)
	forcedIn := func(what string, p *diff.Plan) {
		t.Helper()
		i := slices.IndexFunc(p.Actions, func(a diff.Action) bool { return a.Key == k })
		if i < 0 || p.Actions[i].Kind != diff.Update || !p.Actions[i].Force || p.Actions[i].HeldBack != "" ||
			!strings.Contains(p.Actions[i].Reason, fmt.Sprintf("the rollout of revision %d failed", bad)) {
			t.Fatalf("%s: want an update forced over the failed deployment, got %+v", what, p.Actions)
		}
	}
	// plan -f of the fix, before it is written.
	g, err := specs.DecodeStored(k, []byte(fix))
	if err != nil {
		t.Fatal(err)
	}
	local, err := reconciler.ReadLocal(t.Context(), e.store.Desired(), reconciler.LocalSpecs{Groups: []*specs.Group{g}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := reconciler.PlanFrom(t.Context(), reconciler.PlanSources{Desired: e.store.Desired(), Apps: e.mc,
		Pauses: e.store.Pauses(), History: e.store.History(), Statuses: e.store.Status(),
		Local: &local.Snapshot, OnlyLocal: true, NewRevisions: local.NewRevisions}, diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	forcedIn("plan of the fix's file", p)

	e.putSpec(k, fix)
	fixed := e.modRevision(k)
	forcedIn("plan of the fix in /desired", e.planHolds())

	e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"}})
	e.fixForced(k, fixed, "nginx:1.27")
}

// TestFixForcedOverSupersededRollout: a revision whose tasks never turn
// healthy is superseded by a fix while Marathon still deploys it. It is
// no longer judged, and its deployment never ends: once the progress
// deadline has passed since it began, it is recorded Failed and the fix
// is forced over its deployment, rather than waiting behind it for ever.
func TestFixForcedOverSupersededRollout(t *testing.T) {
	e := newEnv(t)
	e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"}})
	e.sim.Faults().NeverHealthyImage("nginx:slow")
	k := key(t, "web", "dev")
	const deadline = neverDone + `,"upgrade":{"progressDeadlineSeconds":1}`
	good := e.syncedForGood(k, spec(k, "nginx:1.27", 2, deadline))
	e.putSpec(k, spec(k, "nginx:slow", 2, deadline))
	slow := e.modRevision(k)
	e.eventually(converge, "the slow rollout deploying", func() bool {
		a, _ := e.app(k)
		st := e.status(k)
		return a.Image == "nginx:slow" && a.Deployment != "" && st != nil && st.Rollout != nil && st.Rollout.Revision == slow
	})
	e.putSpec(k, spec(k, "nginx:1.28", 2, deadline))
	fixed := e.modRevision(k)
	e.fixForced(k, fixed, "nginx:1.28")
	want := []string{fmt.Sprintf("%d:Synced", good), fmt.Sprintf("%d:Failed", slow), fmt.Sprintf("%d:Synced", fixed)}
	e.eventually(converge, "the history", func() bool { return slices.Equal(e.outcomes(k), want) })
	if r := e.history(k).Entry(slow).Reason; !strings.Contains(r, fmt.Sprintf("superseded by revision %d", fixed)) {
		t.Errorf("reason of the superseded revision's failure: %q", r)
	}
	if st := e.status(k); st.Superseded != nil {
		t.Errorf("the status still follows the superseded rollout: %+v", st.Superseded)
	}
}

// fixForced waits until k's fix, revision rev of image, is Synced with
// no deployment left, and checks it was the one forced write.
func (e *env) fixForced(k specs.GroupKey, rev int64, image string) {
	e.t.Helper()
	e.eventually(converge, "the fix Synced", func() bool {
		st := e.status(k)
		a, _ := e.app(k)
		return st != nil && st.Phase == specs.PhaseSynced && st.ObservedRevision == rev && a.Image == image && a.Deployment == ""
	})
	if f := e.forced(); len(f) != 1 {
		e.t.Errorf("forced writes %v, want the fix's alone", f)
	}
}
