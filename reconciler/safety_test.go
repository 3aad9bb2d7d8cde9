package reconciler_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"theseus.dev/diff"
	"theseus.dev/drivers/marathon"
	"theseus.dev/model"
	"theseus.dev/reconciler"
	"theseus.dev/specs"
)

// planHolds is what `theseusd plan` prints now: with the pauses, the
// histories and the statuses, for what rollout safety holds back.
func (e *env) planHolds() *diff.Plan {
	e.t.Helper()
	p, err := reconciler.PlanFrom(e.t.Context(), reconciler.PlanSources{Desired: e.store.Desired(), Apps: e.mc,
		Pauses: e.store.Pauses(), History: e.store.History(), Statuses: e.store.Status()}, diff.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// syncedForGood puts the spec of k and waits until its revision is
// Synced and its rollout over; it returns the revision.
func (e *env) syncedForGood(k specs.GroupKey, value string) int64 {
	e.t.Helper()
	e.putSpec(k, value)
	rev := e.modRevision(k)
	e.eventually(converge, "the first revision Synced for good", func() bool {
		st := e.status(k)
		return st != nil && st.Phase == specs.PhaseSynced && st.Rollout == nil && st.SyncedRevision == rev
	})
	return rev
}

// heldFor is the action of k in p, if held back for h.
func heldFor(p *diff.Plan, k specs.GroupKey, h diff.Hold) bool {
	i := slices.IndexFunc(p.Actions, func(a diff.Action) bool { return a.Key == k })
	return i >= 0 && p.Actions[i].HeldBack == h && p.Pending() && !p.Acts()
}

// history reads k's history.
func (e *env) history(k specs.GroupKey) *specs.History {
	e.t.Helper()
	h, err := e.store.History().Get(e.t.Context(), k)
	if err != nil {
		e.t.Fatal(err)
	}
	return h
}

// outcomes are the revisions of k's history and what became of each,
// "rev:Outcome".
func (e *env) outcomes(k specs.GroupKey) []string {
	var out []string
	for _, en := range e.history(k).Entries {
		out = append(out, fmt.Sprintf("%d:%s", en.Revision, en.Outcome))
	}
	return out
}

// phaseIs is a condition: k's status is in phase p at /desired revision
// rev.
func (e *env) phaseIs(k specs.GroupKey, p specs.Phase, rev int64) func() bool {
	return func() bool {
		st := e.status(k)
		return st != nil && st.Phase == p && st.ObservedRevision == rev
	}
}

// TestCrashingImageRollsBack: a new image whose tasks crash is rolled
// back to the last Synced spec well before the progress deadline, with
// one forced write; the group is RolledBack with the failed revision, the
// task failure and what was restored; the failed revision is quarantined
// (no write of it, plan holds it back) until /desired changes, and a good
// revision then rolls out as usual. The history lists every step.
func TestCrashingImageRollsBack(t *testing.T) {
	e := newEnv(t)
	notes := &recordedChanges{}
	e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"}, notifier: notes})
	e.sim.Faults().CrashImage("nginx:bad", 0)
	k := key(t, "web", "dev")
	good := e.syncedForGood(k, spec(k, "nginx:1.27", 2, ""))

	e.putSpec(k, spec(k, "nginx:bad", 2, ""))
	bad := e.modRevision(k)
	e.eventually(converge, "RolledBack", e.phaseIs(k, specs.PhaseRolledBack, bad))
	st := e.status(k)
	if f := st.Failure; f == nil || f.Revision != bad || f.Reason != "Command exited with status 1" || f.RestoredRevision != good ||
		!strings.Contains(st.Message, "rolled back to revision") {
		t.Fatalf("status after the rollback: %+v, failure %+v", st, st.Failure)
	}
	e.eventually(converge, "the good image running again", func() bool {
		a, _ := e.app(k)
		return a.Image == "nginx:1.27" && running(e, k, 2)() && a.Deployment == ""
	})
	if f := e.forced(); len(f) != 1 || !strings.HasPrefix(f[0], "PUT /v2/apps/web/dev?") {
		t.Errorf("forced writes %v, want the one rollback", f)
	}
	puts := len(e.writesTo("PUT", appPath(k)))
	if puts != 2 {
		t.Errorf("%d updates, want the bad one and its rollback", puts)
	}

	// Quarantined: not written again, whatever the resyncs and events.
	e.holds(time.Second, "quarantined: RolledBack, nothing written", func() bool {
		return e.phaseIs(k, specs.PhaseRolledBack, bad)() && len(e.writesTo("PUT", appPath(k))) == puts
	})
	if p := e.planHolds(); !heldFor(p, k, diff.HoldQuarantined) {
		t.Errorf("plan of a quarantined revision: %+v", p.Actions)
	}

	e.putSpec(k, spec(k, "nginx:1.29", 2, ""))
	fixed := e.modRevision(k)
	e.eventually(converge, "a new revision rolls out", func() bool {
		a, _ := e.app(k)
		st := e.status(k)
		return a.Image == "nginx:1.29" && st != nil && st.Phase == specs.PhaseSynced && st.ObservedRevision == fixed && st.Rollout == nil
	})
	e.checkInvariants(k)
	want := []string{fmt.Sprintf("%d:Synced", good), fmt.Sprintf("%d:RolledBack", bad), fmt.Sprintf("%d:Synced", fixed)}
	e.eventually(converge, "the history of every step", func() bool { return slices.Equal(e.outcomes(k), want) })
	h := e.history(k)
	if en := h.Entry(bad); en.Reason != "Command exited with status 1" || en.RestoredRevision != good ||
		!slices.Equal(en.Changed, []string{"spec.image"}) || en.Image != "nginx:bad" || len(en.Spec) == 0 ||
		en.Writer.Kind != specs.WriterUnknown || h.Entry(good).AppVersion == "" {
		t.Errorf("history: %+v", h.Entries)
	}

	e.eventually(converge, "the return to Synced told", func() bool { // told once the status is written
		notes.mu.Lock()
		defer notes.mu.Unlock()
		n := len(notes.changes)
		return n > 0 && notes.changes[n-1].To == specs.PhaseSynced && notes.changes[n-1].Revision == fixed
	})
	notes.check(t, k, []specs.Phase{specs.PhaseRolledBack}, specs.PhaseSynced)
}

// TestFailedRollbackNotToldRolledBack: when the rollback of a failed
// rollout fails too, the group is Failed, and the notifier is told so
// with the failed revision and no revision rolled back to: nothing was.
func TestFailedRollbackNotToldRolledBack(t *testing.T) {
	e := newEnv(t)
	notes := &recordedChanges{}
	e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"}, notifier: notes})
	e.sim.Faults().CrashImage("nginx:bad", 0)
	k := key(t, "web", "dev")
	e.syncedForGood(k, spec(k, "nginx:1.27", 2, ""))
	e.sim.Faults().CrashImage("nginx:1.27", 0) // the revision rolled back to crashes now too

	e.putSpec(k, spec(k, "nginx:bad", 2, ""))
	bad := e.modRevision(k)
	e.eventually(converge, "Failed", e.phaseIs(k, specs.PhaseFailed, bad))
	var failed []model.PhaseChange
	e.eventually(converge, "Failed told", func() bool { // told once the status is written
		notes.mu.Lock()
		defer notes.mu.Unlock()
		failed = failed[:0]
		for _, c := range notes.changes {
			if c.Group == k && c.To == specs.PhaseFailed {
				failed = append(failed, c)
			}
		}
		return len(failed) > 0
	})
	for _, c := range failed {
		if c.FailedRevision != bad || c.RestoredRevision != 0 || !strings.Contains(c.Reason, "failed too") {
			t.Errorf("Failed told with failed revision %d (want %d), rolled back to %d (want 0), reason %q",
				c.FailedRevision, bad, c.RestoredRevision, c.Reason)
		}
	}
}

// TestMarathonRollbackIsQuarantine: an operator rolls a rollout back in
// Marathon (DELETE /v2/deployments/{id}, which puts the earlier app
// version back): theseus takes it as a rollback of the revision and does
// not write it again.
func TestMarathonRollbackIsQuarantine(t *testing.T) {
	e := newEnv(t)
	e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"}})
	e.sim.Faults().NeverHealthyImage("nginx:slow")
	k := key(t, "web", "dev")
	e.putSpec(k, spec(k, "nginx:1.27", 2, neverDone))
	good := e.modRevision(k)
	e.eventually(converge, "Synced", e.phaseIs(k, specs.PhaseSynced, good))
	e.putSpec(k, spec(k, "nginx:slow", 2, neverDone))
	slow := e.modRevision(k)
	var dep string
	e.eventually(converge, "the rollout deploying", func() bool {
		a, _ := e.app(k)
		dep = a.Deployment
		return a.Image == "nginx:slow" && dep != ""
	})
	if code, body := e.simRequest("DELETE", "/v2/deployments/"+dep, ""); code != http.StatusOK {
		t.Fatalf("Marathon's rollback: %d %s", code, body)
	}
	e.eventually(converge, "RolledBack", func() bool {
		st := e.status(k)
		return st != nil && st.Phase == specs.PhaseRolledBack && st.ObservedRevision == slow && st.Failure.RestoredRevision == good
	})
	puts := len(e.writesTo("PUT", appPath(k)))
	e.holds(500*time.Millisecond, "not written again", func() bool {
		a, _ := e.app(k)
		return a.Image == "nginx:1.27" && len(e.writesTo("PUT", appPath(k))) == puts
	})
}

// TestUnhealthyImagePastDeadline: a rollout whose tasks never turn
// healthy is rolled back once its own deadline (the spec's
// progressDeadlineSeconds, shorter than the daemon's) has passed.
func TestUnhealthyImagePastDeadline(t *testing.T) {
	e := newEnv(t)
	e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"}})
	e.sim.Faults().NeverHealthyImage("nginx:slow")
	k := key(t, "web", "dev")
	const deadline = `,"upgrade":{"progressDeadlineSeconds":1}`
	e.putSpec(k, spec(k, "nginx:1.27", 2, neverDone+deadline))
	good := e.modRevision(k)
	e.eventually(converge, "Synced", e.phaseIs(k, specs.PhaseSynced, good))
	e.eventually(converge, "its rollout over", func() bool { return e.status(k).SyncedRevision == good })

	e.putSpec(k, spec(k, "nginx:slow", 2, neverDone+deadline))
	slow := e.modRevision(k)
	start := time.Now()
	e.eventually(converge, "RolledBack past the deadline", e.phaseIs(k, specs.PhaseRolledBack, slow))
	if d := time.Since(start); d < time.Second {
		t.Errorf("rolled back after %s, before the deadline of 1s", d)
	}
	if f := e.status(k).Failure; f == nil || !strings.Contains(f.Reason, "progress deadline of 1s") || f.RestoredRevision != good {
		t.Errorf("failure %+v", f)
	}
	e.eventually(converge, "the good image healthy again", func() bool {
		a, _ := e.app(k)
		return a.Image == "nginx:1.27" && a.TasksHealthy == 2 && a.Deployment == ""
	})
}

// TestNoEarlierVersionFails: the first revision of a group crashes:
// there is nothing to roll back to, so the group is Failed with the task
// failure, and nothing is written again.
func TestNoEarlierVersionFails(t *testing.T) {
	e := newEnv(t)
	e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"}})
	e.sim.Faults().CrashImage("nginx:bad", 0)
	k := key(t, "web", "dev")
	e.putSpec(k, spec(k, "nginx:bad", 2, ""))
	rev := e.modRevision(k)
	failed := func() bool {
		st := e.status(k)
		return st != nil && st.Phase == specs.PhaseFailed && st.ObservedRevision == rev &&
			st.Failure.Reason == "Command exited with status 1" && strings.Contains(st.Message, "no revision before")
	}
	e.eventually(converge, "Failed", failed)
	e.holds(time.Second, "Failed, nothing written again", func() bool {
		return failed() && e.sim.WriteCount() == 1
	})
	if f := e.forced(); len(f) != 0 {
		t.Errorf("forced writes %v", f)
	}
	e.eventually(converge, "Failed in the history", func() bool {
		return slices.Equal(e.outcomes(k), []string{fmt.Sprintf("%d:Failed", rev)})
	})
}

// TestPauseHoldsBack: a change of a paused group is not written, even
// when the controller learns of the pause only from the read before the
// write; the group is Paused and plan holds the change back; resume
// writes it.
func TestPauseHoldsBack(t *testing.T) {
	for _, watched := range []bool{true, false} {
		name := "watched"
		if !watched {
			name = "found before the write"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"}, noPauseWatch: !watched})
			k := e.deploy("web", 1)[0]
			if _, err := e.store.Pauses().Pause(t.Context(), k, specs.Pause{By: "bob@ops", At: time.Now(), Reason: "db migration"}); err != nil {
				t.Fatal(err)
			}
			e.putSpec(k, spec(k, "nginx:1.28", 1, ""))
			rev := e.modRevision(k)
			e.eventually(converge, "Paused", func() bool {
				st := e.status(k)
				return st != nil && st.Phase == specs.PhasePaused && st.ObservedRevision == rev && strings.Contains(st.Message, "bob@ops (db migration)")
			})
			e.holds(300*time.Millisecond, "nothing written while paused", func() bool { return len(e.writesTo("PUT", appPath(k))) == 0 })
			if p := e.planHolds(); !heldFor(p, k, diff.HoldPaused) {
				t.Errorf("plan of a paused group: %+v", p.Actions)
			}
			if _, err := e.store.Pauses().Resume(t.Context(), k); err != nil {
				t.Fatal(err)
			}
			e.eventually(converge, "resumed and written", func() bool {
				a, _ := e.app(k)
				return a.Image == "nginx:1.28" && e.phaseIs(k, specs.PhaseSynced, rev)()
			})
		})
	}
}

// TestResumeAfterPauseFoundAtWrite: a pause that lands between the
// decision and the write holds the write back; when it is resumed before
// the controller has noted what its read found, and the pauses' watch
// has already reported the resume, the group is still written: it is not
// left Paused after the resume.
func TestResumeAfterPauseFoundAtWrite(t *testing.T) {
	e := newEnv(t)
	guard := &pauseAtWrite{}
	e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"}, desired: func(d reconciler.DesiredSource) reconciler.DesiredSource {
		guard.DesiredSource = d
		return guard
	}})
	keys := e.deploy("web", 2)
	k, other := keys[0], keys[1]
	ctx := t.Context()
	guard.arm(k, func(ctx context.Context) error {
		_, err := e.store.Pauses().Pause(ctx, k, specs.Pause{By: "bob@ops", At: time.Now(), Reason: "db migration"})
		return err
	}, func(ctx context.Context) error {
		if _, err := e.store.Pauses().Resume(ctx, k); err != nil {
			return err
		}
		// Another group paused after the resume: once it shows Paused,
		// the pauses' watch has delivered the resume too.
		if _, err := e.store.Pauses().Pause(ctx, other, specs.Pause{By: "carol@ops", At: time.Now()}); err != nil {
			return err
		}
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			entries, _, err := e.store.Status().List(ctx)
			if err != nil {
				return err
			}
			for _, s := range entries {
				if s.Key == other && s.Status.Phase == specs.PhasePaused {
					return nil
				}
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-tick.C:
			}
		}
	})
	e.putSpec(k, spec(k, "nginx:1.28", 1, ""))
	rev := e.modRevision(k)
	e.eventually(converge, "the write guard found the pause", guard.fired)
	if err := guard.err(); err != nil {
		t.Fatal(err)
	}
	if p, err := e.store.Pauses().Get(ctx, k); p != nil || err != nil {
		t.Fatalf("pause of %s after the resume: %+v, %v", k, p, err)
	}
	e.eventually(converge, "written once resumed", func() bool {
		a, _ := e.app(k)
		return a.Image == "nginx:1.28" && e.phaseIs(k, specs.PhaseSynced, rev)()
	})
}

