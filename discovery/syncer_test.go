package discovery_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"theseus.dev/discovery"
	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/marathon"
	"theseus.dev/endpoints"
	"theseus.dev/internal/observe"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// TestDiscoverySweep checks what the first sweep writes for tasks in every
// state, that a second sweep writes nothing, and that groups of apps that
// are gone or not managed are dropped.
func TestDiscoverySweep(t *testing.T) {
	web, api, db := dkey(t, "web/dev"), dkey(t, "api/prod"), dkey(t, "db/test")
	e := newSyncerEnv(t, discovery.Config{Configs: configs{
		web: {"upstream": {Value: "api"}, "password": {Value: "s3cret", Secret: true}},
	}})
	e.m.set(managedApp(web, true,
		task(web, 1, "TASK_RUNNING", "healthy", 31001),
		task(web, 2, "TASK_RUNNING", "unhealthy", 31002),
		task(web, 3, "TASK_RUNNING", "unknown", 31003),
		task(web, 4, "TASK_STAGING", "unknown", 31004),
		task(web, 5, "TASK_KILLED", "unknown", 31005),
	))
	bad := task(api, 2, "TASK_RUNNING", "unknown")
	bad.ID = "api/prod.bad" // cannot be a key: left out, the rest written
	e.m.set(managedApp(api, false, task(api, 1, "TASK_RUNNING", "unknown"), bad))
	unmanaged := managedApp(db, false, task(db, 1, "TASK_RUNNING", "unknown", 31006))
	unmanaged.Managed = false
	e.m.set(unmanaged)
	// Left by an earlier leader: a group whose app is gone, and a
	// container of a task that ended.
	for k, names := range map[specs.GroupKey][]string{dkey(t, "old/gone"): {"x"}, api: {"api_prod.ended"}} {
		g, _ := e.store.ReadGroup(t.Context(), k)
		cs := map[string]specs.ContainerInfo{}
		for _, n := range names {
			cs[n] = specs.ContainerInfo{InstanceName: n, Ready: true}
		}
		if _, err := e.store.SyncGroup(t.Context(), etcd.Fence{}, g, etcd.GroupState{Containers: cs}); err != nil {
			t.Fatal(err)
		}
	}
	e.run()
	st := e.sweep(true)
	if st.Err != nil || st.Groups != 2 || st.Containers != 5 || st.Written != 2 || st.Removed != 1 || !e.syncer.Synced() {
		t.Fatalf("first sweep %+v, synced %v", st, e.syncer.Synced())
	}
	tree := e.tree()
	if got := slices.Sorted(maps.Keys(tree)); !slices.Equal(got, []string{"api/prod", "web/dev"}) {
		t.Fatalf("groups %v", got)
	}
	for _, tc := range []struct {
		name         string
		ready        bool
		state        string
		health, port string
	}{
		{"web_dev.task-1", true, "TASK_RUNNING", "healthy", "31001"},
		{"web_dev.task-2", false, "TASK_RUNNING", "unhealthy", "31002"},
		{"web_dev.task-3", false, "TASK_RUNNING", "unknown", "31003"},
		{"web_dev.task-4", false, "TASK_STAGING", "unknown", "31004"},
	} {
		c, ok := tree["web/dev"][tc.name]
		if !ok {
			t.Errorf("%s missing", tc.name)
			continue
		}
		if c.Ready != tc.ready || c.State != tc.state || c.Health != tc.health || fmt.Sprint(c.InstancePort) != tc.port ||
			c.InstanceName != tc.name || c.InstanceHost != "agent-1" || c.AppVersion == "" ||
			len(c.PortMappings) != 1 || c.PortMappings[0].ContainerPort != 8080 || c.PortMappings[0].Name != "p0" {
			t.Errorf("%s: %+v", tc.name, c)
		}
	}
	if len(tree["web/dev"]) != 4 {
		t.Errorf("web/dev holds %d containers, want 4 (the killed task is not one)", len(tree["web/dev"]))
	}
	if c := tree["api/prod"]["api_prod.task-1"]; !c.Ready || c.PortMappings == nil || len(tree["api/prod"]) != 1 {
		t.Errorf("api/prod: %+v", tree["api/prod"])
	}
	g, err := e.store.ReadGroup(t.Context(), web)
	if err != nil {
		t.Fatal(err)
	}
	if cfg, _ := g.Config(); len(cfg) != 1 || cfg["upstream"] != "api" {
		t.Errorf("config %v: the secret must not be mirrored", cfg)
	}
	if g.Revision.Containers != 4 || g.Revision.Ready != 1 || g.Revision.Generation != 1 {
		t.Errorf("revision %+v", g.Revision)
	}

	before := e.etcd.Revision(t)
	if st := e.sweep(false); st.Err != nil || st.Written != 0 || st.Removed != 0 {
		t.Fatalf("second sweep %+v", st)
	}
	if after := e.etcd.Revision(t); after != before {
		t.Fatalf("a sweep with nothing to do wrote: revision %d → %d", before, after)
	}

	e.m.remove(api)
	e.m.set(managedApp(web, true, task(web, 1, "TASK_RUNNING", "healthy", 31001)))
	if st := e.sweep(false); st.Written != 1 || st.Removed != 1 {
		t.Fatalf("third sweep %+v", st)
	}
	if tree := e.tree(); len(tree) != 1 || len(tree["web/dev"]) != 1 {
		t.Fatalf("tree after the third sweep: %v", tree)
	}
}

