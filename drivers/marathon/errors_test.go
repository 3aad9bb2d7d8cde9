package marathon_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"theseus.dev/drivers/marathon"
	"theseus.dev/drivers/marathon/marathonsim"
	"theseus.dev/specs"
)

// TestErrorAnswers: Marathon's error answers become the driver's errors.
func TestErrorAnswers(t *testing.T) {
	var conflicts atomic.Int32
	s := newSim(t, marathonsim.Gen15, nil, marathon.Config{Hooks: marathon.Hooks{Conflict: func() { conflicts.Add(1) }}})
	ctx := t.Context()
	missing, _ := specs.NewGroupKey("nope", []string{"dev"})
	notFound := map[string]func() error{
		"Get":     func() error { _, err := s.c.Get(ctx, missing); return err },
		"Delete":  func() error { _, err := s.c.Delete(ctx, missing); return err },
		"Scale":   func() error { _, err := s.c.Scale(ctx, missing, 2); return err },
		"Restart": func() error { _, err := s.c.Restart(ctx, missing); return err },
		"Cancel":  func() error { _, err := s.c.CancelDeployment(ctx, "no-such-deployment", false); return err },
	}
	for name, f := range notFound {
		if err := f(); !errors.Is(err, marathon.ErrNotFound) {
			t.Errorf("%s of something absent: %v, want ErrNotFound", name, err)
		}
	}

	w := write(t, parse(t, webSpec), 1)
	s.sim.Faults().NeverHealthyImage("nginx:1.27") // the deployment never ends
	if _, err := s.c.Create(ctx, w); err != nil {
		t.Fatal(err)
	}
	deps := s.sim.Deployments()
	var locked *marathon.LockedError
	for name, f := range map[string]func() error{
		"Update":  func() error { _, err := s.c.Update(ctx, write(t, parse(t, webSpec), 2)); return err },
		"Scale":   func() error { _, err := s.c.Scale(ctx, w.Key, 5); return err },
		"Restart": func() error { _, err := s.c.Restart(ctx, w.Key); return err },
	} {
		err := f()
		if !errors.As(err, &locked) || len(deps) != 1 || len(locked.Deployments) != 1 ||
			locked.Deployments[0] != deps[0].ID || locked.AppID != "/web/dev" || marathon.IsPermanent(err) {
			t.Errorf("%s of an app being deployed: %v, want a LockedError naming %+v", name, err, deps)
		}
	}
	if n := conflicts.Load(); n != 3 {
		t.Errorf("Hooks.Conflict called %d times, want 3", n)
	}

	bad := write(t, parse(t, strings.Replace(webSpec, "[dev]", "[bad]", 1)), 3)
	two := 2.0
	bad.Spec.Upgrade.MinimumHealthCapacity = &two
	_, err := s.c.Create(ctx, bad)
	var api *marathon.APIError
	if !errors.As(err, &api) || !marathon.IsPermanent(err) || api.Status != 422 || len(api.Details) == 0 ||
		!strings.Contains(err.Error(), "/upgradeStrategy/minimumHealthCapacity") {
		t.Errorf("invalid definition: %v, want a permanent 422 naming the field", err)
	}
	// An app at the group's id written from another revision is no proof
	// that this create happened.
	other := write(t, parse(t, webSpec), 9)
	if _, err := s.c.Create(ctx, other); !errors.As(err, &api) || api.Status != 409 || marathon.IsPermanent(err) {
		t.Errorf("create over an app of another spec: %v, want a 409 APIError", err)
	}
}