// pauseAtWrite is a /desired source whose read before a write of one
// group, once armed, is made between before and after: as if the group
// were paused at that moment, and after ran before the controller saw
// what the read found.
type pauseAtWrite struct {
	reconciler.DesiredSource

	mu            sync.Mutex
	key           specs.GroupKey
	before, after func(context.Context) error
	done          bool
	failed        error
}

func (p *pauseAtWrite) arm(k specs.GroupKey, before, after func(context.Context) error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.key, p.before, p.after = k, before, after
}

func (p *pauseAtWrite) fired() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

func (p *pauseAtWrite) err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failed
}

func (p *pauseAtWrite) ConfirmUnpaused(ctx context.Context, fence model.Fence, k specs.GroupKey) (int64, *specs.Pause, error) {
	p.mu.Lock()
	before, after := p.before, p.after
	mine := before != nil && k == p.key
	if mine {
		p.before, p.after = nil, nil
	}
	p.mu.Unlock()
	if !mine {
		return p.DesiredSource.ConfirmUnpaused(ctx, fence, k)
	}
	err := before(ctx)
	rev, pause, cerr := p.DesiredSource.ConfirmUnpaused(ctx, fence, k)
	if err == nil {
		err = after(ctx)
	}
	p.mu.Lock()
	p.done, p.failed = true, err
	p.mu.Unlock()
	return rev, pause, cerr
}