// TestDiscoveryEvents checks that events refresh a group, that a burst of
// events for one group is taken in few reads and writes, and that an app
// deleted or no longer managed takes its group with it.
func TestDiscoveryEvents(t *testing.T) {
	web := dkey(t, "web/dev")
	e := newSyncerEnv(t, discovery.Config{MinInterval: 100 * time.Millisecond})
	e.m.set(managedApp(web, false))
	e.run()
	e.sweep(true)
	ev := marathon.Event{Type: "status_update_event", Key: web, KeyOK: true}

	gets := e.m.gets.Load()
	e.m.set(managedApp(web, false, task(web, 1, "TASK_RUNNING", "unknown", 31001)))
	e.obs.Notify(ev)
	eventually(t, 5*time.Second, "the running task registered", func() bool { return len(e.tree()["web/dev"]) == 1 })

	// A burst: 200 task changes over a few intervals.
	gen := func() int64 {
		g, err := e.store.ReadGroup(t.Context(), web)
		if err != nil {
			t.Fatal(err)
		}
		return g.Revision.Generation
	}
	before := gen()
	var tasks []marathon.Task
	for i := range 200 {
		tasks = append(tasks, task(web, i+2, "TASK_RUNNING", "unknown", 32000+i))
		e.m.set(managedApp(web, false, tasks...))
		e.obs.Notify(ev)
		if i%50 == 49 {
			// Spread the burst: go on once the syncer caught up.
			eventually(t, 5*time.Second, "the syncer caught up during the burst", func() bool { return len(e.tree()["web/dev"]) == i+1 })
		}
	}
	eventually(t, 5*time.Second, "the burst registered", func() bool { return len(e.tree()["web/dev"]) == 200 })
	if writes := gen() - before; writes > 12 {
		t.Errorf("200 task changes took %d writes", writes)
	}
	if reads := e.m.gets.Load() - gets; reads > 12 {
		t.Errorf("200 task changes took %d reads of the app", reads)
	}
	// Events of apps outside the root, or of nothing, are ignored.
	e.obs.Notify(marathon.Event{Type: "status_update_event", AppID: "/elsewhere/x"})

	unmanaged := managedApp(web, false)
	unmanaged.Managed = false
	e.m.set(unmanaged)
	e.obs.Notify(ev)
	eventually(t, 5*time.Second, "the unmanaged app's group dropped", func() bool { return len(e.tree()) == 0 })

	e.m.set(managedApp(web, false, task(web, 1, "TASK_RUNNING", "unknown", 31001)))
	e.obs.Notify(ev)
	eventually(t, 5*time.Second, "the group back", func() bool { return len(e.tree()) == 1 })
	e.m.remove(web)
	e.obs.Notify(ev)
	eventually(t, 5*time.Second, "the deleted app's group dropped", func() bool { return len(e.tree()) == 0 })

	// EventResync asks for a sweep.
	e.drain()
	e.obs.Notify(marathon.Event{Type: marathon.EventResync})
	if st := e.sweep(true); st.Err != nil {
		t.Fatal(st.Err)
	}
}

