package reconciler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"theseus.dev/diff"
	"theseus.dev/internal/engine"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// PruneHistory is the guard's record in diff's form as of now: the
// groups deleted within window, each once (a delete tried again is
// recorded again), and the release if it has not expired.
func PruneHistory(st model.PruneState, now time.Time, window time.Duration) diff.PruneHistory {
	h := diff.PruneHistory{Window: window}
	since := now.Add(-window)
	for _, d := range st.Deletions {
		if d.At.Before(since) {
			continue
		}
		if k, err := specs.ParseGroupKey(d.Group); err == nil && !h.Has(k) {
			h.Deleted = append(h.Deleted, k)
		}
		h.ManagedAtStart = max(h.ManagedAtStart, d.ManagedBefore)
	}
	if r := st.Release; r != nil && now.Before(r.Until) {
		h.ReleasedBy = fmt.Sprintf("%s at %s until %s", r.By, r.At.UTC().Format(time.RFC3339), r.Until.UTC().Format(time.RFC3339))
	}
	return h
}

// refreshPrune reads the guard's record into the cache, once per resync:
// a release written by `theseusd prune` takes effect from the next one.
func (c *Controller) refreshPrune(ctx context.Context) {
	if !c.cfg.Prune || c.cfg.PruneLedger == nil {
		return
	}
	st, err := c.cfg.PruneLedger.Read(ctx)
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("cannot read the mass-deletion guard's record; keeping the last", "err", err)
		}
		return
	}
	c.mu.Lock()
	c.pruneState = st
	c.mu.Unlock()
}

// pruneGuard applies the prune guard to the deletes the caches call for
// now, with the record of st (the cached one when nil).
func (c *Controller) pruneGuard(st *model.PruneState) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st == nil {
		st = &c.pruneState
	}
	h := PruneHistory(*st, c.cfg.Now(), c.cfg.PruneWindow)
	managed, deletes := 0, 0
	c.apps.Range(func(k specs.GroupKey, a *model.App) bool {
		if !a.Managed {
			return true
		}
		managed++
		if _, ok := c.desired[k]; !ok && !a.Protected && !h.Has(k) {
			deletes++
		}
		return true
	})
	return diff.PruneGuard(deletes, managed, len(c.desired), diff.Options{
		AllowMassDelete: c.cfg.AllowMassDelete, MaxDeleteFraction: c.cfg.MaxDeleteFraction, History: h})
}

// guardRefusal is a delete the guard holds back.
type guardRefusal struct{ err error }

func (r *guardRefusal) Error() string { return r.err.Error() }
func (r *guardRefusal) Unwrap() error { return r.err }

// admitDelete is the guard's last word on deleting v's app, on a fresh
// read of its record: it records the deletion (fenced) if the guard lets
// it through, and returns a *guardRefusal if not.
func (c *Controller) admitDelete(ctx context.Context, v view) error {
	if c.cfg.PruneLedger == nil {
		if err := c.pruneGuard(nil); err != nil {
			return &guardRefusal{err}
		}
		return nil
	}
	c.pruneMu.Lock()
	defer c.pruneMu.Unlock()
	for {
		st, err := c.cfg.PruneLedger.Read(ctx)
		if err != nil {
			return fmt.Errorf("delete %s: read the mass-deletion guard's record: %w", v.key, err)
		}
		c.mu.Lock()
		c.pruneState = st
		c.mu.Unlock()
		managed := 0
		c.apps.Range(func(_ specs.GroupKey, a *model.App) bool {
			if a.Managed {
				managed++
			}
			return true
		})
		if err := c.pruneGuard(&st); err != nil {
			return &guardRefusal{err}
		}
		now := c.cfg.Now()
		h := PruneHistory(st, now, c.cfg.PruneWindow)
		if h.Has(v.key) {
			return nil // an earlier try of this delete is in the window already
		}
		d := model.PruneDeletion{Group: v.key.String(), At: now, ManagedBefore: managed}
		if h.ReleasedBy != "" {
			d.ReleasedBy = st.Release.By
			c.log.Warn("deleting past the mass-deletion guard, which an operator released", "group", v.key.String(),
				"released", h.ReleasedBy, "reason", st.Release.Reason)
		}
		err = c.cfg.PruneLedger.Record(ctx, c.fence, st, d, now.Add(-c.cfg.PruneWindow))
		switch {
		case err == nil:
			return nil
		case errors.Is(err, model.ErrNotLeader):
			return fmt.Errorf("delete %s: %w", v.key, errStopped)
		case !errors.Is(err, model.ErrConflict):
			return fmt.Errorf("delete %s: record it in the mass-deletion guard's window: %w", v.key, err)
		}
	}
}

// refusePrune reports a delete refused by the guard: in the log once per
// reason, in the metrics, and in the group's status, which says how to
// release it.
func (c *Controller) refusePrune(ctx context.Context, v view, guard error) (engine.Result, error) {
	reason := guard.Error()
	c.mu.Lock()
	logIt := c.pruneRefusals != reason
	c.pruneRefusals = reason
	c.mu.Unlock()
	c.metrics.PruneBlocked(pruneReason(c.desiredLen()))
	if logIt {
		c.log.Error("prune refused; nothing deleted", "reason", reason)
	}
	g := c.state(v, DeleteRefused)
	g.Err = guard
	_, err := c.record(ctx, v, g)
	return engine.Result{}, err
}

func pruneReason(desired int) string {
	if desired == 0 {
		return "empty_desired"
	}
	return "max_deletes"
}
