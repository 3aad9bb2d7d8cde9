package reconciler_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"theseus.dev/model"
	"theseus.dev/reconciler"
	"theseus.dev/specs"
)

func (e *env) restarter(wait time.Duration, lines *[]string) *reconciler.RollingRestart {
	var mu sync.Mutex
	return &reconciler.RollingRestart{Desired: e.store.Desired(), Store: e.store.Restarts(), Wait: wait,
		HealthTimeout: 5 * time.Second, Progress: func(l string) { mu.Lock(); *lines = append(*lines, l); mu.Unlock() }}
}

// restartTimes returns when each group's app was restarted, by the
// simulator's clock.
func (e *env) restarts(keys []specs.GroupKey) []time.Time {
	out := make([]time.Time, len(keys))
	for i, k := range keys {
		a, _ := e.app(k)
		out[i] = a.LastConfigChangeAt
	}
	return out
}

// TestRollingRestart: three groups restart in key order, one at a time,
// with the wait between them.
func TestRollingRestart(t *testing.T) {
	e := newEnv(t)
	e.start(controllerOpts{id: "a"})
	keys := e.deploy("api", 3)
	other := e.deploy("web", 1)
	before := e.restarts(keys)
	var lines []string
	wait := 50 * time.Millisecond
	if err := e.restarter(wait, &lines).Run(t.Context(), "api", specs.Selector{}); err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(lines, "\n"))
	}
	after := e.restarts(keys)
	for i := range keys {
		if !after[i].After(before[i]) {
			t.Errorf("%s was not restarted", keys[i])
		}
		if i > 0 && after[i].Sub(after[i-1]) < time.Duration(simSpeed*0.9)*wait {
			t.Errorf("%s restarted %s (simulated) after %s; want the wait of %s real time between them",
				keys[i], after[i].Sub(after[i-1]), keys[i-1], wait)
		}
	}
	if n := len(e.writesTo("POST", appPath(other[0]))); n != 0 {
		t.Errorf("a group of another service was restarted")
	}
	if st, _ := e.store.Restarts().Get(t.Context(), "api"); st.State != nil {
		t.Errorf("restart state left behind: %+v", st.State)
	}
	// Each group's progress is said as it goes: tasks replaced of
	// wanted, with the time since its restart began.
	all := strings.Join(lines, "\n")
	for _, k := range keys {
		if !strings.Contains(all, k.String()+": 1 of 1 tasks replaced, ") || !strings.Contains(all, k.String()+": restarted and healthy in ") {
			t.Errorf("no progress of %s:\n%s", k, all)
		}
	}
}

// followWatched is a RestartStore that tells when its Follow returns.
type followWatched struct {
	reconciler.RestartStore
	returned chan struct{}
}

func (f *followWatched) Follow(ctx context.Context, service string, from int64, fn func(model.RestartEntry) error) error {
	defer close(f.returned)
	return f.RestartStore.Follow(ctx, service, from, fn)
}

// TestRollingRestartStopsFollowing: once Run has returned, nothing of it
// goes on: its watch of the restart record has ended too, whether the
// restart was done or its caller gave up.
func TestRollingRestartStopsFollowing(t *testing.T) {
	e := newEnv(t)
	e.start(controllerOpts{id: "a"})
	e.deploy("api", 1)
	for _, name := range []string{"done", "given up"} {
		var lines []string
		r := e.restarter(0, &lines)
		store := &followWatched{RestartStore: r.Store, returned: make(chan struct{})}
		r.Store = store
		ctx, cancel := context.WithCancel(t.Context())
		if name == "given up" {
			r.Progress = func(string) { cancel() }
		}
		_ = r.Run(ctx, "api", specs.Selector{})
		cancel()
		select {
		case <-store.returned:
		default:
			t.Errorf("%s: Run returned while its watch of the restart record still runs", name)
		}
	}
}