// TestDiscoveryRefreshDuringSweep: events are written while a slow sweep
// runs, and the sweep, whose list is older, undoes none of it.
func TestDiscoveryRefreshDuringSweep(t *testing.T) {
	web, api := dkey(t, "web/dev"), dkey(t, "api/dev")
	e := newSyncerEnv(t, discovery.Config{})
	e.m.set(managedApp(web, false, task(web, 1, "TASK_RUNNING", "unknown", 31001)))
	e.run()
	e.sweep(true)

	hold := make(chan chan struct{})
	e.m.mu.Lock()
	e.m.hold = hold
	e.m.mu.Unlock()
	swept := make(chan discovery.SweepStats, 1)
	go func() { swept <- e.sweep(false) }()
	var release chan struct{}
	select {
	case release = <-hold: // the sweep has taken its list: one task of web, no api
	case <-time.After(10 * time.Second):
		t.Fatal("the sweep did not list")
	}
	e.m.set(managedApp(web, false, task(web, 1, "TASK_RUNNING", "unknown", 31001), task(web, 2, "TASK_RUNNING", "unknown", 31002)))
	e.m.set(managedApp(api, false, task(api, 1, "TASK_RUNNING", "unknown", 31003)))
	e.obs.Notify(marathon.Event{Type: "status_update_event", Key: web, KeyOK: true})
	e.obs.Notify(marathon.Event{Type: "status_update_event", Key: api, KeyOK: true})
	eventually(t, 5*time.Second, "the events written while the sweep waits", func() bool {
		tr := e.tree()
		return len(tr["web/dev"]) == 2 && len(tr["api/dev"]) == 1
	})
	close(release)
	if st := <-swept; st.Err != nil {
		t.Fatal(st.Err)
	}
	if tr := e.tree(); len(tr["web/dev"]) != 2 || len(tr["api/dev"]) != 1 {
		t.Errorf("the sweep's older list undid the events: %v", tr)
	}
	// The next sweep, listed after the events, has nothing to change.
	e.m.mu.Lock()
	e.m.hold = nil
	e.m.mu.Unlock()
	if st := e.sweep(false); st.Err != nil || st.Written+st.Removed != 0 {
		t.Errorf("next sweep: %+v", st)
	}
}

