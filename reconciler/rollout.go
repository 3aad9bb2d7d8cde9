package reconciler

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"theseus.dev/diff"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// Defaults of the rollout rule (Config.RolloutFailures, Config.MinHealthy).
const (
	DefaultRolloutFailures = 3
	DefaultMinHealthy      = 10 * time.Second
)

// safety applies rollout safety to d, the decision for g: it follows a
// rollout theseus started (its failed tasks, its deadline, how long it
// has been done), records a failed rollout and its rollback, and names
// the phase of a quarantined, drifted or paused group. The rule is in
// docs/decisions.md#automatic-rollback.
func safety(g GroupState, d StatusDecision) StatusDecision {
	if d.Drop || d.Keep || g.Desired == nil || !g.Desired.Valid() {
		return d
	}
	st := &d.Status
	switch g.Outcome {
	case Acted:
		overAtWrite(g, st)
		started(g, st)
	case RolloutFailed:
		// The rollout is still followed: if it comes through after all,
		// and stays so, the group is Synced.
		st.Failure = failure(g, specs.OutcomeFailed)
		st.Failure.NotRolledBack = g.Err.Error()
	case Refused:
		if g.Action.Kind == diff.Rollback {
			// As a rollout not rolled back: it is still followed, and
			// turns Synced if Marathon's deployment of it comes through.
			st.Failure = failure(g, specs.OutcomeFailed)
			st.Failure.NotRolledBack = "Marathon refused the rollback: " + g.Err.Error()
		}
	case Observed, HeldBack:
		if g.Action.HeldBack == diff.HoldQuarantined && st.Failure == nil && g.App != nil {
			// Held back for an app written back under the rollout: the
			// rollback whose status was lost, or Marathon's own.
			st.Rollout = nil
			st.Failure = &specs.RolloutFailure{Revision: g.Desired.Revision, Outcome: specs.OutcomeRolledBack,
				Reason: writtenBackReason(g.App), At: g.Now, RestoredRevision: g.App.Revision}
		}
		if st.Rollout != nil && g.App != nil && g.Action.HeldBack != diff.HoldDeployment {
			judge(g, &d)
		}
	}
	if f := st.Failure; f != nil {
		quarantined(st, f)
		unstall(&d)
	}
	if g.Outcome == HeldBack && g.Action.HeldBack == diff.HoldDriftReport {
		st.Phase = specs.PhaseDrifted
		st.Message = "the app was changed outside theseus (" + changedPaths(g.Action.Changes) +
			"); spec.drift is report, so the change is left in place"
		unstall(&d)
	}
	if p := g.Pause; p != nil && g.Outcome != Acted {
		st.Phase, st.Message = specs.PhasePaused, pausedMessage(g, p, d)
		d.RollBack = false // once resumed
		unstall(&d)
	}
	return d
}

// started begins following the rollout a write of the desired revision
// starts, or the rollback of one. A write of a revision that was Synced
// already (drift healed, an app deleted by hand made again) starts none:
// going back from it would go back past a revision that ran.
func started(g GroupState, st *specs.Status) {
	rev := g.Desired.Revision
	switch g.Action.Kind {
	case diff.Rollback:
		st.Failure = failure(g, specs.OutcomeRolledBack)
		st.Rollout = &specs.Rollout{Revision: rev, Version: g.Result.Version, Started: g.Now,
			LastFailedTask: lastFailedTask(g.App), Restore: true}
	case diff.Create, diff.Update, diff.Scale:
		if st.SyncedRevision == rev && st.Rollout == nil {
			return
		}
		r := specs.Rollout{Revision: rev, Started: g.Now, LastFailedTask: lastFailedTask(g.App)}
		if st.Rollout != nil {
			r = *st.Rollout // a second write of one rollout: its deadline and failures go on
		}
		r.Version, r.Healthy = g.Result.Version, time.Time{}
		st.Rollout = &r
	}
}

// overAtWrite records as Synced the revision of a rollout that a write
// of a newer one ends, if the read of the app just before that write
// says it was over: done, as its revision defines it, since MinHealthy
// before the read began, with no task failed since. Otherwise a change
// made soon after a rollout was done would leave it Superseded, and a
// failure of the change nothing to roll back to.
func overAtWrite(g GroupState, st *specs.Status) {
	prev, a := g.Status, g.App
	if prev == nil || prev.Rollout == nil || prev.Failure != nil || a == nil {
		return
	}
	r := prev.Rollout
	if r.Revision >= g.Desired.Revision || r.Restore || r.Healthy.IsZero() || g.AppAsOf.Sub(r.Healthy) < g.MinHealthy {
		return
	}
	if a.Revision == r.Revision && a.SpecHash == prev.SpecHash && len(a.Deployments) == 0 && runsAsDefined(a) &&
		lastFailedTask(a) == r.LastFailedTask {
		st.SyncedRevision = r.Revision
	}
}

