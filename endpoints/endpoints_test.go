package endpoints_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/etcd/etcdtest"
	"theseus.dev/endpoints"
	"theseus.dev/specs"
)

// writer publishes groups the way the discovery syncer does.
type writer struct {
	t *testing.T
	d *etcd.Discovery
}

func newWriter(t *testing.T, e *etcdtest.Etcd, prefix string) writer {
	c, err := etcd.New(e.NewDirectClient(t), etcd.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return writer{t: t, d: c.Discovery()}
}

// containers returns n containers all tagged with version, ready unless
// notReady.
func containers(n int, version string) map[string]specs.ContainerInfo {
	out := map[string]specs.ContainerInfo{}
	for i := range n {
		name := fmt.Sprintf("task-%03d", i)
		out[name] = specs.ContainerInfo{InstanceHost: fmt.Sprintf("agent-%d", i%3+1), InstancePort: 31000 + i, InstanceName: name,
			PortMappings: []specs.PortMapping{{ContainerPort: 80, HostPort: 31000 + i, Protocol: "tcp", Name: "http"}},
			State:        "TASK_RUNNING", Health: "healthy", Ready: i%4 != 3, AppVersion: version}
	}
	return out
}

func (w writer) put(service, labels string, st etcd.GroupState) {
	w.t.Helper()
	k := specs.GroupKey{Service: service, Labels: labels}
	g, err := w.d.ReadGroup(context.Background(), k)
	if err != nil {
		w.t.Error(err)
		return
	}
	if _, err := w.d.SyncGroup(context.Background(), etcd.Fence{}, g, st); err != nil {
		w.t.Error(err)
	}
}

func (w writer) drop(service, labels string) {
	w.t.Helper()
	g, err := w.d.ReadGroup(w.t.Context(), specs.GroupKey{Service: service, Labels: labels})
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.d.DropGroup(w.t.Context(), etcd.Fence{}, g); err != nil {
		w.t.Fatal(err)
	}
}

// consistent fails unless every endpoint of g carries one version and
// their number is what that version was written with.
func consistent(t *testing.T, g endpoints.Group, sizes map[string]int) {
	t.Helper()
	if !g.Exists {
		return
	}
	versions := map[string]int{}
	for _, e := range g.Endpoints {
		versions[e.AppVersion]++
	}
	if len(versions) > 1 {
		t.Errorf("revision %d mixes versions: %v", g.Revision, versions)
	}
	for v, n := range versions {
		if n != sizes[v] {
			t.Errorf("revision %d: %d containers of %s, written with %d", g.Revision, n, v, sizes[v])
		}
	}
}

func TestGet(t *testing.T) {
	e := etcdtest.Start(t)
	w := newWriter(t, e, "/prod")
	w.put("web", "dev.frontend", etcd.GroupState{Containers: containers(4, "v1"), Config: map[string]string{"upstream": "api"}, Stale: true})
	w.put("web", "dev", etcd.GroupState{Containers: containers(1, "v1")})
	// Deeper than containers/{name}/info: put by hand, no container.
	if _, err := e.Client.Put(t.Context(), "/prod/services/web/dev/containers/ghost/x/info",
		`{"instance_name":"ghost","instance_host":"agent-9","instance_port":9,"ready":true}`); err != nil {
		t.Fatal(err)
	}
	// Groups whose labels are not spelt as theseus writes them, which
	// its syncer therefore never removes: put by hand, no group.
	for _, labels := range []string{"frontend.dev", "dev.dev", "tasks", "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q"} {
		dir := "/prod/services/web/" + labels + "/"
		for k, v := range map[string]string{
			dir + "revision":                  `{"generation":1,"containers":1,"ready":1}`,
			dir + "containers/phantom-1/info": `{"instance_name":"phantom-1","instance_host":"agent-9","instance_port":9,"ready":true}`,
		} {
			if _, err := e.Client.Put(t.Context(), k, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	c, err := endpoints.New(e.Client, endpoints.WithPrefix("/prod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		labels             []string
		exists, stale      bool
		endpoints, ready   int
		addrs              []string
		port, configUpstrm string
	}{
		{labels: []string{"frontend", "dev", "dev"}, exists: true, stale: true, endpoints: 4, ready: 3, port: "http",
			addrs: []string{"agent-1:31000", "agent-2:31001", "agent-3:31002"}, configUpstrm: "api"},
		{labels: []string{"dev"}, exists: true, endpoints: 1, ready: 1, port: "80", addrs: []string{"agent-1:31000"}},
		{labels: []string{"prod"}},
	} {
		g, err := c.Get(t.Context(), "web", tc.labels...)
		if err != nil {
			t.Fatal(err)
		}
		if g.Exists != tc.exists || g.Stale != tc.stale || len(g.Endpoints) != tc.endpoints || len(g.Ready()) != tc.ready ||
			!slices.Equal(g.Addrs(tc.port), tc.addrs) || g.Config["upstream"] != tc.configUpstrm {
			t.Errorf("%v: %+v, addrs %v", tc.labels, g, g.Addrs(tc.port))
		}
		if tc.exists && (g.Revision == 0 || g.Generation != 1 || g.UpdatedAt.IsZero()) {
			t.Errorf("%v: revision %d generation %d at %v", tc.labels, g.Revision, g.Generation, g.UpdatedAt)
		}
	}
	groups, err := c.Service(t.Context(), "web")
	if err != nil || len(groups) != 2 || !slices.Equal(groups[0].Labels, []string{"dev"}) || !slices.Equal(groups[1].Labels, []string{"dev", "frontend"}) {
		t.Fatalf("Service = %+v, %v", groups, err)
	}
	if groups, err := c.Service(t.Context(), "nothing"); err != nil || len(groups) != 0 {
		t.Fatalf("Service(nothing) = %+v, %v", groups, err)
	}
	for _, bad := range [][]string{nil, {"Dev"}, {"a.b"}, {"-x"}} {
		if _, err := c.Get(t.Context(), "web", bad...); !errors.Is(err, endpoints.ErrInvalidName) {
			t.Errorf("Get(web, %q): %v, want ErrInvalidName", bad, err)
		}
	}
	if _, err := endpoints.New(e.Client, endpoints.WithPrefix("prod/")); err == nil {
		t.Error("a prefix without a leading / accepted")
	}
}

// TestWatchSeesOnlyWholeUpdates has a writer change a group many times,
// some changes too large for one transaction, while Watch and
// WatchService follow it: every state they get must be one the writer
// wrote whole, and the last one the last written.
func TestWatchSeesOnlyWholeUpdates(t *testing.T) {
	e := etcdtest.Start(t)
	w := newWriter(t, e, "")
	c, err := endpoints.New(e.Client)
	if err != nil {
		t.Fatal(err)
	}
	sizes := map[string]int{}
	steps := []int{3, 300, 5, 0, 200, 7}
	for i, n := range steps {
		sizes[fmt.Sprintf("v%d", i)] = n
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var mu sync.Mutex
	var seen, seenService []endpoints.Group
	final := make(chan struct{})
	var once sync.Once
	// Each watcher's first delivery is the state before the writes: they
	// begin once both have it, or the service watcher may start after
	// the group is already gone.
	groupReady, serviceReady := make(chan struct{}), make(chan struct{})
	var groupOnce, serviceOnce sync.Once
	serviceSaw := make(chan struct{}) // the service watcher saw the group
	groupSaw := make(chan struct{})   // the group watcher saw it
	var sawGroup, sawGroupOwn sync.Once
	var wg sync.WaitGroup
	wg.Go(func() {
		err := c.Watch(ctx, "big", []string{"prod"}, func(g endpoints.Group) {
			groupOnce.Do(func() { close(groupReady) })
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, g)
			consistent(t, g, sizes)
			if g.Exists {
				sawGroupOwn.Do(func() { close(groupSaw) })
			}
			if !g.Exists && len(seen) > 1 {
				once.Do(func() { close(final) })
			}
		})
		if err != nil {
			t.Error(err)
		}
	})
	wg.Go(func() {
		err := c.WatchService(ctx, "big", func(gs []endpoints.Group) {
			serviceOnce.Do(func() { close(serviceReady) })
			mu.Lock()
			defer mu.Unlock()
			for _, g := range gs {
				consistent(t, g, sizes)
			}
			if len(gs) == 1 {
				seenService = append(seenService, gs[0])
				sawGroup.Do(func() { close(serviceSaw) })
			}
		})
		if err != nil {
			t.Error(err)
		}
	})
	for _, ready := range []chan struct{}{groupReady, serviceReady} {
		select {
		case <-ready:
		case <-time.After(20 * time.Second):
			t.Fatal("a watcher did not start")
		}
	}
	for i, n := range steps {
		w.put("big", "prod", etcd.GroupState{Containers: containers(n, fmt.Sprintf("v%d", i))})
	}
	// Dropped once both watchers saw the group: a slow watcher may
	// otherwise take all the updates at once and see only the end, which
	// is the state it began with.
	for _, saw := range []chan struct{}{serviceSaw, groupSaw} {
		select {
		case <-saw:
		case <-time.After(20 * time.Second):
			t.Fatal("a watcher did not see the group")
		}
	}
	w.drop("big", "prod")
	select {
	case <-final:
	case <-time.After(20 * time.Second):
		t.Fatal("the watcher did not see the group go")
	}
	cancel()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(seen) < 2 || len(seen) > len(steps)+2 {
		t.Errorf("watcher got %d states for %d updates", len(seen), len(steps)+1)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i].Exists && seen[i].Revision <= seen[i-1].Revision {
			t.Errorf("states out of order: %d after %d", seen[i].Revision, seen[i-1].Revision)
		}
	}
}

// TestWatchAcrossCompaction cuts the watcher off, writes and compacts the
// history it would resume from, and checks that it catches up.
func TestWatchAcrossCompaction(t *testing.T) {
	e := etcdtest.Start(t)
	w := newWriter(t, e, "")
	w.put("web", "dev", etcd.GroupState{Containers: containers(2, "v0")})
	c, err := endpoints.New(e.Client)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan endpoints.Group, 100)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := c.Watch(ctx, "web", []string{"dev"}, func(g endpoints.Group) { got <- g }); err != nil {
			t.Error(err)
		}
	})
	defer wg.Wait()
	defer cancel()
	wait := func(version string, n int) {
		t.Helper()
		for {
			select {
			case g := <-got:
				if len(g.Endpoints) == n && (n == 0 || g.Endpoints[0].AppVersion == version) {
					return
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("no state with %d containers of %s", n, version)
			}
		}
	}
	wait("v0", 2)
	e.Proxy().Refuse()
	for i := 1; i <= 3; i++ {
		w.put("web", "dev", etcd.GroupState{Containers: containers(i+2, fmt.Sprintf("v%d", i))})
	}
	e.Compact(t, e.Revision(t))
	e.Proxy().Accept()
	wait("v3", 5)
}

// TestWatchReconnectDelayResetsAfterLeaderLoss: the member a watcher
// talks to loses its leader, over and over, and regains it; once the
// watch is re-established, the next loss of the leader is retried after
// the shortest wait, not after the long one the earlier failures built up.
func TestWatchReconnectDelayResetsAfterLeaderLoss(t *testing.T) {
	cl := etcdtest.StartCluster(t, 3)
	w := newWriter(t, cl.Members[1], "")
	w.put("web", "dev", etcd.GroupState{Containers: containers(1, "v0")})
	c, err := endpoints.New(cl.NewClient(t, 0))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	// Each wait is handed to the test, which lets the watcher go on at
	// once: the watcher retries at the test's pace.
	waits := make(chan time.Duration)
	endpoints.SetRetryTimer(c, func(d time.Duration) <-chan time.Time {
		ch := make(chan time.Time, 1)
		select {
		case waits <- d:
			ch <- time.Now()
		case <-ctx.Done():
		}
		return ch
	})
	got := make(chan endpoints.Group, 100)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := c.Watch(ctx, "web", []string{"dev"}, func(g endpoints.Group) { got <- g }); err != nil {
			t.Error(err)
		}
	})
	defer wg.Wait()
	defer cancel()
	// until takes the watcher's waits until it delivers version.
	until := func(version string) {
		t.Helper()
		for {
			select {
			case g := <-got:
				if len(g.Endpoints) == 1 && g.Endpoints[0].AppVersion == version {
					return
				}
			case <-waits:
			case <-time.After(30 * time.Second):
				t.Fatalf("no state of %s", version)
			}
		}
	}
	nextWait := func() time.Duration {
		t.Helper()
		select {
		case d := <-waits:
			return d
		case <-time.After(30 * time.Second):
			t.Fatal("the watch did not end without a leader")
			return 0
		}
	}
	until("v0")
	cl.Isolate(0)
	for range 5 {
		nextWait()
	}
	w.put("web", "dev", etcd.GroupState{Containers: containers(1, "v1")})
	cl.Heal(0)
	until("v1")
	cl.Isolate(0)
	if d := nextWait(); d > endpoints.RetryMin {
		t.Errorf("a watch that ran was retried after %v, want at most %v", d, endpoints.RetryMin)
	}
	cl.Heal(0)
}

// TestAddr: an endpoint's address by port name, container port or first
// port; a port with no host port (on a container network) has none,
// never host:0.
func TestAddr(t *testing.T) {
	e := endpoints.Endpoint{Host: "agent-1", Port: 31001, Ports: []endpoints.Port{
		{ContainerPort: 80, HostPort: 0, Protocol: "tcp", Name: "http"},
		{ContainerPort: 9000, HostPort: 31001, Protocol: "tcp", Name: "admin"},
	}}
	for _, tc := range []struct {
		port, want string
		ok         bool
	}{
		{"", "agent-1:31001", true},
		{"admin", "agent-1:31001", true},
		{"9000", "agent-1:31001", true},
		{"http", "", false},
		{"80", "", false},
		{"metrics", "", false},
	} {
		if got, ok := e.Addr(tc.port); got != tc.want || ok != tc.ok {
			t.Errorf("Addr(%q) = %q, %v; want %q, %v", tc.port, got, ok, tc.want, tc.ok)
		}
	}
	if got := (endpoints.Group{Endpoints: []endpoints.Endpoint{{Host: "agent-2", Ready: true}}}).Addrs(""); len(got) != 0 {
		t.Errorf("Addrs of an endpoint without ports: %v", got)
	}
}
