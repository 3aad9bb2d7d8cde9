package reconciler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"theseus.dev/model"
	"theseus.dev/specs"
)

// RestartStore keeps the rolling restarts, /theseus/restart/{service}:
// requested by `theseusd restart`, carried out by the leader.
// *etcd.RestartStore implements it. Put writes only if the key is still
// at mod revision prev (0: absent), fenced unless fence is zero; it fails
// with model.ErrConflict or model.ErrNotLeader. Watch calls changed after
// each change, and Follow fn with each state of one service's restart
// from a mod revision on (0: as it is now), until ctx ends.
type RestartStore interface {
	Get(ctx context.Context, service string) (model.RestartEntry, error)
	List(ctx context.Context) ([]model.RestartEntry, error)
	Put(ctx context.Context, fence model.Fence, service string, st *specs.RestartState, prev int64) (int64, error)
	Delete(ctx context.Context, service string, prev int64) error
	Watch(ctx context.Context, changed func()) error
	Follow(ctx context.Context, service string, from int64, fn func(model.RestartEntry) error) error
}

// restarter carries out the rolling restarts for the controller of one
// term: one group of a service after another, each through the
// controller's own path (a restart action planned by diff, under the
// write limit, the fence and the confirmation of /desired), with the
// wait between them; it records the progress in the restart's key,
// fenced, so that a new leader goes on where this one stopped.
type restarter struct {
	c     *Controller
	store RestartStore
	wake  chan struct{}

	mu      sync.Mutex
	pending map[specs.GroupKey]string // token of the restart of each group in flight

	// warned holds the mod revision of each restart record that does
	// not decode and was logged, so that it is logged once, not at
	// every round. Only round touches it.
	warned map[string]int64
	// back holds, by service, since when the group in flight has looked
	// restarted. Only round touches it; a new leader starts the spell
	// again.
	back map[string]backSpell
}

// backSpell is a spell of a restart's group in flight looking restarted:
// since when, and the last task failure then.
type backSpell struct {
	token, group string
	since        time.Time
	failedTask   string
}

func newRestarter(c *Controller, store RestartStore) *restarter {
	return &restarter{c: c, store: store, wake: make(chan struct{}, 1), pending: map[specs.GroupKey]string{},
		warned: map[string]int64{}, back: map[string]backSpell{}}
}

// warnCorrupt logs, once per version of the record, a restart record
// that does not decode: the restart of its service waits until it is
// mended or removed.
func (r *restarter) warnCorrupt(e model.RestartEntry) {
	if r.warned[e.Service] == e.ModRevision {
		return
	}
	r.warned[e.Service] = e.ModRevision
	r.c.log.Warn("a restart record does not decode; the restart of its service waits until it is mended or removed (theseusd restart says how)",
		"service", e.Service, "err", e.Err)
}

// Pending returns the token of the restart the group is in, or "".
func (r *restarter) Pending(k specs.GroupKey) string {
	if r == nil {
		return ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pending[k]
}

func (r *restarter) poke() {
	wakeUp(r.wake)
}

// run follows the restarts until ctx ends: at each change of them, and
// every poll interval (at most a second) while one is under way.
func (r *restarter) run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		if err := r.store.Watch(ctx, r.poke); err != nil && ctx.Err() == nil {
			r.c.log.Error("watch of the restarts ended", "err", err)
		}
	})
	every := min(r.c.cfg.PollInterval, time.Second)
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		active := r.round(ctx)
		if active {
			t.Reset(every)
		}
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-t.C:
		}
	}
}

// round takes each restart one step further; it reports whether any is
// under way.
func (r *restarter) round(ctx context.Context) bool {
	entries, err := r.store.List(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.c.log.Warn("cannot read the restarts", "err", err)
		}
		return true
	}
	pending := map[specs.GroupKey]string{}
	active := false
	under := map[string]bool{}
	for _, e := range entries {
		if e.Err != nil {
			r.warnCorrupt(e)
			continue
		}
		if e.State == nil || !e.State.Active() {
			continue
		}
		active = true
		under[e.Service] = true
		if k, ok := r.step(ctx, e); ok {
			pending[k] = e.State.Token
		}
	}
	for svc := range r.back {
		if !under[svc] {
			delete(r.back, svc)
		}
	}
	r.mu.Lock()
	r.pending = pending
	r.mu.Unlock()
	return active
}

