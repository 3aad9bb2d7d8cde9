package discovery_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"theseus.dev/discovery"
	"theseus.dev/drivers/marathon"
	"theseus.dev/internal/observe"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// groupReads is a store whose reads of a group, the refresh's first etcd
// request, can be held back and made to fail, as when the etcd member the
// client picked is cut off from its cluster: the read hangs until its
// timeout, then fails, while the sweep's writes go through other members.
type groupReads struct {
	discovery.Store
	mu      sync.Mutex
	gate    chan struct{} // when set, reads wait until it is closed
	failing bool
	entered chan struct{} // told of each read that waits at the gate
}

func (g *groupReads) ReadGroup(ctx context.Context, k specs.GroupKey) (*model.GroupEntry, error) {
	g.mu.Lock()
	gate := g.gate
	g.mu.Unlock()
	if gate != nil {
		if err := pause(ctx, g.entered, struct{}{}, gate); err != nil {
			return nil, err
		}
	}
	g.mu.Lock()
	failing := g.failing
	g.mu.Unlock()
	if failing {
		return nil, errors.New("etcdserver: no leader")
	}
	return g.Store.ReadGroup(ctx, k)
}

// pause gives v to the test through told, then waits until release is
// closed; either ends early with ctx, so that a syncer can stop.
func pause[T any](ctx context.Context, told chan<- T, v T, release <-chan struct{}) error {
	select {
	case told <- v:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *groupReads) set(gate chan struct{}, failing bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gate, g.failing = gate, failing
}

// heldTree is a tree cache whose next read, the sweep's first step after
// it has its list, can be held until the test releases it.
type heldTree struct {
	discovery.TreeCache
	mu   sync.Mutex
	hold chan chan struct{}
}

// holdNext holds the next read of the tree; the channel gives the
// channel that releases it once the read waits.
func (h *heldTree) holdNext() <-chan chan struct{} {
	hold := make(chan chan struct{})
	h.mu.Lock()
	h.hold = hold
	h.mu.Unlock()
	return hold
}

func (h *heldTree) ReadTree(ctx context.Context) (*model.Tree, error) {
	h.mu.Lock()
	hold := h.hold
	h.hold = nil
	h.mu.Unlock()
	if hold != nil {
		release := make(chan struct{})
		if err := pause(ctx, hold, release, release); err != nil {
			return nil, err
		}
	}
	return h.TreeCache.ReadTree(ctx)
}

// TestDiscoveryRefreshFailsDuringSweep: an event's refresh of a group
// starts while a sweep whose list has the group's new task runs, and
// fails. The group is not left without its task: whichever of the
// sweep, the refresh's retry and the next sweep comes first writes it.
func TestDiscoveryRefreshFailsDuringSweep(t *testing.T) {
	for _, tc := range []struct {
		name string
		// hang: the refresh's read hangs until the sweep is over, then
		// fails (else it fails before the sweep reaches the group).
		hang bool
		// recover: the group's reads succeed again once the refresh has
		// failed (else they go on failing).
		recover bool
		// by is what must write the task: "the sweep", "the retry" (no
		// sweep runs meanwhile) or "the next sweep".
		by string
	}{
		{name: "failed before the sweep reached it", by: "the sweep"},
		{name: "failed after the sweep, etcd back", hang: true, recover: true, by: "the retry"},
		{name: "failed after the sweep, etcd still failing", hang: true, by: "the next sweep"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			web := dkey(t, "web/dev")
			reads := &groupReads{entered: make(chan struct{}, 100)}
			tree := &heldTree{}
			refreshed := make(chan discovery.RefreshStats, 100)
			e := newSyncerEnvOn(t, discovery.Config{Hooks: discovery.Hooks{Refresh: func(s discovery.RefreshStats) {
				select {
				case refreshed <- s:
				default:
				}
			}}}, func(cfg *discovery.Config) {
				reads.Store, tree.TreeCache = cfg.Store, cfg.Cache
				cfg.Store, cfg.Cache = reads, tree
			})
			one := task(web, 1, "TASK_RUNNING", "unknown", 31001)
			e.m.set(managedApp(web, false, one))
			e.run()
			e.sweep(true)
			// Until the cache's watch runs, each read of the tree is a
			// read of etcd, whose entries are new and always compared.
			eventually(t, 5*time.Second, "the tree cache follows the tree", func() bool {
				a, erra := tree.TreeCache.ReadTree(t.Context())
				b, errb := tree.TreeCache.ReadTree(t.Context())
				return erra == nil && errb == nil && a.Groups[web] != nil && a.Groups[web] == b.Groups[web]
			})

			// The sweep has its list, which has the second task, and
			// waits to read the tree; the task's event starts a refresh
			// meanwhile.
			e.m.set(managedApp(web, false, one, task(web, 2, "TASK_RUNNING", "unknown", 31002)))
			hold := tree.holdNext()
			swept := sweepInBackground(t, e)
			release := receive(t, hold, "the sweep's read of the tree")
			gate := make(chan struct{})
			if tc.hang {
				reads.set(gate, true)
			} else {
				reads.set(nil, true)
			}
			e.obs.Notify(marathon.Event{Type: "status_update_event", Key: web, KeyOK: true})
			if tc.hang {
				receive(t, reads.entered, "the refresh's read")
			} else if st := receive(t, refreshed, "the refresh"); st.Err == nil {
				t.Fatalf("refresh %+v, want it failed", st)
			}
			close(release)
			if r := receive(t, swept, "the sweep"); r.err != nil || r.st.Err != nil {
				t.Fatalf("sweep: %v, %v", r.err, r.st.Err)
			}
			if tc.hang {
				reads.set(nil, true)
				close(gate)
				if st := receive(t, refreshed, "the refresh"); st.Err == nil {
					t.Fatalf("refresh %+v, want it failed", st)
				}
				reads.set(nil, !tc.recover)
			}

			has := func() bool { return len(e.tree()["web/dev"]) == 2 }
			switch tc.by {
			case "the sweep":
				if !has() {
					t.Fatalf("after the sweep: %v, want both tasks", e.tree())
				}
			case "the retry":
				eventually(t, 10*time.Second, "the refresh's retry writes both tasks", has)
			case "the next sweep":
				e.sweep(false)
				if !has() {
					t.Fatalf("after the next sweep: %v, want both tasks", e.tree())
				}
			}
		})
	}
}

