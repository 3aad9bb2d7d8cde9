package discovery_test

import (
	"context"
	"maps"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"theseus.dev/discovery"
	"theseus.dev/discovery/discoverytest"
	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/etcd/etcdtest"
	"theseus.dev/drivers/marathon"
	"theseus.dev/drivers/marathon/marathonsim"
	"theseus.dev/endpoints"
	"theseus.dev/internal/observe"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// discEnv is a real etcd and the Marathon simulator served over HTTP,
// reached by the real driver: what the discovery syncer talks to.
type discEnv struct {
	t     testing.TB
	etcd  *etcdtest.Etcd
	rec   *recordingStore
	sim   *marathonsim.Sim
	mc    *marathon.Client
	eps   *endpoints.Client
	watch sync.WaitGroup
}

func newDiscEnv(t testing.TB, opts marathonsim.Options) *discEnv {
	t.Helper()
	e := &discEnv{t: t, etcd: etcdtest.Start(t)}
	c, err := etcd.New(e.etcd.Client, etcd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.rec = &recordingStore{Discovery: c.Discovery(), written: map[string]map[int64][]string{}}
	if opts.Clock == nil {
		opts.Clock = marathonsim.NewScaledClock(time.Now(), 1000)
	}
	if e.sim, err = marathonsim.New(opts); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e.sim)
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		e.sim.Close()
	})
	if e.mc, err = marathon.New(marathon.Config{URLs: []string{srv.URL}, Timeout: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if e.eps, err = endpoints.New(e.etcd.Client); err != nil {
		t.Fatal(err)
	}
	return e
}

// recordingStore records every group state the syncer wrote, by the
// revision of its transaction.
type recordingStore struct {
	*etcd.Discovery
	mu      sync.Mutex
	written map[string]map[int64][]string
	writes  int
}

func (r *recordingStore) SyncGroup(ctx context.Context, fence etcd.Fence, have *etcd.GroupEntry, want etcd.GroupState) (etcd.SyncResult, error) {
	res, err := r.Discovery.SyncGroup(ctx, fence, have, want)
	if err == nil && res.Changed {
		r.mu.Lock()
		defer r.mu.Unlock()
		k := have.Key.String()
		if r.written[k] == nil {
			r.written[k] = map[int64][]string{}
		}
		r.written[k][res.Revision] = slices.Sorted(maps.Keys(want.Containers))
		r.writes++
	}
	return res, err
}

// wrote reports whether the syncer wrote group k with exactly names at
// revision rev.
func (r *recordingStore) wrote(k string, rev int64, names []string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	w, ok := r.written[k][rev]
	return ok && slices.Equal(w, names)
}

// deploy creates a managed app for k through the driver, with marker
// labels, and waits until its tasks run.
func (e *discEnv) deploy(k specs.GroupKey, image string, instances int, extra specs.Spec) {
	e.t.Helper()
	s := extra
	s.Image, s.Instances = image, &instances
	cpus, mem := 0.1, 64.0
	s.CPUs, s.Mem = &cpus, &mem
	if _, err := e.mc.Create(context.Background(), marathonWrite(k, specs.Normalize(s))); err != nil {
		e.t.Fatal(err)
	}
	e.settle()
}

// marathonWrite is the write of a normalised spec for k.
func marathonWrite(k specs.GroupKey, n specs.Spec) marathon.Write {
	return marathon.Write{Key: k, Spec: n, Hash: specs.Hash(n), Revision: 1}
}

// update rolls the app of k to a new image through the driver.
func (e *discEnv) update(k specs.GroupKey, image string, instances int, extra specs.Spec) {
	e.t.Helper()
	s := extra
	s.Image, s.Instances = image, &instances
	cpus, mem := 0.1, 64.0
	s.CPUs, s.Mem = &cpus, &mem
	n := specs.Normalize(s)
	if _, err := e.mc.Update(context.Background(), marathon.Write{Key: k, Spec: n, Hash: specs.Hash(n), Revision: 2}); err != nil {
		e.t.Fatal(err)
	}
	e.settle()
}

// settle waits until Marathon has no deployment in flight and every app
// runs its instances, ready.
func (e *discEnv) settle() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := e.sim.WaitFor(ctx, func() bool {
		if len(e.sim.Deployments()) > 0 {
			return false
		}
		for _, a := range e.sim.Apps() {
			ready := a.TasksRunning
			if a.HealthChecks > 0 {
				ready = a.TasksHealthy
			}
			if a.Queued > 0 || ready != a.Instances || a.TasksStaged > 0 || len(e.sim.Tasks(a.ID)) != a.Instances {
				return false
			}
		}
		return true
	})
	if err != nil {
		e.t.Fatalf("Marathon does not settle: %v", err)
	}
}

