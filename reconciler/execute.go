package reconciler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"theseus.dev/diff"
	"theseus.dev/internal/backoff"
	"theseus.dev/internal/engine"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// execute carries out one action that changes Marathon and records it.
func (c *Controller) execute(ctx context.Context, v view, act diff.Action) (engine.Result, error) {
	// The leadership may have ended since the reconcile began: check
	// before every write, as Marathon has no conditional write to fence it.
	if ctx.Err() != nil {
		return engine.Result{}, fmt.Errorf("%s %s: %w", act.Kind, v.key, errStopped)
	}
	if err := c.waitWrite(ctx); err != nil {
		return engine.Result{}, fmt.Errorf("%s %s: waiting for the write rate limit: %w", act.Kind, v.key, err)
	}
	if ctx.Err() != nil {
		return engine.Result{}, fmt.Errorf("%s %s: %w", act.Kind, v.key, errStopped)
	}
	if act.Kind == diff.Delete {
		// The write guard reads /desired again just before every write,
		// but a delete is first noted in the prune guard's record, which
		// must not count a delete that its confirmation would stop.
		if res, err := c.confirm(ctx, v, act, c.confirmNow(ctx, v.key)); err != nil || res.RequeueAfter > 0 {
			return res, err
		}
		// The guard counts from the caches, so it runs on the final
		// view (a delete is only ever planned on an app just read), and
		// on a fresh read of its record, in which the delete is noted
		// before it is made.
		var refused *guardRefusal
		if err := c.admitDelete(ctx, v); errors.As(err, &refused) {
			return c.refusePrune(ctx, v, refused.err)
		} else if err != nil {
			return engine.Result{}, err
		}
	}
	res, err := Apply(model.WithWriteGuard(ctx, c.writeGuard(v)), c.cfg.Marathon, act)
	c.apps.Invalidate(v.key) // whatever happened, read the app before acting again
	g := c.state(v, Acted)
	g.Action, g.Result, g.Err = act, res, err
	var locked *model.LockedError
	var paused *pausedError
	switch {
	case errors.Is(err, model.ErrNotLeader):
		return engine.Result{}, fmt.Errorf("%s %s: %w", act.Kind, v.key, errStopped)
	case errors.Is(err, errDesiredMoved):
		c.log.Debug("desired changed since it was read; waiting for the watch", "group", v.key.String(), "err", err)
		return engine.Result{RequeueAfter: confirmRetry}, nil
	case errors.As(err, new(*confirmError)):
		// Nothing was sent, and nothing is known of the group that
		// its status should record: try again.
		return engine.Result{}, fmt.Errorf("%s %s: %w", act.Kind, v.key, err)
	case errors.As(err, &paused):
		return c.pausedWrite(ctx, v, act, paused.pause)
	case act.Kind == diff.Create && !v.fresh && errors.Is(err, model.ErrAppExists):
		// Planned on the cache, and the app appeared since Marathon was
		// last listed. Not an error of the group's: it is read, and
		// planned, again at once. (A 409 after a read that found no app
		// is an error, retried with backoff.)
		return engine.Result{RequeueAfter: time.Millisecond}, nil
	case errors.As(err, &locked):
		g.Outcome, g.Deployments = Locked, locked.Deployments
		_, err := c.record(ctx, v, g)
		return engine.Result{RequeueAfter: c.cfg.PollInterval}, err
	case model.IsPermanent(err):
		// Marathon refuses the definition: retrying the same spec cannot
		// help. Recorded once per revision; a new revision tries again.
		g.Outcome = Refused
		d, perr := c.record(ctx, v, g)
		if perr != nil {
			return engine.Result{}, perr
		}
		if v.hasStatus && v.status.LastError == d.Status.LastError && v.status.ObservedRevision == d.Status.ObservedRevision {
			return engine.Result{}, nil
		}
		return engine.Result{}, engine.TerminalError(err)
	case err != nil:
		g.Outcome = WriteFailed
		if _, perr := c.record(ctx, v, g); perr != nil {
			c.log.Warn("cannot record status", "group", v.key.String(), "err", perr)
		}
		return engine.Result{}, err
	}
	if act.Kind == diff.Create {
		c.noteCreated(v.key, act, res)
	}
	c.metrics.Action(string(act.Kind))
	if act.Drift {
		c.metrics.Drift()
	}
	c.log.Info(string(act.Kind), "group", v.key.String(), "app", act.AppID,
		"revision", act.Revision, "deployment", res.DeploymentID, "changes", len(act.Changes), "drift", act.Drift, "force", act.Force)
	_, err = c.record(ctx, v, g)
	return engine.Result{RequeueAfter: c.cfg.PollInterval}, err
}

