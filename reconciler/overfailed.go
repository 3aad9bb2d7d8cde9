package reconciler

import (
	"context"

	"theseus.dev/diff"
	"theseus.dev/specs"
)

// overFailed turns act, a change waiting behind the app's deployment,
// into an update forced over it when that deployment is of a rollout
// theseus judged failed, as the group's history says
// (diff.Action.OverFailed). A history that cannot be read leaves act
// waiting: the next look tries again.
func (c *Controller) overFailed(ctx context.Context, act *diff.Action) {
	if !mayOverFail(act, false) || c.cfg.History == nil {
		return
	}
	h, err := c.cfg.History.Get(ctx, act.Key)
	if err != nil {
		c.log.Debug("cannot read the history for a change waiting behind a deployment", "group", act.Key.String(), "err", err)
		return
	}
	overFailedBy(act, h, false)
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