// failure is the failed rollout of g's revision, with the reason and
// what was restored from the rollback action.
func failure(g GroupState, o specs.Outcome) *specs.RolloutFailure {
	f := &specs.RolloutFailure{Revision: g.Desired.Revision, Outcome: o, Reason: g.Action.Reason, At: g.Now}
	if r := g.Action.Restore; r != nil && o == specs.OutcomeRolledBack {
		f.RestoredRevision, f.RestoredVersion = r.Revision, r.Version
	}
	return f
}

// judge follows the rollout of st: it counts the failed tasks of its
// version, and decides whether it failed (too many failed tasks, or not
// done within the deadline) or is over (done, and stayed so for
// MinHealthy). A failed rollout is to be rolled back (d.RollBack); a
// failed rollback makes the group Failed.
func judge(g GroupState, d *StatusDecision) {
	st := &d.Status
	r := *st.Rollout
	st.Rollout = &r
	f := g.App.LastTaskFailure
	failedNow := f != nil && f.TaskID != r.LastFailedTask && !olderVersion(f.Version, r.Version)
	done := st.Phase == specs.PhaseSynced
	if r.Restore {
		// A rollback runs the restored spec, not the desired one: it is
		// done when the app runs as Marathon defines it.
		done = len(g.App.Deployments) == 0 && runsAsDefined(g.App)
	}
	if st.Failure != nil && !r.Restore {
		// Failed and not rolled back: it is not tried again, but when
		// Marathon's deployment comes through after all (resources freed)
		// and the app stays so, it is Synced. Its failures are no longer
		// counted (a crash loop rewrites no status), but one ends a spell
		// of looking done.
		unstall(d)
		if !done || g.Outcome != Observed || failedNow && !r.Healthy.IsZero() {
			if !r.Healthy.IsZero() {
				r.Healthy, r.LastFailedTask = time.Time{}, lastFailedTask(g.App)
			}
			return
		}
		if r.Healthy.IsZero() {
			r.Healthy, r.LastFailedTask = g.Now, lastFailedTask(g.App)
		}
		if overOnRead(g, d, r.Healthy) {
			st.Rollout, st.Failure, st.SyncedRevision = nil, nil, g.Desired.Revision
		}
		return
	}
	if failedNow {
		r.Failures++
		r.LastFailedTask, r.LastFailure = f.TaskID, f.Message
	}
	stallText := st.Message
	if !d.Stalled {
		stallText = deadlineText(g.ProgressDeadline, st.Message)
	}
	// A rollout is judged here, never reported Stalled.
	unstall(d)
	if st.Phase == specs.PhaseStalled {
		st.Phase = specs.PhaseProgressing
	}
	var failed string
	switch {
	case g.FailureLimit > 0 && r.Failures >= g.FailureLimit:
		st.Message = fmt.Sprintf("%d tasks of the rollout failed", r.Failures)
		failed = cmp.Or(r.LastFailure, st.Message)
	case !done && g.Now.Sub(r.Started) >= g.ProgressDeadline:
		failed, st.Message = stallText, stallText
	}
	switch {
	case failed == "" && done:
		if r.Healthy.IsZero() || failedNow {
			r.Healthy = g.Now // a task failed since the last look: the spell starts again
		}
		if overOnRead(g, d, r.Healthy) {
			st.Rollout = nil
			if !r.Restore {
				st.SyncedRevision = g.Desired.Revision
			}
		}
	case failed == "":
		r.Healthy = time.Time{}
	case r.Restore:
		st.Rollout = nil
		f := *st.Failure
		f.Outcome, f.At = specs.OutcomeFailed, g.Now
		f.Reason = fmt.Sprintf("the rollback to revision %d failed too: %s", f.RestoredRevision, failed)
		st.Failure = &f
	default:
		d.RollBack, d.Reason = true, failed
	}
}