// apiWithBrokenG1 starts a controller and deploys api/g0…g2, g1 with an
// image whose tasks turn unhealthy once its rollout is over, and returns
// their keys.
func (e *env) apiWithBrokenG1() []specs.GroupKey {
	e.t.Helper()
	e.start(controllerOpts{id: "a"})
	keys := e.deploy("api", 3)
	e.putSpec(keys[1], spec(keys[1], "broken:1", 1, `,"healthChecks":[{"protocol":"COMMAND","command":"true","gracePeriodSeconds":10}]`))
	rev := e.modRevision(keys[1])
	e.eventually(converge, "api/g1 runs broken:1", func() bool { a, _ := e.app(keys[1]); return a.Image == "broken:1" && a.Deployment == "" })
	// Its rollout over first: failing health checks during it would roll
	// it back to a healthy image, which restarts.
	e.eventually(converge, "api/g1's rollout over", func() bool { st := e.status(keys[1]); return st != nil && st.SyncedRevision == rev })
	e.sim.Faults().NeverHealthyImage("broken:1")
	return keys
}

// TestRollingRestartStops: a group whose new tasks never turn healthy
// stops the sequence; the groups after it are not restarted.
func TestRollingRestartStops(t *testing.T) {
	e := newEnv(t)
	keys := e.apiWithBrokenG1()
	var lines []string
	r := e.restarter(0, &lines)
	// A second to fail, so that a loaded machine still leaves time for
	// several reminders.
	r.HealthTimeout = time.Second
	r.ProgressEvery = 50 * time.Millisecond
	err := r.Run(t.Context(), "api", specs.Selector{})
	if err == nil || !strings.Contains(err.Error(), "api/g1") {
		a, _ := e.app(keys[1])
		t.Fatalf("error %v, want one naming api/g1\n%s\napi/g1 in Marathon: %+v", err, strings.Join(lines, "\n"), a)
	}
	// A group that makes no progress is still reported now and then.
	if n := strings.Count(strings.Join(lines, "\n"), "api/g1: 0 of 1 tasks replaced, "); n < 2 {
		t.Errorf("%d progress lines of a group stuck for 1s with one due every 50ms:\n%s", n, strings.Join(lines, "\n"))
	}
	if n := len(e.writesTo("POST", appPath(keys[2])+"/restart")); n != 0 {
		t.Errorf("api/g2 was restarted after api/g1 failed")
	}
}

// TestRollingRestartResumes: interrupted after the first group, a second
// run restarts only the others.
func TestRollingRestartResumes(t *testing.T) {
	e := newEnv(t)
	e.start(controllerOpts{id: "a"})
	keys := e.deploy("api", 3)
	ctx, cancel := context.WithCancel(t.Context())
	var lines []string
	r := e.restarter(time.Hour, &lines) // the wait after the first group is where it is killed
	r.Progress = func(l string) {
		lines = append(lines, l)
		if strings.HasPrefix(l, "waiting") {
			cancel()
		}
	}
	if err := r.Run(ctx, "api", specs.Selector{}); err == nil {
		t.Fatal("an interrupted restart reported success")
	}
	r2 := e.restarter(0, &lines)
	if err := r2.Run(t.Context(), "api", specs.Selector{}); err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		if n := len(e.writesTo("POST", appPath(k)+"/restart")); n != 1 {
			t.Errorf("group %d restarted %d times, want 1", i, n)
		}
	}
	if !strings.Contains(strings.Join(lines, "\n"), "resuming") {
		t.Errorf("the second run did not say it resumed:\n%s", strings.Join(lines, "\n"))
	}
}

// TestRollingRestartResumesWithoutRemovedGroup: a restart stopped on a
// group whose spec is then removed from /desired is resumed, by the
// same command again, with the groups still there: the removed group is
// left out instead of stopping every later run on it.
func TestRollingRestartResumesWithoutRemovedGroup(t *testing.T) {
	e := newEnv(t)
	keys := e.apiWithBrokenG1()
	var lines []string
	r := e.restarter(0, &lines)
	r.HealthTimeout = time.Second
	if err := r.Run(t.Context(), "api", specs.Selector{}); err == nil || !strings.Contains(err.Error(), "api/g1") {
		a, _ := e.app(keys[1])
		t.Fatalf("error %v, want one naming api/g1\n%s\napi/g1 in Marathon: %+v", err, strings.Join(lines, "\n"), a)
	}
	if _, err := e.etcd.Client.Delete(t.Context(), specs.DesiredKey("", keys[1])); err != nil {
		t.Fatal(err)
	}
	if err := e.restarter(0, &lines).Run(t.Context(), "api", specs.Selector{}); err != nil {
		t.Fatalf("the restart again, api/g1 removed: %v\n%s", err, strings.Join(lines, "\n"))
	}
	for i, k := range []specs.GroupKey{keys[0], keys[2]} {
		if n := len(e.writesTo("POST", appPath(k)+"/restart")); n != 1 {
			t.Errorf("group %d (%s) restarted %d times, want 1", i, k, n)
		}
	}
}

