package reconciler

import (
	"context"
	"errors"
	"fmt"

	"theseus.dev/diff"
	"theseus.dev/internal/engine"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// safetyHold reports whether a hold is rollout safety's: a pause, a
// quarantine, drift left in place.
func safetyHold(h diff.Hold) bool {
	return h == diff.HoldPaused || h == diff.HoldQuarantined || h == diff.HoldDriftReport
}

// held records a group whose pending change rollout safety holds back:
// Paused, RolledBack or Failed (quarantined), Drifted. A rollback being
// deployed is looked at again like any deployment.
func (c *Controller) held(ctx context.Context, v view, act diff.Action) (engine.Result, error) {
	g := c.state(v, HeldBack)
	g.Action = act
	d, err := c.record(ctx, v, g)
	if d.RollBack {
		return c.rollback(ctx, v, d) // a rollout fails while its drift is left in place
	}
	if d.Status.Rollout != nil || act.HeldBack == diff.HoldPaused && c.cfg.Pauses == nil {
		// Following a rollback; or paused with nothing to tell of the
		// resume but the read before a write.
		return engine.Result{RequeueAfter: c.cfg.PollInterval}, err
	}
	return engine.Result{}, err
}

// rollback rolls back the failed rollout of v's desired revision, for
// reason: it writes the full definition of the last revision that was
// Synced before it, from the spec the history kept, through the same
// path as every write (the write limit, the fence, the confirmation of
// /desired and of no pause, Apply), forced over the failed deployment.
// A group that cannot be rolled back (autoRollback off, no earlier
// Synced revision, its spec gone or no longer valid) is recorded Failed.
func (c *Controller) rollback(ctx context.Context, v view, d StatusDecision) (engine.Result, error) {
	reason := d.Reason
	// The rollout as judged, its last failures counted, is what the
	// rollback or the failure is recorded with.
	v.status.Rollout = d.Status.Rollout
	act := diff.Action{Kind: diff.Rollback, Key: v.key, Revision: v.desired.Revision, Reason: reason}
	if v.app != nil {
		act.AppID, act.Version = v.app.ID, v.app.Version
	}
	if why, err := c.restore(ctx, v, &act); err != nil {
		return engine.Result{}, err
	} else if why != nil {
		c.log.Warn("rollout failed; not rolled back", "group", v.key.String(), "revision", act.Revision,
			"reason", reason, "why", why.Error())
		g := c.state(v, RolloutFailed)
		g.Action, g.Err = act, why
		_, err := c.record(ctx, v, g)
		return engine.Result{RequeueAfter: c.cfg.PollInterval}, err
	}
	if !v.fresh {
		// Never write on a cached view: read the app (and /desired) again
		// and judge the rollout again on what is read.
		if err := c.refresh(ctx, &v); err != nil {
			return engine.Result{}, err
		}
		if again := StatusOf(c.state(v, Observed)); !again.RollBack {
			return c.observe(ctx, v)
		}
	}
	c.log.Warn("rollout failed; rolling back", "group", v.key.String(), "revision", act.Revision,
		"to", act.Restore.Revision, "reason", reason)
	return c.execute(ctx, v, act)
}

// restore fills in what act writes back: the spec of the revision to go
// back to. why says why there is none; err is an error to try again on.
func (c *Controller) restore(ctx context.Context, v view, act *diff.Action) (why, err error) {
	switch {
	case !v.desired.Policy.AutoRollback:
		return errors.New("spec.upgrade.autoRollback is false"), nil
	case c.cfg.History == nil:
		return errors.New("the daemon keeps no history to roll back to"), nil
	}
	h, err := c.cfg.History.Get(ctx, v.key)
	switch {
	case errors.Is(err, model.ErrCorrupt):
		return fmt.Errorf("its history cannot be read: %w", err), nil
	case err != nil:
		return nil, fmt.Errorf("rollback of %s: read its history: %w", v.key, err)
	}
	target := rollbackTarget(h, v.status.SyncedRevision, act.Revision)
	if target == nil {
		return fmt.Errorf("no revision before %d was Synced (with its spec kept) to roll back to", act.Revision), nil
	}
	g, err := specs.DecodeStored(v.key, target.Spec)
	if err != nil {
		return fmt.Errorf("the spec of revision %d no longer decodes: %w", target.Revision, err), nil
	}
	d := DesiredOf(&model.DesiredEntry{Key: v.key, ModRevision: target.Revision, Group: g}, c.cfg.Limits)
	if !d.Valid() {
		return fmt.Errorf("the spec of revision %d is no longer valid: %v", target.Revision, d.Errors), nil
	}
	act.Spec, act.Hash = &d.Spec, d.Hash
	act.Restore = &diff.Restore{Revision: target.Revision, Version: target.AppVersion}
	return nil, nil
}
