package marathonsim

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestRequestFaults: errors for the next N calls, latency on the
// simulator's clock, hangs until cleared or abandoned.
func TestRequestFaults(t *testing.T) {
	h, srv := newServedHarness(t)
	f := h.sim.Faults()

	f.FailRequests("GET", RouteApps, http.StatusServiceUnavailable, 2)
	for i := range 3 {
		r := h.do("GET", "/v2/apps", nil)
		want := http.StatusServiceUnavailable
		if i == 2 {
			want = http.StatusOK
		}
		if r.status != want {
			t.Fatalf("call %d: status %d, want %d", i, r.status, want)
		}
		if i < 2 && r.obj(t)["message"] == nil {
			t.Fatalf("injected error without a message: %s", r.body)
		}
	}
	if r := h.do("POST", "/v2/apps", dockerApp("/x", "web:1", 1)); r.status != http.StatusCreated {
		t.Fatalf("fault matched another method: %d", r.status)
	}

	// Latency on a ManualClock: the request waits for the test to advance.
	f.DelayRequests("", RouteInfo, 5*time.Second, 1)
	base := pendingTimers(h.sim)
	done := make(chan int, 1)
	go func() { done <- h.do("GET", "/v2/info", nil).status }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.sim.WaitFor(ctx, func() bool { return pendingTimers(h.sim) > base }); err != nil {
		t.Fatalf("the delayed request did not start waiting: %v", err)
	}
	select {
	case <-done:
		t.Fatal("the delayed request was answered before the clock moved")
	default:
	}
	h.advance(5 * time.Second)
	if status := <-done; status != http.StatusOK {
		t.Fatalf("delayed request: %d", status)
	}

	// A hang ends when cleared.
	id := f.HangRequests("GET", RouteDeployments)
	go func() {
		resp, err := http.Get(srv.URL + "/v2/deployments")
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	select {
	case <-done:
		t.Fatal("hung request was answered")
	case <-time.After(50 * time.Millisecond):
	}
	f.Clear(id)
	if status := <-done; status != http.StatusOK {
		t.Fatalf("released request: %d", status)
	}

	// A hang also ends when the client gives up; it is logged without a
	// status.
	f.HangRequests("GET", RouteLeader)
	reqCtx, giveUp := context.WithCancel(context.Background())
	req := httptest.NewRequestWithContext(reqCtx, "GET", "/v2/leader", nil)
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		h.sim.ServeHTTP(httptest.NewRecorder(), req)
	}()
	giveUp()
	<-ended
	if n := h.sim.RequestCounts()[RequestKey{"GET", RouteLeader, 0}]; n != 1 {
		t.Fatalf("abandoned request counted %d times", n)
	}
	f.ClearAll()
}

// pendingTimers counts the simulator's timers (a delayed request adds one).
func pendingTimers(s *Sim) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.timers)
}

// TestLeaderChange: while there is no leader every call but /ping is a
// 502 with Jetty's page, streams end and deployments stand still; then
// service resumes with the state intact and the deployment finishing.
func TestLeaderChange(t *testing.T) {
	h, srv := newServedHarness(t)
	h.create(dockerApp("/keep", "web:1", 2))
	h.must(http.StatusOK, "PUT", "/v2/apps/keep", map[string]any{"cpus": 0.2})
	stream := openStream(t, srv.URL+"/v2/events", "text/event-stream")
	stream.nextEvent()

	h.sim.Faults().LoseLeadership(time.Minute)
	stream.waitEnd()
	r := h.do("GET", "/v2/apps", nil)
	if r.status != http.StatusBadGateway || !strings.Contains(string(r.body), "Could not determine the current leader") ||
		!strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("during the leader change: %d %s %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	if r := h.do("GET", "/ping", nil); r.status != http.StatusOK {
		t.Fatalf("/ping: %d", r.status)
	}
	if r := h.do("GET", "/v2/leader", nil); r.status != http.StatusNotFound {
		t.Fatalf("/v2/leader: %d", r.status)
	}
	if _, status := dialStream(t, srv.URL+"/v2/events", "text/event-stream"); status != http.StatusBadGateway {
		t.Fatalf("events: %d", status)
	}
	h.advance(50 * time.Second)
	if deps := h.sim.Deployments(); len(deps) != 1 {
		t.Fatalf("the deployment moved without a leader: %+v", deps)
	}
	h.advance(10 * time.Second)
	h.until("the deployment after the election", 5*time.Minute, h.settled)
	if a := h.app("/keep"); a.TasksRunning != 2 || a.CPUs != 0.2 {
		t.Fatalf("app after the leader change: %+v", a)
	}
	if r := h.do("GET", "/v2/apps", nil); r.status != http.StatusOK || r.header.Get("X-Marathon-Leader") == "" {
		t.Fatalf("after the leader change: %d %v", r.status, r.header)
	}
}

