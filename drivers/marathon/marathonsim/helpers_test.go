package marathonsim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// harness is a simulator on a ManualClock with helpers to call it in
// process.
type harness struct {
	t     *testing.T
	sim   *Sim
	clock *ManualClock
}

func newHarness(t *testing.T, gen Generation, mod ...func(*Options)) *harness {
	t.Helper()
	clk := NewManualClock(time.Time{})
	o := Options{Generation: gen, Clock: clk}
	for _, m := range mod {
		m(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return &harness{t: t, sim: s, clock: clk}
}

// response is a recorded answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) any {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("response is not JSON (%d): %v\n%s", r.status, err, r.body)
	}
	return v
}

func (r response) obj(t *testing.T) map[string]any {
	t.Helper()
	m, ok := r.json(t).(map[string]any)
	if !ok {
		t.Fatalf("response is not a JSON object: %s", r.body)
	}
	return m
}

// do sends a request to the simulator's handler.
func (h *harness) do(method, target string, body any, headers ...string) response {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			h.t.Fatalf("marshal body: %v", err)
		}
		rd = bytes.NewReader(js)
	}
	req := httptest.NewRequest(method, "http://marathon.test:8080"+target, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.sim.ServeHTTP(rec, req)
	return response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// must sends a request and fails the test unless the status is want.
func (h *harness) must(want int, method, target string, body any) response {
	h.t.Helper()
	r := h.do(method, target, body)
	if r.status != want {
		h.t.Fatalf("%s %s: status %d, want %d: %s", method, target, r.status, want, r.body)
	}
	return r
}

// advance moves simulated time on.
func (h *harness) advance(d time.Duration) { h.clock.Advance(d) }

// until advances the clock in steps of one second until cond holds,
// failing the test after limit.
func (h *harness) until(what string, limit time.Duration, cond func() bool) {
	h.t.Helper()
	if err := h.sim.RunUntil(cond, time.Second, limit); err != nil {
		h.t.Fatalf("waiting for %s: %v", what, err)
	}
}

// settled reports whether no deployment is running.
func (h *harness) settled() bool { return len(h.sim.Deployments()) == 0 }

// app returns an app's state or fails.
func (h *harness) app(id string) AppState {
	h.t.Helper()
	a, ok := h.sim.App(id)
	if !ok {
		h.t.Fatalf("app %s does not exist", id)
	}
	return a
}

// create posts an app and waits until its deployment is done.
func (h *harness) create(body map[string]any) AppState {
	h.t.Helper()
	h.must(http.StatusCreated, "POST", "/v2/apps", body)
	h.until("create of "+body["id"].(string), 30*time.Minute, h.settled)
	return h.app(body["id"].(string))
}

// dockerApp returns a simple docker app definition.
func dockerApp(id, image string, instances int) map[string]any {
	return map[string]any{
		"id":        id,
		"instances": instances,
		"cpus":      0.1,
		"mem":       64,
		"container": map[string]any{"type": "DOCKER", "docker": map[string]any{"image": image}},
	}
}

// withHealth adds an HTTP health check with short timings.
func withHealth(app map[string]any, grace, interval, maxFailures int) map[string]any {
	app["healthChecks"] = []any{map[string]any{
		"protocol": "HTTP", "path": "/health", "portIndex": 0,
		"gracePeriodSeconds": grace, "intervalSeconds": interval, "maxConsecutiveFailures": maxFailures,
	}}
	return app
}

// jsonNumber is f as the decoder of response.json returns it.
func jsonNumber(f float64) json.Number {
	return json.Number(strconv.FormatFloat(f, 'f', -1, 64))
}

func stringsReader(s string) io.Reader { return strings.NewReader(s) }