// TestRollingRestartPastUndecodableRecord: a restart record of another
// service that does not decode (written by hand, or damaged) does not
// stop the leader from carrying out the restart of this one.
func TestRollingRestartPastUndecodableRecord(t *testing.T) {
	e := newEnv(t)
	log := &lockedBuffer{}
	e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"}, logTo: log})
	keys := e.deploy("api", 2)
	e.etcd.Etcdctl(t, "put", "/theseus/restart/web", "not json")
	ctx, cancel := context.WithTimeout(t.Context(), converge)
	defer cancel()
	var lines []string
	if err := e.restarter(0, &lines).Run(ctx, "api", specs.Selector{}); err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(lines, "\n"))
	}
	for i, k := range keys {
		if n := len(e.writesTo("POST", appPath(k)+"/restart")); n != 1 {
			t.Errorf("group %d (%s) restarted %d times, want 1", i, k, n)
		}
	}
	// The record is named in the log, once, though every round reads it.
	if n := strings.Count(log.String(), "a restart record does not decode"); n != 1 ||
		!strings.Contains(log.String(), "service=web") {
		t.Errorf("the undecodable record of web is logged %d times, want once naming web:\n%s", n, log.String())
	}
}

// TestRollingRestartAcrossLeaders: the leader that carries out a restart
// is stopped as it is about to restart the second group (its call is held
// until its leadership ends, so it never reaches Marathon); the standby
// takes over and restarts the others, each once, and the command that
// follows the restart reports it to its end. The command writes nothing
// to Marathon itself.
func TestRollingRestartAcrossLeaders(t *testing.T) {
	e := newEnv(t)
	second := make(chan struct{})
	held := &holdSecondRestart{reached: second}
	a, stopA := e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"},
		marathon: func(m reconciler.Marathon) reconciler.Marathon { held.Marathon = m; return held }})
	e.eventually(converge, "a leads", a.Leading)
	b, _ := e.start(controllerOpts{id: "b"})
	keys := e.deploy("api", 3)
	go func() {
		select {
		case <-second:
			stopA()
		case <-t.Context().Done():
		}
	}()
	e.restartOnceEach(keys, b.Leading)
}

// holdSecondRestart lets the first restart through and holds the second
// until the caller's context ends, saying on reached that it got there.
type holdSecondRestart struct {
	reconciler.Marathon
	reached chan struct{}
	mu      sync.Mutex
	n       int
}

func (h *holdSecondRestart) Restart(ctx context.Context, k specs.GroupKey) (model.Result, error) {
	h.mu.Lock()
	h.n++
	n := h.n
	h.mu.Unlock()
	if n < 2 {
		return h.Marathon.Restart(ctx, k)
	}
	if n == 2 {
		close(h.reached)
	}
	<-ctx.Done()
	return model.Result{}, ctx.Err()
}

// restartOnceEach carries out the rolling restart of service api, whose
// groups are keys, while the leader changes to one that leading tells
// of, and checks that the new leader took over and that each group was
// restarted once.
func (e *env) restartOnceEach(keys []specs.GroupKey, leading func() bool) {
	e.t.Helper()
	var lines []string
	r := e.restarter(0, &lines)
	if err := r.Run(e.t.Context(), "api", specs.Selector{}); err != nil {
		e.t.Fatalf("%v\n%s", err, strings.Join(lines, "\n"))
	}
	if !leading() {
		e.t.Fatal("the standby did not take over: the test shows nothing")
	}
	for i, k := range keys {
		if n := len(e.writesTo("POST", appPath(k)+"/restart")); n != 1 {
			e.t.Errorf("group %d (%s) restarted %d times, want 1", i, k, n)
		}
	}
}