// TestStallDeployments: a stalled deployment stays at its step until the
// fault is cleared.
func TestStallDeployments(t *testing.T) {
	h := newHarness(t, Gen15)
	id := h.sim.Faults().StallDeployments("/st")
	h.must(http.StatusCreated, "POST", "/v2/apps", dockerApp("/st", "web:1", 2))
	h.advance(time.Hour)
	if deps := h.sim.Deployments(); len(deps) != 1 {
		t.Fatalf("deployments %+v", deps)
	}
	h.must(http.StatusCreated, "POST", "/v2/apps", dockerApp("/other", "web:1", 1))
	h.advance(time.Minute)
	if _, ok := h.sim.App("/other"); !ok || len(h.sim.Deployments()) != 1 {
		t.Fatal("the stall affected another app")
	}
	h.sim.Faults().Clear(id)
	h.until("resumed", time.Minute, h.settled)
}

// TestRequestLog: every request is counted by method, route and status, so
// tests can assert what a client did.
func TestRequestLog(t *testing.T) {
	h := newHarness(t, Gen15)
	h.create(dockerApp("/log", "web:1", 1))
	h.sim.ResetRequests()
	h.must(http.StatusOK, "GET", "/v2/apps?embed=apps.tasks", nil)
	h.must(http.StatusOK, "GET", "/v2/apps/log", nil)
	h.must(http.StatusNotFound, "GET", "/v2/apps/nope", nil)
	if n := h.sim.RequestCount("GET", RouteApps); n != 1 {
		t.Fatalf("GET /v2/apps counted %d", n)
	}
	if n := h.sim.RequestCount("GET", RouteApp); n != 2 {
		t.Fatalf("GET /v2/apps/{id} counted %d", n)
	}
	if n := h.sim.WriteCount(); n != 0 {
		t.Fatalf("writes counted %d", n)
	}
	if n := h.sim.RequestCounts()[RequestKey{"GET", RouteApp, http.StatusNotFound}]; n != 1 {
		t.Fatalf("404s counted %d", n)
	}
	h.must(http.StatusOK, "DELETE", "/v2/apps/log", nil)
	reqs := h.sim.Requests()
	last := reqs[len(reqs)-1]
	if h.sim.WriteCount() != 1 || last.Method != "DELETE" || last.Route != RouteApp || last.Path != "/v2/apps/log" || last.Status != 200 {
		t.Fatalf("last request %+v, writes %d", last, h.sim.WriteCount())
	}
}

// TestPing answers per Accept header.
func TestPing(t *testing.T) {
	h := newHarness(t, Gen15)
	for _, tc := range []struct {
		accept, body string
		status       int
	}{
		{"", "pong", 200}, {"*/*", "pong", 200}, {"text/plain", "pong", 200},
		{"application/json", `"pong"`, 200}, {"image/png", "", 204},
	} {
		r := h.do("GET", "/ping", nil, "Accept", tc.accept)
		if r.status != tc.status || strings.TrimSpace(string(r.body)) != tc.body {
			t.Errorf("Accept %q: %d %q", tc.accept, r.status, r.body)
		}
	}
}