// TestDriftReport: with spec.drift: report an out-of-band scale is left
// in place: the group is Drifted, counted, and plan lists the drift as
// pending; with heal (the default) it is put back.
func TestDriftReport(t *testing.T) {
	e := newEnv(t)
	m := reconciler.NewMetrics()
	e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a", metrics: m}})
	k := key(t, "web", "dev")
	e.putSpec(k, spec(k, "nginx:1.27", 3, `,"drift":"report"`))
	rev := e.modRevision(k)
	e.eventually(converge, "Synced", func() bool { return e.phaseIs(k, specs.PhaseSynced, rev)() && running(e, k, 3)() })
	if code, body := e.simRequest("PUT", appPath(k), `{"instances":1}`); code != 200 {
		t.Fatalf("scale by hand: %d %s", code, body)
	}
	e.eventually(converge, "Drifted", e.phaseIs(k, specs.PhaseDrifted, rev))
	e.holds(500*time.Millisecond, "the scale left in place", func() bool {
		a, _ := e.app(k)
		return a.Instances == 1 && e.phaseIs(k, specs.PhaseDrifted, rev)()
	})
	if p := e.planHolds(); !heldFor(p, k, diff.HoldDriftReport) || !p.Actions[0].Drift {
		t.Errorf("plan of reported drift: %+v", p.Actions)
	}
	if n := metric(t, m, "theseus_drift_detected_total"); n != 1 {
		t.Errorf("theseus_drift_detected_total = %v, want 1", n)
	}
	if n := len(e.writesTo("PUT", appPath(k))); n != 1 {
		t.Errorf("%d writes besides the scale by hand: the drift was not left in place", n-1)
	}

	e.putSpec(k, spec(k, "nginx:1.27", 3, ""))
	e.eventually(converge, "healed once the policy says so", running(e, k, 3))
	e.checkInvariants(k)
}

