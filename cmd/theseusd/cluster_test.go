package main

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"theseus.dev/drivers/etcd/etcdtest"
	"theseus.dev/drivers/marathon/marathonsim"
	"theseus.dev/specs"
)

// etcdctlAt runs the real etcdctl against the members of c named by
// index.
func etcdctlAt(t *testing.T, c *etcdtest.Cluster, members []int, args ...string) string {
	t.Helper()
	var eps []string
	for _, i := range members {
		eps = append(eps, c.Members[i].Endpoint())
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, etcdtest.Etcdctl(t), append([]string{"--endpoints=" + strings.Join(eps, ",")}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("etcdctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestRunAgainstEtcdCluster: `theseusd run --etcd a,b,c` against a real
// 3-member cluster. The daemon deploys a spec, and carries out a change
// while the cluster's leader member is down, and another after that
// member restarted and a second one went down; each change is one write
// and /status ends Synced at the last revision.
func TestRunAgainstEtcdCluster(t *testing.T) {
	c := etcdtest.StartCluster(t, 3)
	sim, url := newSim(t, nil)
	startChild(t, daemonArgs(strings.Join(c.Endpoints(), ","), url))
	all := []int{0, 1, 2}
	others := func(down int) []int {
		var out []int
		for _, i := range all {
			if i != down {
				out = append(out, i)
			}
		}
		return out
	}
	runs := func(n int) func() bool {
		return func() bool { a, ok := sim.App("/web/dev"); return ok && a.TasksRunning == n && a.Deployment == "" }
	}
	synced := func(up []int) func() bool {
		return func() bool {
			var st specs.Status
			out := etcdctlAt(t, c, up, "get", "--print-value-only", "/status/web/dev")
			rev := etcdctlAt(t, c, up, "get", "-w", "json", "/desired/web/dev")
			var r struct {
				Kvs []struct {
					ModRevision int64 `json:"mod_revision"`
				} `json:"kvs"`
			}
			return json.Unmarshal([]byte(out), &st) == nil && json.Unmarshal([]byte(rev), &r) == nil && len(r.Kvs) == 1 &&
				st.Phase == specs.PhaseSynced && st.ObservedRevision == r.Kvs[0].ModRevision
		}
	}
	etcdctlAt(t, c, all, "put", "/desired/web/dev", minimal)
	waitSim(t, sim, "web/dev runs 2 tasks", runs(2))

	first := c.Leader()
	if first < 0 {
		t.Fatal("the cluster has no leader")
	}
	c.Members[first].Stop()
	etcdctlAt(t, c, others(first), "put", "/desired/web/dev", strings.Replace(minimal, `"instances":2`, `"instances":3`, 1))
	waitSim(t, sim, "the change made with the leader member down runs", runs(3))
	waitSim(t, sim, "status Synced with a member down", synced(others(first)))

	c.Members[first].Restart(t)
	second := (first + 1) % 3
	c.Members[second].Stop()
	etcdctlAt(t, c, others(second), "put", "/desired/web/dev", strings.Replace(minimal, `"instances":2`, `"instances":1`, 1))
	waitSim(t, sim, "the change made after the restart, with another member down, runs", runs(1))
	waitSim(t, sim, "status Synced after the restart", synced(others(second)))
	c.Members[second].Restart(t)
	waitSim(t, sim, "status Synced with every member up", synced(all))

	if n := sim.RequestCount("POST", marathonsim.RouteApps); n != 1 {
		t.Errorf("%d creates, want 1", n)
	}
	if n := sim.RequestCount("PUT", marathonsim.RouteApp); n != 2 {
		t.Errorf("%d writes for two changes, want 2", n)
	}
}
