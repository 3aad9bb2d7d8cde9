package reconciler

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"time"

	"theseus.dev/internal/engine"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// observe records the status of a group that needs no action: synced, or
// on its way there while a deployment runs or tasks start.
func (c *Controller) observe(ctx context.Context, v view) (engine.Result, error) {
	switch {
	case v.desired == nil:
		return engine.Result{}, c.dropStatus(ctx, v)
	case v.app == nil:
		return engine.Result{}, nil
	}
	st := c.baseStatus(v)
	if len(v.app.Deployments) > 0 {
		st.Phase, st.DeploymentID = specs.PhaseProgressing, v.app.Deployments[0]
		st.Message = "Marathon is deploying the change"
		return c.progress(ctx, v, st)
	}
	st.DeploymentID = ""
	if ready(v) {
		st.Phase, st.LastError = specs.PhaseSynced, ""
		c.metrics.Stalled(v.key.String(), false)
		return engine.Result{}, c.putStatus(ctx, v, st)
	}
	st.Phase = specs.PhaseProgressing
	st.Message = waitingFor(v, st.Tasks)
	return c.progress(ctx, v, st)
}

// dropStatus removes the status of a group that has no desired spec: what
// it said of the spec's progress no longer holds, whether the app is gone
// or stays (pruning off, or the app protected).
func (c *Controller) dropStatus(ctx context.Context, v view) error {
	if !v.hasStatus {
		return nil
	}
	if err := c.cfg.Status.Delete(ctx, c.fence, v.key); err != nil {
		return fmt.Errorf("remove status of %s: %w", v.key, err)
	}
	c.mu.Lock()
	c.setStatusLocked(v.key, nil)
	c.mu.Unlock()
	c.reportPhases()
	c.metrics.Stalled(v.key.String(), false)
	return nil
}

// pruneRefused records, as the group's status, that the delete of its
// app was refused by the prune guard.
func (c *Controller) pruneRefused(ctx context.Context, v view, guard error) error {
	st := c.baseStatus(v)
	st.Phase, st.DeploymentID, st.LastError = specs.PhaseStalled, "", ""
	st.Message = "the desired spec is gone, but the delete of the app was refused: " + guard.Error()
	return c.putStatus(ctx, v, st)
}

// ready reports whether the app runs the wanted number of tasks, all of
// its current definition, healthy when it has health checks. Without a
// deployment in flight, extra tasks or tasks of an older definition are
// what a deployment cancelled by hand leaves behind: the app definition
// matches the spec but what runs does not.
func ready(v view) bool {
	want := 0
	if v.desired.Spec.Instances != nil {
		want = *v.desired.Spec.Instances
	}
	n := v.app.Counts
	if n.Running != want || v.app.Outdated > 0 {
		return false
	}
	return len(v.desired.Spec.HealthChecks) == 0 || n.Healthy >= want
}

// waitingFor says what a group that is not ready waits for.
func waitingFor(v view, n specs.TaskCounts) string {
	switch {
	case v.app.Outdated > 0:
		return fmt.Sprintf("%d of %d running tasks run an older definition of the app, as a cancelled deployment leaves them; "+
			"a new revision or a restart replaces them", v.app.Outdated, n.Running)
	case n.Running > n.Wanted:
		return fmt.Sprintf("%d tasks running, %d wanted: waiting for Marathon to stop the extra ones", n.Running, n.Wanted)
	}
	return fmt.Sprintf("waiting for tasks: %d of %d running, %d healthy", n.Running, n.Wanted, n.Healthy)
}