// recordedChanges is a Notifier that keeps every change it is told.
type recordedChanges struct {
	mu      sync.Mutex
	changes []model.PhaseChange
}

func (r *recordedChanges) Notify(c model.PhaseChange) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, c)
}

func (r *recordedChanges) Forget(specs.GroupKey) {}

// check fails the test unless every change of k was told once, its
// From the phase told before, the alerting phases told were exactly
// alerts, and the last phase told is last.
func (r *recordedChanges) check(t *testing.T, k specs.GroupKey, alerts []specs.Phase, last specs.Phase) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var got []specs.Phase
	var from specs.Phase
	for _, c := range r.changes {
		if c.Group != k {
			continue
		}
		if c.From != from || c.From == c.To {
			t.Errorf("change %s => %s told after %s", c.From, c.To, from)
		}
		from = c.To
		switch c.To {
		case specs.PhaseSynced, specs.PhaseProgressing, specs.PhaseWaiting, specs.PhaseDeleting:
		default:
			got = append(got, c.To)
		}
		if c.To == specs.PhaseRolledBack && (c.Reason == "" || c.FailedRevision == 0 || c.RestoredRevision == 0) {
			t.Errorf("RolledBack told without its reason or revisions: %+v", c)
		}
	}
	if !slices.Equal(got, alerts) || from != last {
		t.Errorf("alerting phases told %v, the last %s; want %v, the last %s", got, from, alerts, last)
	}
}

