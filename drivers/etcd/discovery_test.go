package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/drivers/etcd"
	"theseus.dev/specs"
)

func info(name string, port int) specs.ContainerInfo {
	return specs.ContainerInfo{
		InstanceHost: "agent-1", InstancePort: port, InstanceName: name,
		PortMappings: []specs.PortMapping{{ContainerPort: 80, HostPort: port, Protocol: "tcp", Name: "http"}},
		State:        "TASK_RUNNING", Ready: true,
	}
}

// TestDiscoveryOperations runs every operation of the driver on existing
// nodes and checks the keys it leaves in etcd.
func TestDiscoveryOperations(t *testing.T) {
	e, c := start(t, etcd.Options{})
	ctx := t.Context()
	d := c.Discovery()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(d.CreateService(ctx, "web"))
	must(d.CreateGroup(ctx, "web", "dev.frontend", map[string]string{"upstream": "api"}))
	must(d.CreateGroup(ctx, "api", "dev", nil)) // creates the service too
	must(d.CreateService(ctx, "web-x"))         // sorts between "web" and "web/"

	if ok, err := d.ServiceExists(ctx, "api"); !ok || err != nil {
		t.Fatalf("ServiceExists(api) = %v, %v", ok, err)
	}
	if ok, err := d.GroupExists(ctx, "web", "dev.frontend"); !ok || err != nil {
		t.Fatalf("GroupExists = %v, %v", ok, err)
	}
	if names, err := d.ServiceNames(ctx); err != nil || !slices.Equal(names, []string{"api", "web", "web-x"}) {
		t.Fatalf("ServiceNames = %v, %v", names, err)
	}
	must(d.CreateGroup(ctx, "web", "prod", nil))
	if groups, err := d.ServiceGroups(ctx, "web"); err != nil || !slices.Equal(groups, []string{"dev.frontend", "prod"}) {
		t.Fatalf("ServiceGroups = %v, %v", groups, err)
	}
	if cfg, err := d.GroupConfig(ctx, "web", "dev.frontend"); err != nil || cfg["upstream"] != "api" || len(cfg) != 1 {
		t.Fatalf("GroupConfig = %v, %v", cfg, err)
	}
	must(d.SetGroupConfig(ctx, "web", "dev.frontend", map[string]string{"upstream": "api2", "x": "y"}))
	if cfg, err := d.GroupConfig(ctx, "web", "dev.frontend"); err != nil || cfg["upstream"] != "api2" || len(cfg) != 2 {
		t.Fatalf("GroupConfig after set = %v, %v", cfg, err)
	}

	const task1, task2 = "web_dev.frontend.4c8d2a1e-1", "web_dev.frontend.4c8d2a1e-2"
	must(d.RegisterContainer(ctx, "web", "dev.frontend", task1, info(task1, 31001)))
	must(d.RegisterContainer(ctx, "web", "dev.frontend", task2, info(task2, 31002)))
	must(d.RegisterContainer(ctx, "web", "prod", "p1", info("p1", 31003)))
	if names, err := d.GroupContainerNames(ctx, "web", "dev.frontend"); err != nil || !slices.Equal(names, []string{task1, task2}) {
		t.Fatalf("GroupContainerNames = %v, %v", names, err)
	}
	if ok, err := d.ContainerExists(ctx, "web", "dev.frontend", task1); !ok || err != nil {
		t.Fatalf("ContainerExists = %v, %v", ok, err)
	}
	if got, err := d.ContainerInfo(ctx, "web", "dev.frontend", task2); err != nil || got.InstancePort != 31002 || got.PortMappings[0].Name != "http" {
		t.Fatalf("ContainerInfo = %+v, %v", got, err)
	}
	updated := info(task2, 31009)
	updated.Ready = false
	must(d.SetContainerInfo(ctx, "web", "dev.frontend", task2, updated))
	if got, _ := d.ContainerInfo(ctx, "web", "dev.frontend", task2); got.InstancePort != 31009 || got.Ready {
		t.Fatalf("after SetContainerInfo: %+v", got)
	}
	all, err := d.ServiceContainers(ctx, "web")
	if err != nil || len(all) != 3 || all[0].Group != "dev.frontend" || all[0].Name != task1 || all[2].Group != "prod" || all[2].Err != nil {
		t.Fatalf("ServiceContainers = %+v, %v", all, err)
	}

	// The keys are those documented on Discovery.
	resp, err := e.Client.Get(ctx, "/services/web/dev.frontend/containers/"+task1+"/info")
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("info key: %v, %v", resp, err)
	}
	for k, want := range map[string]string{
		"/services/web":                     `{"service":"web"}`,
		"/services/web/dev.frontend":        `{"service":"web","labels":["dev","frontend"]}`,
		"/services/web/dev.frontend/config": `{"upstream":"api2","x":"y"}`,
	} {
		resp, err := e.Client.Get(ctx, k)
		if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != want {
			t.Errorf("%s = %v, %v; want %s", k, resp.Kvs, err, want)
		}
	}

	must(d.DeregisterContainer(ctx, "web", "dev.frontend", task1))
	if ok, _ := d.ContainerExists(ctx, "web", "dev.frontend", task1); ok {
		t.Fatal("deregistered container still exists")
	}
	must(d.RemoveGroup(ctx, "web", "dev.frontend"))
	if ok, _ := d.GroupExists(ctx, "web", "dev.frontend"); ok {
		t.Fatal("removed group still exists")
	}
	must(d.RemoveService(ctx, "web"))
	if names, _ := d.ServiceNames(ctx); !slices.Equal(names, []string{"api", "web-x"}) {
		t.Fatalf("after RemoveService: %v", names)
	}
	resp, err = e.Client.Get(ctx, "/services/web", clientv3.WithPrefix())
	if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Key) != "/services/web-x" {
		t.Fatalf("keys left under /services/web: %v", resp.Kvs)
	}
}