// refusedAlready reports whether Marathon refused act, as v's status
// records, at the desired revision: sending the same definition again
// cannot help. A restart asked for since (act.Restart) is another
// request.
func refusedAlready(v view, act diff.Action) bool {
	st, d := &v.status, v.desired
	return v.hasStatus && d != nil && st.Phase == specs.PhaseStalled && st.LastError != "" &&
		st.ObservedRevision == d.Revision && st.SpecHash == d.Hash && st.Message == refusedMessage(act.Kind) &&
		act.Restart == ""
}

// refusedAgain records the status of a group whose action Marathon
// refused at this revision without sending it again: at every resync
// that would spend the write rate limit, which every group shares, on a
// write Marathon refuses. A new revision is tried.
func (c *Controller) refusedAgain(ctx context.Context, v view, act diff.Action) (engine.Result, error) {
	g := c.state(v, Refused)
	g.Action, g.Err = act, errors.New(v.status.LastError)
	_, err := c.record(ctx, v, g)
	return engine.Result{}, err
}

// noteCreated puts an app just created into the cache as it was written,
// until the next read replaces it: the prune guard counts managed apps
// from the cache, and must not miss one for want of a read. The group is
// marked dirty, so nothing is planned on this record.
func (c *Controller) noteCreated(k specs.GroupKey, act diff.Action, res model.Result) {
	a := &model.App{Key: k, Managed: true, SpecHash: act.Hash, Revision: act.Revision,
		Version: res.Version, Spec: *act.Spec}
	if res.DeploymentID != "" {
		a.Deployments = []string{res.DeploymentID}
	}
	c.apps.Assume(a)
}

// waitWrite waits for the write rate limit.
func (c *Controller) waitWrite(ctx context.Context) error {
	r := c.writes.Reserve()
	if !r.OK() {
		return fmt.Errorf("a burst of %d cannot take one write", c.writes.Burst())
	}
	d := r.Delay()
	if d == 0 {
		return nil
	}
	if err := backoff.Sleep(ctx, d); err != nil {
		r.Cancel()
		return err
	}
	return nil
}

// confirmation is the outcome of one Confirm read.
type confirmation struct {
	rev   int64
	pause *specs.Pause
	err   error
}

// confirmNow makes the Confirm read of group k.
func (c *Controller) confirmNow(ctx context.Context, k specs.GroupKey) *confirmation {
	rev, pause, err := c.cfg.Desired.ConfirmUnpaused(ctx, c.fence, k)
	return &confirmation{rev: rev, pause: pause, err: err}
}

// confirm checks the Confirm read of v's group made before a delete is
// admitted: that this daemon still leads and that the group's spec is
// still the one planned on (the cache of /desired follows a watch). A
// newer revision requeues the group: the watch is about to deliver it.
func (c *Controller) confirm(ctx context.Context, v view, act diff.Action, cf *confirmation) (engine.Result, error) {
	want := int64(0)
	if v.desired != nil {
		want = v.desired.Revision
	}
	switch {
	case errors.Is(cf.err, model.ErrNotLeader):
		return engine.Result{}, fmt.Errorf("%s %s: %w", act.Kind, v.key, errStopped)
	case cf.err != nil:
		return engine.Result{}, fmt.Errorf("%s %s: confirming /desired before writing: %w", act.Kind, v.key, cf.err)
	case cf.rev != want:
		c.log.Debug("desired changed since it was read; waiting for the watch", "group", v.key.String(),
			"read", want, "current", cf.rev)
		return engine.Result{RequeueAfter: confirmRetry}, nil
	case cf.pause != nil:
		return c.pausedWrite(ctx, v, act, cf.pause)
	}
	return engine.Result{}, nil
}

