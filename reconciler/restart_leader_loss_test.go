package reconciler_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

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

// TestRestartNotInferredFromAScale: a new leader takes a restart as sent
// by the last one when the app's definition changed since the restart
// began (restarted tasks are coming). A scale made meanwhile changes the
// app's version but not its definition: the restart is still sent, not
// waited for until it times out.
func TestRestartNotInferredFromAScale(t *testing.T) {
	e := newEnv(t)
	_, stop := e.start(controllerOpts{id: "a"})
	k := e.deploy("api", 1)[0]
	stop()
	// The last leader began api/g0's restart (its state records the
	// app's version then), and ended before sending it.
	before, ok := e.app(k)
	if !ok {
		t.Fatal("api/g0 has no app")
	}
	st := &specs.RestartState{Token: "t1", Groups: []string{k.String()}, Current: k.String(), CurrentSince: time.Now().UTC(),
		StartVersion: before.Version.UTC().Format("2006-01-02T15:04:05.000Z"), Started: time.Now().UTC(), HealthTimeoutSeconds: 5}
	if _, err := e.store.Restarts().Put(t.Context(), model.Fence{}, "api", st, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.mc.Scale(t.Context(), k, 2); err != nil {
		t.Fatal(err)
	}
	e.eventually(converge, "the scale deployed", func() bool { a, _ := e.app(k); return a.Deployment == "" && a.Version.After(before.Version) })
	e.start(controllerOpts{id: "b"})
	var lines []string
	if err := e.restarter(0, &lines).Run(t.Context(), "api", specs.Selector{}); err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(lines, "\n"))
	}
	if n := len(e.writesTo("POST", appPath(k)+"/restart")); n != 1 {
		t.Errorf("api/g0 restarted %d times, want once", n)
	}
}