// TestDiscoveryAbsent calls every operation on a missing service, group
// and container: each fails with the matching sentinel, and none panics.
func TestDiscoveryAbsent(t *testing.T) {
	_, c := start(t, etcd.Options{})
	ctx := t.Context()
	d := c.Discovery()
	if err := d.CreateGroup(ctx, "web", "dev", nil); err != nil {
		t.Fatal(err)
	}
	if err := d.CreateService(ctx, "empty"); err != nil {
		t.Fatal(err)
	}
	ci := info("x", 1)
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"CreateService existing", d.CreateService(ctx, "web"), etcd.ErrServiceExists},
		{"CreateGroup existing", d.CreateGroup(ctx, "web", "dev", nil), etcd.ErrGroupExists},
		{"RemoveService", d.RemoveService(ctx, "nope"), etcd.ErrServiceNotFound},
		{"RemoveGroup no service", d.RemoveGroup(ctx, "nope", "dev"), etcd.ErrServiceNotFound},
		{"RemoveGroup", d.RemoveGroup(ctx, "web", "prod"), etcd.ErrGroupNotFound},
		{"ServiceGroups", second(d.ServiceGroups(ctx, "nope")), etcd.ErrServiceNotFound},
		{"ServiceContainers", second(d.ServiceContainers(ctx, "nope")), etcd.ErrServiceNotFound},
		{"GroupConfig no service", second(d.GroupConfig(ctx, "nope", "dev")), etcd.ErrServiceNotFound},
		{"GroupConfig", second(d.GroupConfig(ctx, "web", "prod")), etcd.ErrGroupNotFound},
		{"SetGroupConfig", d.SetGroupConfig(ctx, "empty", "dev", nil), etcd.ErrGroupNotFound},
		{"GroupContainerNames no service", second(d.GroupContainerNames(ctx, "nope", "dev")), etcd.ErrServiceNotFound},
		{"GroupContainerNames", second(d.GroupContainerNames(ctx, "web", "prod")), etcd.ErrGroupNotFound},
		{"ContainerInfo no service", second(d.ContainerInfo(ctx, "nope", "dev", "x")), etcd.ErrServiceNotFound},
		{"ContainerInfo no group", second(d.ContainerInfo(ctx, "web", "prod", "x")), etcd.ErrGroupNotFound},
		{"ContainerInfo", second(d.ContainerInfo(ctx, "web", "dev", "x")), etcd.ErrContainerNotFound},
		{"SetContainerInfo no group", d.SetContainerInfo(ctx, "web", "prod", "x", ci), etcd.ErrGroupNotFound},
		{"SetContainerInfo", d.SetContainerInfo(ctx, "web", "dev", "x", ci), etcd.ErrContainerNotFound},
		{"RegisterContainer no service", d.RegisterContainer(ctx, "nope", "dev", "x", ci), etcd.ErrServiceNotFound},
		{"RegisterContainer no group", d.RegisterContainer(ctx, "web", "prod", "x", ci), etcd.ErrGroupNotFound},
		{"DeregisterContainer no group", d.DeregisterContainer(ctx, "web", "prod", "x"), etcd.ErrGroupNotFound},
		{"DeregisterContainer", d.DeregisterContainer(ctx, "web", "dev", "x"), etcd.ErrContainerNotFound},
		{"ReplaceGroupContainers", d.ReplaceGroupContainers(ctx, "web", "prod", nil), etcd.ErrGroupNotFound},
	}
	for _, tc := range cases {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
		if errors.Is(tc.want, etcd.ErrNotFound) && !errors.Is(tc.err, etcd.ErrNotFound) {
			t.Errorf("%s: %v does not match ErrNotFound", tc.name, tc.err)
		}
	}
	for name, ok := range map[string]bool{
		"ServiceExists":   first(d.ServiceExists(ctx, "nope")),
		"GroupExists":     first(d.GroupExists(ctx, "web", "prod")),
		"ContainerExists": first(d.ContainerExists(ctx, "web", "dev", "x")),
	} {
		if ok {
			t.Errorf("%s of an absent node is true", name)
		}
	}
	if names, err := d.GroupContainerNames(ctx, "web", "dev"); err != nil || len(names) != 0 {
		t.Errorf("containers of an empty group: %v, %v", names, err)
	}
}

