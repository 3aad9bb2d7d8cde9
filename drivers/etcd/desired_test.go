package etcd_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/drivers/etcd"
	"theseus.dev/specs"
)

// TestListReportsEveryKey checks that List returns every key under
// /desired: valid ones decoded, and every kind of invalid one with its
// errors, none dropped.
func TestListReportsEveryKey(t *testing.T) {
	e, c := start(t, etcd.Options{})
	ctx := t.Context()
	puts := map[string]string{
		"/desired/web/dev":          minimalJSON,
		"/desired/web/prod":         `{"apiVersion":`,                                                        // not JSON
		"/desired/api/dev":          strings.Replace(minimalJSON, `"instances":2`, `"instances":-1`, 1),      // invalid
		"/desired/db/dev":           minimalJSON,                                                             // metadata names web/dev
		"/desired/Web/dev":          minimalJSON,                                                             // bad key
		"/desired/cache/dev":        `{"apiVersion":"theseus/v1","kind":"Group","spec":{"image":"redis:7"}}`, // metadata from the key
		"/elsewhere/not/in/desired": "x",
	}
	for k, v := range puts {
		if _, err := e.Client.Put(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := c.Desired().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Revision != e.Revision(t) {
		t.Errorf("snapshot revision %d, store revision %d", snap.Revision, e.Revision(t))
	}
	valid := map[string]bool{"/desired/web/dev": true, "/desired/cache/dev": true}
	if len(snap.Entries) != len(puts)-1 {
		t.Fatalf("%d entries, want %d", len(snap.Entries), len(puts)-1)
	}
	for i, en := range snap.Entries {
		if i > 0 && snap.Entries[i-1].EtcdKey >= en.EtcdKey {
			t.Errorf("entries not in key order: %s after %s", en.EtcdKey, snap.Entries[i-1].EtcdKey)
		}
		if en.Valid() != valid[en.EtcdKey] {
			t.Errorf("%s: valid=%v errors=%v", en.EtcdKey, en.Valid(), en.Errors)
		}
		if !en.Valid() && (len(en.Errors) == 0 || en.ModRevision == 0) {
			t.Errorf("%s: invalid without errors or revision: %+v", en.EtcdKey, en)
		}
	}
	if got := len(snap.Invalid()); got != 4 {
		t.Errorf("%d invalid entries, want 4", got)
	}
	var g *specs.Group
	for _, en := range snap.Entries {
		if en.EtcdKey == "/desired/cache/dev" {
			g = en.Group
		}
	}
	if g == nil || g.Metadata.Service != "cache" {
		t.Errorf("metadata not taken from the key: %+v", g)
	}
}

// TestListPagesAreOneSnapshot lists with tiny pages while another client
// keeps writing, and checks that the result is exactly the keys that
// existed at the snapshot's revision.
func TestListPagesAreOneSnapshot(t *testing.T) {
	e, c := start(t, etcd.Options{PageSize: 7})
	ctx := t.Context()
	for i := range 100 {
		k := key(t, fmt.Sprintf("svc%03d", i), "dev")
		if _, err := e.Client.Put(ctx, specs.DesiredKey("", k), string(specJSON(k, 1))); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			k := key(t, fmt.Sprintf("new%03d", i%200), "dev")
			if _, err := e.Client.Put(ctx, specs.DesiredKey("", k), string(specJSON(k, i))); err != nil {
				done <- err
				return
			}
			if _, err := e.Client.Delete(ctx, specs.DesiredKey("", key(t, fmt.Sprintf("svc%03d", i%100), "dev"))); err != nil {
				done <- err
				return
			}
		}
	}()
	for range 5 {
		snap, err := c.Desired().List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		truth, err := e.Client.Get(ctx, "/desired/", clientv3.WithPrefix(), clientv3.WithRev(snap.Revision))
		if err != nil {
			t.Fatal(err)
		}
		if len(truth.Kvs) != len(snap.Entries) {
			t.Fatalf("snapshot at %d has %d keys, etcd had %d", snap.Revision, len(snap.Entries), len(truth.Kvs))
		}
		for i, kv := range truth.Kvs {
			if en := snap.Entries[i]; en.EtcdKey != string(kv.Key) || en.ModRevision != kv.ModRevision {
				t.Fatalf("entry %d: %s@%d, etcd has %s@%d", i, en.EtcdKey, en.ModRevision, kv.Key, kv.ModRevision)
			}
		}
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestList100000Keys checks that a /desired far larger than one etcd
// response lists completely. Decoding 100,000 specs takes about 6 s on two
// cores, ten times that under the race detector, so with -race (and
// -short) it lists 5,000 keys in pages of 100 instead; run it without
// -race for the full size.
func TestList100000Keys(t *testing.T) {
	n, pageSize := 100_000, 0
	if raceEnabled || testing.Short() {
		n, pageSize = 5_000, 100
	}
	e, c := start(t, etcd.Options{PageSize: pageSize})
	ctx := t.Context()
	value := strings.Replace(minimalJSON, `"metadata":{"service":"web","labels":["dev"]},`, "", 1)
	var ops []clientv3.Op
	begin := time.Now()
	for i := range n {
		ops = append(ops, clientv3.OpPut(fmt.Sprintf("/desired/s%06d/dev", i), value))
		if len(ops) == etcd.MaxTxnOps || i == n-1 {
			if _, err := e.Client.Txn(ctx).Then(ops...).Commit(); err != nil {
				t.Fatal(err)
			}
			ops = ops[:0]
		}
	}
	t.Logf("wrote %d keys in %v", n, time.Since(begin))
	begin = time.Now()
	snap, err := c.Desired().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("listed in %v", time.Since(begin))
	if len(snap.Entries) != n || len(snap.Invalid()) != 0 {
		t.Fatalf("%d entries, %d invalid; want %d valid", len(snap.Entries), len(snap.Invalid()), n)
	}
}

func TestGet(t *testing.T) {
	e, c := start(t, etcd.Options{})
	ctx := t.Context()
	k := key(t, "web", "dev")
	if _, err := c.Desired().Get(ctx, k); !errors.Is(err, etcd.ErrDesiredNotFound) || !errors.Is(err, etcd.ErrNotFound) {
		t.Fatalf("absent key: %v", err)
	}
	resp, err := e.Client.Put(ctx, "/desired/web/dev", minimalJSON)
	if err != nil {
		t.Fatal(err)
	}
	en, err := c.Desired().Get(ctx, k)
	if err != nil || !en.Valid() || en.ModRevision != resp.Header.Revision || en.Key != k {
		t.Fatalf("Get = %+v, %v", en, err)
	}
}

// TestPutDeleteCompareAndSwap checks the optimistic writes: a write with a
// stale revision changes nothing and says which key moved.
func TestPutDeleteCompareAndSwap(t *testing.T) {
	_, c := start(t, etcd.Options{})
	ctx := t.Context()
	d := c.Desired()
	k := key(t, "web", "dev")
	rev1, err := d.Put(ctx, k, specJSON(k, 1), 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Put(ctx, k, specJSON(k, 2), 0)
	var ce *etcd.ConflictError
	if !errors.As(err, &ce) || !errors.Is(err, etcd.ErrConflict) || len(ce.Conflicts) != 1 || ce.Conflicts[0].Actual != rev1 {
		t.Fatalf("create over existing key: %v", err)
	}
	rev2, err := d.Put(ctx, k, specJSON(k, 2), rev1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Put(ctx, k, specJSON(k, 3), rev1); !errors.Is(err, etcd.ErrConflict) {
		t.Fatalf("stale update: %v", err)
	}
	// An invalid value is refused before it reaches etcd.
	bad := []byte(strings.Replace(string(specJSON(k, 1)), `"mem":64`, `"mem":1`, 1))
	var el specs.ErrorList
	if _, err := d.Put(ctx, k, bad, rev2); !errors.As(err, &el) {
		t.Fatalf("invalid value: %v", err)
	}
	if en, _ := d.Get(ctx, k); en.ModRevision != rev2 || *en.Group.Spec.Instances != 2 {
		t.Fatalf("value after refused writes: rev %d, %+v", en.ModRevision, en.Group)
	}
	if _, err := d.Delete(ctx, k, rev1); !errors.Is(err, etcd.ErrConflict) {
		t.Fatalf("stale delete: %v", err)
	}
	if _, err := d.Delete(ctx, k, rev2); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Remove(ctx, k); !errors.Is(err, etcd.ErrDesiredNotFound) {
		t.Fatalf("remove absent: %v", err)
	}
}

func TestCommitBatch(t *testing.T) {
	_, c := start(t, etcd.Options{})
	ctx := t.Context()
	d := c.Desired()
	var ops []etcd.Op
	for i := range etcd.MaxTxnOps + 1 {
		k := key(t, fmt.Sprintf("s%d", i), "dev")
		ops = append(ops, etcd.Op{Key: k, Value: specJSON(k, 1)})
	}
	if _, err := d.Commit(ctx, ops); !errors.Is(err, etcd.ErrTooManyOps) {
		t.Fatalf("oversized batch: %v", err)
	}
	if _, err := d.Commit(ctx, []etcd.Op{ops[0], ops[0]}); err == nil {
		t.Fatal("a key twice in one batch was accepted")
	}
	rev, err := d.Commit(ctx, ops[:etcd.MaxTxnOps])
	if err != nil {
		t.Fatal(err)
	}
	// One stale compare fails the whole batch, and the error names only
	// the key that moved.
	k0, k1 := ops[0].Key, ops[1].Key
	if _, err := d.Put(ctx, k0, specJSON(k0, 5), rev); err != nil {
		t.Fatal(err)
	}
	_, err = d.Commit(ctx, []etcd.Op{
		{Key: k0, Value: specJSON(k0, 6), ExpectedRevision: rev},
		{Key: k1, ExpectedRevision: rev},
	})
	var ce *etcd.ConflictError
	if !errors.As(err, &ce) || len(ce.Conflicts) != 1 || ce.Conflicts[0].Key != "/desired/"+k0.String() {
		t.Fatalf("conflict: %v", err)
	}
	if _, err := d.Get(ctx, k1); err != nil {
		t.Fatalf("a failed batch deleted %s: %v", k1, err)
	}
}

// TestPrefix checks that a prefix moves every key and that List sees only
// its own installation.
func TestPrefix(t *testing.T) {
	e, _ := start(t, etcd.Options{})
	ctx := t.Context()
	c, err := etcd.New(e.Client, etcd.Options{Prefix: "/team"})
	if err != nil {
		t.Fatal(err)
	}
	k := key(t, "web", "dev")
	if _, err := c.Desired().Put(ctx, k, specJSON(k, 1), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Client.Put(ctx, "/desired/other/dev", minimalJSON); err != nil {
		t.Fatal(err)
	}
	snap, err := c.Desired().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Entries) != 1 || snap.Entries[0].EtcdKey != "/team/desired/web/dev" || !snap.Entries[0].Valid() {
		t.Fatalf("entries %+v", snap.Entries)
	}
	if _, err := etcd.New(e.Client, etcd.Options{Prefix: "team/"}); err == nil {
		t.Fatal("bad prefix accepted")
	}
}

// TestPrefixInsideAnotherInstallation: an installation whose prefix ends
// in one of another's directories (--prefix /services beside one without
// a prefix) would put its keys in that installation's /services, /desired
// or /status, where the other's discovery sweep or controller takes them
// for its own. Such a prefix is refused, naming the clash.
func TestPrefixInsideAnotherInstallation(t *testing.T) {
	e, _ := start(t, etcd.Options{})
	ctx := t.Context()
	for _, tc := range []struct{ outer, inner string }{
		{"", "/services"}, {"", "/desired"}, {"", "/status"}, {"/prod", "/prod/services"}, {"", "/services/eu"},
		{"", "/theseus/leader"}, {"", "/theseus/pause"}, {"/prod", "/prod/theseus/restart"}, {"", "/theseus-eu"},
	} {
		outer, err := etcd.New(e.Client, etcd.Options{Prefix: tc.outer})
		if err != nil {
			t.Fatal(err)
		}
		inner, err := etcd.New(e.Client, etcd.Options{Prefix: tc.inner})
		if err != nil {
			if !strings.Contains(err.Error(), tc.inner) {
				t.Errorf("prefix %s refused without naming it: %v", tc.inner, err)
			}
			continue
		}
		k := key(t, "web", "dev")
		if _, err := inner.Desired().Put(ctx, k, specJSON(k, 1), 0); err != nil {
			t.Fatal(err)
		}
		snap, err := outer.Desired().List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tree, err := outer.Discovery().ReadTree(ctx)
		if err != nil {
			t.Fatal(err)
		}
		statuses, _, err := outer.Status().List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(snap.Entries)+len(tree.Groups)+len(statuses) != 0 {
			t.Errorf("prefix %q sees the keys of prefix %q: desired %d, discovery groups %d, statuses %d",
				tc.outer, tc.inner, len(snap.Entries), len(tree.Groups), len(statuses))
		}
		// Nor in its bookkeeping, where a key under its leader election's
		// prefix would pass for a candidate.
		own, err := e.Client.Get(ctx, tc.outer+specs.TheseusDir, clientv3.WithPrefix(), clientv3.WithKeysOnly())
		if err != nil {
			t.Fatal(err)
		}
		for _, kv := range own.Kvs {
			t.Errorf("prefix %q wrote %s, in the bookkeeping of prefix %q", tc.inner, kv.Key, tc.outer)
		}
		if _, err := e.Client.Delete(ctx, "/", clientv3.WithPrefix()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestListDecodeCache checks that relisting reuses decoded specs without
// letting a caller's changes leak into later lists, and that a changed
// key is decoded afresh.
func TestListDecodeCache(t *testing.T) {
	e, c := start(t, etcd.Options{})
	ctx := t.Context()
	k := key(t, "web", "dev")
	put(t, e.Client, k, 1)
	snap, err := c.Desired().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	snap.Entries[0].Group.Spec.Image = "mutated"
	snap, err = c.Desired().List(ctx)
	if err != nil || snap.Entries[0].Group.Spec.Image != "nginx:1.27" {
		t.Fatalf("second list: %+v, %v", snap.Entries[0].Group, err)
	}
	snap.Entries[0].Group.Spec.Image = "mutated again"
	if en, err := c.Desired().Get(ctx, k); err != nil || en.Group.Spec.Image != "nginx:1.27" {
		t.Fatalf("Get after mutation: %+v, %v", en.Group, err)
	}
	put(t, e.Client, k, 5)
	snap, err = c.Desired().List(ctx)
	if err != nil || *snap.Entries[0].Group.Spec.Instances != 5 {
		t.Fatalf("list after a change: %+v, %v", snap.Entries[0].Group, err)
	}
	if _, err := e.Client.Put(ctx, "/desired/web/dev", "{bad"); err != nil {
		t.Fatal(err)
	}
	if en, err := c.Desired().Get(ctx, k); err != nil || en.Valid() {
		t.Fatalf("Get after an invalid write: %+v, %v", en, err)
	}
}

// TestConfirm: the fenced read a controller makes before each Marathon
// write reports the key's current revision (0 when absent) while the
// leadership holds, and refuses once it has ended.
func TestConfirm(t *testing.T) {
	_, c := start(t, etcd.Options{})
	ctx := t.Context()
	d := c.Desired()
	web := key(t, "web", "dev")
	l, err := c.Campaign(ctx, etcd.ElectionConfig{TTL: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if rev, err := d.Confirm(ctx, l.Fence(), web); err != nil || rev != 0 {
		t.Errorf("absent key: %d, %v; want 0", rev, err)
	}
	put, err := d.Put(ctx, web, specJSON(web, 2), 0)
	if err != nil {
		t.Fatal(err)
	}
	if rev, err := d.Confirm(ctx, l.Fence(), web); err != nil || rev != put {
		t.Errorf("Confirm = %d, %v; want the put's revision %d", rev, err, put)
	}
	if rev, err := d.Confirm(ctx, etcd.Fence{}, web); err != nil || rev != put {
		t.Errorf("unfenced Confirm = %d, %v; want %d", rev, err, put)
	}
	fence := l.Fence()
	resign(t, l)
	if _, err := d.Confirm(ctx, fence, web); !errors.Is(err, etcd.ErrNotLeader) {
		t.Errorf("after resigning: %v, want ErrNotLeader", err)
	}
}
