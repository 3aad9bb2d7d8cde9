package discovery_test

import (
	"cmp"
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/discovery"
	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/marathon/marathonsim"
	"theseus.dev/endpoints"
	"theseus.dev/specs"
)

// checkedSpec is a group with a health-checked port.
func checkedSpec() specs.Spec {
	return specs.Spec{Ports: []specs.Port{{Name: "http", ContainerPort: 80}},
		HealthChecks: []specs.HealthCheck{{Protocol: "HTTP", PortName: "http", Path: "/healthz"}}}
}

// portSpec is a group with a port and no health check.
func portSpec() specs.Spec {
	return specs.Spec{Ports: []specs.Port{{Name: "grpc", ContainerPort: 9000}}}
}

// killTasks kills the first n tasks of group k, as an operator on the
// agent would; Marathon replaces them.
func (e *discEnv) killTasks(k specs.GroupKey, n int) {
	e.t.Helper()
	for _, ts := range e.sim.Tasks(specs.AppID("", k))[:n] {
		if err := e.sim.KillTask(ts.ID); err != nil {
			e.t.Fatal(err)
		}
	}
	e.settle()
}

// exactByEvents waits until the tree is exact without a sweep.
func (e *discEnv) exactByEvents(t *testing.T, what string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for d := e.exact(); d != ""; d = e.exact() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: the tree is not exact by events alone:\n%s", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDiscoveryEndToEnd deploys three groups, then kills tasks, scales
// down, rolls an update and deletes an app. After each the tree is exact,
// by events alone and after one sweep (which then has nothing to write),
// and the watchers of the endpoints package only ever saw states the
// syncer wrote whole.
func TestDiscoveryEndToEnd(t *testing.T) {
	e := newDiscEnv(t, marathonsim.Options{})
	web, api, db := dkey(t, "web/dev"), dkey(t, "api/prod"), dkey(t, "db/test")
	e.deploy(web, "nginx:1.27", 3, checkedSpec())
	e.deploy(api, "api:1", 2, portSpec())
	e.deploy(db, "db:1", 1, specs.Spec{})
	ctx, cancel := context.WithCancel(context.Background())
	seen := e.watchGroups(ctx, web, api, db)
	s := e.startSyncer(discovery.Config{}, 0)
	s.quiet(t) // the steps below are followed by events alone
	if d := e.exact(); d != "" {
		t.Fatalf("not exact after the first sweep:\n%s", d)
	}
	for _, step := range []struct {
		name string
		do   func()
	}{
		{"kill tasks", func() { e.killTasks(web, 2); e.killTasks(db, 1) }},
		{"scale down", func() {
			if _, err := e.mc.Scale(context.Background(), api, 1); err != nil {
				t.Fatal(err)
			}
			e.settle()
		}},
		{"rolling update", func() { e.update(web, "nginx:1.28", 3, checkedSpec()) }},
		{"delete an app", func() {
			if _, err := e.mc.Delete(context.Background(), db); err != nil {
				t.Fatal(err)
			}
			e.settle()
		}},
	} {
		step.do()
		e.exactByEvents(t, step.name)
		if st := s.sweep(t); st.Written+st.Removed != 0 {
			t.Errorf("%s: the sweep after the events still wrote %+v", step.name, st)
		}
		if d := e.exact(); d != "" {
			t.Fatalf("%s: not exact after a sweep:\n%s", step.name, d)
		}
	}
	seen.waitFor(t, db, func(g endpoints.Group) bool { return !g.Exists })
	seen.waitFor(t, web, func(g endpoints.Group) bool {
		return len(g.Endpoints) == 3 && g.Endpoints[0].AppVersion == g.Endpoints[2].AppVersion
	})
	cancel()
	e.watch.Wait()
	n := seen.check(t, e.rec)
	t.Logf("watchers saw %d states, the syncer made %d writes", n, e.rec.writes)
}

// TestDiscoveryEventStreamDropped drops the event stream, kills tasks
// while it is gone, and checks that the sweep repairs what the lost
// events would have.
func TestDiscoveryEventStreamDropped(t *testing.T) {
	e := newDiscEnv(t, marathonsim.Options{})
	web, api := dkey(t, "web/dev"), dkey(t, "api/prod")
	e.deploy(web, "nginx:1.27", 3, checkedSpec())
	e.deploy(api, "api:1", 3, portSpec())
	s := e.startSyncer(discovery.Config{}, 0)
	s.quiet(t) // no list is left to come that could follow the kills

	e.sim.Faults().DropEventStreams(4 * time.Hour) // in simulated time: the test ends first
	e.killTasks(web, 2)
	e.killTasks(api, 3)
	if e.exact() == "" {
		t.Fatal("the tree followed the kills without events or a sweep")
	}
	s.sweep(t)
	if d := e.exact(); d != "" {
		t.Fatalf("not exact after the sweep:\n%s", d)
	}
}

// TestDiscoveryNextLeader abandons a syncer, changes Marathon while none
// runs, and checks that the next syncer's first sweep removes every
// entry of a task that ended meanwhile: the staleness bound.
func TestDiscoveryNextLeader(t *testing.T) {
	e := newDiscEnv(t, marathonsim.Options{})
	web, api, db := dkey(t, "web/dev"), dkey(t, "api/prod"), dkey(t, "db/test")
	e.deploy(web, "nginx:1.27", 3, checkedSpec())
	e.deploy(api, "api:1", 2, portSpec())
	e.deploy(db, "db:1", 1, specs.Spec{})
	first := e.startSyncer(discovery.Config{}, 0)
	e.exactByEvents(t, "first syncer")
	first.stop() // the leader dies: nothing is cleaned up

	e.killTasks(web, 3)
	if _, err := e.mc.Scale(context.Background(), api, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := e.mc.Delete(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	e.settle()
	if e.exact() == "" {
		t.Fatal("the tree changed with no syncer running")
	}
	sweeps := make(chan discovery.SweepStats, 10)
	start := time.Now()
	next := e.startSyncer(discovery.Config{Hooks: discovery.Hooks{Sweep: func(st discovery.SweepStats) {
		select {
		case sweeps <- st:
		default:
		}
	}}}, 0)
	select {
	case st := <-sweeps:
		if st.Err != nil {
			t.Fatal(st.Err)
		}
		if d := e.exact(); d != "" {
			t.Fatalf("not exact after the next syncer's first sweep:\n%s", d)
		}
		t.Logf("stale entries gone %v after the next syncer started (first sweep %v: %d written, %d removed)",
			time.Since(start), st.Duration, st.Written, st.Removed)
	case <-time.After(30 * time.Second):
		t.Fatal("no first sweep")
	}
	if !next.d.Synced() {
		t.Error("not synced after the first sweep")
	}
}

// TestDiscoveryBurst starts 500 tasks at once (1,000 task changes: each
// stages, then runs) and checks that watchers reload far fewer times.
func TestDiscoveryBurst(t *testing.T) {
	// Slow enough for the burst to last about a second of real time. The
	// event buffer holds the whole burst: on a loaded machine a stream cut
	// for falling behind would hand the burst to the sweep, and this test
	// is about the events being taken together.
	e := newDiscEnv(t, marathonsim.Options{Clock: marathonsim.NewScaledClock(time.Now(), 20), EventBuffer: 1 << 16})
	var keys []specs.GroupKey
	for _, g := range []string{"a", "b", "c", "d"} {
		k := dkey(t, "burst/"+g)
		keys = append(keys, k)
		e.deploy(k, "worker:1", 0, specs.Spec{})
	}
	s := e.startSyncer(discovery.Config{}, 0)
	s.quiet(t) // the burst is followed by events alone

	// Every read a watcher makes follows a write of a revision key.
	ctx, cancel := context.WithCancel(context.Background())
	var reloads atomic.Int64
	wch := e.etcd.Client.Watch(ctx, "/services/burst/", clientv3.WithPrefix(), clientv3.WithRev(e.etcd.Revision(t)+1))
	e.watch.Go(func() {
		for wr := range wch {
			for _, ev := range wr.Events {
				if strings.HasSuffix(string(ev.Kv.Key), "/"+etcd.RevisionKeyName) {
					reloads.Add(1)
				}
			}
		}
	})
	seen := e.watchGroups(ctx, keys...)
	events := s.events.Load()
	for _, k := range keys {
		if _, err := e.mc.Scale(context.Background(), k, 125); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	e.settle()
	e.exactByEvents(t, "the burst")
	took := time.Since(start)
	changes := s.events.Load() - events
	for _, k := range keys {
		seen.waitFor(t, k, func(g endpoints.Group) bool { return len(g.Endpoints) == 125 })
	}
	cancel()
	e.watch.Wait()
	states := seen.check(t, e.rec)
	t.Logf("%d task changes in %v, %d revision writes (watcher reloads), %d states delivered to 4 watchers", changes, took, reloads.Load(), states)
	if changes < 1000 {
		t.Fatalf("only %d task changes", changes)
	}
	if reloads.Load()*10 > changes {
		t.Errorf("%d reloads for %d task changes: want at most one per ten", reloads.Load(), changes)
	}
}

// TestDiscoveryMarathonUnreachable makes the list of apps fail (502) or
// hang, and checks that the tree is left as it was, marked stale after a
// while, never emptied, and cleared once Marathon answers.
func TestDiscoveryMarathonUnreachable(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault marathonsim.RequestFault
	}{
		{"502", marathonsim.RequestFault{Method: "GET", Route: marathonsim.RouteApps, Status: 502}},
		{"hang", marathonsim.RequestFault{Method: "GET", Route: marathonsim.RouteApps, Hang: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newDiscEnv(t, marathonsim.Options{})
			web, api := dkey(t, "web/dev"), dkey(t, "api/prod")
			e.deploy(web, "nginx:1.27", 2, checkedSpec())
			e.deploy(api, "api:1", 1, portSpec())
			var now atomic.Int64
			now.Store(time.Now().UnixNano())
			s := e.startSyncer(discovery.Config{StaleAfter: time.Minute,
				Now: func() time.Time { return time.Unix(0, now.Load()) }}, 300*time.Millisecond)
			s.quiet(t) // no list is left to come but those the test asks for
			if d := e.exact(); d != "" {
				t.Fatalf("not exact after the first sweeps:\n%s", d)
			}
			rev := e.etcd.Revision(t)

			id := e.sim.Faults().Add(tc.fault)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if st, err := s.d.Sweep(ctx); err != nil || st.Err == nil {
				t.Fatalf("sweep with Marathon unreachable: %+v, %v", st, err)
			}
			if after := e.etcd.Revision(t); after != rev {
				t.Fatalf("a failed sweep wrote to etcd: revision %d → %d", rev, after)
			}
			now.Add(int64(2 * time.Minute))
			if st, err := s.d.Sweep(ctx); err != nil || st.Err == nil {
				t.Fatalf("sweep with Marathon unreachable: %+v, %v", st, err)
			}
			tree, err := e.rec.ReadTree(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range []specs.GroupKey{web, api} {
				g := tree.Groups[k]
				if g == nil || !g.Revision.Stale || len(g.ContainerNames()) == 0 {
					t.Fatalf("%s while Marathon is unreachable: %+v", k, g)
				}
			}
			if d := e.exact(); d != "" {
				t.Fatalf("the containers changed while Marathon was unreachable:\n%s", d)
			}

			e.sim.Faults().Clear(id)
			s.sweep(t)
			tree, err = e.rec.ReadTree(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for k, g := range tree.Groups {
				if g.Revision.Stale {
					t.Errorf("%s still stale after Marathon answered", k)
				}
			}
			if d := e.exact(); d != "" {
				t.Fatalf("not exact after Marathon answered:\n%s", d)
			}
		})
	}
}

// TestDiscoveryQuietSweepRepairs: a sweep skips the groups whose app and
// tree entry are as the last sweep found them, yet repairs a key changed
// by hand under a group whose app did not change, and writes a group whose
// config alone changed.
func TestDiscoveryQuietSweepRepairs(t *testing.T) {
	e := newDiscEnv(t, marathonsim.Options{})
	web, api := dkey(t, "web/dev"), dkey(t, "api/prod")
	e.deploy(web, "nginx:1.27", 2, portSpec())
	e.deploy(api, "api:1", 1, portSpec())
	cfgs := &configSource{m: map[specs.GroupKey]map[string]string{web: {"upstream": "api"}}}
	s := e.startSyncer(discovery.Config{Configs: cfgs}, 0)
	if st := s.quiet(t); st.Written+st.Removed != 0 || st.Groups != 2 || st.Containers != 3 {
		t.Fatalf("a quiet sweep: %+v", st)
	}
	// By hand: one container of web gone, a stray one under api.
	ctx := t.Context()
	name := strings.ReplaceAll(e.sim.Tasks(specs.AppID("", web))[0].ID, "/", "_")
	if _, err := e.etcd.Client.Delete(ctx, "/services/web/dev/containers/"+name+"/info"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.etcd.Client.Put(ctx, "/services/api/prod/containers/stray/info", `{}`); err != nil {
		t.Fatal(err)
	}
	if st := s.sweep(t); st.Written != 2 || st.Containers != 3 {
		t.Fatalf("the sweep after changes by hand: %+v", st)
	}
	if d := e.exact(); d != "" {
		t.Fatalf("not exact after the sweep:\n%s", d)
	}
	if st := s.sweep(t); st.Written+st.Removed != 0 {
		t.Fatalf("a quiet sweep after the repair: %+v", st)
	}
	// By hand: a container's info changed in place.
	if _, err := e.etcd.Client.Put(ctx, "/services/web/dev/containers/"+name+"/info", `{"host":"elsewhere"}`); err != nil {
		t.Fatal(err)
	}
	if st := s.sweep(t); st.Written != 1 {
		t.Fatalf("the sweep after an info changed by hand: %+v", st)
	}
	if d := e.exact(); d != "" {
		t.Fatalf("not exact after the sweep:\n%s", d)
	}
	cfgs.set(web, map[string]string{"upstream": "api2"})
	if st := s.sweep(t); st.Written != 1 {
		t.Fatalf("the sweep after a config change: %+v", st)
	}
	g, err := e.rec.ReadGroup(ctx, web)
	if err != nil {
		t.Fatal(err)
	}
	if cfg, _ := g.Config(); cfg["upstream"] != "api2" {
		t.Errorf("config %v after the sweep", cfg)
	}
	if st := s.sweep(t); st.Written+st.Removed != 0 {
		t.Fatalf("a quiet sweep again: %+v", st)
	}
}

// configSource is a discovery.ConfigSource whose configs the test
// changes.
type configSource struct {
	mu sync.Mutex
	m  map[specs.GroupKey]map[string]string
}

func (c *configSource) GroupConfig(k specs.GroupKey) (map[string]string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cfg, ok := c.m[k]
	return cfg, ok
}

func (c *configSource) set(k specs.GroupKey, cfg map[string]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[k] = cfg
}

// TestDiscoveryPortNames: the containers of a group carry its ports'
// names and protocols whatever its network, so that a client reaches a
// port by name (endpoints.Endpoint.Addr, -o env, a template's .Ports).
// On host networking the names are those of the app's port definitions.
func TestDiscoveryPortNames(t *testing.T) {
	e := newDiscEnv(t, marathonsim.Options{})
	host := []specs.Network{{Mode: specs.NetworkHost}}
	cases := []struct {
		group string
		spec  specs.Spec
		want  []specs.PortMapping // HostPort 0: the task's port, in order
	}{
		{"bridge/dev", specs.Spec{Ports: []specs.Port{{Name: "http", ContainerPort: 80}, {Name: "dns", ContainerPort: 53, Protocol: "udp"}}},
			[]specs.PortMapping{{ContainerPort: 80, Name: "http", Protocol: "tcp"}, {ContainerPort: 53, Name: "dns", Protocol: "udp"}}},
		{"host/dev", specs.Spec{Networks: host, Ports: []specs.Port{{Name: "http"}, {Name: "dns", Protocol: "udp"}}},
			[]specs.PortMapping{{Name: "http", Protocol: "tcp"}, {Name: "dns", Protocol: "udp"}}},
		{"host/unnamed", specs.Spec{Networks: host, Ports: []specs.Port{{}}},
			[]specs.PortMapping{{Protocol: "tcp"}}},
	}
	for _, tc := range cases {
		e.deploy(dkey(t, tc.group), "nginx:1.27", 2, tc.spec)
	}
	e.startSyncer(discovery.Config{}, 0).quiet(t)
	for _, tc := range cases {
		t.Run(tc.group, func(t *testing.T) {
			k := dkey(t, tc.group)
			g, err := e.eps.Get(t.Context(), k.Service, k.LabelSet()...)
			if err != nil {
				t.Fatal(err)
			}
			tasks := e.sim.Tasks(specs.AppID("", k))
			if len(g.Endpoints) != len(tasks) {
				t.Fatalf("%d containers, %d tasks", len(g.Endpoints), len(tasks))
			}
			for _, ts := range tasks {
				i := slices.IndexFunc(g.Endpoints, func(ep endpoints.Endpoint) bool { return ep.Name == ts.ID })
				if i < 0 || len(ts.Ports) != len(tc.want) {
					t.Fatalf("task %s (ports %v): containers %+v", ts.ID, ts.Ports, g.Endpoints)
				}
				c := g.Endpoints[i]
				var want []endpoints.Port
				for j, w := range tc.want {
					cp := cmp.Or(w.ContainerPort, ts.Ports[j])
					want = append(want, endpoints.Port{ContainerPort: cp, HostPort: ts.Ports[j], Protocol: w.Protocol, Name: w.Name})
					if w.Name == "" {
						continue
					}
					if addr, ok := c.Addr(w.Name); addr != net.JoinHostPort(ts.Host, strconv.Itoa(ts.Ports[j])) {
						t.Errorf("%s: Addr(%q) = %q, %v; want port %d on %s", ts.ID, w.Name, addr, ok, ts.Ports[j], ts.Host)
					}
				}
				if !slices.Equal(c.Ports, want) {
					t.Errorf("%s: ports %+v, want %+v", ts.ID, c.Ports, want)
				}
			}
		})
	}
}