// TestDiscoveryMarathonDown checks that a Marathon that cannot be listed
// leaves the tree as it is, marks it stale after StaleAfter, and that the
// first sweep that succeeds again clears the flag.
func TestDiscoveryMarathonDown(t *testing.T) {
	web, api := dkey(t, "web/dev"), dkey(t, "api/prod")
	e := newSyncerEnv(t, discovery.Config{StaleAfter: time.Minute})
	e.m.set(managedApp(web, false, task(web, 1, "TASK_RUNNING", "unknown", 31001)))
	e.m.set(managedApp(api, false, task(api, 1, "TASK_RUNNING", "unknown", 31002)))
	e.run()
	e.sweep(true)
	want := e.tree()
	stale := func() map[string]bool {
		tr, err := e.store.ReadTree(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for k, g := range tr.Groups {
			out[k.String()] = g.Revision.Stale
		}
		return out
	}

	e.m.fail(errors.New("marathon GET /v2/apps: 502 Bad Gateway"))
	for _, step := range []struct {
		advance   time.Duration
		wantStale bool
		marked    int
	}{
		{0, false, 0},
		{30 * time.Second, false, 0},
		{31 * time.Second, true, 2},
		{time.Minute, true, 0}, // marked once per outage
	} {
		e.advance(step.advance)
		st := e.sweep(false)
		if st.Err == nil || st.Stale != step.marked {
			t.Fatalf("after %v: sweep %+v", step.advance, st)
		}
		if got := e.tree(); !maps.EqualFunc(got, want, func(a, b map[string]specs.ContainerInfo) bool { return len(a) == len(b) }) {
			t.Fatalf("tree changed while Marathon was down: %v", got)
		}
		for g, s := range stale() {
			if s != step.wantStale {
				t.Fatalf("after %v: %s stale = %v", step.advance, g, s)
			}
		}
	}
	e.m.fail(nil)
	if st := e.sweep(false); st.Err != nil || st.Written != 2 {
		t.Fatalf("sweep after recovery %+v", st)
	}
	for g, s := range stale() {
		if s {
			t.Errorf("%s still stale", g)
		}
	}
}

// startFewReads starts a syncer that replaces more than 2 reads by a
// sweep, after its first sweep; listed is told of each list call.
func startFewReads(t *testing.T) (*syncerEnv, chan struct{}) {
	t.Helper()
	e := newSyncerEnv(t, discovery.Config{MaxReads: 2})
	e.run()
	e.sweep(true)
	listed := make(chan struct{}, 100)
	e.m.mu.Lock()
	e.m.listed = listed
	e.m.mu.Unlock()
	return e, listed
}

// TestDiscoveryManyEventsMarathonDown: when more groups are due than
// MaxReads, a sweep replaces the reads; with Marathon down, that sweep is
// retried with backoff, not at once again and again.
func TestDiscoveryManyEventsMarathonDown(t *testing.T) {
	e, listed := startFewReads(t)
	e.m.fail(errors.New("marathon GET /v2/apps: 502 Bad Gateway"))
	for i := range 5 {
		e.obs.Notify(marathon.Event{Type: "status_update_event", Key: dkey(t, fmt.Sprintf("web/g%d", i)), KeyOK: true})
	}
	select {
	case <-listed:
	case <-time.After(5 * time.Second):
		t.Fatal("no sweep tried")
	}
	// The retry backoff starts at half a second to a second: within half
	// a second of the first try, one more at most.
	window := time.NewTimer(500 * time.Millisecond)
	defer window.Stop()
	for more := 0; ; {
		select {
		case <-listed:
			if more++; more > 1 {
				t.Fatalf("%d more lists of a Marathon that is down within half a second", more)
			}
		case <-window.C:
			return
		}
	}
}

// TestDiscoveryAskedSweepsSpaced: when more groups are due than MaxReads
// a sweep replaces the reads, but the next burst right after it is read
// group by group: sweeps asked back to back would list all of Marathon
// again and again while a cold start marks groups faster than it lists.
func TestDiscoveryAskedSweepsSpaced(t *testing.T) {
	e, listed := startFewReads(t)
	burst := func(round int) {
		for i := range 5 {
			e.obs.Notify(marathon.Event{Type: "status_update_event", Key: dkey(t, fmt.Sprintf("web/r%dg%d", round, i)), KeyOK: true})
		}
	}
	burst(0)
	select {
	case <-listed:
	case <-time.After(5 * time.Second):
		t.Fatal("no sweep asked for")
	}
	e.sweep(true) // the asked sweep ends
	gets := e.m.gets.Load()
	burst(1)
	eventually(t, 5*time.Second, "the second burst's groups read one by one", func() bool { return e.m.gets.Load() >= gets+5 })
	if n := len(listed); n != 0 {
		t.Fatalf("%d sweeps asked for right after the first", n)
	}
	// Once the gap has passed (at least a second), a burst is swept again.
	e.advance(2 * time.Second)
	burst(2)
	select {
	case <-listed:
	case <-time.After(5 * time.Second):
		t.Fatal("no sweep asked for once the gap passed")
	}
}

// TestDiscoveryFenced checks that a syncer whose leadership ended writes
// nothing.
func TestDiscoveryFenced(t *testing.T) {
	web := dkey(t, "web/dev")
	e := newSyncerEnv(t, discovery.Config{})
	put, err := e.etcd.Client.Put(t.Context(), "/theseus/leader/1", "me")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.etcd.Client.Delete(t.Context(), "/theseus/leader/1"); err != nil {
		t.Fatal(err)
	}
	e.obs = observe.New(observe.Config{Marathon: e.m, Resync: time.Hour, Logger: silentLogger()})
	e.syncer = discovery.New(discovery.Config{
		Apps: e.obs, Store: e.store, Cache: e.store.NewTreeCache(), Logger: silentLogger(),
		Fence: etcd.Fence{Key: "/theseus/leader/1", Revision: put.Header.Revision},
		Hooks: discovery.Hooks{Sweep: e.sweepHook},
	})
	e.m.set(managedApp(web, false, task(web, 1, "TASK_RUNNING", "unknown", 31001)))
	e.run()
	if st := e.sweep(true); !errors.Is(st.Err, etcd.ErrNotLeader) {
		t.Fatalf("sweep under a lost leadership: %+v", st)
	}
	if tree := e.tree(); len(tree) != 0 {
		t.Fatalf("written under a lost leadership: %v", tree)
	}
}

// unreadable is a store whose writes of a group conflict and whose reads
// of a group then fail, as when etcd goes away between the two.
type unreadable struct{ discovery.Store }

func (unreadable) SyncGroup(context.Context, model.Fence, *model.GroupEntry, model.GroupState) (model.SyncResult, error) {
	return model.SyncResult{}, fmt.Errorf("group changed: %w", model.ErrConflict)
}

func (unreadable) ReadGroup(_ context.Context, k specs.GroupKey) (*model.GroupEntry, error) {
	return nil, fmt.Errorf("read %s: etcdserver: request timed out", k)
}

// TestDiscoveryRereadFails: a write that conflicts, followed by a read
// again that fails, ends the refresh with an error to retry, not a
// crash of the daemon.
func TestDiscoveryRereadFails(t *testing.T) {
	web := dkey(t, "web/dev")
	e := newSyncerEnv(t, discovery.Config{})
	refreshed := make(chan discovery.RefreshStats, 100)
	e.syncer = discovery.New(discovery.Config{
		Apps: e.obs, Store: unreadable{e.store}, Cache: e.store.NewTreeCache(), Logger: silentLogger(),
		Hooks: discovery.Hooks{Sweep: e.sweepHook, Refresh: func(s discovery.RefreshStats) {
			select {
			case refreshed <- s:
			default:
			}
		}},
	})
	e.m.set(managedApp(web, false, task(web, 1, "TASK_RUNNING", "unknown", 31001)))
	e.run()
	e.sweep(true)
	e.obs.Notify(marathon.Event{Type: "status_update_event", Key: web, KeyOK: true})
	select {
	case st := <-refreshed:
		if st.Err == nil {
			t.Fatalf("refresh %+v, want the read's error", st)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no refresh")
	}
}

// TestDiscoverySweepRemovesKeysPutByHand: a key put by hand under a group
// that the layout does not name is removed by the next sweep, as the
// syncer owns /services. containers/{a}/{b}/info is the shape that
// matters: a reader matching "containers/.../info" would take it for a
// container, ready, that is no task of the app.
func TestDiscoverySweepRemovesKeysPutByHand(t *testing.T) {
	e := sweptOneTask(t)
	ctx := t.Context()
	ghost := "/services/web/dev/containers/ghost/x/info"
	if _, err := e.etcd.Client.Put(ctx, ghost,
		`{"instance_name":"ghost","instance_host":"10.9.9.9","instance_port":9,"ready":true}`); err != nil {
		t.Fatal(err)
	}
	if st := e.sweep(false); st.Err != nil || st.Written != 1 {
		t.Fatalf("sweep %+v, want web/dev written", st)
	}
	resp, err := e.etcd.Client.Get(ctx, ghost)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 0 {
		t.Errorf("%s, put by hand, is still there after a sweep", ghost)
	}
	g := e.clientGroup(t, "web", "dev")
	if len(g.Endpoints) != 1 || g.Endpoints[0].Name == "ghost" {
		t.Errorf("a watcher of web/dev is given %+v; Marathon runs 1 task", g.Endpoints)
	}
	if st := e.sweep(false); st.Err != nil || st.Written != 0 {
		t.Errorf("the sweep after the repair: %+v, want nothing written", st)
	}
}

// TestDiscoverySweepRewritesUndecodableRevision: a group's revision key
// that does not decode (put by hand, or damaged) makes clients skip the
// group, as if it did not exist; the next sweep rewrites it though the
// containers and config are as they should be.
func TestDiscoverySweepRewritesUndecodableRevision(t *testing.T) {
	e := sweptOneTask(t)
	ctx := t.Context()
	if _, err := e.etcd.Client.Put(ctx, "/services/web/dev/revision", "garbage"); err != nil {
		t.Fatal(err)
	}
	if st := e.sweep(false); st.Err != nil || st.Written != 1 {
		t.Fatalf("sweep %+v, want web/dev written", st)
	}
	g := e.clientGroup(t, "web", "dev")
	if !g.Exists || len(g.Ready()) != 1 {
		t.Errorf("after a sweep a client sees web/dev as exists=%v with %d ready endpoints; Marathon runs 1 task",
			g.Exists, len(g.Ready()))
	}
	if st := e.sweep(false); st.Err != nil || st.Written != 0 {
		t.Errorf("the sweep after the repair: %+v, want nothing written", st)
	}
}

// sweptOneTask is a running syncer whose first sweep wrote web/dev, an
// app of one running task.
func sweptOneTask(t *testing.T) *syncerEnv {
	web := dkey(t, "web/dev")
	e := newSyncerEnv(t, discovery.Config{})
	e.m.set(managedApp(web, false, task(web, 1, "TASK_RUNNING", "unknown", 31001)))
	e.run()
	e.sweep(true)
	return e
}

// clientGroup is what a client of /services reads of a group now.
func (e *syncerEnv) clientGroup(t *testing.T, service string, labels ...string) endpoints.Group {
	t.Helper()
	eps, err := endpoints.New(e.etcd.Client)
	if err != nil {
		t.Fatal(err)
	}
	g, err := eps.Get(t.Context(), service, labels...)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestDiscoveryConfigChanged: a group whose config changed is written
// again at once, without a sweep and without reading Marathon; while
// Marathon cannot be listed the new config is written and the group stays
// marked stale, as its containers are still unchecked.
func TestDiscoveryConfigChanged(t *testing.T) {
	web, api := dkey(t, "web/dev"), dkey(t, "api/prod")
	cfgs := &configSource{m: map[specs.GroupKey]map[string]string{web: {"upstream": "api"}}}
	refreshed := make(chan discovery.RefreshStats, 10)
	e := newSyncerEnv(t, discovery.Config{Configs: cfgs, StaleAfter: time.Minute,
		Hooks: discovery.Hooks{Refresh: func(st discovery.RefreshStats) { refreshed <- st }}})
	e.m.set(managedApp(web, false, task(web, 1, "TASK_RUNNING", "unknown", 31001)))
	e.m.set(managedApp(api, false, task(api, 1, "TASK_RUNNING", "unknown", 31002)))
	e.run()
	e.sweep(true)
	group := func(k specs.GroupKey) (map[string]string, bool) {
		g, err := e.store.ReadGroup(t.Context(), k)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := g.Config()
		if err != nil {
			t.Fatal(err)
		}
		return cfg, g.Revision.Stale
	}
	changeTo := func(k specs.GroupKey, cfg map[string]string) {
		t.Helper()
		cfgs.set(k, cfg)
		e.syncer.ConfigChanged(k)
		select {
		case st := <-refreshed:
			if st.Err != nil || !st.Written {
				t.Fatalf("refresh after the config change of %s: %+v", k, st)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("the config change of %s was not written", k)
		}
	}

	gets := e.m.gets.Load()
	changeTo(web, map[string]string{"upstream": "api2"})
	changeTo(api, map[string]string{"pool": "8"}) // none before
	for k, want := range map[specs.GroupKey]string{web: "map[upstream:api2]", api: "map[pool:8]"} {
		if cfg, stale := group(k); fmt.Sprint(cfg) != want || stale {
			t.Errorf("%s: config %v, stale %v; want %s", k, cfg, stale, want)
		}
	}
	if n := e.m.gets.Load() - gets; n != 0 {
		t.Errorf("a config change read Marathon %d times", n)
	}
	if st := e.sweep(false); st.Written+st.Removed != 0 {
		t.Errorf("the sweep after the config changes still wrote: %+v", st)
	}

	e.m.fail(errors.New("marathon GET /v2/apps: 502 Bad Gateway"))
	e.sweep(false)
	e.advance(2 * time.Minute)
	if st := e.sweep(false); st.Stale != 2 {
		t.Fatalf("sweep with Marathon down for 2m: %+v", st)
	}
	changeTo(web, map[string]string{"upstream": "api3"})
	if cfg, stale := group(web); cfg["upstream"] != "api3" || !stale {
		t.Errorf("config changed while Marathon is down: config %v, stale %v; want api3, still stale", cfg, stale)
	}
}
