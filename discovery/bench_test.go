package discovery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/discovery"
	"theseus.dev/drivers/marathon/marathonsim"
	"theseus.dev/internal/observe"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// BenchmarkDiscoveryLatency measures how long after a task starts running
// in the simulator its entry in /services says so, through the event
// stream, the driver and etcd: each iteration kills a task and times its
// replacement. The groups are taken in turn, so each task start is a lone
// change of its group, as in a cluster at rest.
func BenchmarkDiscoveryLatency(b *testing.B) {
	const groups = 50
	e := newDiscEnv(b, marathonsim.Options{Clock: marathonsim.NewScaledClock(time.Now(), 100)})
	keys := make([]specs.GroupKey, groups)
	for i := range keys {
		keys[i] = dkey(b, fmt.Sprintf("lat/g%d", i))
		e.deploy(keys[i], "nginx:1.27", 2, portSpec())
	}
	s := e.startSyncer(discovery.Config{}, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	running := e.observeRunning(ctx)
	registered := e.observeRegistered(ctx)
	eventually(b, 20*time.Second, "the first sweep", s.d.Synced)
	var lat []time.Duration
	i := 0
	for b.Loop() {
		k := keys[i%groups]
		i++
		id := e.replace(k)
		lat = append(lat, registered.wait(id).Sub(running.wait(id)))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// replace kills a task of k and returns the id of the task Marathon
// starts in its place.
func (e *discEnv) replace(k specs.GroupKey) string {
	app := specs.AppID("", k)
	before := map[string]bool{}
	tasks := e.sim.Tasks(app)
	for _, ts := range tasks {
		before[ts.ID] = true
	}
	if err := e.sim.KillTask(tasks[0].ID); err != nil {
		e.t.Fatal(err)
	}
	for {
		ch := e.sim.Changed()
		for _, ts := range e.sim.Tasks(app) {
			if !before[ts.ID] {
				return ts.ID
			}
		}
		<-ch
	}
}

func ptrTo[T any](v T) *T { return &v }

// firstSeen records when each task id was first seen in some state.
type firstSeen struct {
	mu    sync.Mutex
	at    map[string]time.Time
	added chan struct{} // closed and replaced at each addition
}

func newFirstSeen() *firstSeen {
	return &firstSeen{at: map[string]time.Time{}, added: make(chan struct{})}
}

func (f *firstSeen) add(id string, t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.at[id]; !ok {
		f.at[id] = t
		close(f.added)
		f.added = make(chan struct{})
	}
}

// wait returns when id was first seen, waiting for it.
func (f *firstSeen) wait(id string) time.Time {
	for {
		f.mu.Lock()
		t, ok := f.at[id]
		ch := f.added
		f.mu.Unlock()
		if ok {
			return t
		}
		<-ch
	}
}

// observeRunning records, in real time, when each task of the simulator
// is first TASK_RUNNING.
func (e *discEnv) observeRunning(ctx context.Context) *firstSeen {
	f := newFirstSeen()
	e.watch.Go(func() {
		for ctx.Err() == nil {
			ch := e.sim.Changed()
			now := time.Now()
			for _, ts := range e.sim.Tasks("") {
				if ts.State == "TASK_RUNNING" {
					f.add(ts.ID, now)
				}
			}
			select {
			case <-ch:
			case <-ctx.Done():
			}
		}
	})
	return f
}

// observeRegistered records when /services first lists each container as
// TASK_RUNNING.
func (e *discEnv) observeRegistered(ctx context.Context) *firstSeen {
	f := newFirstSeen()
	wch := e.etcd.Client.Watch(ctx, "/services/", clientv3.WithPrefix(), clientv3.WithRev(1))
	e.watch.Go(func() {
		for wr := range wch {
			now := time.Now()
			for _, ev := range wr.Events {
				var info specs.ContainerInfo
				if ev.Type == clientv3.EventTypePut && json.Unmarshal(ev.Kv.Value, &info) == nil && info.State == "TASK_RUNNING" {
					f.add(info.InstanceName, now)
				}
			}
		}
	})
	return f
}

// BenchmarkDiscoverySweep50k measures a full sweep of 10,000 apps of 5
// tasks each: one list of 50,000 tasks over HTTP, one read of the tree,
// and the comparison. The first sweep, which writes every group into an
// empty tree, is reported apart.
func BenchmarkDiscoverySweep50k(b *testing.B) {
	const apps, perApp = 10_000, 5
	e := runningApps(b, apps, perApp)
	s := e.startSyncer(discovery.Config{}, 5*time.Minute)
	first := s.sweep(b)
	if first.Groups != apps || first.Containers != apps*perApp {
		b.Fatalf("first sweep %+v", first)
	}
	// The parts of a sweep, timed alone.
	start := time.Now()
	if _, err := e.mc.List(context.Background()); err != nil {
		b.Fatal(err)
	}
	listTime := time.Since(start)
	start = time.Now()
	if _, err := e.rec.ReadTree(context.Background()); err != nil {
		b.Fatal(err)
	}
	treeTime := time.Since(start)
	for b.Loop() {
		if st := s.sweep(b); st.Written+st.Removed != 0 {
			b.Fatalf("a sweep with nothing to do wrote: %+v", st)
		}
	}
	b.ReportMetric(first.Duration.Seconds(), "first-sweep-s")
	b.ReportMetric(listTime.Seconds()*1000, "list-ms")
	b.ReportMetric(treeTime.Seconds()*1000, "tree-read-ms")
}

// runningApps returns an env whose simulator runs n apps of perApp tasks,
// every deployment over.
func runningApps(b *testing.B, n, perApp int) *discEnv {
	clock := marathonsim.NewManualClock(time.Time{})
	e := newDiscEnv(b, marathonsim.Options{Clock: clock,
		Agents: marathonsim.UniformAgents(50, 128, 512*1024, marathonsim.PortRange{Begin: 31000, End: 32999})})
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range n {
		k := dkey(b, fmt.Sprintf("svc%d/g%d", i/100, i%100))
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			s := specs.Spec{Image: "worker:1", Instances: ptrTo(perApp), CPUs: ptrTo(0.1), Mem: ptrTo(64.0)}
			n := specs.Normalize(s)
			if _, err := e.mc.Create(context.Background(), marathonWrite(k, n)); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
	if err := e.sim.RunUntil(func() bool { return len(e.sim.Deployments()) == 0 }, time.Second, time.Hour); err != nil {
		b.Fatal(err)
	}
	return e
}

// BenchmarkQuietSweep50k is a sweep of BenchmarkDiscoverySweep50k's
// apps and tree with the list taken out: every list is the first, as
// decoded then, so that what is timed is the sweep's own work, the read
// of its copy of the tree and the comparison of every group, which a
// list over HTTP, and the simulator that builds it, would drown.
func BenchmarkQuietSweep50k(b *testing.B) {
	const apps, perApp = 10_000, 5
	e := runningApps(b, apps, perApp)
	s := e.startSyncerOn(&listedOnce{Marathon: e.mc}, discovery.Config{}, 5*time.Minute)
	if first := s.sweep(b); first.Groups != apps || first.Containers != apps*perApp {
		b.Fatalf("first sweep %+v", first)
	}
	b.ReportAllocs()
	for b.Loop() {
		if st := s.sweep(b); st.Written+st.Removed != 0 || st.Groups != apps {
			b.Fatalf("a sweep with nothing to do: %+v", st)
		}
	}
}

// listedOnce is a Marathon whose every list is its first.
type listedOnce struct {
	observe.Marathon
	once sync.Once
	apps []*model.App
	err  error
}

func (l *listedOnce) Relist(ctx context.Context) ([]*model.App, error) {
	l.once.Do(func() { l.apps, l.err = l.Marathon.Relist(ctx) })
	return l.apps, l.err
}