func first[T any](v T, _ error) T { return v }
func second[T any](_ T, err error) error {
	return err
}

func TestDiscoveryInvalidNames(t *testing.T) {
	_, c := start(t, etcd.Options{})
	ctx := t.Context()
	d := c.Discovery()
	for name, err := range map[string]error{
		"upper-case service":   d.CreateService(ctx, "Web"),
		"slash in service":     d.CreateService(ctx, "a/b"),
		"unsorted labels":      d.CreateGroup(ctx, "web", "frontend.dev", nil),
		"empty labels":         second(d.GroupExists(ctx, "web", "")),
		"slash in container":   d.RegisterContainer(ctx, "web", "dev", "a/b", info("a", 1)),
		"dot-dot container":    second(d.ContainerExists(ctx, "web", "dev", "..")),
		"empty container":      d.DeregisterContainer(ctx, "web", "dev", ""),
		"newline in container": second(d.ContainerInfo(ctx, "web", "dev", "a\nb")),
	} {
		if !errors.Is(err, etcd.ErrInvalidName) {
			t.Errorf("%s: %v, want ErrInvalidName", name, err)
		}
	}
}

// TestDiscoveryCorruptValues checks that a value written by someone else
// that does not decode is reported for its key, not dropped, not a panic.
func TestDiscoveryCorruptValues(t *testing.T) {
	e, c := start(t, etcd.Options{})
	ctx := t.Context()
	d := c.Discovery()
	if err := d.CreateGroup(ctx, "web", "dev", nil); err != nil {
		t.Fatal(err)
	}
	if err := d.RegisterContainer(ctx, "web", "dev", "good", info("good", 1)); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"/services/web/dev/containers/bad/info": `{"instance_port":"x"}`,
		"/services/web/dev/config":              `[1,2]`,
	} {
		if _, err := e.Client.Put(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	all, err := d.ServiceContainers(ctx, "web")
	if err != nil || len(all) != 2 || !errors.Is(all[0].Err, etcd.ErrCorrupt) || all[1].Err != nil {
		t.Fatalf("ServiceContainers = %+v, %v", all, err)
	}
	if _, err := d.ContainerInfo(ctx, "web", "dev", "bad"); !errors.Is(err, etcd.ErrCorrupt) {
		t.Fatalf("ContainerInfo of a corrupt value: %v", err)
	}
	if _, err := d.GroupConfig(ctx, "web", "dev"); !errors.Is(err, etcd.ErrCorrupt) {
		t.Fatalf("GroupConfig of a corrupt value: %v", err)
	}
}

// TestDiscoveryStorm has many goroutines register and deregister
// containers of one group concurrently; the group must end with exactly
// the containers whose last operation was a registration.
func TestDiscoveryStorm(t *testing.T) {
	_, c := start(t, etcd.Options{})
	ctx := t.Context()
	d := c.Discovery()
	if err := d.CreateGroup(ctx, "web", "dev", nil); err != nil {
		t.Fatal(err)
	}
	const workers, namesPerWorker, opsPerWorker = 8, 10, 60
	var mu sync.Mutex
	want := map[string]bool{}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			registered := map[string]bool{}
			for range opsPerWorker {
				// Each worker owns its names, so its own record of the
				// last operation on a name is the truth for that name.
				name := fmt.Sprintf("task-%d-%d", w, r.IntN(namesPerWorker))
				var err error
				if registered[name] && r.IntN(2) == 0 {
					err = d.DeregisterContainer(ctx, "web", "dev", name)
					registered[name] = false
				} else {
					err = d.RegisterContainer(ctx, "web", "dev", name, info(name, 30000+r.IntN(1000)))
					registered[name] = true
				}
				if err != nil {
					errs <- err
					return
				}
			}
			mu.Lock()
			for n, ok := range registered {
				if ok {
					want[n] = true
				}
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, err := d.GroupContainerNames(ctx, "web", "dev")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, slices.Sorted(maps.Keys(want))) {
		t.Fatalf("containers %v, want %v", got, slices.Sorted(maps.Keys(want)))
	}
}

// TestDiscoveryRemoveIsAtomic watches a service while it is removed: all
// its keys must go in one revision, so a watcher never sees half.
func TestDiscoveryRemoveIsAtomic(t *testing.T) {
	e, c := start(t, etcd.Options{})
	ctx := t.Context()
	d := c.Discovery()
	for _, g := range []string{"dev", "prod"} {
		if err := d.CreateGroup(ctx, "web", g, nil); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if err := d.RegisterContainer(ctx, "web", g, fmt.Sprint(i), info("x", i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wch := e.Client.Watch(wctx, "/services/web", clientv3.WithPrefix(), clientv3.WithRev(e.Revision(t)+1))
	if err := d.RemoveService(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	select {
	case wr := <-wch:
		// service, 2 groups, 2 configs, 6 containers
		if len(wr.Events) != 11 {
			t.Fatalf("first watch response holds %d deletes, want all 11", len(wr.Events))
		}
		for _, ev := range wr.Events {
			if ev.Kv.ModRevision != wr.Events[0].Kv.ModRevision {
				t.Fatal("deletes spread over several revisions")
			}
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event")
	}
}

// TestReplaceGroupContainers replaces a group's container set and checks
// that only the differences are written.
func TestReplaceGroupContainers(t *testing.T) {
	e, c := start(t, etcd.Options{})
	ctx := t.Context()
	d := c.Discovery()
	if err := d.CreateGroup(ctx, "web", "dev", nil); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b", "c"} {
		if err := d.RegisterContainer(ctx, "web", "dev", n, info(n, 1)); err != nil {
			t.Fatal(err)
		}
	}
	before, err := e.Client.Get(ctx, "/services/web/dev/containers/a/info")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]specs.ContainerInfo{"a": info("a", 1), "b": info("b", 2), "d": info("d", 4)}
	if err := d.ReplaceGroupContainers(ctx, "web", "dev", want); err != nil {
		t.Fatal(err)
	}
	if names, _ := d.GroupContainerNames(ctx, "web", "dev"); !slices.Equal(names, []string{"a", "b", "d"}) {
		t.Fatalf("containers %v", names)
	}
	after, _ := e.Client.Get(ctx, "/services/web/dev/containers/a/info")
	if after.Kvs[0].ModRevision != before.Kvs[0].ModRevision {
		t.Error("an unchanged container was rewritten")
	}
	if got, _ := d.ContainerInfo(ctx, "web", "dev", "b"); got.InstancePort != 2 {
		t.Errorf("changed container not rewritten: %+v", got)
	}
	rev := e.Revision(t)
	if err := d.ReplaceGroupContainers(ctx, "web", "dev", want); err != nil {
		t.Fatal(err)
	}
	if e.Revision(t) != rev {
		t.Error("replacing with the same set wrote something")
	}
	too := map[string]specs.ContainerInfo{}
	for i := range etcd.MaxTxnOps + 1 {
		too[fmt.Sprint("n", i)] = info("n", i)
	}
	if err := d.ReplaceGroupContainers(ctx, "web", "dev", too); !errors.Is(err, etcd.ErrTooManyOps) {
		t.Fatalf("oversized replace: %v", err)
	}
}

// TestContainerLease registers a container on a lease: revoking the lease
// removes it, as a dead daemon's containers must go.
func TestContainerLease(t *testing.T) {
	e, c := start(t, etcd.Options{})
	ctx := t.Context()
	d := c.Discovery()
	if err := d.CreateGroup(ctx, "web", "dev", nil); err != nil {
		t.Fatal(err)
	}
	lease, err := e.Client.Grant(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.RegisterContainer(ctx, "web", "dev", "a", info("a", 1), etcd.WithLease(lease.ID)); err != nil {
		t.Fatal(err)
	}
	if err := d.SetContainerInfo(ctx, "web", "dev", "a", info("a", 2)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Client.Revoke(ctx, lease.ID); err != nil {
		t.Fatal(err)
	}
	if ok, err := d.ContainerExists(ctx, "web", "dev", "a"); ok || err != nil {
		t.Fatalf("container on a revoked lease: exists=%v, %v", ok, err)
	}
	if ok, _ := d.GroupExists(ctx, "web", "dev"); !ok {
		t.Fatal("the group went with the container's lease")
	}
}