// TestHistoryAcrossLeaders: the history is in etcd, so the next leader
// goes on with it: it rolls a failed rollout back to the revision the
// last leader saw Synced, and records each revision once, with who wrote
// it.
func TestHistoryAcrossLeaders(t *testing.T) {
	e := newEnv(t)
	_, stopA := e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"}})
	e.sim.Faults().CrashImage("nginx:bad", 0)
	k := key(t, "web", "dev")
	good := e.applySynced(k, 2)
	stopA()

	e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "b"}})
	apply := e.store.Desired().WithWriter(specs.Writer{Kind: specs.WriterApply, By: "alice@laptop"})
	bad, err := apply.Put(t.Context(), k, []byte(spec(k, "nginx:bad", 2, "")), good)
	if err != nil {
		t.Fatal(err)
	}
	e.eventually(converge, "rolled back by the next leader", func() bool {
		return slices.Equal(e.outcomes(k), []string{fmt.Sprintf("%d:Synced", good), fmt.Sprintf("%d:RolledBack", bad)})
	})
	h := e.history(k)
	for _, en := range h.Entries {
		if en.Writer.Kind != specs.WriterApply || en.Writer.By != "alice@laptop" {
			t.Errorf("revision %d written by %+v", en.Revision, en.Writer)
		}
		if g, err := specs.DecodeStored(k, en.Spec); err != nil || en.SpecHash != specs.Hash(specs.Normalize(g.Spec)) {
			t.Errorf("revision %d: spec hash %q, not its spec's (%v)", en.Revision, en.SpecHash, err)
		}
	}
	if en := h.Entry(bad); en.RestoredRevision != good || len(en.Spec) == 0 {
		t.Errorf("the rolled back entry: %+v", en)
	}
	if a, _ := e.app(k); a.Image != "nginx:1.27" || a.Labels[marathon.LabelSpecHash] != h.Entry(good).SpecHash {
		t.Errorf("image %s, spec hash %s after the rollback; revision %d's hash %s", a.Image, a.Labels[marathon.LabelSpecHash], good, h.Entry(good).SpecHash)
	}
}

