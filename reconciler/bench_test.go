package reconciler_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"theseus.dev/drivers/marathon/marathonsim"
	"theseus.dev/reconciler"
	"theseus.dev/specs"
)

// deployMany puts n groups in one go and waits until they all run.
func (e *env) deployMany(svc string, n int) []specs.GroupKey {
	e.t.Helper()
	keys := make([]specs.GroupKey, n)
	groups := make([]*specs.Group, n)
	for i := range keys {
		keys[i] = key(e.t, svc, fmt.Sprintf("g%d", i))
		g, err := specs.DecodeStored(keys[i], []byte(spec(keys[i], "nginx:1.27", 1, "")))
		if err != nil {
			e.t.Fatal(err)
		}
		groups[i] = g
	}
	if _, err := e.store.Desired().Apply(e.t.Context(), groups); err != nil {
		e.t.Fatal(err)
	}
	e.eventually(2*time.Minute, fmt.Sprintf("%d groups run", n), func() bool {
		apps := e.sim.Apps()
		if len(apps) < n {
			return false
		}
		for _, a := range apps {
			if a.TasksRunning != a.Instances || a.Deployment != "" {
				return false
			}
		}
		return true
	})
	return keys
}

// TestQuietResync: when nothing changed, a resync costs one Marathon list
// call and writes nothing, to Marathon or to etcd.
func TestQuietResync(t *testing.T) {
	e := newEnv(t)
	m := reconciler.NewMetrics()
	e.start(controllerOpts{id: "a", metrics: m})
	keys := e.deployMany("api", 50)
	e.eventually(converge, "statuses and the discovery tree settle", func() bool {
		for _, k := range keys {
			g, err := e.store.Discovery().ReadGroup(t.Context(), k)
			if err != nil || g.Revision.Ready != 1 {
				return false
			}
		}
		entries, _, _ := e.store.Status().List(t.Context())
		if len(entries) != 50 {
			return false
		}
		for _, s := range entries {
			// Synced, its rollout over and recorded in the history.
			if s.Status.Phase != specs.PhaseSynced || s.Status.Rollout != nil {
				return false
			}
			if h, err := e.store.History().Get(t.Context(), s.Key); err != nil || len(h.Entries) != 1 ||
				h.Entries[0].Outcome != specs.OutcomeSynced {
				return false
			}
		}
		return true
	})
	// Let one more resync pass, then count over the next five.
	r0 := testutil.ToFloat64(m.ResyncCounter())
	e.eventually(converge, "a resync", func() bool { return testutil.ToFloat64(m.ResyncCounter()) > r0 })
	e.sim.ResetRequests()
	rev := e.etcd.Revision(t)
	r1 := testutil.ToFloat64(m.ResyncCounter())
	e.eventually(converge, "five resyncs", func() bool { return testutil.ToFloat64(m.ResyncCounter()) >= r1+5 })
	resyncs := int(testutil.ToFloat64(m.ResyncCounter()) - r1)
	var other []string
	lists := 0
	for k, n := range e.sim.RequestCounts() {
		switch {
		case k.Method == "GET" && k.Route == marathonsim.RouteApps:
			lists += n
		case k.Route == marathonsim.RouteEvents:
		default:
			other = append(other, fmt.Sprintf("%s %s %d ×%d", k.Method, k.Route, k.Status, n))
		}
	}
	// The list that is in flight when counting stops may or may not be
	// counted as a resync yet.
	if lists < resyncs || lists > resyncs+1 {
		t.Errorf("%d list calls for %d resyncs, want one each", lists, resyncs)
	}
	if len(other) > 0 {
		t.Errorf("other Marathon calls while nothing changed: %s", strings.Join(other, "; "))
	}
	if r := e.etcd.Revision(t); r != rev {
		t.Errorf("etcd revision moved from %d to %d: something was written", rev, r)
	}
	t.Logf("%d resyncs: %d Marathon list calls, 0 other calls, 0 etcd writes", resyncs, lists)
}

// BenchmarkConvergence measures, with 1,000 managed groups, the time from
// an etcd put of a changed spec to the Marathon write it causes.
func BenchmarkConvergence(b *testing.B) {
	e := newEnv(b)
	e.start(controllerOpts{id: "a"})
	keys := e.deployMany("api", 1000)
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		k := keys[i%len(keys)]
		path := appPath(k)
		n := len(e.writesTo("PUT", path))
		start := time.Now()
		instances := 2 - (i/len(keys))%2 // 1 → 2 on the first pass, back on the next
		e.putSpec(k, spec(k, "nginx:1.27", instances, ""))
		e.eventually(converge, "the write", func() bool { return len(e.writesTo("PUT", path)) > n })
		ws := e.writesTo("PUT", path)
		lat = append(lat, ws[len(ws)-1].at.Sub(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkColdStart measures, in process, the time from putting 2,000
// groups into an empty /desired to the last of their creates reaching
// Marathon: a cold start at a fifth of theseus-bench's scale, for
// comparing changes of the create path.
func BenchmarkColdStart(b *testing.B) {
	const n = 2000
	var took []time.Duration
	for b.Loop() {
		b.StopTimer()
		e := newEnv(b)
		e.start(controllerOpts{id: "a"})
		keys := make([]specs.GroupKey, n)
		groups := make([]*specs.Group, n)
		for i := range keys {
			keys[i] = key(b, "api", fmt.Sprintf("g%d", i))
			g, err := specs.DecodeStored(keys[i], []byte(spec(keys[i], "nginx:1.27", 1, "")))
			if err != nil {
				b.Fatal(err)
			}
			groups[i] = g
		}
		created := marathonsim.RequestKey{Method: "POST", Route: marathonsim.RouteApps, Status: http.StatusCreated}
		b.StartTimer()
		start := time.Now()
		if _, err := e.store.Desired().Apply(b.Context(), groups); err != nil {
			b.Fatal(err)
		}
		e.eventually(2*time.Minute, "every create", func() bool { return e.sim.RequestCounts()[created] >= n })
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Milliseconds()), "median-ms")
}