// TestReadRetries: reads are retried through 502s and 503s, on the next
// member when there are several, and through a leader change.
func TestReadRetries(t *testing.T) {
	s := newSim(t, marathonsim.Gen15, nil, marathon.Config{})
	ctx := t.Context()
	s.sim.Faults().FailRequests("GET", marathonsim.RouteApps, http.StatusBadGateway, 2)
	s.sim.Faults().FailRequests("GET", marathonsim.RouteApps, http.StatusServiceUnavailable, 1)
	if _, err := s.c.List(ctx); err != nil {
		t.Fatalf("List through 502s and a 503: %v", err)
	}
	if n := s.sim.RequestCount("GET", marathonsim.RouteApps); n != 4 {
		t.Errorf("%d list requests, want 4", n)
	}

	// A read that keeps failing fails when its time is up, with
	// Marathon's answer.
	short, _ := marathon.New(marathon.Config{URLs: []string{s.srv.URL}, Timeout: 300 * time.Millisecond})
	id := s.sim.Faults().FailRequests("GET", marathonsim.RouteInfo, http.StatusBadGateway, 0)
	_, err := short.Info(ctx)
	var api *marathon.APIError
	if !errors.As(err, &api) || api.Status != 502 || marathon.IsPermanent(err) {
		t.Errorf("Info through endless 502s: %v", err)
	}
	s.sim.Faults().Clear(id)
	// The same when the timeout cuts the retry short: Marathon's answer
	// to the attempt before, not the timeout, says what is wrong.
	first := s.sim.Faults().FailRequests("GET", marathonsim.RouteInfo, http.StatusBadGateway, 1)
	hang := s.sim.Faults().HangRequests("GET", marathonsim.RouteInfo)
	_, err = short.Info(ctx)
	if !errors.As(err, &api) || api.Status != 502 || marathon.IsPermanent(err) {
		t.Errorf("Info through a 502 and then no answer: %v", err)
	}
	s.sim.Faults().Clear(first)
	s.sim.Faults().Clear(hang)

	// A dead member first: reads and writes go on to the live one.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	two, _ := marathon.New(marathon.Config{URLs: []string{dead.URL, s.srv.URL}})
	if _, err := two.List(ctx); err != nil {
		t.Errorf("List with a dead first member: %v", err)
	}
	if _, err := two.Create(ctx, write(t, parse(t, webSpec), 1)); err != nil {
		t.Errorf("Create with a dead first member: %v", err)
	}

	// No leader for 30s of simulated time: the read waits it out.
	s.sim.Faults().LoseLeadership(30 * time.Second)
	saw502 := make(chan struct{}, 100)
	c, _ := marathon.New(marathon.Config{URLs: []string{s.srv.URL}, Timeout: time.Minute, Hooks: marathon.Hooks{
		Request: func(_, endpoint string, code int, _ time.Duration) {
			if endpoint == "/v2/apps" && code == http.StatusBadGateway {
				saw502 <- struct{}{}
			}
		}}})
	done := make(chan error, 1)
	go func() { _, err := c.List(ctx); done <- err }()
	<-saw502
	s.clk.Advance(31 * time.Second)
	if err := <-done; err != nil {
		t.Errorf("List across a leader change: %v", err)
	}
}

// loseAnswer serves the requests that match to the simulator and then
// withholds the answer until the client gives up: the write happened, the
// caller cannot know.
func loseAnswer(method, pathPrefix string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != method || !strings.HasPrefix(r.URL.Path, pathPrefix) {
				next.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(httptest.NewRecorder(), r)
			<-r.Context().Done()
		})
	}
}