// failingHistory fails its first batch that reads who wrote a
// revision, as etcd out of reach would.
type failingHistory struct {
	reconciler.HistoryStore
	mu     sync.Mutex
	failed bool
}

func (f *failingHistory) UpdateMany(ctx context.Context, fence model.Fence, edits []model.HistoryEdit) []error {
	f.mu.Lock()
	fail := !f.failed && slices.ContainsFunc(edits, func(e model.HistoryEdit) bool { return e.Writers })
	f.failed = f.failed || fail
	f.mu.Unlock()
	if !fail {
		return f.HistoryStore.UpdateMany(ctx, fence, edits)
	}
	errs := make([]error, len(edits))
	for i := range errs {
		errs[i] = errors.New("etcd out of reach")
	}
	return errs
}

// TestHistoryWriterAfterReadFailure: a failed read of who wrote a
// revision is tried again, not recorded as unknown for good.
func TestHistoryWriterAfterReadFailure(t *testing.T) {
	e := newEnv(t)
	f := &failingHistory{}
	e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"},
		history: func(h reconciler.HistoryStore) reconciler.HistoryStore { f.HistoryStore = h; return f }})
	k := key(t, "web", "dev")
	rev := e.applySynced(k, 1)
	if w := e.history(k).Entry(rev).Writer; w.Kind != specs.WriterApply || w.By != "alice@laptop" {
		t.Errorf("revision %d written by %+v, want alice@laptop's apply", rev, w)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.failed {
		t.Error("no read of who wrote a revision failed")
	}
}

