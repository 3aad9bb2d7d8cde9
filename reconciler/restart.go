package reconciler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"theseus.dev/drivers/marathon"
	"theseus.dev/specs"
)

// RestartStore keeps specs.RestartState per service.
type RestartStore interface {
	GetRestart(ctx context.Context, service string) (*specs.RestartState, error) // nil when none
	PutRestart(ctx context.Context, service string, st *specs.RestartState) error
	DeleteRestart(ctx context.Context, service string) error
}

// RestartMarathon is what a rolling restart needs of Marathon.
type RestartMarathon interface {
	List(ctx context.Context) ([]marathon.App, error)
	Get(ctx context.Context, key specs.GroupKey) (marathon.App, error)
	Restart(ctx context.Context, key specs.GroupKey) (marathon.Result, error)
}

// RollingRestart restarts a service's groups one after another.
type RollingRestart struct {
	Marathon RestartMarathon
	Store    RestartStore
	// Wait is the pause between two groups; HealthTimeout how long a group
	// may take to be deployed and healthy again.
	Wait, HealthTimeout time.Duration
	// Poll is how often a restarting group is looked at. Defaults to 1s.
	Poll time.Duration
	// Progress is told what happens, one line at a time: while a group
	// restarts, each time another of its tasks is replaced, and every
	// ProgressEvery (default 30s) when none is.
	Progress      func(string)
	ProgressEvery time.Duration
	// Now is the clock of the elapsed times reported; defaults to
	// time.Now.
	Now func() time.Time
}