// TestAmbiguousWrites: a write whose answer is lost is sent once and
// settled by reading the app; when the app does not show it, the outcome
// is unknown.
func TestAmbiguousWrites(t *testing.T) {
	w := func(t *testing.T) marathon.Write { return write(t, parse(t, webSpec), 1) }
	tests := []struct {
		name   string
		method string
		route  marathonsim.Route
		prefix string
		setup  func(t *testing.T, s *simClient)
		run    func(t *testing.T, s *simClient) error
	}{
		{"create, answer lost", "POST", marathonsim.RouteApps, "/v2/apps", nil,
			func(t *testing.T, s *simClient) error { _, err := s.c.Create(t.Context(), w(t)); return err }},
		{"update, answer lost", "PUT", marathonsim.RouteApp, "/v2/apps/web", create,
			func(t *testing.T, s *simClient) error {
				_, err := s.c.Update(t.Context(), write(t, parse(t, strings.Replace(webSpec, "cpus: 0.1", "cpus: 0.2", 1)), 2))
				return err
			}},
		{"scale, answer lost", "PUT", marathonsim.RouteApp, "/v2/apps/web", create,
			func(t *testing.T, s *simClient) error { _, err := s.c.Scale(t.Context(), w(t).Key, 4); return err }},
		{"delete, answer lost", "DELETE", marathonsim.RouteApp, "/v2/apps/web", create,
			func(t *testing.T, s *simClient) error { _, err := s.c.Delete(t.Context(), w(t).Key); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(t, marathonsim.Gen15, loseAnswer(tt.method, tt.prefix), marathon.Config{Timeout: 500 * time.Millisecond})
			if tt.setup != nil {
				tt.setup(t, s)
			}
			s.sim.ResetRequests()
			if err := tt.run(t, s); err != nil {
				t.Errorf("the write took effect but was reported as %v", err)
			}
			if n := s.sim.RequestCount(tt.method, tt.route); n != 1 {
				t.Errorf("the write was sent %d times", n)
			}
		})
	}
}

// create creates the web app and lets its deployment finish.
func create(t *testing.T, s *simClient) {
	t.Helper()
	if _, err := s.c.Create(t.Context(), write(t, parse(t, webSpec), 1)); err != nil {
		t.Fatal(err)
	}
	s.settle(t)
}

// TestUnknownOutcome: a hung write, a 503 and a broken connection end in
// UnknownOutcomeError after a read that cannot tell; the write is never
// sent twice; a retried create that finds its own app counts as done.
func TestUnknownOutcome(t *testing.T) {
	s := newSim(t, marathonsim.Gen15, nil, marathon.Config{Timeout: 300 * time.Millisecond})
	ctx := t.Context()
	w := write(t, parse(t, webSpec), 1)

	hang := s.sim.Faults().HangRequests("POST", marathonsim.RouteApps)
	_, err := s.c.Create(ctx, w)
	var unknown *marathon.UnknownOutcomeError
	if !errors.As(err, &unknown) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hung create: %v, want UnknownOutcomeError", err)
	}
	s.sim.Faults().Clear(hang)
	if n := s.arrivals("POST", "/v2/apps"); n != 1 {
		t.Errorf("the create was sent %d times", n)
	}

	if _, err := s.c.Create(ctx, w); err != nil {
		t.Fatal(err)
	}
	s.settle(t)
	s.sim.Faults().FailRequests("PUT", marathonsim.RouteApp, http.StatusServiceUnavailable, 1)
	_, err = s.c.Update(ctx, write(t, parse(t, webSpec), 2))
	var api *marathon.APIError
	if !errors.As(err, &unknown) || !errors.As(err, &api) || api.Status != 503 {
		t.Errorf("update answered 503: %v, want UnknownOutcomeError wrapping the 503", err)
	}
	if n := s.sim.RequestCount("PUT", marathonsim.RouteApp); n != 1 {
		t.Errorf("the update was sent %d times", n)
	}

	// The create's answer was lost; the controller creates again, Marathon
	// says it exists, and it is ours.
	if _, err := s.c.Create(ctx, w); err != nil {
		t.Errorf("create of an app already created from the same spec: %v", err)
	}

	// Slow, not lost: an answer that comes in time is waited for.
	slow := s.sim.Faults().DelayRequests("PUT", marathonsim.RouteApp, 10*time.Second, 1)
	defer s.sim.Faults().Clear(slow)
	c, _ := marathon.New(marathon.Config{URLs: []string{s.srv.URL}, Timeout: time.Minute})
	s.sim.ResetRequests()
	queued := s.sim.Changed() // the settled simulator changes next when the request starts its delay
	done := make(chan error, 1)
	go func() { _, err := c.Scale(ctx, w.Key, 3); done <- err }()
	select {
	case err := <-done:
		t.Fatalf("delayed scale returned early: %v", err)
	case <-queued:
	}
	s.clk.Advance(10 * time.Second)
	if err := <-done; err != nil {
		t.Errorf("delayed scale: %v", err)
	}
	if n := s.sim.RequestCount("PUT", marathonsim.RouteApp); n != 1 {
		t.Errorf("the scale was sent %d times", n)
	}
}