// applySynced puts nginx:1.27 with n instances as group k's first spec,
// written by alice@laptop's apply, and waits until the history records
// its revision, returned, as Synced.
func (e *env) applySynced(k specs.GroupKey, n int) int64 {
	e.t.Helper()
	apply := e.store.Desired().WithWriter(specs.Writer{Kind: specs.WriterApply, By: "alice@laptop"})
	rev, err := apply.Put(e.t.Context(), k, []byte(spec(k, "nginx:1.27", n, "")), 0)
	if err != nil {
		e.t.Fatal(err)
	}
	e.eventually(converge, "Synced in the history", func() bool {
		return slices.Equal(e.outcomes(k), []string{fmt.Sprintf("%d:Synced", rev)})
	})
	return rev
}

// refuseForced is Marathon refusing (422) every forced update: the
// rollback's write.
type refuseForced struct{ reconciler.Marathon }

func (r refuseForced) Update(ctx context.Context, w model.Write) (model.Result, error) {
	if w.Force {
		return model.Result{}, &marathon.APIError{Method: "PUT", Endpoint: "/v2/apps" + specs.AppID("", w.Key),
			Status: http.StatusUnprocessableEntity, Message: "refused"}
	}
	return r.Marathon.Update(ctx, w)
}

// TestRefusedRollbackSyncedWhenItComesThrough: a rollout of a crashing
// image fails and Marathon refuses its rollback, so the group is Failed
// while Marathon's deployment of the revision goes on. When the image
// is fixed where it is pulled from and Marathon runs the revision,
// healthy, for --min-healthy-time, the group turns Synced, as
// docs/rollout-safety.md says, rather than staying Failed for good.
func TestRefusedRollbackSyncedWhenItComesThrough(t *testing.T) {
	e := newEnv(t)
	e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"},
		marathon: func(m reconciler.Marathon) reconciler.Marathon { return refuseForced{m} }})
	crash := e.sim.Faults().CrashImage("nginx:bad", 0)
	k := key(t, "web", "dev")
	e.syncedForGood(k, spec(k, "nginx:1.27", 2, ""))

	e.putSpec(k, spec(k, "nginx:bad", 2, ""))
	bad := e.modRevision(k)
	e.eventually(converge, "Failed: the rollback refused", func() bool {
		st := e.status(k)
		return e.phaseIs(k, specs.PhaseFailed, bad)() && strings.Contains(st.Message, "Marathon refused the rollback")
	})

	e.sim.Faults().Clear(crash)
	e.eventually(converge, "Marathon runs the desired revision", func() bool {
		a, _ := e.app(k)
		return a.Image == "nginx:bad" && running(e, k, 2)()
	})
	// 5s here is 5,000s of the simulator's time, and 100 times the
	// harness's --min-healthy-time.
	e.eventually(5*time.Second, "Synced at the revision Marathon runs, 2 tasks and no deployment", func() bool {
		st := e.status(k)
		return e.phaseIs(k, specs.PhaseSynced, bad)() && st.Failure == nil && st.SyncedRevision == bad
	})
}

