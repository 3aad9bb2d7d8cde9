package etcd_test

import (
	"errors"
	"testing"

	"theseus.dev/drivers/etcd"
	modelpkg "theseus.dev/model"
	"theseus.dev/specs"
)

// TestSyncCommitGuards: a sync's transaction never overwrites a key
// written since its read. A batch that only creates is guarded over the
// span of its keys: a key created meanwhile among them fails it, and so
// does any other key written there meanwhile, while keys there that did
// not move do not. A batch that changes keys is guarded key by key. A
// failed batch writes nothing and names the keys that moved.
func TestSyncCommitGuards(t *testing.T) {
	e, c := start(t, etcd.Options{})
	ctx := t.Context()
	store := c.SyncStore()
	// "api-v2" sorts before "api/…" in etcd: the span runs in that order.
	a, b, z := key(t, "api", "a"), key(t, "api", "b"), key(t, "api", "z")
	inside, outside := key(t, "api", "m"), key(t, "api-v2", "dev")
	put := func(k specs.GroupKey) int64 {
		t.Helper()
		resp, err := e.Client.Put(ctx, specs.DesiredKey("", k), string(specJSON(k, 1)))
		if err != nil {
			t.Fatal(err)
		}
		return resp.Header.Revision
	}
	read := func() int64 {
		t.Helper()
		st, err := store.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st.Revision
	}
	create := func(ks ...specs.GroupKey) []modelpkg.OwnedWrite {
		var ws []modelpkg.OwnedWrite
		for _, k := range ks {
			ws = append(ws, modelpkg.OwnedWrite{Key: k, Value: specJSON(k, 1), Owner: []byte(`{"owner":"test"}`)})
		}
		return ws
	}
	exists := func(k specs.GroupKey) bool {
		t.Helper()
		resp, err := e.Client.Get(ctx, specs.DesiredKey("", k))
		if err != nil {
			t.Fatal(err)
		}
		return len(resp.Kvs) > 0
	}

	put(inside) // in the span, unmoved since the read: no conflict
	rev := read()
	put(outside)
	if _, err := store.Commit(ctx, rev, create(a, z)); err != nil {
		t.Fatalf("creates beside unmoved and outside keys: %v", err)
	}
	if !exists(a) || !exists(z) {
		t.Fatal("the creates were not written")
	}

	rev = read()
	put(b) // created by hand meanwhile: the last key of the batch
	_, err := store.Commit(ctx, rev, create(key(t, "api", "aa"), b))
	var ce *etcd.ConflictError
	if !errors.As(err, &ce) || len(ce.Conflicts) != 1 || ce.Conflicts[0].Key != specs.DesiredKey("", b) || ce.Conflicts[0].Actual == 0 {
		t.Errorf("create over a key created meanwhile: %v", err)
	}
	if exists(key(t, "api", "aa")) {
		t.Error("a failed batch wrote its other keys")
	}

	rev = read()
	put(inside) // written meanwhile, not by the batch, within its span
	if _, err := store.Commit(ctx, rev, create(key(t, "api", "k"), key(t, "api", "n"))); !errors.Is(err, etcd.ErrConflict) {
		t.Errorf("creates around a key written meanwhile: %v", err)
	}
	if exists(key(t, "api", "k")) {
		t.Error("a failed batch wrote its keys")
	}

	// A change is guarded by the revision it was read at.
	rev = read()
	st, err := store.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	aRev, zRev := st.Desired[a].ModRevision, st.Desired[z].ModRevision
	oRev := st.Owners[a].ModRevision
	moved := put(z)
	change := []modelpkg.OwnedWrite{
		{Key: a, DesiredRevision: aRev, OwnerRevision: oRev, Value: specJSON(a, 2), Owner: []byte(`{"owner":"test"}`)},
		{Key: z, DesiredRevision: zRev, OwnerRevision: st.Owners[z].ModRevision, Value: specJSON(z, 2), Owner: []byte(`{"owner":"test"}`)},
	}
	_, err = store.Commit(ctx, rev, change)
	if !errors.As(err, &ce) || len(ce.Conflicts) != 1 || ce.Conflicts[0].Actual != moved {
		t.Errorf("change of a key moved meanwhile: %v", err)
	}
	if _, err := store.Commit(ctx, rev, change[:1]); err != nil {
		t.Errorf("change of an unmoved key: %v", err)
	}
}
