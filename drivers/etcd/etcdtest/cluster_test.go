package etcdtest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/drivers/etcd/etcdtest"
)

// TestClusterPartition: a write through one member is read through
// another; an isolated member answers a read that requires a leader with
// "no leader" instead of hanging, and serves again once healed.
func TestClusterPartition(t *testing.T) {
	start := time.Now()
	c := etcdtest.StartCluster(t, 3)
	t.Logf("cluster up in %v", time.Since(start))
	ctx := t.Context()
	if _, err := c.Members[0].Client.Put(ctx, "/a", "1"); err != nil {
		t.Fatal(err)
	}
	if resp, err := c.Members[2].Client.Get(ctx, "/a"); err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("read through another member: %v %v", resp, err)
	}
	c.Isolate(0)
	cut := time.Now()
	deadline := time.Now().Add(30 * time.Second)
	for c.HasLeader(0) {
		if time.Now().After(deadline) {
			t.Fatal("the isolated member still has a leader")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("leader lost %v after the cut (leader was %d)", time.Since(cut), c.Leader())
	for {
		// The client retries "no leader" for about 2.5s before it
		// gives up with it.
		rctx, cancel := context.WithTimeout(clientv3.WithRequireLeader(ctx), 8*time.Second)
		_, err := c.Members[0].Client.Get(rctx, "/a")
		cancel()
		if errors.Is(err, rpctypes.ErrNoLeader) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the isolated member still answers: %v", err)
		}
	}
	t.Logf("no leader %v after the cut", time.Since(cut))
	if _, err := c.Members[1].Client.Put(ctx, "/a", "2"); err != nil {
		t.Fatalf("the majority does not take writes: %v", err)
	}
	c.Heal(0)
	healed := time.Now()
	defer func() { t.Logf("served %v after healing", time.Since(healed)) }()
	deadline = time.Now().Add(10 * time.Second)
	for {
		rctx, cancel := context.WithTimeout(clientv3.WithRequireLeader(ctx), time.Second)
		resp, err := c.Members[0].Client.Get(rctx, "/a")
		cancel()
		if err == nil && string(resp.Kvs[0].Value) == "2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the healed member does not serve the majority's write: %v", err)
		}
	}
}
