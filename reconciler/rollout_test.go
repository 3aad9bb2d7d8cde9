package reconciler

import (
	"errors"
	"strings"
	"testing"
	"time"

	"theseus.dev/diff"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// TestStatusOfRolloutSafety drives the phase function through a
// rollout's life: started by a write, its failed tasks counted, failed
// (by failures or by the deadline) and rolled back, its rollback
// followed, the quarantine and its end, drift left in place, a pause.
func TestStatusOfRolloutSafety(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	k := specs.GroupKey{Service: "web", Labels: "dev"}
	two := 2
	desired := &diff.Desired{Key: k, Revision: 7, Hash: "h7", Spec: specs.Spec{Image: "web:2", Instances: &two}}
	const v1, v2 = "2026-01-01T11:00:00.000Z", "2026-01-01T11:59:00.000Z"
	app := func(running int, deployments ...string) *model.App {
		return &model.App{ID: "/web/dev", Key: k, Managed: true, Version: v2, Deployments: deployments,
			Counts: specs.TaskCounts{Wanted: 2, Running: running}}
	}
	crashed := func(task, version string) *model.App {
		a := app(1, "d1")
		a.LastTaskFailure = &model.TaskFailure{TaskID: task, State: "TASK_FAILED", Message: "Command exited with status 1", Version: version}
		return a
	}
	rolling := func(mod func(*specs.Rollout)) *specs.Status {
		r := &specs.Rollout{Revision: 7, Version: v2, Started: now.Add(-time.Minute)}
		if mod != nil {
			mod(r)
		}
		return &specs.Status{Phase: specs.PhaseProgressing, ObservedRevision: 7, Since: r.Started, LastActionAt: r.Started, Rollout: r}
	}
	rolledBack := &specs.RolloutFailure{Revision: 7, Outcome: specs.OutcomeRolledBack, Reason: "Command exited with status 1",
		At: now.Add(-time.Minute), RestoredRevision: 5, RestoredVersion: v1}
	failedHere := &specs.RolloutFailure{Revision: 7, Outcome: specs.OutcomeFailed, Reason: "Command exited with status 1", At: now.Add(-time.Minute)}
	update := diff.Action{Kind: diff.Update, Key: k, Revision: 7}
	rollback := diff.Action{Kind: diff.Rollback, Key: k, Revision: 7, Reason: "Command exited with status 1",
		Restore: &diff.Restore{Revision: 5, Version: v1}}
	pause := &specs.Pause{By: "bob@ops", At: now, Reason: "db migration"}

	for _, tc := range []struct {
		name string
		g    GroupState
		// want
		phase            specs.Phase
		rollBack         bool
		reason, message  string
		rollout          func(*testing.T, *specs.Rollout)
		failure          specs.Outcome
		syncedRevision   int64
		stalled, noStall bool
		readApp          bool
	}{
		{name: "a write starts a rollout", g: GroupState{Desired: desired, App: app(2), Outcome: Acted, Action: update,
			Result: model.Result{DeploymentID: "d1", Version: v2}},
			phase: specs.PhaseProgressing, rollout: func(t *testing.T, r *specs.Rollout) {
				if r == nil || r.Revision != 7 || r.Version != v2 || !r.Started.Equal(now) || r.Restore {
					t.Errorf("rollout %+v", r)
				}
			}},
		{name: "a write of a revision that ran is no rollout (drift healed)", g: GroupState{Desired: desired, App: app(1),
			Status: &specs.Status{Phase: specs.PhaseSynced, ObservedRevision: 7, SyncedRevision: 7}, Outcome: Acted,
			Action: diff.Action{Kind: diff.Scale, Key: k, Revision: 7, Drift: true}, Result: model.Result{Version: v2}},
			phase: specs.PhaseProgressing, rollout: noRollout},
		{name: "a write of the revision that no status recorded: its rollout followed", g: GroupState{Desired: desired,
			App:    func() *model.App { a := app(2); a.Revision, a.SpecHash = 7, "h7"; return a }(),
			Status: &specs.Status{Phase: specs.PhaseSynced, ObservedRevision: 5, SyncedRevision: 5}},
			phase: specs.PhaseSynced, syncedRevision: 5, rollout: func(t *testing.T, r *specs.Rollout) {
				if r == nil || r.Revision != 7 || r.Version != v2 || !r.Started.Equal(now) || !r.Healthy.Equal(now) {
					t.Errorf("rollout %+v", r)
				}
			}},
		{name: "an app of a revision Synced before: no rollout", g: GroupState{Desired: desired,
			App:    func() *model.App { a := app(2); a.Revision, a.SpecHash = 7, "h7"; return a }(),
			Status: &specs.Status{Phase: specs.PhaseProgressing, ObservedRevision: 7, SyncedRevision: 7}},
			phase: specs.PhaseSynced, syncedRevision: 7, rollout: noRollout},
		{name: "a failed task of the rollout is counted", g: GroupState{Desired: desired, App: crashed("t1", v2), Status: rolling(nil)},
			phase: specs.PhaseProgressing, rollout: func(t *testing.T, r *specs.Rollout) {
				if r == nil || r.Failures != 1 || r.LastFailedTask != "t1" || r.LastFailure != "Command exited with status 1" {
					t.Errorf("rollout %+v", r)
				}
			}},
		{name: "a failure counted is not counted again", g: GroupState{Desired: desired, App: crashed("t1", v2),
			Status: rolling(func(r *specs.Rollout) { r.Failures, r.LastFailedTask = 2, "t1" })},
			phase: specs.PhaseProgressing, rollout: failures(2)},
		{name: "a failure of the version before is not the rollout's", g: GroupState{Desired: desired, App: crashed("t0", v1), Status: rolling(nil)},
			phase: specs.PhaseProgressing, rollout: failures(0)},
		{name: "the third failure fails the rollout", g: GroupState{Desired: desired, App: crashed("t3", v2),
			Status: rolling(func(r *specs.Rollout) { r.Failures, r.LastFailedTask = 2, "t2" })},
			phase: specs.PhaseProgressing, rollBack: true, reason: "Command exited with status 1"},
		{name: "past the deadline the rollout failed, never Stalled", g: GroupState{Desired: desired, App: app(2, "d1"),
			Status: rolling(func(r *specs.Rollout) { r.Started = now.Add(-11 * time.Minute) })},
			phase: specs.PhaseProgressing, rollBack: true, reason: "not done within the progress deadline of 10m0s: Marathon is deploying", noStall: true},
		{name: "done, watched for MinHealthy", g: GroupState{Desired: desired, App: app(2), Status: rolling(nil)},
			phase: specs.PhaseSynced, rollout: func(t *testing.T, r *specs.Rollout) {
				if r == nil || !r.Healthy.Equal(now) {
					t.Errorf("rollout %+v", r)
				}
			}},
		{name: "done past MinHealthy: over, and Synced for good", g: GroupState{Desired: desired, App: app(2), AppAsOf: now,
			Status: rolling(func(r *specs.Rollout) { r.Healthy = now.Add(-time.Minute) })},
			phase: specs.PhaseSynced, rollout: noRollout, syncedRevision: 7},
		{name: "done past MinHealthy, on a list from before: followed until a later read", g: GroupState{Desired: desired, App: app(2),
			AppAsOf: now.Add(-10 * time.Second), Status: rolling(func(r *specs.Rollout) { r.Healthy = now.Add(-15 * time.Second) })},
			phase: specs.PhaseSynced, rollout: healthySince(now.Add(-15 * time.Second))},
		{name: "twice MinHealthy with no read since: one is asked for", g: GroupState{Desired: desired, App: app(2),
			AppAsOf: now.Add(-55 * time.Second), Status: rolling(func(r *specs.Rollout) { r.Healthy = now.Add(-time.Minute) })},
			phase: specs.PhaseSynced, rollout: healthySince(now.Add(-time.Minute)), readApp: true},
		{name: "done again after a task failed since the last look: the spell starts again", g: GroupState{Desired: desired,
			App: func() *model.App { a := crashed("t3", v2); a.Counts.Running, a.Deployments = 2, nil; return a }(), AppAsOf: now,
			Status: rolling(func(r *specs.Rollout) { r.Failures, r.LastFailedTask, r.Healthy = 1, "t2", now.Add(-time.Minute) })},
			phase: specs.PhaseSynced, rollout: healthySince(now)},
		{name: "a crash while watched still fails it", g: GroupState{Desired: desired, App: crashed("t3", v2),
			Status: rolling(func(r *specs.Rollout) { r.Failures, r.LastFailedTask, r.Healthy = 2, "t2", now.Add(-time.Second) })},
			phase: specs.PhaseProgressing, rollBack: true},
		{name: "rolled back", g: GroupState{Desired: desired, App: crashed("t3", v2), Status: rolling(nil), Outcome: Acted,
			Action: rollback, Result: model.Result{DeploymentID: "d2", Version: "2026-01-01T12:00:00.000Z"}},
			phase: specs.PhaseRolledBack, failure: specs.OutcomeRolledBack, message: "rolled back to revision 5",
			rollout: func(t *testing.T, r *specs.Rollout) {
				if r == nil || !r.Restore || r.LastFailedTask != "t3" || r.Version != "2026-01-01T12:00:00.000Z" {
					t.Errorf("rollout %+v", r)
				}
			}},
		{name: "quarantined while the rollback deploys", g: GroupState{Desired: desired, App: app(1, "d2"),
			Status: &specs.Status{Phase: specs.PhaseRolledBack, ObservedRevision: 7, Failure: rolledBack,
				Rollout: &specs.Rollout{Revision: 7, Restore: true, Started: now.Add(-time.Minute), Version: v2}},
			Outcome: HeldBack, Action: diff.Action{Kind: diff.Update, HeldBack: diff.HoldQuarantined}},
			phase: specs.PhaseRolledBack, failure: specs.OutcomeRolledBack, message: "Marathon is deploying revision 5"},
		{name: "a rollback to fewer instances is done when the app runs as defined", g: GroupState{Desired: desired, AppAsOf: now,
			App: &model.App{ID: "/web/dev", Key: k, Managed: true, Revision: 5, SpecHash: "h5", Version: v2, Counts: specs.TaskCounts{Wanted: 1, Running: 1}},
			Status: &specs.Status{Phase: specs.PhaseRolledBack, ObservedRevision: 7, Failure: rolledBack,
				Rollout: &specs.Rollout{Revision: 7, Restore: true, Started: now.Add(-time.Hour), Version: v2, Healthy: now.Add(-time.Minute)}},
			Outcome: HeldBack, Action: diff.Action{Kind: diff.Update, HeldBack: diff.HoldQuarantined}},
			phase: specs.PhaseRolledBack, failure: specs.OutcomeRolledBack, rollout: noRollout},
		{name: "the rollback failing too: Failed, and nothing more", g: GroupState{Desired: desired, App: app(0, "d2"),
			Status: &specs.Status{Phase: specs.PhaseRolledBack, ObservedRevision: 7, Failure: rolledBack,
				Rollout: &specs.Rollout{Revision: 7, Restore: true, Started: now.Add(-time.Hour), Version: v2}},
			Outcome: HeldBack, Action: diff.Action{Kind: diff.Update, HeldBack: diff.HoldQuarantined}},
			phase: specs.PhaseFailed, failure: specs.OutcomeFailed, reason: "the rollback to revision 5 failed too", rollout: noRollout},
		{name: "no rollback possible: Failed", g: GroupState{Desired: desired, App: crashed("t3", v2), Status: rolling(nil),
			Outcome: RolloutFailed, Action: rollback, Err: errors.New("no earlier revision was Synced")},
			phase: specs.PhaseFailed, failure: specs.OutcomeFailed, message: "not rolled back (no earlier revision was Synced)", rollout: failures(0)},
		{name: "Failed stays Failed while it does not come through", g: GroupState{Desired: desired, App: crashed("t4", v2),
			Status: &specs.Status{Phase: specs.PhaseFailed, ObservedRevision: 7, Since: now.Add(-time.Hour), Failure: failedHere,
				Rollout: &specs.Rollout{Revision: 7, Version: v2, Started: now.Add(-time.Hour), Failures: 3, LastFailedTask: "t3"}}},
			phase: specs.PhaseFailed, failure: specs.OutcomeFailed, noStall: true},
		{name: "Failed, come through and stayed so: Synced", g: GroupState{Desired: desired, App: app(2), AppAsOf: now,
			Status: &specs.Status{Phase: specs.PhaseFailed, ObservedRevision: 7, Failure: failedHere,
				Rollout: &specs.Rollout{Revision: 7, Version: v2, Started: now.Add(-time.Hour), Healthy: now.Add(-time.Minute)}}},
			phase: specs.PhaseSynced, rollout: noRollout, syncedRevision: 7},
		{name: "a refused rollback: Failed", g: GroupState{Desired: desired, App: crashed("t3", v2), Status: rolling(nil),
			Outcome: Refused, Action: rollback, Err: errors.New("422")},
			// Still followed, to turn Synced if Marathon's deployment comes through.
			phase: specs.PhaseFailed, failure: specs.OutcomeFailed, message: "Marathon refused the rollback: 422", rollout: failures(0)},
		{name: "a quarantined group stays RolledBack, not Stalled", g: GroupState{Desired: desired, App: app(1),
			Status:  &specs.Status{Phase: specs.PhaseRolledBack, ObservedRevision: 7, Since: now.Add(-time.Hour), Failure: rolledBack},
			Outcome: HeldBack, Action: diff.Action{Kind: diff.Update, HeldBack: diff.HoldQuarantined}},
			phase: specs.PhaseRolledBack, failure: specs.OutcomeRolledBack, noStall: true},
		{name: "an app written back under the rollout: RolledBack", g: GroupState{Desired: desired,
			App:    &model.App{ID: "/web/dev", Key: k, Managed: true, Revision: 5, SpecHash: "h5", Version: v2, Counts: specs.TaskCounts{Wanted: 2, Running: 2}},
			Status: rolling(nil), Outcome: HeldBack, Action: diff.Action{Kind: diff.Update, HeldBack: diff.HoldQuarantined}},
			phase: specs.PhaseRolledBack, failure: specs.OutcomeRolledBack, message: "written back to revision 5", rollout: noRollout},
		{name: "a new revision lifts the quarantine", g: GroupState{Desired: &diff.Desired{Key: k, Revision: 8, Hash: "h8", Spec: desired.Spec},
			App: app(2), Status: &specs.Status{Phase: specs.PhaseRolledBack, ObservedRevision: 7, Failure: rolledBack}},
			phase: specs.PhaseSynced, syncedRevision: 8},
		{name: "drift reported", g: GroupState{Desired: desired, App: app(1), Status: &specs.Status{Phase: specs.PhaseSynced,
			Since: now.Add(-time.Hour)}, Outcome: HeldBack, Action: diff.Action{Kind: diff.Scale, Drift: true, HeldBack: diff.HoldDriftReport,
			Changes: []diff.Change{{Path: "spec.instances"}}}},
			phase: specs.PhaseDrifted, message: "changed outside theseus (spec.instances)", noStall: true},
		{name: "paused with a change pending", g: GroupState{Desired: desired, App: app(2), Pause: pause, Outcome: HeldBack,
			Action: diff.Action{Kind: diff.Update, HeldBack: diff.HoldPaused}},
			phase: specs.PhasePaused, message: "paused by bob@ops (db migration)"},
		{name: "paused before anything runs", g: GroupState{Desired: desired, Pause: pause, Outcome: HeldBack,
			Action: diff.Action{Kind: diff.Create, HeldBack: diff.HoldPaused}},
			phase: specs.PhasePaused, message: "a pending create is held back"},
		{name: "paused, its rollout failed: rolled back once resumed", g: GroupState{Desired: desired, App: crashed("t3", v2), Pause: pause,
			Status: rolling(func(r *specs.Rollout) { r.Failures, r.LastFailedTask = 2, "t2" })},
			phase: specs.PhasePaused, message: "rolled back once resumed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.g.Now, tc.g.ProgressDeadline, tc.g.FailureLimit, tc.g.MinHealthy = now, 10*time.Minute, 3, 10*time.Second
			var before specs.Status
			if tc.g.Status != nil {
				before = *tc.g.Status
				if before.Rollout != nil {
					r := *before.Rollout
					before.Rollout = &r
				}
			}
			d := StatusOf(tc.g)
			st := d.Status
			if st.Phase != tc.phase || d.RollBack != tc.rollBack {
				t.Fatalf("phase %s, roll back %v (%q); want %s, %v\n%+v", st.Phase, d.RollBack, d.Reason, tc.phase, tc.rollBack, st)
			}
			if tc.reason != "" && !strings.Contains(d.Reason+failureReason(st), tc.reason) {
				t.Errorf("reason %q / %q lacks %q", d.Reason, failureReason(st), tc.reason)
			}
			if !strings.Contains(st.Message+" "+st.LastError, tc.message) {
				t.Errorf("message %q, last error %q: lacks %q", st.Message, st.LastError, tc.message)
			}
			if tc.rollout != nil {
				tc.rollout(t, st.Rollout)
			}
			if got := failureOutcome(st); got != tc.failure {
				t.Errorf("failure %q, want %q", got, tc.failure)
			}
			if tc.syncedRevision != 0 && st.SyncedRevision != tc.syncedRevision {
				t.Errorf("synced revision %d, want %d", st.SyncedRevision, tc.syncedRevision)
			}
			if d.ReadApp != tc.readApp {
				t.Errorf("asks for a read of the app: %v, want %v", d.ReadApp, tc.readApp)
			}
			if tc.noStall && (d.Stalled || d.NewlyStalled || d.NeedStep) {
				t.Errorf("reported stalled: %+v", d)
			}
			if tc.g.Status != nil && tc.g.Status.Rollout != nil && *tc.g.Status.Rollout != *before.Rollout {
				t.Errorf("StatusOf changed the stored status's rollout")
			}
		})
	}
}

