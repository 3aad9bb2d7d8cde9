package etcdtest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/drivers/etcd/etcdtest"
)

func TestStartRestartKeepsData(t *testing.T) {
	start := time.Now()
	e := etcdtest.Start(t)
	t.Logf("ready in %v", time.Since(start))
	ctx := t.Context()
	if _, err := e.Client.Put(ctx, "/a", "1"); err != nil {
		t.Fatal(err)
	}
	e.Restart(t)
	resp, err := e.Client.Get(ctx, "/a")
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "1" {
		t.Fatalf("after restart: %v", resp.Kvs)
	}
}

// TestDropConnectionsClientRecovers: after its connections are cut, the
// client reconnects. A write in flight as the cut lands may fail (etcd's
// client does not retry a Put that may have been sent); one soon after
// succeeds.
func TestDropConnectionsClientRecovers(t *testing.T) {
	e := etcdtest.Start(t)
	e.DropConnections()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		_, err := e.Client.Put(ctx, "/b", "2")
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no write succeeded within 10s of the cut: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCompact(t *testing.T) {
	e := etcdtest.Start(t)
	ctx := t.Context()
	var rev int64
	for range 3 {
		r, err := e.Client.Put(ctx, "/c", "x")
		if err != nil {
			t.Fatal(err)
		}
		rev = r.Header.Revision
	}
	e.Compact(t, rev)
	if _, err := e.Client.Get(ctx, "/c", clientv3.WithRev(rev-1)); err == nil || !strings.Contains(err.Error(), "compacted") {
		t.Fatalf("read below compaction: %v", err)
	}
	if got := e.Revision(t); got != rev {
		t.Fatalf("revision %d, want %d", got, rev)
	}
}

func TestEtcdctl(t *testing.T) {
	e := etcdtest.Start(t)
	e.Etcdctl(t, "put", "/d", "v")
	if out := e.Etcdctl(t, "get", "--print-value-only", "/d"); strings.TrimSpace(out) != "v" {
		t.Fatalf("etcdctl get: %q", out)
	}
}
