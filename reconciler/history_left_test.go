package reconciler_test

import (
	"context"
	"errors"
	"testing"

	"theseus.dev/model"
	"theseus.dev/reconciler"
	"theseus.dev/specs"
)

// unreachableHistory fails every write of the histories, as etcd out of
// reach for the history recorder alone would (the status writer goes on).
type unreachableHistory struct{ reconciler.HistoryStore }

func (u unreachableHistory) UpdateMany(_ context.Context, _ model.Fence, edits []model.HistoryEdit) []error {
	errs := make([]error, len(edits))
	for i := range errs {
		errs[i] = errors.New("etcd out of reach")
	}
	return errs
}

// TestNextLeaderRecordsWhatWasLeft: the history is written behind the
// loop, so a leader may end with a revision Synced in /status and not yet
// in the history ("what is left is the next leader's", history.go). The
// next leader records it from its first snapshot, with the outcome the
// status holds, so that a failed rollout after it goes back to it.
func TestNextLeaderRecordsWhatWasLeft(t *testing.T) {
	e := newEnv(t)
	_, stopA := e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"},
		history: func(h reconciler.HistoryStore) reconciler.HistoryStore { return unreachableHistory{h} }})
	e.sim.Faults().CrashImage("nginx:bad", 0)
	k := key(t, "web", "dev")
	good := e.syncedForGood(k, spec(k, "nginx:1.27", 2, ""))
	stopA()
	if n := len(e.history(k).Entries); n != 0 {
		t.Fatalf("the first leader recorded %d entries through an unreachable store", n)
	}

	e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "b"}})
	e.eventually(converge, "the revision left recorded Synced", func() bool {
		en := e.history(k).Entry(good)
		return en != nil && en.Outcome == specs.OutcomeSynced && len(en.Spec) > 0
	})
	e.putSpec(k, spec(k, "nginx:bad", 2, ""))
	bad := e.modRevision(k)
	e.eventually(converge, "the failed rollout judged", func() bool {
		return e.phaseIs(k, specs.PhaseRolledBack, bad)() || e.phaseIs(k, specs.PhaseFailed, bad)()
	})
	if st := e.status(k); st.Phase != specs.PhaseRolledBack {
		t.Errorf("phase %s (%s), want RolledBack to revision %d, which /status saw Synced", st.Phase, st.Message, good)
	}
	e.eventually(converge, "the bad revision recorded", func() bool { return e.history(k).Entry(bad) != nil })
	if h := e.history(k); h.Entry(good) == nil {
		t.Errorf("revision %d, seen by the next leader in its snapshot, has no entry: %v", good, e.outcomes(k))
	}
}
