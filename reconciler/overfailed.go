package reconciler

import (
	"cmp"
	"context"
	"fmt"

	"theseus.dev/diff"
	"theseus.dev/specs"
)

// overFailed turns act, a change waiting behind the app's deployment,
// into an update forced over it (diff.Action.OverFailed) when that
// deployment is of a rollout theseus judged failed, as the group's
// history says, or of one act's revision superseded that is past its
// deadline (overdue). A history that cannot be read leaves act waiting:
// the next look tries again.
func (c *Controller) overFailed(ctx context.Context, act *diff.Action, v view) {
	if !mayOverFail(act, false) || c.overdue(act, v) || c.cfg.History == nil {
		return
	}
	h, err := c.cfg.History.Get(ctx, act.Key)
	if err != nil {
		c.log.Debug("cannot read the history for a change waiting behind a deployment", "group", act.Key.String(), "err", err)
		return
	}
	overFailedBy(act, h, false)
}

// overdue forces act over the deployment of the rollout that act's
// revision superseded (the status's Superseded) once the group's progress
// deadline has passed since that rollout began, and records in the
// history that it failed so: superseded, it is no longer judged, and a
// deployment of it that never ends (tasks that never turn healthy) would
// hold every later change back. The app must still be at the version
// that rollout wrote: a deployment begun since (another client's
// restart or scale) is waited for as any other.
func (c *Controller) overdue(act *diff.Action, v view) bool {
	s := v.status.Superseded
	if !v.hasStatus || s == nil || v.app == nil || v.desired == nil || act.AppRevision != s.Revision || v.app.Version != s.Version {
		return false
	}
	deadline := cmp.Or(v.desired.Policy.ProgressDeadline, c.cfg.ProgressDeadline)
	now := c.cfg.Now()
	if now.Sub(s.Started) < deadline || !act.OverFailed(s.Revision) {
		return false
	}
	if c.history != nil {
		c.history.add(act.Key, historyOp{rev: s.Revision, at: now, outcome: specs.OutcomeFailed,
			reason: fmt.Sprintf("not done within the progress deadline of %s; superseded by revision %d meanwhile", deadline, act.Revision)})
	}
	return true
}

// mayOverFail reports whether act waits behind a deployment of an app
// written for another revision than act's: the only actions whose
// history is read for diff.Action.OverFailed. A fresh action (a plan of
// files that would write a new revision) is of a revision to come,
// whatever /desired holds now.
func mayOverFail(act *diff.Action, fresh bool) bool {
	return act.Kind == diff.Wait && act.HeldBack == diff.HoldDeployment && act.AppRevision > 0 &&
		(fresh || act.AppRevision != act.Revision)
}

// overFailedBy forces act over the app's deployment if h says it is
// that of a failed rollout.
func overFailedBy(act *diff.Action, h *specs.History, fresh bool) {
	if rev := failedInFlight(h, act.AppRevision); mayOverFail(act, fresh) && rev != 0 {
		act.OverFailed(rev)
	}
}

// failedInFlight is the revision whose failed rollout an app written for
// appRev is still deploying, as h says: appRev itself, when its rollout
// Failed, or a revision whose rollback to appRev failed too. 0 when
// there is none.
func failedInFlight(h *specs.History, appRev int64) int64 {
	if h == nil {
		return 0
	}
	for i := len(h.Entries) - 1; i >= 0; i-- {
		if e := &h.Entries[i]; e.Outcome == specs.OutcomeFailed && (e.Revision == appRev || e.RestoredRevision == appRev) {
			return e.Revision
		}
	}
	return 0
}