// step takes the restart of one service one step further and returns the
// group in flight, if any.
func (r *restarter) step(ctx context.Context, e model.RestartEntry) (specs.GroupKey, bool) {
	st := *e.State
	st.Done = slices.Clone(st.Done)
	now := r.c.cfg.Now()
	write := func() {
		if _, err := r.store.Put(ctx, r.c.fence, e.Service, &st, e.ModRevision); err != nil && ctx.Err() == nil &&
			!errors.Is(err, model.ErrConflict) && !errors.Is(err, model.ErrNotLeader) {
			r.c.log.Warn("cannot record the progress of a restart", "service", e.Service, "err", err)
		}
	}
	if st.Current == "" {
		next := ""
		for _, g := range st.Groups {
			if !slices.Contains(st.Done, g) {
				next = g
				break
			}
		}
		switch {
		case next == "":
			st.Finished = now
			write()
			return specs.GroupKey{}, false
		case !st.LastDone.IsZero() && now.Before(st.LastDone.Add(st.Wait())):
			return specs.GroupKey{}, false
		}
		st.Current, st.CurrentSince, st.CurrentVersion, st.Replaced, st.Wanted = next, now, "", 0, 0
		st.StartVersion = ""
		// Read from Marathon, not the cache, which may lag a deployment
		// that would then pass for the restart.
		if k, err := specs.ParseGroupKey(next); err == nil {
			if app, err := r.c.apps.Read(ctx, k); err == nil && app != nil {
				st.StartVersion = app.Version // written below, before the restart is asked for
			}
		}
	}
	k, err := specs.ParseGroupKey(st.Current)
	if err != nil {
		st.Failed = fmt.Sprintf("group %q: %v; the restart of %s stops here", st.Current, err, e.Service)
		write()
		return specs.GroupKey{}, false
	}
	r.c.mu.Lock()
	d, desired := r.c.desired[k]
	status := r.c.status[k]
	r.c.mu.Unlock()
	if !desired || !d.Valid() {
		st.Failed = fmt.Sprintf("%s has no valid spec in /desired; the restart of %s stops here", k, e.Service)
		write()
		return specs.GroupKey{}, false
	}
	before := st
	sent := status.Restarted == st.Token
	inferred := false // sent by the last leader, as the app's version says
	if !sent && st.StartVersion != "" {
		// The last leader may have sent the restart and ended before
		// its status recorded it: an app whose definition changed since
		// the version it started from has new tasks coming, which are
		// waited for as the restart's. A scale changes the version
		// alone, and starts no task of a new definition.
		// (An app without versionInfo is judged by its version.)
		if app, err := r.c.apps.Read(ctx, k); err == nil && app != nil {
			if cv := cmp.Or(app.ConfigVersion, app.Version); cv > st.StartVersion {
				sent, inferred = true, true
				if st.CurrentVersion == "" {
					st.CurrentVersion = cv
				}
			}
		}
	}
	if f := status.Failure; !sent && f != nil && f.Revision == d.Revision {
		// Quarantined: the controller holds back every write of the
		// group, its restart too, until /desired changes; waiting the
		// health timeout out would change nothing.
		st.Failed = fmt.Sprintf("%s cannot be restarted until /desired changes (%s); the restart of %s stops here",
			k, statusText(status), e.Service)
		write()
		return specs.GroupKey{}, false
	}
	if sent {
		if st.CurrentVersion == "" {
			st.CurrentVersion = status.MarathonVersion
		}
		app, err := r.c.apps.Fresh(ctx, k)
		if err == nil && app != nil {
			st.Replaced, st.Wanted = replaced(app, st.CurrentVersion), app.Counts.Wanted
			var back bool
			if app, back = r.stayedBack(ctx, e.Service, st, k, app, now); back {
				delete(r.back, e.Service)
				st.Done = append(st.Done, st.Current)
				st.Current, st.LastDone = "", now
				if len(st.Done) == len(st.Groups) {
					st.Finished = now
				}
				write()
				r.poke() // the next group, or the wait for it
				return specs.GroupKey{}, false
			}
		}
		if now.Sub(st.CurrentSince) > st.HealthTimeout() && !r.backInTime(e.Service, st) {
			reason := "not deployed and healthy"
			if err != nil {
				reason = err.Error()
			} else if app != nil && app.LastTaskFailure != nil {
				f := app.LastTaskFailure
				reason += fmt.Sprintf("; last task failure: %s %s on %s: %s", f.TaskID, f.State, f.Host, f.Message)
			}
			st.Failed = fmt.Sprintf("%s did not come back within %s (%s); the restart of %s stops here",
				k, st.HealthTimeout(), reason, e.Service)
		}
	} else if now.Sub(st.CurrentSince) > st.HealthTimeout() {
		st.Failed = fmt.Sprintf("%s was not restarted within %s (%s); the restart of %s stops here",
			k, st.HealthTimeout(), statusText(status), e.Service)
	}
	if !sameRestart(&before, &st) || before.Current != e.State.Current {
		write()
	}
	if st.Failed != "" {
		return specs.GroupKey{}, false
	}
	if inferred {
		// Handed to the reconcile, the token would be sent again once
		// the restart's deployment ends: its status never recorded it.
		return specs.GroupKey{}, false
	}
	r.mu.Lock()
	r.pending[k] = st.Token
	r.mu.Unlock()
	r.c.engine.Add(k)
	return k, true
}