// closeAfterServe serves matching requests and then drops the connection
// without an answer.
func closeAfterServe(method string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != method {
				next.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(httptest.NewRecorder(), r)
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				_ = conn.(*net.TCPConn).SetLinger(0)
				_ = conn.Close()
			}
		})
	}
}

// TestConnectionReset: a connection reset after the request was sent is
// an ambiguous write, settled by reading the app.
func TestConnectionReset(t *testing.T) {
	s := newSim(t, marathonsim.Gen14, closeAfterServe("POST"), marathon.Config{})
	w := write(t, parse(t, webSpec), 1)
	if _, err := s.c.Create(t.Context(), w); err != nil {
		t.Errorf("create whose connection was reset after it was done: %v", err)
	}
	if n := s.sim.RequestCount("POST", marathonsim.RouteApps); n != 1 {
		t.Errorf("the create was sent %d times", n)
	}
}

// TestNotFoundOnlyFromMarathon: a 404 that is not Marathon's word that
// the app does not exist (a proxy's page, a wrong URL path) is an error
// that says so, never taken for an absent app, which would plan a create
// of an app that runs and report a delete as done.
func TestNotFoundOnlyFromMarathon(t *testing.T) {
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("<html><head><title>404 Not Found</title></head><body><center><h1>404 Not Found</h1></center><hr><center>nginx</center></body></html>"))
	}))
	t.Cleanup(proxy.Close)
	c, err := marathon.New(marathon.Config{URLs: []string{proxy.URL}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	key, _ := specs.NewGroupKey("web", []string{"dev"})
	for name, f := range map[string]func() error{
		"Get":     func() error { _, err := c.Get(ctx, key); return err },
		"Delete":  func() error { _, err := c.Delete(ctx, key); return err },
		"Version": func() error { _, err := c.Version(ctx, key, "2015-09-30T09:09:17.614Z"); return err },
		"List":    func() error { _, err := c.List(ctx); return err },
	} {
		err := f()
		var api *marathon.APIError
		if errors.Is(err, marathon.ErrNotFound) || !errors.As(err, &api) || api.Status != http.StatusNotFound ||
			!strings.Contains(err.Error(), "404 Not Found nginx") {
			t.Errorf("%s answered by a proxy's 404: %v, want a 404 APIError with the page, not ErrNotFound", name, err)
		}
	}
}

// TestGetBrokenAnswers: an app read whose answer is cut off mid-body is
// read again (answers that are not Marathon's: TestGetForeignAnswers).
func TestGetBrokenAnswers(t *testing.T) {
	var cut atomic.Int32 // answers still to cut short
	s := newSim(t, marathonsim.Gen15, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Only the app's read: the client may read /v2/info first.
			if r.Method != http.MethodGet || r.URL.Path != "/v2/apps/web/dev" || cut.Add(-1) < 0 {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Errorf("cut the answer short: %v", err)
				return
			}
			body := rec.Body.Bytes()
			_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
			_, _ = buf.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n")
			_, _ = buf.Write(body[:len(body)/2])
			_ = buf.Flush()
			_ = conn.Close()
		})
	}, marathon.Config{})
	ctx := t.Context()
	w := write(t, parse(t, webSpec), 1)
	if _, err := s.c.Create(ctx, w); err != nil {
		t.Fatal(err)
	}
	cut.Store(1)
	before := s.sim.RequestCount("GET", marathonsim.RouteApp)
	if app, err := s.c.Get(ctx, w.Key); err != nil || app.Revision != 1 {
		t.Errorf("read through an answer cut short: revision %d, %v; want revision 1", app.Revision, err)
	}
	if n := s.sim.RequestCount("GET", marathonsim.RouteApp) - before; n != 2 {
		t.Errorf("the app was read %d times, want 2", n)
	}
}
