package etcd_test

import (
	"context"
	"errors"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/etcd/etcdtest"
	"theseus.dev/specs"
)

// candidate is one daemon: its own etcd client and theseus client.
func candidate(t testing.TB, e *etcdtest.Etcd, hooks etcd.Hooks) *etcd.Client {
	t.Helper()
	opts := fastOptions()
	opts.Hooks = hooks
	c, err := etcd.New(e.NewClient(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// campaign runs Campaign in the background and returns a channel with its
// outcome.
func campaign(ctx context.Context, c *etcd.Client, id string, ttl time.Duration) chan *etcd.Leadership {
	ch := make(chan *etcd.Leadership, 1)
	go func() {
		l, err := c.Campaign(ctx, etcd.ElectionConfig{ID: id, TTL: ttl})
		if err != nil {
			l = nil
		}
		ch <- l
	}()
	return ch
}

func resign(t testing.TB, l *etcd.Leadership) {
	t.Helper()
	if err := l.Resign(context.Background()); err != nil {
		t.Errorf("resign %s: %v", l.ID(), err)
	}
}

func status(phase specs.Phase) *specs.Status { return &specs.Status{Phase: phase, ObservedRevision: 1} }

// TestElectionOneLeader: of two candidates one leads and the other waits.
func TestElectionOneLeader(t *testing.T) {
	e := etcdtest.Start(t)
	var hooks counter
	a, b := candidate(t, e, hooks.hooks()), candidate(t, e, etcd.Hooks{})
	la, err := a.Campaign(t.Context(), etcd.ElectionConfig{ID: "a", TTL: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer resign(t, la)
	ctx, cancel := context.WithCancel(t.Context())
	chB := campaign(ctx, b, "b", 5*time.Second)
	select {
	case lb := <-chB:
		t.Fatalf("second candidate also leads: %v", lb)
	case <-time.After(300 * time.Millisecond):
	}
	info, err := b.Leader(t.Context())
	if err != nil || info.ID != "a" || info.Key != la.Fence().Key || info.Lease != la.Lease() {
		t.Fatalf("Leader() = %+v, %v", info, err)
	}
	cancel()
	if lb := <-chB; lb != nil {
		t.Fatal("cancelled campaign reported leadership")
	}
	if hooks.get("leader:true") != 1 {
		t.Errorf("leader hook: %v", hooks.n)
	}
	// The cancelled candidate left no key behind.
	resp, err := e.Client.Get(t.Context(), "/theseus/leader/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil || resp.Count != 1 {
		t.Fatalf("%d candidate keys, %v", resp.Count, err)
	}
}

// TestElectionFailoverWhenSessionDies revokes the leader's lease, as etcd
// does when its keepalives stop: the leader's context ends with
// ErrLeadershipLost, the standby leads within the TTL, and the old
// leader's fenced status write is refused.
func TestElectionFailoverWhenSessionDies(t *testing.T) {
	e := etcdtest.Start(t)
	var hooksA counter
	a, b := candidate(t, e, hooksA.hooks()), candidate(t, e, etcd.Hooks{})
	const ttl = 5 * time.Second
	la, err := a.Campaign(t.Context(), etcd.ElectionConfig{ID: "a", TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	defer resign(t, la)
	web := key(t, "web", "dev")
	if err := a.Status().Write(t.Context(), la.Fence(), []etcd.StatusChange{{Key: web, Status: status(specs.PhaseSynced)}}); err != nil {
		t.Fatalf("leader's write: %v", err)
	}
	chB := campaign(t.Context(), b, "b", ttl)

	killed := time.Now()
	if _, err := e.Client.Revoke(t.Context(), la.Lease()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-la.Done():
	case <-time.After(ttl):
		t.Fatal("old leader's context still alive after its lease was revoked")
	}
	if cause := context.Cause(la.Context()); !errors.Is(cause, etcd.ErrLeadershipLost) {
		t.Errorf("cause %v, want ErrLeadershipLost", cause)
	}
	var lb *etcd.Leadership
	select {
	case lb = <-chB:
	case <-time.After(ttl):
		t.Fatal("standby did not take over within the TTL")
	}
	defer resign(t, lb)
	t.Logf("failover in %v", time.Since(killed))
	if err := a.Status().Write(t.Context(), la.Fence(), []etcd.StatusChange{{Key: web, Status: status(specs.PhaseStalled)}}); !errors.Is(err, etcd.ErrNotLeader) {
		t.Fatalf("old leader's fenced write: %v, want ErrNotLeader", err)
	}
	if err := b.Status().Write(t.Context(), lb.Fence(), []etcd.StatusChange{{Key: web, Status: status(specs.PhaseProgressing)}}); err != nil {
		t.Fatalf("new leader's write: %v", err)
	}
	st, err := b.Status().Get(t.Context(), web)
	if err != nil || st.Status.Phase != specs.PhaseProgressing {
		t.Fatalf("status %+v, %v", st, err)
	}
	if hooksA.get("leader:true") != 1 || hooksA.get("leader:false") != 1 {
		t.Errorf("leader hooks of a: %v", hooksA.n)
	}
}

// TestElectionResignHandsOverAtOnce: after Resign the standby leads long
// before the TTL would have run out.
func TestElectionResignHandsOverAtOnce(t *testing.T) {
	e := etcdtest.Start(t)
	a, b := candidate(t, e, etcd.Hooks{}), candidate(t, e, etcd.Hooks{})
	const ttl = 60 * time.Second
	la, err := a.Campaign(t.Context(), etcd.ElectionConfig{ID: "a", TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	chB := campaign(t.Context(), b, "b", ttl)
	resign(t, la)
	if cause := context.Cause(la.Context()); !errors.Is(cause, etcd.ErrResigned) {
		t.Errorf("cause %v, want ErrResigned", cause)
	}
	select {
	case lb := <-chB:
		defer resign(t, lb)
	case <-time.After(5 * time.Second):
		t.Fatal("standby did not take over after Resign")
	}
	if err := a.Status().Write(t.Context(), la.Fence(), []etcd.StatusChange{{Key: key(t, "web", "dev"), Status: status(specs.PhaseSynced)}}); !errors.Is(err, etcd.ErrNotLeader) {
		t.Fatalf("resigned leader's write: %v", err)
	}
	resign(t, la) // twice is fine
}

// TestElectionSessionDiesWhileCampaigning kills a waiting candidate's
// session; when the leader then resigns, the candidate must not report a
// leadership without a live key (phantom leadership, docs/reliability.md):
// it campaigns again with a new session and leads with that.
func TestElectionSessionDiesWhileCampaigning(t *testing.T) {
	e := etcdtest.Start(t)
	a, b := candidate(t, e, etcd.Hooks{}), candidate(t, e, etcd.Hooks{})
	la, err := a.Campaign(t.Context(), etcd.ElectionConfig{ID: "a", TTL: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	chB := campaign(t.Context(), b, "b", 5*time.Second)
	// Wait for b's key, then revoke its lease.
	var bLease clientv3.LeaseID
	for deadline := time.Now().Add(5 * time.Second); bLease == 0; {
		resp, err := e.Client.Get(t.Context(), "/theseus/leader/", clientv3.WithPrefix())
		if err != nil {
			t.Fatal(err)
		}
		for _, kv := range resp.Kvs {
			if string(kv.Value) == "b" {
				bLease = clientv3.LeaseID(kv.Lease)
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("b never campaigned")
		}
	}
	if _, err := e.Client.Revoke(t.Context(), bLease); err != nil {
		t.Fatal(err)
	}
	resign(t, la)
	var lb *etcd.Leadership
	select {
	case lb = <-chB:
	case <-time.After(10 * time.Second):
		t.Fatal("b never led")
	}
	defer resign(t, lb)
	if lb.Lease() == bLease {
		t.Fatal("b leads with the revoked lease")
	}
	resp, err := e.Client.Get(t.Context(), lb.Fence().Key)
	if err != nil || len(resp.Kvs) != 1 || clientv3.LeaseID(resp.Kvs[0].Lease) != lb.Lease() {
		t.Fatalf("b's leader key: %v, %v", resp, err)
	}
	if lb.Context().Err() != nil {
		t.Fatal("b's leadership context is already cancelled")
	}
}

// TestElectionKeyDeletedEndsLeadership deletes the leader key behind the
// leader's back (an operator, or a bug): the leadership ends at once.
func TestElectionKeyDeletedEndsLeadership(t *testing.T) {
	e := etcdtest.Start(t)
	a := candidate(t, e, etcd.Hooks{})
	la, err := a.Campaign(t.Context(), etcd.ElectionConfig{ID: "a", TTL: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer resign(t, la)
	if _, err := e.Client.Delete(t.Context(), la.Fence().Key); err != nil {
		t.Fatal(err)
	}
	select {
	case <-la.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("leadership survived the deletion of its key")
	}
	if _, err := a.Leader(t.Context()); !errors.Is(err, etcd.ErrNoLeader) {
		t.Fatalf("Leader() after deletion: %v", err)
	}
}

// TestCampaignWaitsForEtcd starts a campaign while etcd is down: it must
// keep trying and win once etcd is back.
func TestCampaignWaitsForEtcd(t *testing.T) {
	e := etcdtest.Start(t)
	a := candidate(t, e, etcd.Hooks{})
	e.Stop()
	ch := campaign(t.Context(), a, "a", 5*time.Second)
	select {
	case l := <-ch:
		t.Fatalf("led while etcd was down: %v", l)
	case <-time.After(200 * time.Millisecond):
	}
	e.Restart(t)
	select {
	case l := <-ch:
		if l == nil {
			t.Fatal("campaign failed")
		}
		resign(t, l)
	case <-time.After(30 * time.Second):
		t.Fatal("no leadership after etcd came back")
	}
}

// TestElectionFailoverWhenLeaderPartitioned cuts the leader off from etcd
// without closing anything: its keepalives stop, etcd expires its lease
// after the TTL, the standby (on a direct connection) takes over, the old
// leader notices on its own, and once it can reach etcd again its fenced
// write is refused.
func TestElectionFailoverWhenLeaderPartitioned(t *testing.T) {
	e := etcdtest.Start(t)
	a := candidate(t, e, etcd.Hooks{}) // through the proxy
	b, err := etcd.New(e.NewDirectClient(t), fastOptions())
	if err != nil {
		t.Fatal(err)
	}
	const ttl = 2 * time.Second
	la, err := a.Campaign(t.Context(), etcd.ElectionConfig{ID: "a", TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	defer resign(t, la)
	chB := campaign(t.Context(), b, "b", ttl)
	cut := time.Now()
	e.Blackhole()
	var lb *etcd.Leadership
	select {
	case lb = <-chB:
	case <-time.After(3 * ttl):
		t.Fatal("standby did not take over")
	}
	defer resign(t, lb)
	t.Logf("standby leads %v after the partition (TTL %v)", time.Since(cut), ttl)
	select {
	case <-la.Done():
	case <-time.After(3 * ttl):
		t.Fatal("partitioned leader never noticed its loss")
	}
	// Its lease is gone, and its key with it: resigning, still cut off,
	// has nothing to do and must not hold up the next campaign.
	start := time.Now()
	if err := la.Resign(t.Context()); err != nil {
		t.Errorf("resign after the lease ran out: %v", err)
	}
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("resign after the lease ran out took %v while cut off from etcd", d)
	}
	e.Unblackhole()
	e.DropConnections()
	ctx := within(t, 10*time.Second)
	// Reads are retried over the new connection; a write racing the
	// reconnect could fail as unavailable instead.
	if err := a.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Status().Write(ctx, la.Fence(), []etcd.StatusChange{{Key: key(t, "web", "dev"), Status: status(specs.PhaseSynced)}}); !errors.Is(err, etcd.ErrNotLeader) {
		t.Fatalf("old leader's fenced write: %v, want ErrNotLeader", err)
	}
}

// TestElectionKeyDeletedAfterCompactionAndReconnect: the leader key is
// days old, etcd compacts past it and the connection drops (a member
// restart); deleting the key afterwards must still end the leadership at
// once, not after the campaign backoff.
func TestElectionKeyDeletedAfterCompactionAndReconnect(t *testing.T) {
	e := etcdtest.Start(t)
	opts := fastOptions()
	// A backoff far longer than the test waits: only the watch may
	// notice the deletion.
	opts.RetryMin, opts.RetryMax = time.Minute, time.Minute
	resumed := make(chan struct{}, 1)
	opts.Hooks.WatchRestart = func(r etcd.RestartReason) {
		if r == etcd.RestartCompacted {
			select {
			case resumed <- struct{}{}:
			default:
			}
		}
	}
	a, err := etcd.New(e.NewClient(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	la, err := a.Campaign(t.Context(), etcd.ElectionConfig{ID: "a", TTL: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer resign(t, la)
	for range 3 {
		putValue(t, e, "/desired/web/dev", minimalJSON)
	}
	e.Compact(t, e.Revision(t))
	e.DropConnections()
	if _, err := a.Etcd().Get(within(t, 5*time.Second), "/theseus/ready"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-la.Done():
		t.Fatalf("leadership ended on a reconnect: %v", context.Cause(la.Context()))
	case <-resumed: // the leader's watch resumes from where it read its key
	case <-time.After(30 * time.Second):
		t.Fatal("the leader's watch did not resume after the compaction")
	}
	if _, err := e.Client.Delete(t.Context(), la.Fence().Key); err != nil {
		t.Fatal(err)
	}
	select {
	case <-la.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("leadership survived the deletion of its key after a compaction and a reconnect")
	}
}

// TestStandbyStopsCampaigningWhileCutOff: a standby cut off from etcd
// (nothing closed, nothing answered) is told to stop, as on SIGTERM: its
// campaign returns at once rather than wait on etcd for its clean-up.
func TestStandbyStopsCampaigningWhileCutOff(t *testing.T) {
	e := etcdtest.Start(t)
	a, err := etcd.New(e.NewDirectClient(t), fastOptions())
	if err != nil {
		t.Fatal(err)
	}
	la, err := a.Campaign(t.Context(), etcd.ElectionConfig{ID: "a", TTL: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer resign(t, la)
	b := candidate(t, e, etcd.Hooks{}) // through the proxy
	ctx, cancel := context.WithCancel(t.Context())
	chB := campaign(ctx, b, "b", 30*time.Second)
	// b waits behind a's key once its own is there.
	waitCtx := within(t, 10*time.Second)
	for {
		resp, err := e.Client.Get(waitCtx, "/theseus/leader/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			t.Fatal(err)
		}
		if resp.Count == 2 {
			break
		}
		select {
		case lb := <-chB:
			t.Fatalf("standby led: %v", lb)
		case <-time.After(10 * time.Millisecond):
		}
	}
	e.Blackhole()
	defer e.Unblackhole()
	cancel()
	select {
	case lb := <-chB:
		if lb != nil {
			t.Fatal("a cancelled campaign led")
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the campaign did not return within 3s of being stopped while cut off from etcd")
	}
}