// overOnRead reports whether a rollout done since healthy is over: a
// read of its app begun MinHealthy after that (an event's, or a list's)
// says it still is. The cache of a read before may not know of a crash
// yet, when events are late or lost. Twice MinHealthy after, with no such
// read yet, it asks for one (d.ReadApp): lists more often than that cost
// no read of their own.
func overOnRead(g GroupState, d *StatusDecision, healthy time.Time) bool {
	if g.AppAsOf.Sub(healthy) >= g.MinHealthy {
		return true
	}
	if g.Now.Sub(healthy) >= 2*g.MinHealthy {
		d.ReadApp = true
	}
	return false
}

// runsAsDefined reports whether an app runs the instances Marathon
// defines for it, all of its current definition, healthy when it has
// health checks.
func runsAsDefined(a *model.App) bool {
	return runs(a, a.Counts.Wanted, len(a.Spec.HealthChecks) > 0)
}

// writtenBack reports whether the app of a rollout theseus started
// carries an earlier revision than the rollout's, with another spec:
// it was written back after the rollout was written. theseus writes an
// earlier revision only to roll back, so this is a rollback whose status
// was not recorded (the daemon died between the write and the status),
// or Marathon's own rollback of the deployment (DELETE
// /v2/deployments/{id}). Either way the revision is not written again.
// Labels that a scale by theseus left (st.Scaled) are the group's own: a
// scale does not rewrite them.
func writtenBack(st *specs.Status, d *diff.Desired, a *model.App) bool {
	r := st.Rollout
	return st.Failure == nil && r != nil && !r.Restore && d != nil && r.Revision == d.Revision &&
		a != nil && a.Managed && a.Revision > 0 && a.Revision < d.Revision && a.SpecHash != d.Hash &&
		!st.Scaled.Names(a.SpecHash, a.Revision, d.Hash)
}

func writtenBackReason(a *model.App) string {
	return fmt.Sprintf("the app was written back to revision %d after the rollout began", a.Revision)
}

// quarantined names the phase of a group whose desired revision failed.
func quarantined(st *specs.Status, f *specs.RolloutFailure) {
	if f.Outcome == specs.OutcomeRolledBack {
		st.Phase = specs.PhaseRolledBack
		st.Message = fmt.Sprintf("the rollout of revision %d failed (%s) and was rolled back to revision %d; "+
			"it is not tried again until /desired changes", f.Revision, f.Reason, f.RestoredRevision)
		if st.Rollout != nil {
			st.Message += fmt.Sprintf("; Marathon is deploying revision %d", f.RestoredRevision)
		}
		return
	}
	st.Phase = specs.PhaseFailed
	st.Message = fmt.Sprintf("the rollout of revision %d failed (%s) and was not rolled back", f.Revision, f.Reason)
	if f.NotRolledBack != "" {
		st.Message += " (" + f.NotRolledBack + ")"
	}
	st.Message += "; it is not tried again until /desired changes"
}

func pausedMessage(g GroupState, p *specs.Pause, d StatusDecision) string {
	var b strings.Builder
	b.WriteString(pausedBy(p))
	b.WriteString(": nothing is written to Marathon until theseusd resume")
	if g.Outcome == HeldBack && g.Action.Kind.Mutates() {
		fmt.Fprintf(&b, "; a pending %s is held back", g.Action.Kind)
	}
	if d.RollBack {
		fmt.Fprintf(&b, "; the rollout of revision %d failed (%s) and is rolled back once resumed", g.Desired.Revision, d.Reason)
	}
	if g.App != nil && len(g.App.Deployments) > 0 {
		b.WriteString("; Marathon's deployment in flight goes on")
	}
	return b.String()
}

func unstall(d *StatusDecision) { d.Stalled, d.NewlyStalled, d.NeedStep = false, false, false }

func deadlineText(deadline time.Duration, reason string) string {
	s := fmt.Sprintf("not done within the progress deadline of %s", deadline)
	if reason != "" {
		s += ": " + reason
	}
	return s
}

func lastFailedTask(a *model.App) string {
	if a == nil || a.LastTaskFailure == nil {
		return ""
	}
	return a.LastTaskFailure.TaskID
}

// olderVersion reports whether app version v is older than version of:
// a task failure of it is not the rollout's. Versions that do not parse
// are not older.
func olderVersion(v, of string) bool {
	a, b := parseTime(v), parseTime(of)
	return !a.IsZero() && !b.IsZero() && a.Before(b)
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

func changedPaths(cs []diff.Change) string {
	paths := make([]string, len(cs))
	for i, c := range cs {
		paths[i] = c.Path
	}
	return strings.Join(paths, ", ")
}