// progress records a group that is moving (Progressing) or held back
// (Waiting), and turns it Stalled when it has not arrived within the
// progress deadline, with the deployment's step and Marathon's last task
// failure as the reason.
func (c *Controller) progress(ctx context.Context, v view, st specs.Status) (engine.Result, error) {
	reason := st.Message
	now := c.cfg.Now()
	start := now
	if v.hasStatus && v.status.Phase != specs.PhaseSynced && !v.status.Since.IsZero() {
		start = v.status.Since
	}
	if !st.LastActionAt.IsZero() && st.LastActionAt.After(start) {
		start = st.LastActionAt
	}
	// A stalled group stays stalled until it arrives, is acted on again
	// or another deployment takes over; its Since is when it stalled.
	stalled := v.hasStatus && v.status.Phase == specs.PhaseStalled && v.status.DeploymentID == st.DeploymentID &&
		!st.LastActionAt.After(v.status.Since)
	if !stalled && now.Sub(start) < c.cfg.ProgressDeadline {
		return engine.Result{RequeueAfter: c.cfg.PollInterval}, c.putStatus(ctx, v, st)
	}
	st.Phase = specs.PhaseStalled
	// The message changes only with what it waits for, so the status is
	// not rewritten on every look.
	st.Message = fmt.Sprintf("not done within the progress deadline of %s", c.cfg.ProgressDeadline)
	if reason != "" {
		st.Message += ": " + reason
	}
	if v.status.Phase == specs.PhaseStalled && v.status.DeploymentID == st.DeploymentID {
		st.DeploymentStep = v.status.DeploymentStep
	} else if st.DeploymentID != "" {
		st.DeploymentStep = c.deploymentStep(ctx, st.DeploymentID)
	}
	if f := v.app.LastTaskFailure; f != nil {
		st.LastError = fmt.Sprintf("last task failure: %s %s on %s: %s", f.TaskID, f.State, f.Host, f.Message)
	}
	if v.status.Phase != specs.PhaseStalled {
		c.log.Warn("deployment stalled", "group", v.key.String(), "deployment", st.DeploymentID,
			"step", st.DeploymentStep, "reason", st.LastError)
	}
	c.metrics.Stalled(v.key.String(), true)
	return engine.Result{RequeueAfter: c.cfg.PollInterval}, c.putStatus(ctx, v, st)
}

// deploymentStep describes where deployment id stands, e.g.
// "2/2 RestartApplication", or "" when Marathon does not say.
func (c *Controller) deploymentStep(ctx context.Context, id string) string {
	deps, err := c.cfg.Marathon.Deployments(ctx)
	if err != nil {
		c.log.Debug("cannot read deployments", "err", err)
		return ""
	}
	for _, d := range deps {
		if d.ID == id {
			return stepText(d)
		}
	}
	return ""
}

func stepText(d model.Deployment) string {
	acts := make([]string, 0, len(d.CurrentActions))
	for _, a := range d.CurrentActions {
		acts = append(acts, a.Action)
	}
	return strings.TrimSpace(fmt.Sprintf("%d/%d %s", d.CurrentStep, d.TotalSteps, strings.Join(acts, ",")))
}

// putStatus writes st as the group's status if it differs from what is
// stored (timestamps aside), fenced by the leadership.
func (c *Controller) putStatus(ctx context.Context, v view, st specs.Status) error {
	if v.hasStatus && sameStatus(v.status, st) {
		return nil
	}
	now := c.cfg.Now()
	st.Since = v.status.Since
	if !v.hasStatus || v.status.Phase != st.Phase || st.Since.IsZero() {
		st.Since = now
	}
	st.UpdatedAt = now
	if _, err := c.cfg.Status.Put(ctx, c.fence, v.key, &st); err != nil {
		return fmt.Errorf("record status of %s: %w", v.key, err)
	}
	c.mu.Lock()
	c.setStatusLocked(v.key, &st)
	c.mu.Unlock()
	c.reportPhases()
	return nil
}

func sameStatus(a, b specs.Status) bool {
	a.Since, a.UpdatedAt = time.Time{}, time.Time{}
	b.Since, b.UpdatedAt = time.Time{}, time.Time{}
	if len(a.Errors) == 0 && len(b.Errors) == 0 {
		a.Errors, b.Errors = nil, nil
	}
	return reflect.DeepEqual(a, b)
}

// settledLocked reports, from the caches alone, that a reconcile of k
// would do nothing: no action planned, no deployment, the tasks ready, no
// restart pending, and the status as stored. A resync leaves such groups
// out of the queue, so that a change arriving meanwhile does not wait
// behind thousands of groups with nothing to do; events and the /desired
// watch still queue them. Called with c.mu held.
func (c *Controller) settledLocked(k specs.GroupKey) bool {
	if c.apps.Dirty(k) {
		return false
	}
	d, okd := c.desired[k]
	a, oka := c.apps.Get(k)
	st, oks := c.status[k]
	if !okd || !oka || !oks || st.Phase != specs.PhaseSynced || len(a.Deployments) > 0 {
		return false
	}
	if tok := c.restarts.Pending(k); tok != "" && tok != st.Restarted {
		return false
	}
	v := view{key: k, desired: &d, app: a, status: st, hasStatus: true}
	if _, act := c.plan(v); act || !ready(v) {
		return false
	}
	want := c.baseStatus(v)
	want.Phase, want.LastError, want.DeploymentID = specs.PhaseSynced, "", ""
	return sameStatus(st, want)
}
