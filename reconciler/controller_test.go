package reconciler_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"theseus.dev/diff"
	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/marathon/marathonsim"
	"theseus.dev/reconciler"
	"theseus.dev/specs"
)

const converge = 30 * time.Second

func taskIDs(ts []marathonsim.TaskState) []string {
	ids := make([]string, 0, len(ts))
	for _, t := range ts {
		ids = append(ids, t.ID)
	}
	slices.Sort(ids)
	return ids
}

func running(e *env, k specs.GroupKey, n int) func() bool {
	return func() bool {
		a, ok := e.app(k)
		return ok && a.TasksRunning == n && a.Deployment == "" && a.TasksStaged == 0
	}
}

// TestLifecycle walks one group through its life with the real etcdctl:
// create, scale, rolling update, delete without and with pruning. After
// each step the plan is empty.
func TestLifecycle(t *testing.T) {
	e := newEnv(t)
	_, stop := e.start(controllerOpts{id: "a"})
	k := key(t, "web", "dev")
	id := specs.AppID("", k)

	// The minimal spec of docs/design.md becomes an app with 2 running tasks.
	e.put(k, `{"apiVersion":"theseus/v1","kind":"Group","metadata":{"service":"web","labels":["dev"]},"spec":{"image":"nginx:1.27","instances":2,"cpus":0.1,"mem":64}}`)
	e.eventually(converge, "web/dev runs 2 tasks", running(e, k, 2))
	e.eventually(converge, "plan is empty", func() bool { return e.converged(false) })
	e.eventually(converge, "status Synced", func() bool {
		st := e.status(k)
		return st != nil && st.Phase == specs.PhaseSynced && st.Tasks.Running == 2
	})
	if n := len(e.writesTo("POST", "/v2/apps")); n != 1 {
		t.Errorf("%d creates, want 1", n)
	}
	e.eventually(converge, "/services lists the 2 containers", func() bool {
		names, err := e.store.Discovery().GroupContainerNames(t.Context(), "web", "dev")
		return err == nil && slices.Equal(names, taskIDs(e.sim.Tasks(id)))
	})

	// instances only: a scale; the running tasks keep running.
	before := taskIDs(e.sim.Tasks(id))
	e.put(k, spec(k, "nginx:1.27", 4, ""))
	e.eventually(converge, "web/dev runs 4 tasks", running(e, k, 4))
	after := taskIDs(e.sim.Tasks(id))
	for _, tid := range before {
		if !slices.Contains(after, tid) {
			t.Errorf("scale restarted task %s: before %v, after %v", tid, before, after)
		}
	}
	e.eventually(converge, "plan is empty after the scale", func() bool { return e.converged(false) })

	// The image: a rolling update within the upgrade strategy's bounds
	// (at least 2 of 4 running, at most 4 + 1 at any time).
	lo, hi := 4, 4
	e.put(k, spec(k, "nginx:1.28", 4, `,"upgrade":{"minimumHealthCapacity":0.5,"maximumOverCapacity":0.25}`))
	e.eventually(converge, "every task runs nginx:1.28", func() bool {
		ts := e.sim.Tasks(id)
		n := 0
		for _, t := range ts {
			if t.State == "TASK_RUNNING" {
				n++
			}
		}
		lo, hi = min(lo, n), max(hi, len(ts))
		a, _ := e.app(k)
		if a.Image != "nginx:1.28" || a.Deployment != "" || len(ts) != 4 {
			return false
		}
		for _, t := range ts {
			if !t.CurrentConfig || t.State != "TASK_RUNNING" {
				return false
			}
		}
		return true
	})
	if lo < 2 || hi > 5 {
		t.Errorf("during the rolling update running went down to %d and tasks up to %d; want ≥ 2 and ≤ 5", lo, hi)
	}
	e.eventually(converge, "plan is empty after the update", func() bool { return e.converged(false) })

	// Deleted without --prune: the app stays, the plan says it is an orphan.
	e.etcd.Etcdctl(t, "del", specs.DesiredKey("", k))
	e.eventually(converge, "plan lists the orphan", func() bool {
		p := e.plan(false)
		return len(p.Actions) == 1 && p.Actions[0].Kind == diff.Orphan
	})
	if _, ok := e.app(k); !ok {
		t.Fatal("the app was deleted although pruning is off")
	}
	// What /status said of the spec's progress no longer holds.
	e.eventually(converge, "the orphan's status is removed", func() bool { return e.status(k) == nil })

	// With --prune it goes, but not before an operator says so: it is
	// the last group, and an empty /desired looks like a wipe.
	stop()
	e.start(controllerOpts{id: "b", prune: true})
	e.eventually(converge, "the delete is held back, and the status says how to release it", func() bool {
		st := e.status(k)
		return st != nil && st.Phase == specs.PhaseStalled && strings.Contains(st.Message, "theseusd prune --allow-mass-delete")
	})
	if _, ok := e.app(k); !ok {
		t.Fatal("the last app was deleted when /desired became empty")
	}
	if err := e.store.Prune().Release(t.Context(), etcd.PruneRelease{By: "ops", At: time.Now(), Until: time.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	e.eventually(converge, "the app is deleted", func() bool { _, ok := e.app(k); return !ok })
	e.eventually(converge, "its status is removed", func() bool { return e.status(k) == nil })
	if p := e.plan(true); len(p.Actions) != 0 {
		t.Errorf("plan after prune: %+v", p.Actions)
	}
}

// TestGroupPhaseMetrics: theseus_groups counts the groups of each phase,
// so that Invalid and Stalled can be alerted on; one gauge says who leads.
func TestGroupPhaseMetrics(t *testing.T) {
	e := newEnv(t)
	m := reconciler.NewMetrics()
	d, _ := e.start(controllerOpts{id: "a", metrics: m})
	e.deploy("api", 2)
	bad := key(t, "api", "bad")
	e.put(bad, spec(bad, "nginx:1.27", -1, ""))
	phase := func(p string) float64 { return metric(t, m, `theseus_groups{phase="`+p+`"}`) }
	e.eventually(converge, "two groups Synced and one Invalid", func() bool {
		return phase("Synced") == 2 && phase("Invalid") == 1
	})
	for _, p := range []string{"Progressing", "Waiting", "Stalled", "Deleting", "RolledBack", "Failed", "Paused", "Drifted"} {
		if n := phase(p); n != 0 {
			t.Errorf("%s: %v groups", p, n)
		}
	}
	if _, err := e.store.Pauses().Pause(t.Context(), bad, specs.Pause{By: "bob@ops"}); err != nil {
		t.Fatal(err)
	}
	e.put(bad, spec(bad, "nginx:1.27", 1, ""))
	e.eventually(converge, "the paused group counted", func() bool { return phase("Paused") == 1 && phase("Invalid") == 0 })
	if !d.Leading() || metric(t, m, `leader_election_master_status{name="theseus"}`) != 1 {
		t.Error("the leader does not say it leads")
	}
	if n := metric(t, m, "theseus_leader"); n != 0 {
		t.Errorf("a second leader gauge: %v", n)
	}
}

// stalledGroup starts a daemon, with a progress deadline of 300ms,
// whose group api/g0 is Stalled behind a deployment that never ends, and
// waits for theseus_deployment_stalled to count it.
func stalledGroup(t *testing.T) (e *env, m *reconciler.Metrics, k specs.GroupKey, stop func()) {
	t.Helper()
	e = newEnv(t)
	m = reconciler.NewMetrics()
	_, stop = e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a", metrics: m}, progressDeadline: 300 * time.Millisecond})
	k = e.deploy("api", 1)[0]
	e.sim.Faults().StallDeployments(specs.AppID("", k))
	if _, err := e.mc.Restart(t.Context(), k); err != nil {
		t.Fatal(err)
	}
	e.putSpec(k, spec(k, "nginx:1.28", 1, "")) // held back by the other deployment
	stalled := `theseus_deployment_stalled{group="` + k.String() + `"}`
	e.eventually(converge, "api/g0 Stalled, and counted", func() bool {
		st := e.status(k)
		return st != nil && st.Phase == specs.PhaseStalled && metric(t, m, stalled) == 1
	})
	return e, m, k, stop
}

// TestStalledMetricIsTheLeaders: theseus_deployment_stalled and
// theseus_marathon_deployments_inflight are the leader's, as
// theseus_groups is: a daemon that stops leading no longer reports the
// group it saw stalled or the deployments it last listed, which its
// successor reports while they are, so that an alert does not fire for
// ever from a standby.
func TestStalledMetricIsTheLeaders(t *testing.T) {
	e, m, _, stop := stalledGroup(t)
	const inflight = "theseus_marathon_deployments_inflight"
	e.eventually(converge, "its deployment counted in flight", func() bool { return metric(t, m, inflight) == 1 })
	stop()
	if n := metric(t, m, "theseus_deployment_stalled"); n != 0 {
		t.Errorf("a daemon that no longer leads reports %v stalled group(s)", n)
	}
	if n := metric(t, m, inflight); n != 0 {
		t.Errorf("a daemon that no longer leads reports %v deployment(s) in flight", n)
	}
}

// TestStalledMetricClearedWhenNoLongerStalled: a group that stops being
// Stalled for another reason than arriving (here an operator pauses it)
// is no longer counted in theseus_deployment_stalled.
func TestStalledMetricClearedWhenNoLongerStalled(t *testing.T) {
	e, m, k, _ := stalledGroup(t)
	if _, err := e.store.Pauses().Pause(t.Context(), k, specs.Pause{By: "bob@ops", At: time.Now(), Reason: "looking into it"}); err != nil {
		t.Fatal(err)
	}
	e.eventually(converge, "api/g0 Paused", func() bool { st := e.status(k); return st != nil && st.Phase == specs.PhasePaused })
	if n := metric(t, m, "theseus_deployment_stalled"); n != 0 {
		t.Errorf("a Paused group is still counted as stalled (%v)", n)
	}
}

// TestResyncRemovesStatusLeftBehind: a status whose group has neither a
// /desired entry nor an app, as a leader can leave one that stopped
// between a delete and its clean-up, is removed, and the status of a
// group that runs stays.
func TestResyncRemovesStatusLeftBehind(t *testing.T) {
	e := newEnv(t)
	k, gone := key(t, "web", "dev"), key(t, "web", "gone")
	e.put(k, spec(k, "nginx:1.27", 1, ""))
	e.etcd.Etcdctl(t, "put", specs.StatusKey("", gone), `{"phase":"Synced","observedRevision":7}`)
	if e.status(gone) == nil {
		t.Fatal("the status put for web/gone does not read back")
	}
	e.start(controllerOpts{id: "a"})
	e.eventually(converge, "web/dev is Synced", func() bool {
		st := e.status(k)
		return st != nil && st.Phase == specs.PhaseSynced
	})
	e.eventually(converge, "the status left behind is removed", func() bool { return e.status(gone) == nil })
	if st := e.status(k); st == nil {
		t.Fatal("web/dev's status was removed with the one left behind")
	}
}