// TestRollingRestartNamesPausedGroups: a restart names the groups it
// still has to restart that are paused, since the leader waits for
// their resume: not a paused group it already restarted, nor one of
// another service.
func TestRollingRestartNamesPausedGroups(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	// api's second group has two labels: the resume the note names must
	// take them as -l does, comma-separated.
	api := []specs.GroupKey{key(t, "api", "g0"), key(t, "api", "g1", "canary"), key(t, "api", "g2")}
	web := key(t, "web", "g1")
	for _, k := range append(slices.Clone(api), web) {
		e.putSpec(k, spec(k, "nginx:1.27", 1, ""))
	}
	for _, k := range []specs.GroupKey{api[0], api[1], web} {
		if _, err := e.store.Pauses().Pause(ctx, k, specs.Pause{By: "bob@ops", At: time.Now(), Reason: "db migration"}); err != nil {
			t.Fatal(err)
		}
	}
	// A restart of api that stopped once api/g0 was done.
	st := &specs.RestartState{Token: "t1", Groups: []string{"api/g0", "api/canary.g1", "api/g2"}, Done: []string{"api/g0"}, Started: time.Now().UTC()}
	if _, err := e.store.Restarts().Put(ctx, model.Fence{}, "api", st, 0); err != nil {
		t.Fatal(err)
	}
	var lines []string
	r := e.restarter(0, &lines)
	r.Pauses, r.Detach = e.store.Pauses(), true
	if err := r.Run(ctx, "api", specs.Selector{}); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(lines, "\n")
	if !strings.Contains(all, "api/canary.g1 is paused (by bob@ops): it is not restarted until theseusd resume api -l canary,g1;") {
		t.Errorf("the paused group still to restart is not named:\n%s", all)
	}
	for _, g := range []string{"api/g0", "web/g1", "api/g2"} {
		if strings.Contains(all, g+" is paused") {
			t.Errorf("%s is named as paused in the restart:\n%s", g, all)
		}
	}
}

// TestRollingRestartStopsOnCrashingTasks: a group whose restarted tasks
// run for a moment and then crash is not back: it stops the sequence,
// with its last task failure, and the groups after it are not
// restarted. A group is back once it has stayed so for MinHealthy.
func TestRollingRestartStopsOnCrashingTasks(t *testing.T) {
	e := newEnv(t)
	e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"}, minHealthy: 300 * time.Millisecond})
	keys := e.deploy("api", 2)
	// The running tasks are not touched: only tasks started from now on
	// crash, 30s (simulated, 30ms real) after they run.
	e.sim.Faults().CrashImage("nginx:1.27", 30*time.Second)
	var lines []string
	r := e.restarter(0, &lines)
	r.HealthTimeout = 2 * time.Second
	err := r.Run(t.Context(), "api", specs.Selector{})
	if err == nil || !strings.Contains(err.Error(), "api/g0") || !strings.Contains(err.Error(), "last task failure") {
		t.Fatalf("error %v, want one naming api/g0 and its last task failure\n%s", err, strings.Join(lines, "\n"))
	}
	if n := len(e.writesTo("POST", appPath(keys[1])+"/restart")); n != 0 {
		t.Errorf("api/g1 was restarted after the tasks of api/g0 crashed:\n%s", strings.Join(lines, "\n"))
	}
}