// healthySince wants a rollout still followed, done since at.
func healthySince(at time.Time) func(*testing.T, *specs.Rollout) {
	return func(t *testing.T, r *specs.Rollout) {
		if r == nil || !r.Healthy.Equal(at) {
			t.Errorf("rollout %+v, want one done since %s", r, at)
		}
	}
}

func noRollout(t *testing.T, r *specs.Rollout) {
	if r != nil {
		t.Errorf("rollout %+v, want none", r)
	}
}

func failures(n int) func(*testing.T, *specs.Rollout) {
	return func(t *testing.T, r *specs.Rollout) {
		if r == nil || r.Failures != n {
			t.Errorf("rollout %+v, want %d failures", r, n)
		}
	}
}

func failureOutcome(st specs.Status) specs.Outcome {
	if st.Failure == nil {
		return ""
	}
	return st.Failure.Outcome
}

func failureReason(st specs.Status) string {
	if st.Failure == nil {
		return ""
	}
	return st.Failure.Reason
}

// TestScaledLabels: a scale by theseus sends instances alone, so the
// app's labels keep naming the last full write; the status records them
// for as long as that holds, and an app carrying them is the group's
// own: a hand edit of it is drift, never a write-back.
func TestScaledLabels(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	k := specs.GroupKey{Service: "web", Labels: "dev"}
	two := 2
	desired := &diff.Desired{Key: k, Revision: 7, Hash: "h7", Spec: specs.Spec{Image: "web:2", Instances: &two}}
	policyOnly := &diff.Desired{Key: k, Revision: 8, Hash: "h7", Spec: desired.Spec}
	newSpec := &diff.Desired{Key: k, Revision: 8, Hash: "h8", Spec: specs.Spec{Image: "web:3", Instances: &two}}
	labelled := func(hash string, rev int64) *model.App {
		return &model.App{ID: "/web/dev", Key: k, Managed: true, SpecHash: hash, Revision: rev, Version: "v2",
			Spec: desired.Spec, Counts: specs.TaskCounts{Wanted: 2, Running: 2}}
	}
	left := &specs.ScaledLabels{Hash: "h5", Revision: 5, SpecHash: "h7"}
	scaled := &specs.Status{Phase: specs.PhaseSynced, ObservedRevision: 7, Scaled: left}
	act := func(kind diff.Kind) diff.Action { return diff.Action{Kind: kind, Key: k, Revision: 7} }

	t.Run("recorded", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			g    GroupState
			want *specs.ScaledLabels
		}{
			{"a scale records the labels it leaves", GroupState{Desired: desired, App: labelled("h5", 5), Outcome: Acted, Action: act(diff.Scale)}, left},
			{"a scale of an app labelled with the spec records none", GroupState{Desired: desired, App: labelled("h7", 7), Outcome: Acted, Action: act(diff.Scale)}, nil},
			{"a restart leaves the labels", GroupState{Desired: desired, App: labelled("h5", 5), Status: scaled, Outcome: Acted, Action: act(diff.Restart)}, left},
			{"a full write names its spec", GroupState{Desired: desired, App: labelled("h5", 5), Status: scaled, Outcome: Acted, Action: act(diff.Update)}, nil},
			{"a failed write changes nothing", GroupState{Desired: desired, App: labelled("h5", 5), Status: scaled, Outcome: WriteFailed,
				Action: act(diff.Update), Err: errors.New("timeout")}, left},
			{"a change of policy alone keeps them", GroupState{Desired: policyOnly, App: labelled("h5", 5), Status: scaled}, left},
			{"a new spec drops them", GroupState{Desired: newSpec, App: labelled("h5", 5), Status: scaled, Outcome: HeldBack,
				Action: diff.Action{Kind: diff.Update, HeldBack: diff.HoldDeployment}}, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tc.g.Now, tc.g.ProgressDeadline = now, 10*time.Minute
				got := StatusOf(tc.g).Status.Scaled
				if got != tc.want && (got == nil || tc.want == nil || *got != *tc.want) {
					t.Errorf("scaled %+v, want %+v", got, tc.want)
				}
			})
		}
	})

	// The image edited in Marathon while the scale's rollout is followed.
	rollout := &specs.Rollout{Revision: 7, Started: now}
	edited := func(hash string, rev int64) *model.App {
		a := labelled(hash, rev)
		a.Spec.Image = "web:hand"
		return a
	}
	for _, tc := range []struct {
		name               string
		app                *model.App
		scaled             *specs.ScaledLabels
		drift, writtenBack bool
	}{
		{"edited after a scale by theseus: drift", edited("h5", 5), left, true, false},
		{"no scale recorded: written back to revision 5", edited("h5", 5), nil, false, true},
		{"labels other than the scale left: written back", edited("h4", 4), left, false, true},
		{"a scale to another spec recorded: written back", edited("h5", 5), &specs.ScaledLabels{Hash: "h5", Revision: 5, SpecHash: "h6"}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := view{key: k, desired: desired, app: tc.app, hasStatus: true,
				status: specs.Status{Phase: specs.PhaseSynced, ObservedRevision: 7, Rollout: rollout, Scaled: tc.scaled}}
			hash := tc.app.SpecHash
			act, ok := diff.Group(desired, ownLabels(v), diff.Options{})
			if !ok || act.Kind != diff.Update || act.Drift != tc.drift {
				t.Errorf("plan %s, drift %v; want an update, drift %v", act.Kind, act.Drift, tc.drift)
			}
			if got := writtenBack(&v.status, desired, tc.app); got != tc.writtenBack {
				t.Errorf("written back: %v, want %v", got, tc.writtenBack)
			}
			if tc.app.SpecHash != hash {
				t.Error("the shared app was changed")
			}
		})
	}
}

