package reconciler_test

import (
	"context"
	"sync"
	"testing"

	"theseus.dev/drivers/etcd"
	"theseus.dev/model"
	"theseus.dev/reconciler"
	"theseus.dev/specs"
)

// TestRestartNotRepeatedAfterLeaderLoss: the leader carrying out a
// rolling restart sends the first group's restart to Marathon, which
// does it, and its leadership ends in etcd at that moment (its lease is
// revoked, as when it is partitioned past its TTL or killed), before its
// status writer, which runs behind the reconciles, has recorded the
// restart's token in /status. The standby takes over the restart: it
// must not restart the group a second time.
func TestRestartNotRepeatedAfterLeaderLoss(t *testing.T) {
	e, _, b, keys := leaderLostAfterFirstRestart(t)
	e.restartOnceEach(keys, b.Leading)
}

// leaderLostAfterFirstRestart starts daemon a, whose lease is revoked as
// its first restart returns from Marathon, and standby b (on a client of
// its own, direct), and deploys api/g0 and api/g1.
func leaderLostAfterFirstRestart(t *testing.T) (e *env, direct *etcd.Client, b *reconciler.Daemon, keys []specs.GroupKey) {
	t.Helper()
	e = newEnv(t)
	direct = e.directStore()
	cut := &loseLeadershipAfterRestart{revoke: func() {
		if err := revokeLeader(context.Background(), direct); err != nil {
			t.Error(err)
		}
	}}
	a, _ := e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"},
		marathon: func(m reconciler.Marathon) reconciler.Marathon { cut.Marathon = m; return cut }})
	e.eventually(converge, "a leads", a.Leading)
	b, _ = e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "b"}, store: direct})
	keys = e.deploy("api", 2)
	for _, k := range keys {
		e.eventually(converge, "the group's status", func() bool { return e.statusTruthful(k) == "" })
	}
	return e, direct, b, keys
}

// loseLeadershipAfterRestart passes every call through, and revokes the
// leader's lease as its first restart returns from Marathon.
type loseLeadershipAfterRestart struct {
	reconciler.Marathon
	revoke func()
	once   sync.Once
}

func (m *loseLeadershipAfterRestart) Restart(ctx context.Context, k specs.GroupKey) (model.Result, error) {
	res, err := m.Marathon.Restart(ctx, k)
	if err == nil {
		m.once.Do(m.revoke)
	}
	return res, err
}

// TestRestartNotRepeatedAfterLeaderLossMidDeployment: as above, but the
// restart's deployment is still running when the new leader takes the
// restart as sent (the app is past the version it started from). Its
// end must not have the group restarted again.
func TestRestartNotRepeatedAfterLeaderLossMidDeployment(t *testing.T) {
	e, direct, b, keys := leaderLostAfterFirstRestart(t)
	stall := e.sim.Faults().StallDeployments(specs.AppID("", keys[0]))
	done := make(chan struct{})
	go func() {
		defer close(done)
		// The stalled deployment ends once b has taken the restart of
		// g0 as sent.
		e.eventually(converge, "b takes g0's restart as sent", func() bool {
			r, err := direct.Restarts().Get(context.Background(), "api")
			return err == nil && r.State != nil && r.State.Current == keys[0].String() && r.State.CurrentVersion != "" && b.Leading()
		})
		e.sim.Faults().Clear(stall)
	}()
	e.restartOnceEach(keys, b.Leading)
	<-done
}