// stayedBack reports whether the group in flight k of service's restart
// st, its app app, is back and has stayed so for the controller's
// MinHealthy, with no task of the restart's version failing meanwhile:
// tasks that crash soon after they start look restarted for a moment,
// and the next group is not to be restarted on the strength of that.
// At the end of the spell the app is read from Marathon, not the cache,
// which may not know of a crash yet; the app returned is the latest read.
func (r *restarter) stayedBack(ctx context.Context, service string, st specs.RestartState, k specs.GroupKey,
	app *model.App, now time.Time) (*model.App, bool) {
	if !restarted(app, st.CurrentVersion) {
		delete(r.back, service)
		return app, false
	}
	s, ok := r.back[service]
	if !ok || s.token != st.Token || s.group != st.Current || failedSince(app, s.failedTask, st.CurrentVersion) {
		r.back[service] = backSpell{token: st.Token, group: st.Current, since: now, failedTask: lastFailedTask(app)}
		return app, false
	}
	if now.Sub(s.since) < r.c.cfg.MinHealthy {
		return app, false
	}
	a, err := r.c.apps.Read(ctx, k)
	if err != nil || a == nil {
		return app, false
	}
	if !restarted(a, st.CurrentVersion) || failedSince(a, s.failedTask, st.CurrentVersion) {
		delete(r.back, service)
		return a, false
	}
	return a, true
}

// backInTime reports whether the group in flight of restart st came
// back within its health timeout and has looked so since: its spell of
// MinHealthy may end after the timeout.
func (r *restarter) backInTime(service string, st specs.RestartState) bool {
	s, ok := r.back[service]
	return ok && s.token == st.Token && s.group == st.Current && !s.since.After(st.CurrentSince.Add(st.HealthTimeout()))
}

// failedSince reports whether a task of app of version or later failed
// after the one whose id was last (its last failure when a spell began).
func failedSince(a *model.App, last, version string) bool {
	f := a.LastTaskFailure
	return f != nil && f.TaskID != last && !olderVersion(f.Version, version)
}

func statusText(st specs.Status) string {
	if st.Message == "" {
		return "no status"
	}
	return string(st.Phase) + ": " + st.Message
}

func sameRestart(a, b *specs.RestartState) bool {
	return a.Current == b.Current && a.CurrentVersion == b.CurrentVersion && a.Replaced == b.Replaced &&
		a.Wanted == b.Wanted && a.Failed == b.Failed && a.CurrentSince.Equal(b.CurrentSince)
}

// replaced counts the tasks of a that run the restart's version, ready:
// running, and healthy when the app has health checks.
func replaced(a *model.App, version string) int {
	checked := len(a.Spec.HealthChecks) > 0
	n := 0
	for _, t := range a.Tasks {
		if t.Version >= version && t.State == "TASK_RUNNING" && (!checked || t.Health == "healthy") {
			n++
		}
	}
	return n
}

// restarted reports whether the app runs the version of its restart on
// all its tasks, healthy when it has health checks, with no deployment.
func restarted(a *model.App, version string) bool {
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