// sweepResult is what a sweep returned.
type sweepResult struct {
	st  discovery.SweepStats
	err error
}

// sweepInBackground starts a sweep on a goroutine that the test waits
// for before its environment stops; the sweep ends with the test's
// context, if not before.
func sweepInBackground(t *testing.T, e *syncerEnv) <-chan sweepResult {
	out := make(chan sweepResult, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		st, err := e.syncer.Sweep(t.Context())
		out <- sweepResult{st, err}
	})
	t.Cleanup(wg.Wait)
	return out
}

// receive returns what ch gives, failing the test after 10 seconds.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s", what)
	}
	var zero T
	return zero
}

// listedAt tells the test of each list the observer hands over, after
// the syncer (subscribed before it) has taken it.
type listedAt chan *observe.Listing

func (l listedAt) Invalidated(specs.GroupKey, uint64) {}
func (l listedAt) Listed(x *observe.Listing) {
	select {
	case l <- x:
	default:
	}
}

// TestDiscoveryRefreshBetweenListAndSweep: a list waits while the sweep
// before it runs, and meanwhile an event's refresh writes a newer view of
// a group than that list holds. The list's sweep leaves the group as the
// refresh wrote it, rather than put the older view back.
func TestDiscoveryRefreshBetweenListAndSweep(t *testing.T) {
	web := dkey(t, "web/dev")
	tree := &heldTree{}
	e := newSyncerEnvOn(t, discovery.Config{}, func(cfg *discovery.Config) {
		tree.TreeCache = cfg.Cache
		cfg.Cache = tree
	})
	lists := make(listedAt, 10)
	e.obs.Subscribe(lists)
	tasks := []marathon.Task{task(web, 1, "TASK_RUNNING", "unknown", 31001)}
	e.m.set(managedApp(web, false, tasks...))
	e.run()
	e.sweep(true)
	e.drain()

	// A sweep takes a list and waits to read the tree.
	hold := tree.holdNext()
	sweepInBackground(t, e) // its stats come through the hook
	release := receive(t, hold, "the first sweep's read of the tree")
	// The next list has a second task, and waits for that sweep to end.
	tasks = append(tasks, task(web, 2, "TASK_RUNNING", "unknown", 31002))
	e.m.set(managedApp(web, false, tasks...))
	for len(lists) > 0 {
		<-lists
	}
	e.obs.Resync()
	receive(t, lists, "the second list")
	// A third task starts; its event's refresh writes all three.
	tasks = append(tasks, task(web, 3, "TASK_RUNNING", "unknown", 31003))
	e.m.set(managedApp(web, false, tasks...))
	e.obs.Notify(marathon.Event{Type: "status_update_event", Key: web, KeyOK: true})
	eventually(t, 5*time.Second, "the refresh writes three tasks", func() bool { return len(e.tree()["web/dev"]) == 3 })

	close(release)
	for i := range 2 { // the first sweep, then the second list's
		if st := receive(t, e.sweeps, "a sweep"); st.Err != nil {
			t.Fatalf("sweep %d: %v", i+1, st.Err)
		}
	}
	if got := len(e.tree()["web/dev"]); got != 3 {
		t.Errorf("after the second list's sweep the tree holds %d tasks of web, want the refresh's 3", got)
	}
}

