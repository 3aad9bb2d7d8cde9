package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/drivers/etcd"
)

// runCache runs a tree cache until the test ends.
func runCache(t *testing.T, d *etcd.Discovery) *etcd.TreeCache {
	t.Helper()
	c := d.NewTreeCache()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
		if n := c.Fallbacks(); n != 0 {
			t.Errorf("%d reads of etcd instead of the cache: the watch did not catch up", n)
		}
	})
	waitLive(t, c)
	return c
}

// waitLive waits until the cache answers from its watch.
func waitLive(t *testing.T, c *etcd.TreeCache) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := c.WaitLive(ctx); err != nil {
		t.Fatalf("the cache's watch never ran: %v", err)
	}
}

// sameTree fails the test unless the cache answers what a read of etcd
// answers, at once: no wait between the write and the read.
func sameTree(t *testing.T, what string, c *etcd.TreeCache, d *etcd.Discovery) {
	t.Helper()
	want, err := d.ReadTree(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.ReadTree(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got.Revision < want.Revision {
		t.Errorf("%s: the cache is at revision %d, etcd was at %d before it was read", what, got.Revision, want.Revision)
	}
	if diff := cmp.Diff(want.Services, got.Services, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("%s: services (-etcd +cache):\n%s", what, diff)
	}
	if diff := cmp.Diff(etcd.TreeView(want), etcd.TreeView(got), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("%s: groups (-etcd +cache):\n%s", what, diff)
	}
}

// TestTreeCacheIsTheTree is the contract of the cache: after any change
// to /services, made by the discovery driver or by hand, ReadTree answers
// what Discovery.ReadTree answers.
func TestTreeCacheIsTheTree(t *testing.T) {
	e, cl := start(t, fastOptions())
	d := cl.Discovery()
	c := runCache(t, d)
	ctx := t.Context()
	web, api := key(t, "web", "dev"), key(t, "api", "prod")
	lease, err := e.Client.Grant(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	many := make([]string, 300) // more than one transaction holds
	for i := range many {
		many[i] = fmt.Sprintf("t%03d", i)
	}
	steps := []struct {
		name string
		do   func() error
	}{
		{"empty", func() error { return nil }},
		{"create service", func() error { return d.CreateService(ctx, "web") }},
		{"create group", func() error {
			return d.CreateGroup(ctx, "web", web.Labels, map[string]string{"upstream": "api"})
		}},
		{"register", func() error { return d.RegisterContainer(ctx, "web", web.Labels, "a", info("a", 1)) }},
		{"register leased", func() error {
			return d.RegisterContainer(ctx, "web", web.Labels, "b", info("b", 2), etcd.WithLease(lease.ID))
		}},
		{"set info", func() error { return d.SetContainerInfo(ctx, "web", web.Labels, "a", info("a", 3)) }},
		{"sync a new group of a new service", func() error {
			_, err := d.SyncGroup(ctx, etcd.Fence{}, readGroup(t, d, api), etcd.GroupState{Containers: infos("x", "y")})
			return err
		}},
		{"sync a change too large for one transaction", func() error {
			_, err := d.SyncGroup(ctx, etcd.Fence{}, readGroup(t, d, api), etcd.GroupState{Containers: infos(many...)})
			return err
		}},
		{"mark stale", func() error {
			_, err := d.SetGroupStale(ctx, etcd.Fence{}, readGroup(t, d, api), true, time.Now())
			return err
		}},
		{"deregister", func() error { return d.DeregisterContainer(ctx, "web", web.Labels, "a") }},
		{"lease revoked", func() error { _, err := e.Client.Revoke(ctx, lease.ID); return err }},
		{"a key the layout does not name", func() error {
			_, err := e.Client.Put(ctx, "/services/web/dev/notes", "x")
			return err
		}},
		{"keys of a group without its node or service", func() error {
			_, err := e.Client.Put(ctx, "/services/lost/x/containers/c/info", "{}")
			return err
		}},
		{"the unnamed key deleted", func() error {
			_, err := e.Client.Delete(ctx, "/services/web/dev/notes")
			return err
		}},
		{"group node deleted by hand", func() error {
			_, err := e.Client.Delete(ctx, "/services/web/dev")
			return err
		}},
		{"drop group and its service", func() error {
			_, err := d.DropGroup(ctx, etcd.Fence{}, readGroup(t, d, api))
			return err
		}},
		{"remove service", func() error { return d.RemoveService(ctx, "web") }},
		{"delete what is left", func() error {
			_, err := e.Client.Delete(ctx, "/services/", clientv3.WithPrefix())
			return err
		}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		sameTree(t, s.name, c, d)
	}
}

// TestTreeCacheAcrossCompaction cuts the cache off while the tree
// changes and etcd compacts past the cache's revision: it reads the tree
// again and answers the tree as it is.
func TestTreeCacheAcrossCompaction(t *testing.T) {
	var hooks counter
	opts := fastOptions()
	opts.Hooks = hooks.hooks()
	relisted := make(chan struct{}, 1)
	opts.Hooks.Relist = func() {
		hooks.inc("relist")
		select {
		case relisted <- struct{}{}:
		default:
		}
	}
	e, cl := start(t, opts)
	d := cl.Discovery()
	k := key(t, "web", "dev")
	syncGroup(t, d, k, etcd.GroupState{Containers: infos("a", "b")})
	c := runCache(t, d)
	sameTree(t, "before", c, d)

	e.Blackhole()
	direct, err := etcd.New(e.NewDirectClient(t), fastOptions())
	if err != nil {
		t.Fatal(err)
	}
	dd := direct.Discovery()
	syncGroup(t, dd, k, etcd.GroupState{Containers: infos("b", "c")})
	syncGroup(t, dd, key(t, "api", "prod"), etcd.GroupState{Containers: infos("x")})
	e.Compact(t, e.Revision(t))
	e.DropConnections()
	e.Unblackhole()

	// The client reconnects by itself, then finds its revision compacted.
	select {
	case <-relisted:
	case <-time.After(20 * time.Second):
		t.Fatalf("no relist within 20s; hooks saw %v", hooks.n)
	}
	if hooks.get("restart:compacted") == 0 {
		t.Errorf("hooks saw %v, want a compacted restart", hooks.n)
	}
	waitLive(t, c)
	sameTree(t, "after", c, dd)
}

// TestTreeCacheCurrentWithoutChanges reads the cache after writes
// elsewhere in etcd, which move the revision but send the cache no
// event: a progress report tells it that it is current, well before it
// would give up waiting and read etcd (2s, longer than the context here).
func TestTreeCacheCurrentWithoutChanges(t *testing.T) {
	e, cl := start(t, fastOptions())
	d := cl.Discovery()
	syncGroup(t, d, key(t, "web", "dev"), etcd.GroupState{Containers: infos("a")})
	c := runCache(t, d)
	sameTree(t, "start", c, d)
	for i := range 20 {
		put, err := e.Client.Put(t.Context(), "/desired/elsewhere", fmt.Sprint(i))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		tree, err := c.ReadTree(ctx)
		cancel()
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if tree.Revision < put.Header.Revision {
			t.Fatalf("read %d: tree at revision %d, older than the put before it (%d)", i, tree.Revision, put.Header.Revision)
		}
	}
}
