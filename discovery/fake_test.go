package discovery_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"theseus.dev/discovery"
	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/etcd/etcdtest"
	"theseus.dev/drivers/marathon"
	"theseus.dev/internal/observe"
	"theseus.dev/specs"
)

// fakeMarathon is a Marathon (observe.Marathon) whose apps the test sets.
// Like the driver's, its lists give an app that did not change as the
// same *App.
type fakeMarathon struct {
	mu      sync.Mutex
	apps    map[specs.GroupKey]*marathon.App
	listErr error
	lists   atomic.Int64
	gets    atomic.Int64
	// hold, when set, keeps each list answer back until the test
	// releases it, after telling the test the apps were taken.
	hold chan chan struct{}
	// listed, when set, is told of each list call, without blocking.
	listed chan struct{}
}

func (f *fakeMarathon) Relist(ctx context.Context) ([]*marathon.App, error) {
	f.lists.Add(1)
	f.mu.Lock()
	if f.listed != nil {
		select {
		case f.listed <- struct{}{}:
		default:
		}
	}
	if f.listErr != nil {
		f.mu.Unlock()
		return nil, f.listErr
	}
	apps, hold := make([]*marathon.App, 0, len(f.apps)), f.hold
	for _, a := range f.apps {
		apps = append(apps, a)
	}
	f.mu.Unlock()
	if hold != nil {
		release := make(chan struct{})
		select {
		case hold <- release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return apps, nil
}

func (f *fakeMarathon) Get(_ context.Context, k specs.GroupKey) (marathon.App, error) {
	f.gets.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.listErr != nil {
		return marathon.App{}, f.listErr
	}
	a, ok := f.apps[k]
	if !ok {
		return marathon.App{}, fmt.Errorf("app %s: %w", k, marathon.ErrNotFound)
	}
	return *a, nil
}

func (f *fakeMarathon) set(a marathon.App) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.apps == nil {
		f.apps = map[specs.GroupKey]*marathon.App{}
	}
	f.apps[a.Key] = &a
}

func (f *fakeMarathon) remove(k specs.GroupKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.apps, k)
}

func (f *fakeMarathon) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listErr = err
}

// configs is a ConfigSource over fixed specs.
type configs map[specs.GroupKey]map[string]specs.Value

func (c configs) GroupConfig(k specs.GroupKey) (map[string]string, bool) {
	v, ok := c[k]
	if !ok {
		return nil, false
	}
	return specs.PublicConfig(v), true
}

func silentLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func dkey(t testing.TB, s string) specs.GroupKey {
	t.Helper()
	k, err := specs.ParseGroupKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// task returns a task of app k on agent-1; ports are host ports.
func task(k specs.GroupKey, n int, state, health string, ports ...int) marathon.Task {
	t := marathon.Task{ID: fmt.Sprintf("%s_%s.task-%d", k.Service, k.Labels, n), State: state, Host: "agent-1",
		Version: "2025-01-01T00:00:00.000Z", Ports: ports, Health: health}
	for i, p := range ports {
		t.Mappings = append(t.Mappings, specs.PortMapping{ContainerPort: 8080 + i, HostPort: p, Protocol: "tcp", Name: fmt.Sprintf("p%d", i)})
	}
	return t
}

func managedApp(k specs.GroupKey, checked bool, tasks ...marathon.Task) marathon.App {
	a := marathon.App{ID: "/" + k.String(), Key: k, Managed: true, Tasks: tasks}
	if checked {
		a.Spec.HealthChecks = []specs.HealthCheck{{Protocol: "HTTP"}}
	}
	return a
}

// syncerEnv is a syncer over a real etcd and a fake Marathon, behind an
// observer that lists only when asked (and at its start), so that the
// test triggers the sweeps.
type syncerEnv struct {
	t      *testing.T
	etcd   *etcdtest.Etcd
	store  *etcd.Discovery
	m      *fakeMarathon
	obs    *observe.Observer
	sweeps chan discovery.SweepStats
	now    atomic.Pointer[time.Time]
	syncer *discovery.Syncer
	cancel context.CancelFunc
	done   chan struct{}
}

func newSyncerEnv(t *testing.T, cfg discovery.Config) *syncerEnv {
	t.Helper()
	return newSyncerEnvOn(t, cfg, nil)
}

// newSyncerEnvOn is newSyncerEnv with the syncer's config changed by
// wrap, unless nil, once its store and cache are set.
func newSyncerEnvOn(t *testing.T, cfg discovery.Config, wrap func(*discovery.Config)) *syncerEnv {
	t.Helper()
	e := &syncerEnv{t: t, etcd: etcdtest.Start(t), m: &fakeMarathon{},
		sweeps: make(chan discovery.SweepStats, 100)}
	c, err := etcd.New(e.etcd.Client, etcd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.store = c.Discovery()
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	e.now.Store(&start)
	e.obs = observe.New(observe.Config{Marathon: e.m, Resync: time.Hour, Logger: silentLogger()})
	cfg.Apps = e.obs
	cfg.Store = e.store
	if cfg.Cache == nil {
		cfg.Cache = e.store.NewTreeCache()
	}
	if wrap != nil {
		wrap(&cfg)
	}
	cfg.Now = func() time.Time { return *e.now.Load() }
	cfg.Logger = silentLogger()
	cfg.Hooks.Sweep = e.sweepHook
	e.syncer = discovery.New(cfg)
	return e
}

// sweepHook passes sweep stats to the test; it never blocks.
func (e *syncerEnv) sweepHook(s discovery.SweepStats) {
	select {
	case e.sweeps <- s:
	default:
	}
}

func (e *syncerEnv) run() {
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan struct{})
	go func() {
		defer close(e.done)
		var wg sync.WaitGroup
		wg.Go(func() { _ = e.obs.Run(ctx) })
		if err := e.syncer.Run(ctx); err != nil {
			e.t.Errorf("Run: %v", err)
		}
		wg.Wait()
	}()
	e.t.Cleanup(e.stop)
}

func (e *syncerEnv) stop() {
	e.cancel()
	<-e.done
}

// sweep runs a sweep now, or with first waits for one the syncer runs by
// itself (its first, or one an event asked for), and returns its stats.
func (e *syncerEnv) sweep(first bool) discovery.SweepStats {
	e.t.Helper()
	if !first {
		ctx, cancel := context.WithTimeout(e.t.Context(), 10*time.Second)
		defer cancel()
		st, err := e.syncer.Sweep(ctx)
		if err != nil {
			e.t.Fatal(err)
		}
		return st
	}
	select {
	case s := <-e.sweeps:
		return s
	case <-time.After(10 * time.Second):
		e.t.Fatal("no sweep")
	}
	return discovery.SweepStats{}
}

// drain forgets the sweeps seen so far.
func (e *syncerEnv) drain() {
	for {
		select {
		case <-e.sweeps:
		default:
			return
		}
	}
}

func (e *syncerEnv) advance(d time.Duration) {
	n := e.now.Load().Add(d)
	e.now.Store(&n)
}

// tree returns every group of /services with its decoded containers.
func (e *syncerEnv) tree() map[string]map[string]specs.ContainerInfo {
	e.t.Helper()
	tr, err := e.store.ReadTree(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]map[string]specs.ContainerInfo{}
	for k, g := range tr.Groups {
		cs, err := g.Containers()
		if err != nil {
			e.t.Fatal(err)
		}
		out[k.String()] = cs
	}
	return out
}

// eventually polls cond until it holds, for at most limit.
func eventually(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", limit, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