// TestDiscoveryReattachReplacesTaskEndedUnheard: while the event stream
// is down a task ends and another starts; the list asked for when it
// re-attaches has the change, and its sweep writes it, even though a
// refresh of the group ran while that list was in flight. That refresh
// read no Marathon: the controller's read had cleared the event's mark,
// so it wrote the observer's cached copy, older than the list, and a
// sweep that took it for a newer view left the ended task listed, ready,
// and the running one missing, until a later list.
func TestDiscoveryReattachReplacesTaskEndedUnheard(t *testing.T) {
	web := dkey(t, "web/dev")
	refreshed := make(chan discovery.RefreshStats, 100)
	// One refresh at once, the next 2s later: the second event's refresh
	// waits its turn while the test sets the stage.
	e := newSyncerEnv(t, discovery.Config{Burst: 1, MinInterval: 2 * time.Second,
		Hooks: discovery.Hooks{Refresh: func(s discovery.RefreshStats) {
			select {
			case refreshed <- s:
			default:
			}
		}}})
	one, two := task(web, 1, "TASK_RUNNING", "unknown", 31001), task(web, 2, "TASK_RUNNING", "unknown", 31002)
	e.m.set(managedApp(web, false, one))
	e.run()
	e.sweep(true)
	ev := marathon.Event{Type: "status_update_event", Key: web, KeyOK: true}

	// An event: the group's one refresh of its burst, at once.
	e.obs.Notify(ev)
	receive(t, refreshed, "the first refresh")
	// Another: its refresh waits its turn. The controller reads the app
	// meanwhile, as it does for a marked app: the observer's mark is
	// cleared and its cache holds task 1.
	e.obs.Notify(ev)
	if _, err := e.obs.Read(t.Context(), web); err != nil {
		t.Fatal(err)
	}
	// The event stream drops: task 1 ends and task 2 starts unheard. The
	// re-attach asks for a list, which has task 2 and is held.
	e.m.set(managedApp(web, false, two))
	hold := make(chan chan struct{})
	e.m.mu.Lock()
	e.m.hold = hold
	e.m.mu.Unlock()
	e.drain()
	e.obs.Notify(marathon.Event{Type: marathon.EventResync})
	release := receive(t, hold, "the re-attach's list")
	e.m.mu.Lock()
	e.m.hold = nil
	e.m.mu.Unlock()
	if len(refreshed) > 0 {
		// The stage took longer than the refresh's wait: the refresh
		// ran before the list began, and the test would show nothing.
		t.Skip("the waiting refresh ran before the list began; the machine was too slow for this test")
	}
	// The waiting refresh runs now, after the list began, on the cache.
	if st := receive(t, refreshed, "the waiting refresh"); st.Err != nil {
		t.Fatal(st.Err)
	}
	close(release)
	if st := receive(t, e.sweeps, "the list's sweep"); st.Err != nil {
		t.Fatal(st.Err)
	}
	got := e.tree()["web/dev"]
	if _, ok := got[one.ID]; ok {
		t.Errorf("after the sweep of a list without it, the ended task %s is still listed (ready %v)", one.ID, got[one.ID].Ready)
	}
	if _, ok := got[two.ID]; !ok {
		t.Errorf("after the sweep of a list with it, the running task %s is missing", two.ID)
	}
}
