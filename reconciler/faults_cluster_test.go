package reconciler_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/etcd/etcdtest"
	"theseus.dev/reconciler"
	"theseus.dev/specs"
)

// TestEtcdMinorityMember (row 3): in a 3-member etcd cluster, the member
// the daemon talks to is partitioned from the other two. Its watch ends
// with "no leader" instead of hanging on a stale view, readiness says
// so, the daemon stops leading and writes nothing to Marathon while
// /desired and Marathon change on the majority's side; when the
// partition heals it leads again and carries out the change.
func TestEtcdMinorityMember(t *testing.T) {
	c := etcdtest.StartCluster(t, 3)
	e := newEnvOn(t, c.Members[0], simSpeed)
	m := reconciler.NewMetrics()
	tap := &tapMarathon{}
	d, _ := e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a", metrics: m}, store: newStore(t, c.NewClient(t, 0), m),
		marathon: func(mm reconciler.Marathon) reconciler.Marathon { tap.Marathon = mm; return tap }})
	keys := e.deploy("api", 2)
	e.eventually(converge, "the first group's status", func() bool { return e.statusTruthful(keys[0]) == "" })

	c.Isolate(0)
	cut := time.Now()
	e.eventually(converge, "the watch ends with no leader", func() bool {
		return testutil.ToFloat64(m.WatchRestartCounter(string(etcd.RestartNoLeader))) > 0
	})
	e.eventually(converge, "the daemon stops leading", func() bool { return !d.Leading() })
	e.eventually(converge, "the daemon is not ready, for want of an etcd leader", func() bool {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		err := d.Ready(ctx)
		return err != nil && strings.Contains(err.Error(), "no leader")
	})
	t.Logf("not ready %v after the partition", time.Since(cut).Round(time.Millisecond))
	// On the majority's side a user scales the group in /desired, and
	// someone scales its app by hand.
	e.eventually(converge, "the majority has a leader", func() bool { l := c.Leader(); return l == 1 || l == 2 })
	majority := c.NewClient(t, 1, 2)
	if _, err := majority.Put(t.Context(), specs.DesiredKey("", keys[0]), spec(keys[0], "nginx:1.27", 2, "")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.mc.Scale(t.Context(), keys[0], 3); err != nil {
		t.Fatal(err)
	}
	e.eventually(converge, "Marathon runs the hand-made scale", running(e, keys[0], 3))
	e.holds(time.Second, "no Marathon writes from the daemon on the minority", func() bool { return tap.writesAfter(cut) == 0 })

	c.Heal(0)
	e.eventually(converge, "the daemon leads again", d.Leading)
	e.eventually(converge, "the change made meanwhile is carried out", running(e, keys[0], 2))
	e.checkInvariants(keys...)
}

// TestEtcdMinorityMemberOtherEndpoints (row 3): the daemon knows every
// member; when the one it talks to is partitioned it reaches a healthy
// one and carries out a change made meanwhile, with no heal.
func TestEtcdMinorityMemberOtherEndpoints(t *testing.T) {
	c := etcdtest.StartCluster(t, 3)
	e := newEnvOn(t, c.Members[1], simSpeed)
	m := reconciler.NewMetrics()
	e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a", metrics: m}, store: newStore(t, c.NewClient(t, 0, 1, 2), m)})
	keys := e.deploy("api", 2)
	e.eventually(converge, "the first group's status", func() bool { return e.statusTruthful(keys[0]) == "" })
	c.Isolate(0)
	cut := time.Now()
	e.eventually(converge, "the majority has a leader", func() bool { l := c.Leader(); return l == 1 || l == 2 })
	e.putSpec(keys[0], spec(keys[0], "nginx:1.27", 3, "")) // through member 1
	e.eventually(converge, "the change converges through a healthy member", running(e, keys[0], 3))
	t.Logf("converged %v after the partition", time.Since(cut).Round(time.Millisecond))
	e.checkInvariants(keys...)
}