// TestOverAtWrite: a write of a newer revision ends the rollout of the
// one before; the read of the app just before the write says whether
// that rollout was over (done since MinHealthy, as its revision defines
// it, no task failed since), and so whether its revision is Synced, the
// one a failure of the new revision goes back to.
func TestOverAtWrite(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	k := specs.GroupKey{Service: "web", Labels: "dev"}
	two := 2
	desired := &diff.Desired{Key: k, Revision: 7, Hash: "h7", Spec: specs.Spec{Image: "web:2", Instances: &two}}
	ran := func(mod func(*model.App)) *model.App {
		a := &model.App{ID: "/web/dev", Key: k, Managed: true, Revision: 5, SpecHash: "h5", Version: "v5",
			Counts: specs.TaskCounts{Wanted: 2, Running: 2}}
		if mod != nil {
			mod(a)
		}
		return a
	}
	for _, tc := range []struct {
		name    string
		healthy time.Duration // before the read
		app     *model.App
		restore bool
		want    int64
	}{
		{"done for MinHealthy before the read", 15 * time.Second, ran(nil), false, 5},
		{"done for less", 5 * time.Second, ran(nil), false, 3},
		{"a task failed since", 15 * time.Second, ran(func(a *model.App) {
			a.LastTaskFailure = &model.TaskFailure{TaskID: "t9", State: "TASK_FAILED", Version: "v5"}
		}), false, 3},
		{"not running all its tasks", 15 * time.Second, ran(func(a *model.App) { a.Counts.Running = 1 }), false, 3},
		{"deploying", 15 * time.Second, ran(func(a *model.App) { a.Deployments = []string{"d1"} }), false, 3},
		{"changed outside theseus", 15 * time.Second, ran(func(a *model.App) { a.SpecHash = "other" }), false, 3},
		{"a rollback's rollout", 15 * time.Second, ran(nil), true, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &specs.Rollout{Revision: 5, Version: "v5", Started: now.Add(-time.Minute), Healthy: now.Add(-tc.healthy), Restore: tc.restore}
			g := GroupState{Desired: desired, App: tc.app, AppAsOf: now, Now: now, MinHealthy: 10 * time.Second,
				ProgressDeadline: 10 * time.Minute, Outcome: Acted, Action: diff.Action{Kind: diff.Update, Key: k, Revision: 7},
				Result: model.Result{DeploymentID: "d7", Version: "v7"},
				Status: &specs.Status{Phase: specs.PhaseSynced, ObservedRevision: 5, SpecHash: "h5", SyncedRevision: 3, Rollout: r}}
			st := StatusOf(g).Status
			if st.SyncedRevision != tc.want {
				t.Errorf("synced revision %d, want %d", st.SyncedRevision, tc.want)
			}
			if st.Rollout == nil || st.Rollout.Revision != 7 {
				t.Errorf("rollout %+v, want the new revision's", st.Rollout)
			}
		})
	}
}

