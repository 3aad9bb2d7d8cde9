package etcd_test

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/drivers/etcd"
	"theseus.dev/specs"
)

// treeKeys returns every key under /services with its mod revision.
func treeKeys(t *testing.T, cli *clientv3.Client) map[string]int64 {
	t.Helper()
	resp, err := cli.Get(t.Context(), "/services/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, kv := range resp.Kvs {
		out[string(kv.Key)] = kv.ModRevision
	}
	return out
}

func infos(names ...string) map[string]specs.ContainerInfo {
	out := map[string]specs.ContainerInfo{}
	for i, n := range names {
		out[n] = info(n, 31000+i)
	}
	return out
}

func readGroup(t *testing.T, d *etcd.Discovery, k specs.GroupKey) *etcd.GroupEntry {
	t.Helper()
	g, err := d.ReadGroup(t.Context(), k)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func syncGroup(t *testing.T, d *etcd.Discovery, k specs.GroupKey, want etcd.GroupState) etcd.SyncResult {
	t.Helper()
	res, err := d.SyncGroup(t.Context(), etcd.Fence{}, readGroup(t, d, k), want)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestSyncGroupWritesOnlyChanges checks, step by step, which keys each
// SyncGroup writes: all in one transaction (one mod revision), the
// revision key with them, and nothing at all when nothing changed.
func TestSyncGroupWritesOnlyChanges(t *testing.T) {
	e, c := start(t, etcd.Options{})
	d := c.Discovery()
	k := key(t, "web", "dev", "frontend")
	const dir = "/services/web/dev.frontend/"
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	steps := []struct {
		name    string
		want    etcd.GroupState
		changed bool
		written []string // keys written by the step, all at one revision
		gone    []string
	}{
		{
			name: "create", changed: true,
			want: etcd.GroupState{Containers: infos("a", "b"), Config: map[string]string{"upstream": "api"}, At: at},
			written: []string{"/services/web", "/services/web/dev.frontend", dir + "config", dir + "revision",
				dir + "containers/a/info", dir + "containers/b/info"},
		},
		{name: "same again", want: etcd.GroupState{Containers: infos("a", "b"), Config: map[string]string{"upstream": "api"}, At: at}},
		{name: "nil config keeps it", want: etcd.GroupState{Containers: infos("a", "b"), At: at}},
		{
			name: "one container replaced", changed: true,
			want:    etcd.GroupState{Containers: infos("a", "c"), At: at},
			written: []string{dir + "revision", dir + "containers/c/info"},
			gone:    []string{dir + "containers/b/info"},
		},
		{
			name: "config changed", changed: true,
			want:    etcd.GroupState{Containers: infos("a", "c"), Config: map[string]string{"upstream": "api2"}, At: at},
			written: []string{dir + "config", dir + "revision"},
		},
		{
			name: "stale flag only", changed: true,
			want:    etcd.GroupState{Containers: infos("a", "c"), Stale: true, At: at},
			written: []string{dir + "revision"},
		},
		{name: "stale again", want: etcd.GroupState{Containers: infos("a", "c"), Stale: true, At: at}},
		{
			name: "empty group", changed: true,
			want:    etcd.GroupState{Containers: nil, At: at},
			written: []string{dir + "revision"},
			gone:    []string{dir + "containers/a/info", dir + "containers/c/info"},
		},
	}
	gen := int64(0)
	for _, st := range steps {
		before := treeKeys(t, e.Client)
		res := syncGroup(t, d, k, st.want)
		after := treeKeys(t, e.Client)
		if res.Changed != st.changed {
			t.Fatalf("%s: Changed = %v, want %v", st.name, res.Changed, st.changed)
		}
		if st.changed {
			gen++
		}
		var written []string
		for key, rev := range after {
			if before[key] != rev {
				written = append(written, key)
				if rev != res.Revision {
					t.Errorf("%s: %s written at %d, not at the transaction's revision %d", st.name, key, rev, res.Revision)
				}
			}
		}
		slices.Sort(written)
		if w := slices.Sorted(slices.Values(st.written)); !slices.Equal(written, w) {
			t.Errorf("%s: wrote %v, want %v", st.name, written, w)
		}
		for _, key := range st.gone {
			if _, ok := after[key]; ok {
				t.Errorf("%s: %s still there", st.name, key)
			}
		}
		g := readGroup(t, d, k)
		if g.Revision.Generation != gen || g.Revision.Stale != st.want.Stale || g.Revision.Containers != len(st.want.Containers) {
			t.Errorf("%s: revision %+v, want generation %d", st.name, g.Revision, gen)
		}
		if got := g.ContainerNames(); !slices.Equal(got, slices.Sorted(maps.Keys(st.want.Containers))) {
			t.Errorf("%s: containers %v", st.name, got)
		}
	}
	g := readGroup(t, d, k)
	if cfg, err := g.Config(); err != nil || cfg["upstream"] != "api2" {
		t.Fatalf("config = %v, %v", cfg, err)
	}
	// The older per-group readers still see the group.
	if cfg, err := d.GroupConfig(t.Context(), "web", "dev.frontend"); err != nil || cfg["upstream"] != "api2" {
		t.Fatalf("GroupConfig = %v, %v", cfg, err)
	}
}

// TestSyncGroupRepairsKeysPutByHand: with the containers and config as
// wanted, SyncGroup still writes when a key under the group was put by
// hand: a revision that does not decode (readers skip the group) is
// rewritten, keys the layout does not name are removed, in one
// transaction with the revision; then nothing is written again.
func TestSyncGroupRepairsKeysPutByHand(t *testing.T) {
	e, c := start(t, etcd.Options{})
	d := c.Discovery()
	ctx := t.Context()
	k := key(t, "web", "dev")
	const dir = "/services/web/dev/"
	want := etcd.GroupState{Containers: infos("a"), Config: map[string]string{}}
	syncGroup(t, d, k, want)
	for _, tc := range []struct {
		name    string
		puts    map[string]string
		written []string
		gone    []string
	}{
		{name: "revision not JSON", puts: map[string]string{dir + "revision": "garbage"},
			written: []string{dir + "revision"}},
		// json fills the generation before it fails on containers.
		{name: "revision half decodable", puts: map[string]string{dir + "revision": `{"generation":7,"containers":"x"}`},
			written: []string{dir + "revision"}},
		{name: "keys the layout does not name", puts: map[string]string{
			dir + "containers/ghost/x/info": `{"instance_name":"ghost","ready":true}`,
			dir + "containers/b":            "{}",
			dir + "notes":                   "by hand",
		}, written: []string{dir + "revision"}, gone: []string{dir + "containers/ghost/x/info", dir + "containers/b", dir + "notes"}},
	} {
		for key, v := range tc.puts {
			if _, err := e.Client.Put(ctx, key, v); err != nil {
				t.Fatal(err)
			}
		}
		before := treeKeys(t, e.Client)
		res := syncGroup(t, d, k, want)
		after := treeKeys(t, e.Client)
		if !res.Changed || res.Txns != 1 {
			t.Fatalf("%s: %+v, want one transaction", tc.name, res)
		}
		var written []string
		for key, rev := range after {
			if before[key] != rev {
				written = append(written, key)
			}
		}
		if slices.Sort(written); !slices.Equal(written, tc.written) {
			t.Errorf("%s: wrote %v, want %v", tc.name, written, tc.written)
		}
		for _, key := range tc.gone {
			if _, ok := after[key]; ok {
				t.Errorf("%s: %s still there", tc.name, key)
			}
		}
		resp, err := e.Client.Get(ctx, dir+"revision")
		if err != nil {
			t.Fatal(err)
		}
		if r, err := etcd.DecodeGroupRevision(resp.Kvs[0].Value); err != nil || r.Generation < 1 || r.Containers != 1 {
			t.Errorf("%s: revision %+v, %v", tc.name, r, err)
		}
		if res := syncGroup(t, d, k, want); res.Changed {
			t.Errorf("%s: written again once repaired: %+v", tc.name, res)
		}
	}
}

// TestSyncGroupGuards checks that a write based on an outdated read is
// refused, and that a write under a lost leadership is refused as such.
func TestSyncGroupGuards(t *testing.T) {
	e, c := start(t, etcd.Options{})
	d := c.Discovery()
	ctx := t.Context()
	k := key(t, "web", "dev")
	syncGroup(t, d, k, etcd.GroupState{Containers: infos("a")})

	old := readGroup(t, d, k)
	syncGroup(t, d, k, etcd.GroupState{Containers: infos("a", "b")})
	if _, err := d.SyncGroup(ctx, etcd.Fence{}, old, etcd.GroupState{Containers: infos("c")}); !errors.Is(err, etcd.ErrConflict) {
		t.Fatalf("write on an old read: %v, want a conflict", err)
	}
	// A write by hand under the group (no revision change) also counts.
	old = readGroup(t, d, k)
	if err := d.RegisterContainer(ctx, "web", "dev", "x", info("x", 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := d.DropGroup(ctx, etcd.Fence{}, old); !errors.Is(err, etcd.ErrConflict) {
		t.Fatalf("drop on an old read: %v, want a conflict", err)
	}

	put, err := e.Client.Put(ctx, "/theseus/leader/1", "me")
	if err != nil {
		t.Fatal(err)
	}
	fence := etcd.Fence{Key: "/theseus/leader/1", Revision: put.Header.Revision}
	if _, err := d.SyncGroup(ctx, fence, readGroup(t, d, k), etcd.GroupState{Containers: infos("a")}); err != nil {
		t.Fatalf("fenced write: %v", err)
	}
	if _, err := e.Client.Delete(ctx, fence.Key); err != nil {
		t.Fatal(err)
	}
	for name, write := range map[string]func(*etcd.GroupEntry) error{
		"sync": func(g *etcd.GroupEntry) error {
			_, err := d.SyncGroup(ctx, fence, g, etcd.GroupState{Containers: infos("z")})
			return err
		},
		"stale": func(g *etcd.GroupEntry) error { _, err := d.SetGroupStale(ctx, fence, g, true, time.Now()); return err },
		"drop":  func(g *etcd.GroupEntry) error { _, err := d.DropGroup(ctx, fence, g); return err },
	} {
		if err := write(readGroup(t, d, k)); !errors.Is(err, etcd.ErrNotLeader) {
			t.Errorf("%s after the leadership ended: %v, want ErrNotLeader", name, err)
		}
	}
}

// TestSyncGroupLarge writes a group whose change does not fit in one
// transaction, and checks that a watcher of the revision key only ever
// sees either a pending revision or a complete group.
func TestSyncGroupLarge(t *testing.T) {
	e, c := start(t, etcd.Options{})
	d := c.Discovery()
	ctx := t.Context()
	k := key(t, "big", "prod")
	wch := e.Client.Watch(ctx, "/services/big/prod/revision", clientv3.WithRev(e.Revision(t)+1))

	names := make([]string, 300)
	for i := range names {
		names[i] = fmt.Sprintf("task-%03d", i)
	}
	res := syncGroup(t, d, k, etcd.GroupState{Containers: infos(names...)})
	if res.Txns != 3 || res.Generation != 2 {
		t.Fatalf("result %+v, want 3 transactions and generation 2", res)
	}
	second := slices.Clone(names[:150])
	res = syncGroup(t, d, k, etcd.GroupState{Containers: infos(second...)})
	if res.Txns != 2 || res.Generation != 4 {
		t.Fatalf("result %+v, want 2 transactions and generation 4", res)
	}
	complete := map[int]int{} // containers of each complete state seen
	for seen := 0; seen < 4; {
		wr := <-wch
		for _, ev := range wr.Events {
			seen++
			rev, err := etcd.DecodeGroupRevision(ev.Kv.Value)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := e.Client.Get(ctx, "/services/big/prod/containers/", clientv3.WithPrefix(), clientv3.WithCountOnly(), clientv3.WithRev(ev.Kv.ModRevision))
			if err != nil {
				t.Fatal(err)
			}
			if rev.Pending {
				continue
			}
			if int(resp.Count) != rev.Containers {
				t.Fatalf("revision %+v at %d: %d containers stored", rev, ev.Kv.ModRevision, resp.Count)
			}
			complete[rev.Containers]++
		}
	}
	if complete[300] != 1 || complete[150] != 1 {
		t.Fatalf("complete states seen: %v", complete)
	}
}

// TestDropGroup checks that dropping a group removes all its keys, and its
// service only when no other group is left, whatever the label sets
// around it sort like.
func TestDropGroup(t *testing.T) {
	for _, tc := range []struct {
		name        string
		others      [][]string // other groups of the service
		serviceGone bool
	}{
		{name: "last group", serviceGone: true},
		{name: "a group sorting after", others: [][]string{{"dev", "frontend"}}},
		{name: "a group sorting before", others: [][]string{{"alpha"}}},
		{name: "a group sharing a prefix", others: [][]string{{"dev0"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, c := start(t, etcd.Options{})
			d := c.Discovery()
			k := key(t, "web", "dev")
			syncGroup(t, d, k, etcd.GroupState{Containers: infos("a", "b")})
			for _, l := range tc.others {
				syncGroup(t, d, key(t, "web", l...), etcd.GroupState{Containers: infos("o")})
			}
			syncGroup(t, d, key(t, "api", "dev"), etcd.GroupState{Containers: infos("p")})
			before := len(treeKeys(t, e.Client))
			ok, err := d.DropGroup(t.Context(), etcd.Fence{}, readGroup(t, d, k))
			if err != nil || !ok {
				t.Fatalf("DropGroup = %v, %v", ok, err)
			}
			after := treeKeys(t, e.Client)
			for key := range after {
				if key == "/services/web/dev" || len(key) > len("/services/web/dev/") && key[:len("/services/web/dev/")] == "/services/web/dev/" {
					t.Errorf("%s left behind", key)
				}
			}
			_, svc := after["/services/web"]
			if svc == tc.serviceGone {
				t.Errorf("service node present: %v, want %v", svc, !tc.serviceGone)
			}
			removed := 5 // marker, config, revision and two containers
			if tc.serviceGone {
				removed++
			}
			if before-len(after) != removed {
				t.Errorf("removed %d keys, want %d", before-len(after), removed)
			}
			if ok, err := d.DropGroup(t.Context(), etcd.Fence{}, readGroup(t, d, k)); ok || err != nil {
				t.Errorf("second DropGroup = %v, %v", ok, err)
			}
		})
	}
}

// TestReadTree reads a tree with several services, a group left with
// keys but no node, keys on a lease, and keys theseus did not write.
func TestReadTree(t *testing.T) {
	e, c := start(t, etcd.Options{})
	d := c.Discovery()
	ctx := t.Context()
	syncGroup(t, d, key(t, "web", "dev"), etcd.GroupState{Containers: infos("a", "b")})
	syncGroup(t, d, key(t, "api", "prod"), etcd.GroupState{Containers: infos("c"), Stale: true})
	lease, err := e.Client.Grant(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	for key, opts := range map[string][]clientv3.OpOption{
		"/services/web/dev/containers/l/info":    {clientv3.WithLease(lease.ID)},
		"/services/db/test/containers/o/info":    nil, // no nodes: left by hand
		"/services/Bad Name/x":                   nil,
		"/services/web/NOT_LABELS/containers/x/": nil,
	} {
		if _, err := e.Client.Put(ctx, key, `{"instance_name":"x"}`, opts...); err != nil {
			t.Fatal(err)
		}
	}
	tree, err := d.ReadTree(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tree.Services, []string{"api", "web"}) {
		t.Errorf("services %v", tree.Services)
	}
	var keys []string
	for k := range tree.Groups {
		keys = append(keys, k.String())
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"api/prod", "db/test", "web/dev"}) {
		t.Fatalf("groups %v", keys)
	}
	web := tree.Groups[key(t, "web", "dev")]
	if !web.Exists || !web.ServiceExists || !slices.Equal(web.ContainerNames(), []string{"a", "b", "l"}) || web.ReadRevision != tree.Revision {
		t.Errorf("web/dev: %+v %v", web, web.ContainerNames())
	}
	if db := tree.Groups[key(t, "db", "test")]; db.Exists || db.ServiceExists || db.RevisionModRev != 0 {
		t.Errorf("db/test: %+v", db)
	}
	if api := tree.Groups[key(t, "api", "prod")]; !api.Revision.Stale || api.Revision.Containers != 1 {
		t.Errorf("api/prod revision %+v", api.Revision)
	}
	// Syncing web/dev to its own containers detaches the leased one, so
	// no key of the group can expire without a revision change.
	res, err := d.SyncGroup(ctx, etcd.Fence{}, web, etcd.GroupState{Containers: infos("a", "b", "l")})
	if err != nil || !res.Changed {
		t.Fatalf("SyncGroup = %+v, %v", res, err)
	}
	got, err := e.Client.Get(ctx, "/services/web/dev/containers/l/info")
	if err != nil || got.Kvs[0].Lease != 0 {
		t.Fatalf("leased container after sync: %v, %v", got.Kvs, err)
	}
	// And a group left by hand can be dropped.
	if ok, err := d.DropGroup(ctx, etcd.Fence{}, tree.Groups[key(t, "db", "test")]); !ok || err != nil {
		t.Fatalf("DropGroup(db/test) = %v, %v", ok, err)
	}
}
