package etcd_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/drivers/etcd"
	"theseus.dev/specs"
)

// TestWriterOf: a revision written through a store WithWriter names its
// writer; one written by sync with its ownership record names the
// source; any other (etcdctl put, a later write without a record) is
// unknown, even though an older record is still stored.
func TestWriterOf(t *testing.T) {
	e, c := start(t, fastOptions())
	ctx := t.Context()
	web := key(t, "web", "dev")
	apply := specs.Writer{Kind: specs.WriterApply, By: "alice@laptop", At: hist0}
	res, err := c.Desired().WithWriter(apply).Apply(ctx, []*specs.Group{group(t, web, 2)})
	if err != nil {
		t.Fatal(err)
	}
	if w, err := c.WriterOf(ctx, web, res[0].Revision); err != nil || w != apply {
		t.Fatalf("WriterOf(apply) = %+v, %v", w, err)
	}

	resp, err := e.Client.Put(ctx, "/desired/web/dev", string(specJSON(web, 3)))
	if err != nil {
		t.Fatal(err)
	}
	if w, err := c.WriterOf(ctx, web, resp.Header.Revision); err != nil || w.Kind != specs.WriterUnknown {
		t.Fatalf("WriterOf(etcdctl put) = %+v, %v", w, err)
	}

	// What theseusd sync writes: the key and its ownership record in one
	// transaction.
	owner, _ := json.Marshal(etcd.Ownership{Owner: "git:/srv/specs", Source: "git:main@1a2b3c", File: "web.yaml", SHA256: "x"})
	tx, err := e.Client.Txn(ctx).Then(
		clientv3.OpPut("/desired/web/dev", string(specJSON(web, 4))),
		clientv3.OpPut(etcd.SyncOwnerKey("", web), string(owner))).Commit()
	if err != nil {
		t.Fatal(err)
	}
	want := specs.Writer{Kind: specs.WriterSync, Source: "git:/srv/specs", Ref: "git:main@1a2b3c", File: "web.yaml"}
	if w, err := c.WriterOf(ctx, web, tx.Header.Revision); err != nil || w != want {
		t.Fatalf("WriterOf(sync) = %+v, %v", w, err)
	}

	rollback := specs.Writer{Kind: specs.WriterRollback, By: "bob@ops", At: hist0, RestoredFrom: res[0].Revision}
	rev, err := c.Desired().WithWriter(rollback).Put(ctx, web, specJSON(web, 2), tx.Header.Revision)
	if err != nil {
		t.Fatal(err)
	}
	if w, err := c.WriterOf(ctx, web, rev); err != nil || w != rollback {
		t.Fatalf("WriterOf(rollback) = %+v, %v", w, err)
	}
	if w, err := c.WriterOf(ctx, web, res[0].Revision); err != nil || w.Kind != specs.WriterUnknown {
		t.Errorf("WriterOf an overwritten revision = %+v, %v; its record is gone", w, err)
	}

	drev, err := c.Desired().WithWriter(apply).Delete(ctx, web, rev)
	if err != nil {
		t.Fatal(err)
	}
	if v := e.Etcdctl(t, "get", etcd.WrittenByKey("", web)); v != "" {
		t.Errorf("the writer record outlived the key: %s", v)
	}
	if w, err := c.WriterOf(ctx, web, drev); err != nil || w.Kind != specs.WriterUnknown {
		t.Errorf("WriterOf(delete) = %+v, %v", w, err)
	}

	putValue(t, e, etcd.WrittenByKey("", web), "not json")
	kv, _ := e.Client.Get(ctx, etcd.WrittenByKey("", web))
	if _, err := c.WriterOf(ctx, web, kv.Kvs[0].ModRevision); !errors.Is(err, etcd.ErrCorrupt) {
		t.Errorf("WriterOf with a corrupt record: %v", err)
	}
	putValue(t, e, etcd.SyncOwnerKey("", web), "{}")
	kv, _ = e.Client.Get(ctx, etcd.SyncOwnerKey("", web))
	if _, err := c.WriterOf(ctx, web, kv.Kvs[0].ModRevision); !errors.Is(err, etcd.ErrCorrupt) {
		t.Errorf("WriterOf with an ownership record that names no owner: %v", err)
	}
}

// TestApplyWithWriterBatches: with a writer each key takes two
// operations, and Apply still writes more groups than one transaction
// holds.
func TestApplyWithWriterBatches(t *testing.T) {
	_, c := start(t, fastOptions())
	ctx := t.Context()
	var groups []*specs.Group
	for i := range etcd.MaxTxnOps + 10 {
		groups = append(groups, group(t, key(t, "svc", fmt.Sprintf("g%d", i)), 1))
	}
	w := specs.Writer{Kind: specs.WriterApply, By: "alice@laptop"}
	res, err := c.Desired().WithWriter(w).Apply(ctx, groups)
	if err != nil {
		t.Fatal(err)
	}
	revs := map[int64]bool{}
	for _, r := range res {
		revs[r.Revision] = true
		if got, err := c.WriterOf(ctx, r.Key, r.Revision); err != nil || got != w {
			t.Fatalf("WriterOf(%s) = %+v, %v", r.Key, got, err)
		}
	}
	if len(revs) != 3 {
		t.Errorf("%d groups in %d transactions, want 3 of at most %d", len(groups), len(revs), etcd.MaxTxnOps/2)
	}
	ops := make([]etcd.Op, etcd.MaxTxnOps/2+1)
	for i := range ops {
		k := key(t, "other", fmt.Sprintf("g%d", i))
		ops[i] = etcd.Op{Key: k, Value: specJSON(k, 1)}
	}
	if _, err := c.Desired().WithWriter(w).Commit(ctx, ops); !errors.Is(err, etcd.ErrTooManyOps) {
		t.Errorf("Commit of %d keys with a writer: %v", len(ops), err)
	}
}