// TestDriftReportedAfterScale: a group with spec.drift: report is scaled
// by theseus (a Scale sends instances alone, leaving the app's hash and
// revision labels at the revision before), then its image is edited in
// Marathon. The edit is left in place and the group is Drifted, as it
// would be had theseus never scaled it: not written over as if the spec
// had changed.
func TestDriftReportedAfterScale(t *testing.T) {
	e := newEnv(t)
	e.start(controllerOpts{id: "a"})
	k := key(t, "web", "dev")
	const report = `,"drift":"report"`
	e.putSpec(k, spec(k, "nginx:1.27", 1, report))
	e.eventually(converge, "Synced", e.phaseIs(k, specs.PhaseSynced, e.modRevision(k)))
	e.putSpec(k, spec(k, "nginx:1.27", 2, report))
	scaled := e.modRevision(k)
	e.eventually(converge, "the scale Synced for good", func() bool {
		st := e.status(k)
		return e.phaseIs(k, specs.PhaseSynced, scaled)() && st.Rollout == nil && running(e, k, 2)()
	})
	puts := len(e.writesTo("PUT", appPath(k)))

	// Outside theseus: the image edited in Marathon.
	if code, body := e.simRequest("PUT", appPath(k), `{"container":{"type":"DOCKER","docker":{"image":"nginx:hand"}}}`); code != http.StatusOK {
		t.Fatalf("edit by hand: %d %s", code, body)
	}
	puts++
	e.eventually(converge, "Drifted, the edit left in place", e.phaseIs(k, specs.PhaseDrifted, scaled))
	e.holds(500*time.Millisecond, "the edit left in place", func() bool {
		a, _ := e.app(k)
		return a.Image == "nginx:hand" && len(e.writesTo("PUT", appPath(k))) == puts && e.phaseIs(k, specs.PhaseDrifted, scaled)()
	})
	// The plan says what the controller does: drift, held back.
	if p := e.planHolds(); !heldFor(p, k, diff.HoldDriftReport) || !p.Actions[0].Drift {
		t.Errorf("plan: %+v", p.Actions)
	}
}

// TestHandEditDuringScaleRolloutHealed: theseus scales a group and,
// while that rollout is still followed (for --min-healthy-time), the
// app is edited in Marathon by hand. The stale labels the scale left are
// not taken for an app written back to an earlier revision: the group
// does not turn RolledBack (naming a rollback that never happened, and
// quarantining the revision), and the hand edit is healed.
func TestHandEditDuringScaleRolloutHealed(t *testing.T) {
	e := newEnv(t)
	e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"}, minHealthy: reconciler.DefaultMinHealthy})
	k := key(t, "web", "dev")
	e.putSpec(k, spec(k, "nginx:1.27", 1, ""))
	e.eventually(converge, "created", func() bool { return running(e, k, 1)() })
	e.putSpec(k, spec(k, "nginx:1.27", 2, ""))
	scaled := e.modRevision(k)
	e.eventually(converge, "the scale done, its rollout followed", func() bool {
		st := e.status(k)
		return e.phaseIs(k, specs.PhaseSynced, scaled)() && st.Rollout != nil && running(e, k, 2)()
	})

	if code, body := e.simRequest("PUT", appPath(k), `{"container":{"type":"DOCKER","docker":{"image":"nginx:hand"}}}`); code != http.StatusOK {
		t.Fatalf("edit by hand: %d %s", code, body)
	}
	e.eventually(converge, "the hand edit healed", func() bool {
		st := e.status(k)
		if st.Phase == specs.PhaseRolledBack {
			t.Fatalf("RolledBack though nothing was rolled back: %s", st.Message)
		}
		a, _ := e.app(k)
		return a.Image == "nginx:1.27" && running(e, k, 2)()
	})
	e.eventually(converge, "Synced, the revision not quarantined", func() bool {
		return e.phaseIs(k, specs.PhaseSynced, scaled)() && e.status(k).Failure == nil
	})
}