// Run restarts the managed groups of service that sel selects, in group
// key order. A group that does not come back healthy within HealthTimeout
// stops the sequence with an error naming it. Interrupted (ctx), the state
// stays in the store and the next Run with the same selector resumes.
func (r *RollingRestart) Run(ctx context.Context, service string, sel specs.Selector) error {
	say := r.Progress
	if say == nil {
		say = func(string) {}
	}
	st, err := r.Store.GetRestart(ctx, service)
	if err != nil {
		return err
	}
	if st == nil || st.Selector != sel.String() {
		groups, err := r.groups(ctx, service, sel)
		if err != nil {
			return err
		}
		st = &specs.RestartState{Selector: sel.String(), Groups: groups, Started: time.Now().UTC()}
		if err := r.Store.PutRestart(ctx, service, st); err != nil {
			return err
		}
	} else {
		say(fmt.Sprintf("resuming the restart of %s begun %s: %d of %d groups done",
			service, st.Started.Format(time.RFC3339), len(st.Done), len(st.Groups)))
	}
	for i, g := range st.Groups {
		if slices.Contains(st.Done, g) {
			continue
		}
		if err := r.one(ctx, service, st, g); err != nil {
			return err
		}
		if i < len(st.Groups)-1 && r.Wait > 0 {
			say(fmt.Sprintf("waiting %s before the next group", r.Wait))
			t := time.NewTimer(r.Wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
	}
	say(fmt.Sprintf("restarted %d group(s) of %s", len(st.Groups), service))
	return r.Store.DeleteRestart(ctx, service)
}

// groups are the managed groups of service that sel selects, sorted.
func (r *RollingRestart) groups(ctx context.Context, service string, sel specs.Selector) ([]string, error) {
	apps, err := r.Marathon.List(ctx)
	if err != nil {
		return nil, err
	}
	var keys []specs.GroupKey
	for _, a := range apps {
		if a.Managed && a.Key.Service == service && sel.Matches(a.Key.LabelSet()) {
			keys = append(keys, a.Key)
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("no managed group of %s matches %q", service, sel.String())
	}
	slices.SortFunc(keys, specs.GroupKey.Compare)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.String()
	}
	return out, nil
}

// one restarts group g (unless a resumed state says it already did) and
// waits until it is deployed and healthy.
func (r *RollingRestart) one(ctx context.Context, service string, st *specs.RestartState, g string) error {
	say := r.Progress
	if say == nil {
		say = func(string) {}
	}
	k, err := specs.ParseGroupKey(g)
	if err != nil {
		return err
	}
	now := r.Now
	if now == nil {
		now = time.Now
	}
	every := r.ProgressEvery
	if every <= 0 {
		every = 30 * time.Second
	}
	start := now()
	deadline := time.Now().Add(r.HealthTimeout)
	poll := r.Poll
	if poll <= 0 {
		poll = time.Second
	}
	if st.Current != g {
		for {
			res, err := r.Marathon.Restart(ctx, k)
			var locked *marathon.LockedError
			if errors.As(err, &locked) && time.Now().Before(deadline) {
				say(fmt.Sprintf("%s: locked by deployment %v; waiting", g, locked.Deployments))
				if err := sleep(ctx, poll); err != nil {
					return err
				}
				continue
			}
			if err != nil {
				return fmt.Errorf("restart %s: %w", g, err)
			}
			st.Current, st.CurrentVersion = g, res.Version
			break
		}
		if err := r.Store.PutRestart(ctx, service, st); err != nil {
			return err
		}
		say(fmt.Sprintf("%s: restarting", g))
	} else {
		say(fmt.Sprintf("%s: restart already under way; waiting for it", g))
	}
	last, lastAt := "", start
	for {
		a, err := r.Marathon.Get(ctx, k)
		if err == nil {
			// Said when a task is replaced, and now and then when none is,
			// so that a slow restart is not minutes of silence.
			line := fmt.Sprintf("%s: %d of %d tasks replaced", g, replaced(&a, st.CurrentVersion), a.Counts.Wanted)
			if t := now(); line != last || t.Sub(lastAt) >= every {
				say(fmt.Sprintf("%s, %s", line, elapsed(t.Sub(start))))
				last, lastAt = line, t
			}
			if restarted(&a, st.CurrentVersion) {
				break
			}
		}
		if time.Now().After(deadline) {
			reason := "not deployed and healthy"
			if err != nil {
				reason = err.Error()
			} else if f := a.LastTaskFailure; f != nil {
				reason += fmt.Sprintf("; last task failure: %s %s on %s: %s", f.TaskID, f.State, f.Host, f.Message)
			}
			return fmt.Errorf("%s did not come back within %s (%s); the restart of %s stops here", g, r.HealthTimeout, reason, service)
		}
		if err := sleep(ctx, poll); err != nil {
			return err
		}
	}
	st.Done = append(st.Done, g)
	st.Current, st.CurrentVersion = "", ""
	if err := r.Store.PutRestart(ctx, service, st); err != nil {
		return err
	}
	say(fmt.Sprintf("%s: restarted and healthy in %s (%d/%d)", g, elapsed(now().Sub(start)), len(st.Done), len(st.Groups)))
	return nil
}

// replaced counts the tasks of a that run the restart's version, ready:
// running, and healthy when the app has health checks.
func replaced(a *marathon.App, version string) int {
	checked := len(a.Spec.HealthChecks) > 0
	n := 0
	for _, t := range a.Tasks {
		if t.Version >= version && t.State == "TASK_RUNNING" && (!checked || t.Health == "healthy") {
			n++
		}
	}
	return n
}

// elapsed is a duration for a progress line: to the second, or to the
// millisecond below one.
func elapsed(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// restarted reports whether the app runs the version of its restart on
// all its tasks, healthy when it has health checks, with no deployment.
func restarted(a *marathon.App, version string) bool {
	if len(a.Deployments) > 0 || a.Version < version {
		return false
	}
	want := a.Counts.Wanted
	if a.Counts.Running < want || len(a.Spec.HealthChecks) > 0 && a.Counts.Healthy < want {
		return false
	}
	for _, t := range a.Tasks {
		if t.Version < version {
			return false
		}
	}
	return true
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