// TestSupersededKept: the rollout of a revision that a newer one
// replaced is kept while the app is at that revision with a deployment
// in flight, and only then.
func TestSupersededKept(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	k := specs.GroupKey{Service: "web", Labels: "dev"}
	two := 2
	desired := &diff.Desired{Key: k, Revision: 7, Hash: "h7", Spec: specs.Spec{Image: "web:2", Instances: &two}}
	r5 := specs.Rollout{Revision: 5, Version: "v5", Started: now.Add(-time.Minute)}
	app := func(rev int64, deployments ...string) *model.App {
		return &model.App{ID: "/web/dev", Key: k, Managed: true, Revision: rev, SpecHash: "h5", Version: "v5",
			Deployments: deployments, Counts: specs.TaskCounts{Wanted: 2, Running: 2}}
	}
	for _, tc := range []struct {
		name   string
		status specs.Status
		app    *model.App
		want   *specs.Rollout
	}{
		{"superseded while deploying", specs.Status{ObservedRevision: 5, Rollout: &r5}, app(5, "d5"), &r5},
		{"kept while it deploys", specs.Status{ObservedRevision: 7, Superseded: &r5}, app(5, "d5"), &r5},
		{"its deployment over", specs.Status{ObservedRevision: 7, Superseded: &r5}, app(5), nil},
		{"the app at another revision", specs.Status{ObservedRevision: 7, Superseded: &r5}, app(7, "d7"), nil},
		{"a rollback's rollout", specs.Status{ObservedRevision: 5, Rollout: &specs.Rollout{Revision: 5, Restore: true}}, app(5, "d5"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := GroupState{Desired: desired, App: tc.app, Status: &tc.status, Now: now, AppAsOf: now,
				MinHealthy: 10 * time.Second, ProgressDeadline: 10 * time.Minute, Outcome: HeldBack,
				Action: diff.Action{Kind: diff.Wait, Key: k, Revision: 7, HeldBack: diff.HoldDeployment}}
			got := StatusOf(g).Status.Superseded
			if (got == nil) != (tc.want == nil) || got != nil && *got != *tc.want {
				t.Errorf("superseded %+v, want %+v", got, tc.want)
			}
		})
	}
}
