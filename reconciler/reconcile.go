package reconciler

import (
	"context"
	"time"

	"theseus.dev/diff"
	"theseus.dev/internal/engine"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// view is one group as the controller sees it at the start of a reconcile.
type view struct {
	key     specs.GroupKey
	desired *diff.Desired
	// app is the observer's copy, shared: never changed.
	app       *model.App
	status    specs.Status
	hasStatus bool
	fresh     bool      // app was read from Marathon during this reconcile
	appAt     time.Time // when the read of app began (zero: not read yet)
	// pause is the group's pause record as last known, nil when none.
	pause *specs.Pause
}

// Reconcile brings one group to its desired spec: it plans with
// diff.Group from the caches and, when the plan changes Marathon, reads
// the app again and plans again before it carries out the one action. It
// then records the outcome under /status.
func (c *Controller) Reconcile(ctx context.Context, key specs.GroupKey) (engine.Result, error) {
	v, err := c.view(ctx, key)
	if err != nil {
		return engine.Result{}, err
	}
	act, ok := c.plan(v)
	if ok {
		c.overFailed(ctx, &act, v)
	}
	if ok && act.Kind == diff.Delete {
		// Checked on the cached view first too: while the guard refuses,
		// as when /desired was wiped, every resync queues every orphan,
		// and none of them should cost a read of Marathon or etcd.
		if err := c.pruneGuard(nil); err != nil {
			return c.refusePrune(ctx, v, err)
		}
	}
	if ok && act.Acts() && refusedAlready(v, act) {
		return c.refusedAgain(ctx, v, act)
	}
	if ok && act.Acts() && !v.fresh && !(act.Kind == diff.Create && v.app == nil) {
		// Never write on a cached view: the app may have changed since
		// the last list. (/desired is confirmed by the write's guard.) A
		// create needs no read: Marathon refuses to create an app that
		// exists (409), and the app is then read before anything else.
		if err := c.refresh(ctx, &v); err != nil {
			return engine.Result{}, err
		}
		act, ok = c.plan(v)
		if ok {
			c.overFailed(ctx, &act, v)
		}
	}
	if !ok {
		return c.observe(ctx, v)
	}
	if safetyHold(act.HeldBack) {
		return c.held(ctx, v, act)
	}
	switch act.Kind {
	case diff.Invalid:
		return c.invalid(ctx, v, act)
	case diff.Unmanaged:
		g := c.state(v, NotOwned)
		g.Action = act
		_, err := c.record(ctx, v, g)
		return engine.Result{}, err
	case diff.Orphan:
		return engine.Result{}, c.dropStatus(ctx, v)
	case diff.Config:
		// Only planned with the config of /services, which the discovery
		// syncer mirrors by itself; nothing for Marathon.
		return c.observe(ctx, v)
	case diff.Wait:
		g := c.state(v, HeldBack)
		g.Action = act
		_, err := c.record(ctx, v, g)
		return engine.Result{RequeueAfter: c.cfg.PollInterval}, err
	}
	return c.execute(ctx, v, act)
}

// view gathers the group's desired spec, app and status. An app marked by
// an event is read from Marathon; otherwise the last list is used.
func (c *Controller) view(ctx context.Context, key specs.GroupKey) (view, error) {
	c.mu.Lock()
	v := view{key: key}
	// The cache's own entry, which nobody changes in place: a view that
	// changes its Restart below takes a copy of its own.
	v.desired = c.desired[key]
	v.status, v.hasStatus = c.status[key]
	c.mu.Unlock()
	v.pause = c.pauses.get(key)
	dirty := c.apps.Dirty(key)
	if !dirty {
		v.app, v.appAt, _ = c.apps.GetAt(key)
	}
	if v.desired != nil {
		if tok := c.restarts.Pending(key); tok != "" && tok != v.status.Restarted {
			d := *v.desired
			d.Restart = tok
			v.desired = &d
		}
	}
	if dirty {
		if err := c.refresh(ctx, &v); err != nil {
			return v, err
		}
	}
	return v, nil
}

// refresh reads the group's app from Marathon into v and the
// observer's cache.
func (c *Controller) refresh(ctx context.Context, v *view) error {
	at := c.cfg.Now() // the clock the rollout's healthy time is on
	a, err := c.apps.Read(ctx, v.key)
	if err != nil {
		return err
	}
	v.app, v.fresh, v.appAt = a, true, at
	return nil
}

func (c *Controller) plan(v view) (diff.Action, bool) {
	act, ok := diff.Group(v.desired, ownLabels(v), diff.Options{Prune: c.cfg.Prune})
	if ok {
		var failed specs.Outcome
		var reason string
		switch f := v.status.Failure; {
		case v.hasStatus && f != nil && v.desired != nil && f.Revision == v.desired.Revision:
			failed, reason = f.Outcome, f.Reason
		case act.Kind == diff.Update && v.hasStatus && writtenBack(&v.status, v.desired, v.app):
			failed, reason = specs.OutcomeRolledBack, writtenBackReason(v.app)
		}
		holds(&act, v.pause, failed, reason)
	}
	return act, ok
}

// ownLabels is v's app as a plan compares it: when its labels are those
// a scale by theseus left (status.Scaled), with the desired spec's hash,
// so that a change made to it outside theseus is seen as drift, as on an
// app whose labels name the spec. A copy: v.app is shared.
func ownLabels(v view) *model.App {
	a, d := v.app, v.desired
	if !v.hasStatus || a == nil || d == nil || !d.Valid() || !v.status.Scaled.Names(a.SpecHash, a.Revision, d.Hash) {
		return a
	}
	own := *a
	own.SpecHash = d.Hash
	return &own
}