// exact reports how /services differs from the tasks Marathon runs; ""
// when it holds exactly them.
func (e *discEnv) exact() string {
	e.t.Helper()
	tree, err := e.rec.ReadTree(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	d, err := discoverytest.Diff(tree, e.sim)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// runningSyncer is a syncer behind an observer that the driver's event
// stream feeds.
type runningSyncer struct {
	d        *discovery.Syncer
	events   atomic.Int64 // task status events delivered
	attached atomic.Int64 // attaches of the event stream
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// startSyncer runs a syncer over e and the driver's event stream, until
// stop. Its observer lists at its start and when asked: sweeps run when
// the test asks. timeout bounds each Marathon call (0: the default).
func (e *discEnv) startSyncer(cfg discovery.Config, timeout time.Duration) *runningSyncer {
	return e.startSyncerOn(e.mc, cfg, timeout)
}

// startSyncerOn is startSyncer with the syncer's lists and reads made of
// m; the event stream is still the driver's.
func (e *discEnv) startSyncerOn(m observe.Marathon, cfg discovery.Config, timeout time.Duration) *runningSyncer {
	cfg.Store = e.rec
	if cfg.Cache == nil {
		cfg.Cache = e.rec.Discovery.NewTreeCache()
	}
	if cfg.Logger == nil {
		cfg.Logger = silentLogger()
	}
	r := &runningSyncer{}
	obs := observe.New(observe.Config{Marathon: m, Events: countEvents{e.mc, &r.events, &r.attached}, Resync: time.Hour,
		Timeout: timeout, Logger: cfg.Logger})
	cfg.Apps = obs
	r.d = discovery.New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.wg.Go(func() { _ = r.d.Run(ctx) })
	r.wg.Go(func() { _ = obs.Run(ctx) })
	e.t.Cleanup(r.stop)
	return r
}

// countEvents is an event stream that counts the task status events it
// delivers, and its attaches.
type countEvents struct {
	src      observe.EventSource
	n        *atomic.Int64
	attached *atomic.Int64
}

func (c countEvents) Events(ctx context.Context, fn func(model.Event)) error {
	return c.src.Events(ctx, func(ev model.Event) {
		if ev.Type == "status_update_event" {
			c.n.Add(1)
		}
		fn(ev)
		if ev.Type == model.EventResync {
			c.attached.Add(1) // counted once the observer has asked for its list
		}
	})
}

// quiet waits for the first sweep and the event stream's attach, and
// returns the stats of a sweep asked for after both. The list the attach
// asks for comes no later than that sweep, so no sweep runs afterwards
// that the test did not ask for: a test that counts what a sweep writes
// after changing the tree by hand would otherwise see one such list
// repair part of its changes first, when the stream attaches late.
func (r *runningSyncer) quiet(t testing.TB) discovery.SweepStats {
	t.Helper()
	eventually(t, 20*time.Second, "the first sweep", r.d.Synced)
	eventually(t, 20*time.Second, "the event stream attached", func() bool { return r.attached.Load() > 0 })
	return r.sweep(t)
}

// stop cancels the syncer and its event reader and waits for them.
func (r *runningSyncer) stop() {
	r.cancel()
	r.wg.Wait()
}

// sweep runs one full sweep now and fails the test if it fails.
func (r *runningSyncer) sweep(t testing.TB) discovery.SweepStats {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := r.d.Sweep(ctx)
	if err != nil || st.Err != nil {
		t.Fatalf("sweep: %v %v", err, st.Err)
	}
	return st
}

// watchGroups follows each group with the endpoints package until the
// test ends, and returns what each watcher saw.
func (e *discEnv) watchGroups(ctx context.Context, keys ...specs.GroupKey) *seenStates {
	s := &seenStates{states: map[string][]endpoints.Group{}}
	for _, k := range keys {
		e.watch.Go(func() {
			err := e.eps.Watch(ctx, k.Service, k.LabelSet(), func(g endpoints.Group) {
				s.mu.Lock()
				s.states[k.String()] = append(s.states[k.String()], g)
				s.mu.Unlock()
			})
			if err != nil {
				e.t.Error(err)
			}
		})
	}
	return s
}

// seenStates are the states watchers saw, by group.
type seenStates struct {
	mu     sync.Mutex
	states map[string][]endpoints.Group
}

// waitFor waits until the watcher of k saw a state for which cond holds.
func (s *seenStates) waitFor(t testing.TB, k specs.GroupKey, cond func(endpoints.Group) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s.mu.Lock()
		ok := slices.ContainsFunc(s.states[k.String()], cond)
		s.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the watcher of %s never saw the state waited for", k)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// check fails the test for every state a watcher saw that the syncer did
// not write whole, in one transaction; it returns the number of states.
func (s *seenStates) check(t testing.TB, rec *recordingStore) int {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, states := range s.states {
		for _, g := range states {
			n++
			if !g.Exists {
				continue
			}
			names := make([]string, len(g.Endpoints))
			for i, ep := range g.Endpoints {
				names[i] = ep.Name
			}
			if !rec.wrote(k, g.Revision, names) {
				t.Errorf("%s: watcher saw %v at revision %d, which the syncer never wrote", k, names, g.Revision)
			}
		}
	}
	return n
}
