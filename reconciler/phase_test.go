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

// TestStatusOf drives the phase function with each outcome of a
// reconcile and what it must make of it.
func TestStatusOf(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	k := specs.GroupKey{Service: "web", Labels: "dev"}
	two := 2
	desired := &diff.Desired{Key: k, Revision: 7, Hash: "h7", Spec: specs.Spec{Image: "nginx", Instances: &two}}
	checked := &diff.Desired{Key: k, Revision: 7, Hash: "h7",
		Spec: specs.Spec{Image: "nginx", Instances: &two, HealthChecks: []specs.HealthCheck{{Protocol: "HTTP"}}}}
	invalid := &diff.Desired{Key: k, Revision: 8, Errors: []string{"spec.mem: too small"}}
	app := func(running, healthy int, deployments ...string) *model.App {
		return &model.App{ID: "/web/dev", Key: k, Managed: true, Version: "v1", Deployments: deployments,
			Counts: specs.TaskCounts{Wanted: 2, Running: running, Healthy: healthy}}
	}
	outdated := app(2, 0)
	outdated.Outdated = 1
	failing := app(1, 0, "d1")
	failing.LastTaskFailure = &model.TaskFailure{TaskID: "t1", State: "TASK_FAILED", Host: "agent-1", Message: "exit 1"}
	progressing := &specs.Status{Phase: specs.PhaseProgressing, Since: now.Add(-time.Hour), DeploymentID: "d1"}
	stalled := &specs.Status{Phase: specs.PhaseStalled, Since: now.Add(-time.Minute), DeploymentID: "d1", DeploymentStep: "1/2 RestartApplication"}
	synced := &specs.Status{Phase: specs.PhaseSynced, Since: now.Add(-time.Hour), LastError: "old"}
	restart := diff.Action{Kind: diff.Restart, Key: k, Restart: "tok"}
	update := diff.Action{Kind: diff.Update, Key: k}
	crashed := app(2, 0)
	crashed.LastTaskFailure = failing.LastTaskFailure
	failingWrite := &specs.Status{Phase: specs.PhaseProgressing, ObservedRevision: 7, Since: now.Add(-time.Hour), LastError: "timeout"}
	for _, tc := range []struct {
		name string
		g    GroupState
		// want: the phase, parts of the message, and what else is decided.
		phase                             specs.Phase
		message                           []string
		drop, keep, stalled, newly, step  bool
		deployment, lastError, lastAction string
		restarted                         string
		errors                            int
	}{
		{name: "no spec", g: GroupState{App: app(2, 0), Status: synced}, drop: true},
		{name: "no app yet", g: GroupState{Desired: desired}, keep: true},
		{name: "synced", g: GroupState{Desired: desired, App: app(2, 0), Status: synced}, phase: specs.PhaseSynced},
		{name: "deploying", g: GroupState{Desired: desired, App: app(1, 0, "d1")}, phase: specs.PhaseProgressing,
			message: []string{"deploying"}, deployment: "d1"},
		{name: "tasks starting", g: GroupState{Desired: desired, App: app(1, 0)}, phase: specs.PhaseProgressing,
			message: []string{"1 of 2 running"}},
		{name: "not healthy", g: GroupState{Desired: checked, App: app(2, 1)}, phase: specs.PhaseProgressing,
			message: []string{"1 healthy"}},
		{name: "older definition left", g: GroupState{Desired: desired, App: outdated}, phase: specs.PhaseProgressing,
			message: []string{"older definition"}},
		{name: "past the deadline", g: GroupState{Desired: desired, App: failing, Status: progressing},
			phase: specs.PhaseStalled, message: []string{"progress deadline of 10m0s", "deploying"}, stalled: true, newly: true,
			step: true, deployment: "d1", lastError: "last task failure: t1 TASK_FAILED on agent-1: exit 1"},
		{name: "stays stalled", g: GroupState{Desired: desired, App: failing, Status: stalled},
			phase: specs.PhaseStalled, stalled: true, deployment: "d1", lastError: "last task failure: t1 TASK_FAILED on agent-1: exit 1"},
		{name: "held back", g: GroupState{Desired: desired, App: app(2, 0, "d2"), Outcome: HeldBack,
			Action: diff.Action{Kind: diff.Wait, Reason: "deployment d2 in flight", Deployments: []string{"d2"}}},
			phase: specs.PhaseWaiting, message: []string{"d2 in flight"}, deployment: "d2"},
		{name: "not ours", g: GroupState{Desired: desired, App: app(1, 0), Outcome: NotOwned,
			Action: diff.Action{Kind: diff.Unmanaged, Reason: "theseus does not manage it"}},
			phase: specs.PhaseStalled, message: []string{"does not manage"}},
		{name: "invalid", g: GroupState{Desired: invalid, App: app(2, 0), Outcome: InvalidSpec,
			Action: diff.Action{Kind: diff.Invalid, Errors: invalid.Errors, Reason: "the desired spec is invalid"}},
			phase: specs.PhaseInvalid, message: []string{"invalid"}, errors: 1},
		{name: "delete refused", g: GroupState{App: app(2, 0), Outcome: DeleteRefused, Err: errors.New("held back: 3 of 4")},
			phase: specs.PhaseStalled, message: []string{"refused: held back: 3 of 4"}},
		{name: "locked", g: GroupState{Desired: desired, App: app(2, 0), Outcome: Locked, Deployments: []string{"d9"}},
			phase: specs.PhaseWaiting, message: []string{"locked by deployment d9"}, deployment: "d9"},
		{name: "refused", g: GroupState{Desired: desired, App: app(2, 0), Outcome: Refused,
			Action: diff.Action{Kind: diff.Update}, Err: errors.New("422 invalid")},
			phase: specs.PhaseStalled, message: []string{"refused the update"}, lastError: "422 invalid"},
		// A failed write leaves Marathon running the revision before (or
		// not known to run this one): not Synced, whatever the group was.
		{name: "write failed", g: GroupState{Desired: desired, App: app(2, 0), Status: synced, Outcome: WriteFailed,
			Action: update, Err: errors.New("timeout")}, phase: specs.PhaseProgressing,
			message: []string{"update to Marathon failed"}, lastError: "timeout"},
		{name: "write failing past the deadline", g: GroupState{Desired: desired, App: crashed, Status: failingWrite,
			Outcome: WriteFailed, Action: update, Err: errors.New("timeout")}, phase: specs.PhaseStalled,
			message: []string{"progress deadline", "update to Marathon failed"}, stalled: true, newly: true, lastError: "timeout"},
		// The deadline of a new revision runs from its first failed write:
		// a transient error does not stall a group that was long Progressing.
		{name: "write of a new revision failed", g: GroupState{Desired: desired, App: app(1, 0), Status: progressing,
			Outcome: WriteFailed, Action: update, Err: errors.New("timeout")}, phase: specs.PhaseProgressing,
			message: []string{"update to Marathon failed"}, lastError: "timeout"},
		{name: "delete failed", g: GroupState{App: app(2, 0), Status: synced, Outcome: WriteFailed,
			Action: diff.Action{Kind: diff.Delete}, Err: errors.New("timeout")}, phase: specs.PhaseDeleting,
			message: []string{"delete of the app failed"}, lastError: "timeout"},
		{name: "restarted", g: GroupState{Desired: desired, App: app(2, 0), Status: synced, Outcome: Acted, Action: restart,
			Result: model.Result{DeploymentID: "d3", Version: "v2"}}, phase: specs.PhaseProgressing,
			message: []string{"deploying"}, deployment: "d3", lastAction: "restart", restarted: "tok"},
		{name: "deleted", g: GroupState{App: app(2, 0), Outcome: Acted, Action: diff.Action{Kind: diff.Delete},
			Result: model.Result{DeploymentID: "d4"}}, phase: specs.PhaseDeleting, message: []string{"being deleted"},
			deployment: "d4", lastAction: "delete"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.g.Now, tc.g.ProgressDeadline = now, 10*time.Minute
			d := StatusOf(tc.g)
			if d.Drop != tc.drop || d.Keep != tc.keep || d.Stalled != tc.stalled || d.NewlyStalled != tc.newly || d.NeedStep != tc.step {
				t.Fatalf("drop %v keep %v stalled %v newly %v step %v; want %v %v %v %v %v",
					d.Drop, d.Keep, d.Stalled, d.NewlyStalled, d.NeedStep, tc.drop, tc.keep, tc.stalled, tc.newly, tc.step)
			}
			if tc.drop || tc.keep {
				return
			}
			st := d.Status
			if st.Phase != tc.phase || st.DeploymentID != tc.deployment || st.LastError != tc.lastError ||
				st.LastAction != tc.lastAction || st.Restarted != tc.restarted || len(st.Errors) != tc.errors {
				t.Errorf("status %+v", st)
			}
			for _, m := range tc.message {
				if !strings.Contains(st.Message, m) {
					t.Errorf("message %q lacks %q", st.Message, m)
				}
			}
			if tc.g.Desired != nil && st.ObservedRevision != tc.g.Desired.Revision {
				t.Errorf("observed revision %d, want %d", st.ObservedRevision, tc.g.Desired.Revision)
			}
			if tc.g.App != nil && (st.AppID != tc.g.App.ID || st.Tasks.Running != tc.g.App.Counts.Running) {
				t.Errorf("app %q tasks %+v", st.AppID, st.Tasks)
			}
			if tc.lastAction != "" && !st.LastActionAt.Equal(now) {
				t.Errorf("last action at %v", st.LastActionAt)
			}
			if tc.name == "stays stalled" && st.DeploymentStep != stalled.DeploymentStep {
				t.Errorf("the step of the stall was lost: %q", st.DeploymentStep)
			}
		})
	}
}
