package reconciler

import (
	"fmt"
	"strings"
	"time"

	"theseus.dev/diff"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// Outcome is what a reconcile found or did, as far as the status of the
// group is concerned.
type Outcome int

// The outcomes of a reconcile.
const (
	// Observed: nothing to do; the group is as it runs.
	Observed Outcome = iota
	// HeldBack: a change waits behind a deployment theseus did not start
	// (Action: a diff.Wait).
	HeldBack
	// NotOwned: an app theseus may not touch has the group's id (Action:
	// a diff.Unmanaged).
	NotOwned
	// InvalidSpec: the desired spec is invalid (Action: a diff.Invalid).
	InvalidSpec
	// DeleteRefused: the prune guard refused the delete of the app (Err).
	DeleteRefused
	// Locked: the write found the app locked by deployments (Deployments).
	Locked
	// Refused: Marathon refused the definition (Action, Err).
	Refused
	// WriteFailed: the write failed otherwise, or its outcome is
	// unknown (Err).
	WriteFailed
	// Acted: the action was carried out (Action, Result).
	Acted
	// RolloutFailed: a rollout theseus started failed (Action: a
	// diff.Rollback whose Reason says why) and is not rolled back; Err
	// says why not (autoRollback off, no earlier Synced revision).
	RolloutFailed
)

// GroupState is what the status of a group is decided from: what it is
// meant to be, what runs, what its status says, and the outcome of the
// reconcile.
type GroupState struct {
	// Desired is the group's spec, nil when it has none; App its app, nil
	// when Marathon has none; Status its stored status, nil when none.
	Desired *diff.Desired
	App     *model.App
	Status  *specs.Status
	Outcome Outcome
	Action  diff.Action
	Result  model.Result
	// Deployments are those that locked the app (Locked).
	Deployments []string
	Err         error
	// Now and ProgressDeadline decide whether a group that is not there
	// yet is Stalled.
	Now              time.Time
	ProgressDeadline time.Duration
	// Pause is the group's pause record; nil when it is not paused.
	Pause *specs.Pause
	// FailureLimit is how many tasks of a rollout may fail before it has
	// failed (0: failures alone never fail it); MinHealthy how long a
	// rollout must stay done before it is over.
	FailureLimit int
	MinHealthy   time.Duration
	// AppAsOf is when the read of App from Marathon began: for this
	// decision, or the list or read the cache holds it from, which may
	// not know of a crash yet when events are late or lost. A rollout is
	// over only on a read begun MinHealthy after it was done.
	AppAsOf time.Time
}

// StatusDecision is the status a group is to have.
type StatusDecision struct {
	// Status is the status to record, unless Drop or Keep. Its Since and
	// UpdatedAt are the writer's to set.
	Status specs.Status
	// Drop: the group has no spec, and what a status said of its progress
	// no longer holds: remove it. Keep: nothing to record (a spec whose
	// app is not there yet).
	Drop, Keep bool
	// Stalled says the group is past its progress deadline; NewlyStalled
	// that it has just become so; NeedStep that Status.DeploymentStep is
	// to be read from Marathon (the deployment it stalled on).
	Stalled, NewlyStalled, NeedStep bool
	// RollBack says that the rollout of the desired revision failed, for
	// Reason: the controller rolls it back, or records why it cannot
	// (RolloutFailed). Status is what it would record meanwhile.
	RollBack bool
	Reason   string
	// ReadApp says that the app is to be read from Marathon at the
	// group's next look: its rollout waits for a read to end on.
	ReadApp bool
}

// StatusOf decides the status of a group from what it is meant to be,
// what runs, what its status says and what the reconcile did: every
// phase of /status is decided here, and nowhere else. It is pure.
func StatusOf(g GroupState) StatusDecision {
	st := baseStatus(g)
	switch g.Outcome {
	case Observed:
		return safety(g, observed(g, st))
	case HeldBack:
		if h := g.Action.HeldBack; h != "" && h != diff.HoldDeployment {
			// Paused, quarantined or drift left in place: the group is
			// as it runs (nothing yet, a create held back); the rollout
			// safety names the phase.
			if g.App == nil {
				st.Phase, st.Message = specs.PhaseProgressing, g.Action.Reason
				return safety(g, StatusDecision{Status: st})
			}
			return safety(g, observed(g, st))
		}
		st.Phase, st.Message = specs.PhaseWaiting, g.Action.Reason
		st.DeploymentID = first(g.Action.Deployments)
		return safety(g, progress(g, st))
	case NotOwned:
		st.Phase, st.Message = specs.PhaseStalled, g.Action.Reason
	case InvalidSpec:
		st.Phase, st.Errors, st.Message = specs.PhaseInvalid, statusErrors(g.Action.Errors), g.Action.Reason
	case DeleteRefused:
		st.Phase, st.DeploymentID, st.LastError = specs.PhaseStalled, "", ""
		st.Message = "the desired spec is gone, but the delete of the app was refused: " + g.Err.Error()
	case Locked:
		st.Phase = specs.PhaseWaiting
		st.DeploymentID = first(g.Deployments)
		st.Message = "the app is locked by deployment " + strings.Join(g.Deployments, ", ") + "; looking again when it ends"
	case Refused:
		st.Phase, st.LastError = specs.PhaseStalled, g.Err.Error()
		st.Message = refusedMessage(g.Action.Kind)
	case WriteFailed:
		return safety(g, writeFailed(g, st))
	case Acted:
		st.LastAction, st.LastActionAt = string(g.Action.Kind), g.Now
		st.DeploymentID, st.MarathonVersion = g.Result.DeploymentID, g.Result.Version
		st.LastError = ""
		st.Phase, st.Message = specs.PhaseProgressing, "Marathon is deploying the change"
		if g.Action.Kind == diff.Delete {
			st.Phase, st.Message = specs.PhaseDeleting, "the desired spec is gone; the app is being deleted"
		}
		if g.Action.Restart != "" {
			st.Restarted = g.Action.Restart
		}
		st.Scaled = scaledLabels(g, st.Scaled)
	}
	return safety(g, StatusDecision{Status: st})
}

// observed decides for a group that needs nothing done now: Synced, or
// Progressing while a deployment runs or tasks start (Stalled past the
// deadline).
func observed(g GroupState, st specs.Status) StatusDecision {
	switch {
	case g.Desired == nil:
		return StatusDecision{Drop: true}
	case g.App == nil:
		return StatusDecision{Keep: true}
	case len(g.App.Deployments) > 0:
		st.Phase, st.DeploymentID = specs.PhaseProgressing, g.App.Deployments[0]
		st.Message = "Marathon is deploying the change"
		return progress(g, st)
	}
	st.DeploymentID = ""
	if ready(g.Desired, g.App) {
		st.Phase, st.LastError = specs.PhaseSynced, ""
		if st.Rollout == nil && st.Failure == nil {
			st.SyncedRevision = g.Desired.Revision
		}
		return StatusDecision{Status: st}
	}
	st.Phase = specs.PhaseProgressing
	st.Message = waitingFor(g.App, st.Tasks)
	return progress(g, st)
}

// refusedMessage is the message of a group whose write of kind Marathon
// refused. It says what retries it: the same definition is not sent
// again (refusedAlready), not even by a new leader.
func refusedMessage(kind diff.Kind) string {
	return "Marathon refused the " + string(kind) + "; it is sent again when /desired changes or `theseusd restart` asks for it"
}

// writeFailed decides for a group whose write to Marathon failed, or
// ended with its outcome unknown. Marathon does not run (or is not known
// to run) what was to be written, so the group is not Synced, whatever
// it was: it is Progressing, the error its LastError, while the write is
// tried again, and Stalled once that goes on past the progress deadline.
// The deadline of a revision runs from its first failed write, not from
// when the group last moved, so that one transient error on a revision
// just changed does not make a group that was Progressing for a while
// Stalled (and told about) at once.
func writeFailed(g GroupState, st specs.Status) StatusDecision {
	if g.Desired == nil {
		st.Phase, st.LastError = specs.PhaseDeleting, g.Err.Error()
		st.Message = "the desired spec is gone; the delete of the app failed and is tried again"
		return StatusDecision{Status: st}
	}
	st.Phase = specs.PhaseProgressing
	st.Message = fmt.Sprintf("the %s to Marathon failed; it is tried again", g.Action.Kind)
	st.DeploymentID = ""
	if g.App != nil {
		st.DeploymentID = first(g.App.Deployments)
	}
	if g.Status != nil && g.Status.ObservedRevision != st.ObservedRevision {
		g.Status = nil // the revision's first write: its deadline starts now
	}
	d := progress(g, st)
	// The write's error, not the last task failure progress names.
	d.Status.LastError = g.Err.Error()
	return d
}

// baseStatus is the group's status carried over from the last write, with
// what is known now filled in.
func baseStatus(g GroupState) specs.Status {
	var st specs.Status
	if g.Status != nil {
		st = *g.Status
	}
	st.Errors, st.Message, st.DeploymentStep = nil, "", ""
	st.AppID = ""
	// A rollout and a failure are of one revision: a new one (or none)
	// ends them, and lifts the quarantine.
	if d := g.Desired; d == nil || st.Rollout != nil && st.Rollout.Revision != d.Revision {
		if d != nil && !st.Rollout.Restore && st.Rollout.Revision < d.Revision {
			r := *st.Rollout
			st.Superseded = &r
		}
		st.Rollout = nil
	}
	if s := st.Superseded; s != nil && (g.Desired == nil || g.App == nil || g.App.Revision != s.Revision || len(g.App.Deployments) == 0) {
		st.Superseded = nil // its deployment is over, or replaced
	}
	if d := g.Desired; d == nil || st.Failure != nil && st.Failure.Revision != d.Revision {
		st.Failure = nil
	}
	if d := g.Desired; d == nil || d.Valid() && st.Scaled != nil && st.Scaled.SpecHash != d.Hash {
		st.Scaled = nil // of a spec no longer desired: the next write is a full one
	}
	if d := g.Desired; d != nil {
		st.ObservedRevision = d.Revision
		st.SpecHash = d.Hash
		if d.Spec.Instances != nil {
			st.Tasks.Wanted = *d.Spec.Instances
		}
	}
	if a := g.App; a != nil {
		st.AppID, st.MarathonVersion = a.ID, a.Version
		wanted := st.Tasks.Wanted
		st.Tasks = a.Counts
		st.Tasks.Wanted = wanted
		if g.Desired == nil || !g.Desired.Valid() {
			st.Tasks.Wanted = a.Counts.Wanted
		}
	}
	if (g.Outcome == Observed || g.Outcome == HeldBack) && unrecordedWrite(&st, g.Desired, g.App) {
		// The status of the write was lost (the daemon died between the
		// write and its status, or the write's answer was lost): its
		// rollout is followed from now, as the lost status would have
		// followed it, rather than the revision taken for Synced while
		// its tasks run between crashes.
		st.Rollout = &specs.Rollout{Revision: g.Desired.Revision, Version: g.App.Version, Started: g.Now,
			LastFailedTask: lastFailedTask(g.App)}
	}
	return st
}

// unrecordedWrite reports whether app a carries the labels of the
// desired revision, which only theseus writes, while status st neither
// follows its rollout nor says how it ended, nor that it was Synced:
// theseus wrote it, and no status recorded the write.
func unrecordedWrite(st *specs.Status, d *diff.Desired, a *model.App) bool {
	return d != nil && d.Valid() && a != nil && a.Managed && a.Revision == d.Revision && a.SpecHash == d.Hash &&
		st.Rollout == nil && st.Failure == nil && st.SyncedRevision != d.Revision
}

// scaledLabels is what a status records of the labels of the app after
// g's action, prev before it: a scale leaves them naming the spec of the
// last full write (it sends instances alone), a restart leaves them as
// they were, and any other write names the spec it writes.
func scaledLabels(g GroupState, prev *specs.ScaledLabels) *specs.ScaledLabels {
	switch g.Action.Kind {
	case diff.Scale:
		a, d := g.App, g.Desired
		if a == nil || d == nil || !a.Managed || a.SpecHash == "" || a.SpecHash == d.Hash {
			return nil
		}
		// The app was read just before the scale, and a scale is planned
		// only when instances alone differ: it now runs d's spec.
		return &specs.ScaledLabels{Hash: a.SpecHash, Revision: a.Revision, SpecHash: d.Hash}
	case diff.Restart:
		return prev
	}
	return nil
}

// progress decides for a group that is moving (Progressing) or held
// back (Waiting): it turns Stalled when it has not arrived within the
// progress deadline, with the deployment's step and Marathon's last task
// failure as the reason.
func progress(g GroupState, st specs.Status) StatusDecision {
	var prev specs.Status
	if g.Status != nil {
		prev = *g.Status
	}
	has := g.Status != nil
	reason := st.Message
	start := g.Now
	if has && prev.Phase != specs.PhaseSynced && !prev.Since.IsZero() {
		start = prev.Since
	}
	if !st.LastActionAt.IsZero() && st.LastActionAt.After(start) {
		start = st.LastActionAt
	}
	// A stalled group stays stalled until it arrives, is acted on again
	// or another deployment takes over; its Since is when it stalled.
	stalled := has && prev.Phase == specs.PhaseStalled && prev.DeploymentID == st.DeploymentID &&
		!st.LastActionAt.After(prev.Since)
	if !stalled && g.Now.Sub(start) < g.ProgressDeadline {
		return StatusDecision{Status: st}
	}
	st.Phase = specs.PhaseStalled
	// The message changes only with what it waits for, so the status is
	// not rewritten on every look.
	st.Message = deadlineText(g.ProgressDeadline, reason)
	d := StatusDecision{Stalled: true, NewlyStalled: prev.Phase != specs.PhaseStalled}
	if prev.Phase == specs.PhaseStalled && prev.DeploymentID == st.DeploymentID {
		st.DeploymentStep = prev.DeploymentStep
	} else if st.DeploymentID != "" {
		d.NeedStep = true
	}
	if g.App != nil && g.App.LastTaskFailure != nil {
		f := g.App.LastTaskFailure
		st.LastError = fmt.Sprintf("last task failure: %s %s on %s: %s", f.TaskID, f.State, f.Host, f.Message)
	}
	d.Status = st
	return d
}

// ready reports whether the app runs the wanted number of tasks, all of
// its current definition, healthy when it has health checks. Without a
// deployment in flight, extra tasks or tasks of an older definition are
// what a deployment cancelled by hand leaves behind: the app definition
// matches the spec but what runs does not.
func ready(d *diff.Desired, a *model.App) bool {
	want := 0
	if d.Spec.Instances != nil {
		want = *d.Spec.Instances
	}
	return runs(a, want, len(d.Spec.HealthChecks) > 0)
}

// runs reports whether app a runs want tasks, all of its current
// definition, healthy when checked.
func runs(a *model.App, want int, checked bool) bool {
	n := a.Counts
	return n.Running == want && a.Outdated == 0 && (!checked || n.Healthy >= want)
}

// waitingFor says what a group that is not ready waits for.
func waitingFor(a *model.App, n specs.TaskCounts) string {
	switch {
	case a.Outdated > 0:
		return fmt.Sprintf("%d of %d running tasks run an older definition of the app, as a cancelled deployment leaves them; "+
			"a new revision or a restart replaces them", a.Outdated, n.Running)
	case n.Running > n.Wanted:
		return fmt.Sprintf("%d tasks running, %d wanted: waiting for Marathon to stop the extra ones", n.Running, n.Wanted)
	}
	return fmt.Sprintf("waiting for tasks: %d of %d running, %d healthy", n.Running, n.Wanted, n.Healthy)
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// Bounds of the validation errors a status holds: a spec well within
// specs.MaxSpecBytes can have tens of thousands of errors (one per bad env
// name), megabytes that etcd refuses to store.
const (
	maxStatusErrors     = 100
	maxStatusErrorBytes = 1 << 10
)

// statusErrors returns the first maxStatusErrors of errs, each cut to
// maxStatusErrorBytes, and a last line saying how many there are in all
// when some were left out.
func statusErrors(errs []string) []string {
	out := make([]string, 0, min(len(errs), maxStatusErrors+1))
	for _, e := range errs[:min(len(errs), maxStatusErrors)] {
		if len(e) > maxStatusErrorBytes {
			e = strings.ToValidUTF8(e[:maxStatusErrorBytes], "") + "…"
		}
		out = append(out, e)
	}
	if len(errs) > maxStatusErrors {
		out = append(out, fmt.Sprintf("… and %d more errors, %d in all", len(errs)-maxStatusErrors, len(errs)))
	}
	return out
}
