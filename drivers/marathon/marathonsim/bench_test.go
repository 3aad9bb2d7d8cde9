package marathonsim

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// populate creates apps apps of perApp instances each (host networking,
// one port, an HTTP health check) and runs the clock until every task is
// running and healthy.
func populate(tb testing.TB, apps, perApp int) *harness {
	tb.Helper()
	clk := NewManualClock(time.Time{})
	s, err := New(Options{
		Generation: Gen15,
		Clock:      clk,
		Agents:     UniformAgents(50, 128, 512*1024, PortRange{31000, 32999}),
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	for i := range apps {
		body := fmt.Sprintf(`{"id":"/svc-%d/dev","container":{"type":"DOCKER","docker":{"image":"nginx:1.27"}},`+
			`"instances":%d,"cpus":0.1,"mem":64,"labels":{"theseus.io/managed":"true","theseus.io/group":"svc-%d/dev"},`+
			`"env":{"LOG_LEVEL":"info"},"healthChecks":[{"protocol":"HTTP","path":"/healthz","gracePeriodSeconds":30,"intervalSeconds":10}]}`,
			i, perApp, i)
		req := httptest.NewRequest("POST", "/v2/apps", stringsReader(body))
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			tb.Fatalf("create %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	clk.Advance(time.Minute)
	s.mu.RLock()
	healthy := 0
	for _, t := range s.tasks {
		if t.healthy() {
			healthy++
		}
	}
	deps := len(s.deployments)
	s.mu.RUnlock()
	if healthy != apps*perApp || deps != 0 {
		tb.Fatalf("%d healthy tasks, %d deployments; want %d and 0", healthy, deps, apps*perApp)
	}
	return &harness{sim: s, clock: clk}
}

// discard is a ResponseWriter that counts the bytes written.
type discard struct {
	h http.Header
	n int
}

func (d *discard) Header() http.Header {
	if d.h == nil {
		d.h = http.Header{}
	}
	return d.h
}
func (d *discard) Write(b []byte) (int, error) { d.n += len(b); return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkListApps10k measures GET /v2/apps?embed=apps.tasks over 10,000
// apps with 50,000 running, healthy tasks.
//
//	go test -run '^$' -bench BenchmarkListApps10k -benchtime 20x ./drivers/marathon/marathonsim
func BenchmarkListApps10k(b *testing.B) {
	h := populate(b, 10000, 5)
	req := httptest.NewRequest("GET", "/v2/apps?embed=apps.tasks&embed=apps.lastTaskFailure", nil)
	var size int
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		var w discard
		h.sim.ServeHTTP(&w, req)
		size = w.n
	}
	b.ReportMetric(float64(size)/(1<<20), "MiB/response")
}

// BenchmarkListApps10kNoTasks is the same list without embedded tasks,
// what a resync that only needs definitions and counts costs.
func BenchmarkListApps10kNoTasks(b *testing.B) {
	h := populate(b, 10000, 5)
	req := httptest.NewRequest("GET", "/v2/apps", nil)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		var w discard
		h.sim.ServeHTTP(&w, req)
	}
}

// TestListManyApps checks the large listing for completeness at a size
// the race detector can afford.
func TestListManyApps(t *testing.T) {
	h := populate(t, 500, 5)
	h.t = t
	r := h.must(http.StatusOK, "GET", "/v2/apps?embed=apps.tasks", nil).obj(t)
	apps := r["apps"].([]any)
	tasks := 0
	for _, a := range apps {
		tasks += len(a.(map[string]any)["tasks"].([]any))
	}
	if len(apps) != 500 || tasks != 2500 {
		t.Fatalf("%d apps, %d tasks", len(apps), tasks)
	}
	filtered := h.must(http.StatusOK, "GET", "/v2/apps?label=theseus.io/group==svc-7/dev&id=svc-7", nil).obj(t)["apps"].([]any)
	if len(filtered) != 1 {
		t.Fatalf("filtered list has %d apps", len(filtered))
	}
}