// TestRollingRestartStopsOnQuarantinedGroup: a group whose desired
// revision failed and is held back (RolledBack) cannot be restarted
// until /desired changes: the restart stops on it at once, saying so,
// rather than after the whole health timeout, and the groups after it
// are not restarted.
func TestRollingRestartStopsOnQuarantinedGroup(t *testing.T) {
	e := newEnv(t)
	e.start(controllerOpts{id: "a"})
	e.sim.Faults().CrashImage("nginx:bad", 0)
	g0, g1 := key(t, "api", "g0"), key(t, "api", "g1")
	e.syncedForGood(g0, spec(g0, "nginx:1.27", 1, ""))
	e.syncedForGood(g1, spec(g1, "nginx:1.27", 1, ""))
	e.putSpec(g0, spec(g0, "nginx:bad", 1, ""))
	bad := e.modRevision(g0)
	e.eventually(converge, "api/g0 RolledBack", e.phaseIs(g0, specs.PhaseRolledBack, bad))

	var lines []string
	r := e.restarter(0, &lines)
	r.HealthTimeout = time.Hour
	ctx, cancel := context.WithTimeout(t.Context(), converge)
	defer cancel()
	err := r.Run(ctx, "api", specs.Selector{})
	if err == nil || !strings.Contains(err.Error(), "api/g0") || !strings.Contains(err.Error(), "RolledBack") ||
		!strings.Contains(err.Error(), "until /desired changes") {
		t.Fatalf("error %v, want one naming api/g0, RolledBack and what releases it\n%s", err, strings.Join(lines, "\n"))
	}
	if n := len(e.writesTo("POST", appPath(g1)+"/restart")); n != 0 {
		t.Errorf("api/g1 was restarted after api/g0 could not be")
	}
}

// TestRollingRestartRefusesInvalidGroup: a restart that selects a group
// whose spec in /desired is invalid is refused before anything is
// restarted, naming the group and why, rather than restarting the groups
// before it and stopping there.
func TestRollingRestartRefusesInvalidGroup(t *testing.T) {
	e := newEnv(t)
	e.start(controllerOpts{id: "a"})
	keys := e.deploy("api", 2)
	e.putSpec(keys[1], spec(keys[1], "nginx:1.27", -1, ""))
	var lines []string
	err := e.restarter(0, &lines).Run(t.Context(), "api", specs.Selector{})
	if err == nil || !strings.Contains(err.Error(), "api/g1") || !strings.Contains(err.Error(), "instances") {
		t.Fatalf("error %v, want one naming api/g1 and its invalid field\n%s", err, strings.Join(lines, "\n"))
	}
	if n := len(e.writesTo("POST", appPath(keys[0])+"/restart")); n != 0 {
		t.Errorf("api/g0 was restarted by a restart refused for api/g1")
	}
	if st, _ := e.store.Restarts().Get(t.Context(), "api"); st.State != nil {
		t.Errorf("a refused restart was recorded: %+v", st.State)
	}
}

// TestRollingRestartSaysWhatItReplaces: a restart of a service with
// another selector than the one under way replaces it, and says so:
// which restart, how far it got, and that its groups not done are not
// restarted, rather than cancelling another operator's restart without
// a word. One that is done is replaced without a note.
func TestRollingRestartSaysWhatItReplaces(t *testing.T) {
	for _, tt := range []struct {
		name     string
		finished bool
		want     string
	}{
		{"under way", false, `note: this replaces the restart of api under way (-l "!g2", begun 2026-01-02T03:04:05Z, 1 of 2 groups done, api/g1 in flight): its groups not done are not restarted`},
		{"done", true, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := t.Context()
			for _, g := range []string{"g0", "g1", "g2"} {
				k := key(t, "api", g)
				e.putSpec(k, spec(k, "nginx:1.27", 1, ""))
			}
			st := &specs.RestartState{Token: "t1", Selector: "!g2", Groups: []string{"api/g0", "api/g1"}, Done: []string{"api/g0"},
				Current: "api/g1", Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
			if tt.finished {
				st.Done, st.Current, st.Finished = []string{"api/g0", "api/g1"}, "", time.Now().UTC()
			}
			if _, err := e.store.Restarts().Put(ctx, model.Fence{}, "api", st, 0); err != nil {
				t.Fatal(err)
			}
			var lines []string
			r := e.restarter(0, &lines)
			r.Detach = true
			sel, err := specs.ParseSelector("g2")
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Run(ctx, "api", sel); err != nil {
				t.Fatal(err)
			}
			all := strings.Join(lines, "\n")
			if tt.want != "" && !strings.Contains(all, tt.want) || tt.want == "" && strings.Contains(all, "replaces") {
				t.Errorf("said:\n%s\nwant a line holding %q", all, tt.want)
			}
		})
	}
}