// errDesiredMoved is a write stopped by its guard because the group's
// /desired revision moved on since the write was planned.
var errDesiredMoved = errors.New("/desired changed since the write was planned")

// writeGuard is the check made just before the driver sends a write of
// v's group, again for each attempt: a fenced, linearizable read of the
// group's /desired revision and pause record. Marathon has no
// conditional write, so this read is the fence: however long the
// reconcile was held up since it decided (a pause, a slow call, the
// write rate limit), a daemon whose leadership ended meanwhile, even one
// that has not noticed, writes nothing, as etcd refuses its fence; nor
// does a write of a spec that has moved on go out, nor one of a group
// paused a moment before.
func (c *Controller) writeGuard(v view) func(context.Context) error {
	want := int64(0)
	if v.desired != nil {
		want = v.desired.Revision
	}
	return guard(c.cfg.Desired, c.fence, v.key, want)
}

// guard reads, fenced by fence when it is set, group k's /desired
// revision and pause record, and refuses the write unless the group is
// at revision want and not paused.
func guard(confirm Confirmer, fence model.Fence, k specs.GroupKey, want int64) func(context.Context) error {
	return func(ctx context.Context) error {
		got, pause, err := confirm.ConfirmUnpaused(ctx, fence, k)
		switch {
		case errors.Is(err, model.ErrNotLeader):
			return fmt.Errorf("confirming /desired before writing: %w", err)
		case err != nil:
			return &confirmError{err: err}
		case got != want:
			return fmt.Errorf("%w: planned from revision %d, now %d; not written", errDesiredMoved, want, got)
		case pause != nil:
			return &pausedError{pause: pause}
		}
		return nil
	}
}

// confirmError is a write guard's read that failed: the write was not
// sent.
type confirmError struct{ err error }

func (e *confirmError) Error() string { return "confirming /desired before writing: " + e.err.Error() }
func (e *confirmError) Unwrap() error { return e.err }

// confirmRetry is how soon a group whose /desired moved on under a
// reconcile is looked at again, if the watch has not queued it already.
const confirmRetry = 100 * time.Millisecond

// Apply makes the Marathon call of act through m: the one place where
// an action becomes a Marathon write, for the controller and for
// `theseusd apply --plan` alike. A guard in ctx (model.WithWriteGuard)
// is checked by m just before the write is sent.
func Apply(ctx context.Context, m Writer, act diff.Action) (model.Result, error) {
	switch act.Kind {
	case diff.Create, diff.Update:
		w := model.Write{Key: act.Key, Spec: *act.Spec, Hash: act.Hash, Revision: act.Revision, Force: act.Force}
		if act.Kind == diff.Create {
			return m.Create(ctx, w)
		}
		return m.Update(ctx, w)
	case diff.Rollback:
		// The full definition of the restored spec, as it was written
		// then (its revision in the labels), over the failed deployment.
		return m.Update(ctx, model.Write{Key: act.Key, Spec: *act.Spec, Hash: act.Hash, Revision: act.Restore.Revision, Force: true})
	case diff.Scale:
		return m.Scale(ctx, act.Key, *act.Spec.Instances)
	case diff.Restart:
		return m.Restart(ctx, act.Key)
	case diff.Delete:
		return m.Delete(ctx, act.Key)
	}
	return model.Result{}, fmt.Errorf("action %s does not change Marathon", act.Kind)
}

// invalid records an invalid spec. It is logged once per revision: the
// reconcile ends in a terminal error only when the status changes, so
// the periodic resync does not repeat it.
func (c *Controller) invalid(ctx context.Context, v view, act diff.Action) (engine.Result, error) {
	g := c.state(v, InvalidSpec)
	g.Action = act
	d, err := c.record(ctx, v, g)
	if v.hasStatus && v.status.Phase == specs.PhaseInvalid && v.status.ObservedRevision == d.Status.ObservedRevision {
		return engine.Result{}, err
	}
	if err != nil {
		return engine.Result{}, err
	}
	return engine.Result{}, engine.TerminalError(fmt.Errorf("invalid spec at revision %d: %s", d.Status.ObservedRevision, strings.Join(statusErrors(act.Errors), "; ")))
}
