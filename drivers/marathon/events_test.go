package marathon_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"theseus.dev/drivers/marathon"
	"theseus.dev/drivers/marathon/marathonsim"
)

// stream runs c.Events until the test ends and hands its events over a
// channel; stop cancels it and returns what Events returned.
type stream struct {
	events chan marathon.Event
	stop   func() error
}

func startEvents(t *testing.T, c *marathon.Client) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	s := &stream{events: make(chan marathon.Event, 10000)}
	done := make(chan error, 1)
	go func() { done <- c.Events(ctx, func(e marathon.Event) { s.events <- e }) }()
	s.stop = func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("Events did not end with its context")
			return nil
		}
	}
	t.Cleanup(func() { cancel() })
	return s
}

// next returns the next event that want accepts, failing the test after
// 10s without one.
func (s *stream) next(t *testing.T, what string, want func(marathon.Event) bool) marathon.Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-s.events:
			if want(e) {
				return e
			}
		case <-timeout:
			t.Fatalf("no %s", what)
		}
	}
}

func isResync(e marathon.Event) bool { return e.Type == marathon.EventResync }

// post creates an app in the simulator directly, not through the driver.
func post(t *testing.T, sim *marathonsim.Sim, id string) {
	t.Helper()
	rec := httptest.NewRecorder()
	body := `{"id":"` + id + `","cmd":"sleep 100","instances":1,"cpus":0.1,"mem":32}`
	sim.ServeHTTP(rec, httptest.NewRequest("POST", "/v2/apps", strings.NewReader(body)))
	if rec.Code != http.StatusCreated {
		t.Fatalf("create %s: %d %s", id, rec.Code, rec.Body)
	}
}

// TestEvents: a resync on attach, events for apps with their group key,
// and after a dropped stream a new attachment and a new resync; nothing
// of the stream outlives its context.
func TestEvents(t *testing.T) {
	for _, gen := range generations {
		t.Run(gen.String(), func(t *testing.T) {
			var reconnects atomic.Int32
			s := newSim(t, gen, nil, marathon.Config{Root: "/theseus",
				Hooks: marathon.Hooks{Reconnect: func() { reconnects.Add(1) }}})
			before := runtime.NumGoroutine()
			ev := startEvents(t, s.c)
			ev.next(t, "resync on attach", isResync)

			post(t, s.sim, "/theseus/web/dev")
			post(t, s.sim, "/elsewhere/web/dev")
			s.clk.Advance(time.Minute)
			e := ev.next(t, "a task event", func(e marathon.Event) bool {
				return e.Type == "status_update_event" && e.TaskStatus == "TASK_RUNNING" && e.AppID == "/theseus/web/dev"
			})
			if !e.KeyOK || e.Key.String() != "web/dev" || e.TaskID == "" || e.Host == "" || e.Timestamp.IsZero() {
				t.Errorf("task event %+v", e)
			}
			e = ev.next(t, "a deployment event", func(e marathon.Event) bool { return e.Type == "deployment_success" })
			if e.DeploymentID == "" || len(e.Apps) != 1 || !strings.HasSuffix(e.Apps[0], "/web/dev") {
				t.Errorf("deployment event %+v", e)
			}
			e = ev.next(t, "an event of the other app", func(e marathon.Event) bool { return e.AppID == "/elsewhere/web/dev" })
			if e.KeyOK {
				t.Errorf("an app outside the root named a group: %+v", e)
			}

			s.sim.Faults().DropEventStreams(0)
			ev.next(t, "resync after the drop", isResync)
			if n := reconnects.Load(); n != 1 {
				t.Errorf("Hooks.Reconnect called %d times, want 1", n)
			}
			// Refused for a while, then back.
			s.sim.Faults().DropEventStreams(20 * time.Second)
			s.clk.Advance(21 * time.Second)
			ev.next(t, "resync after a refusal", isResync)
			s.sim.Faults().LoseLeadership(10 * time.Second)
			s.clk.Advance(11 * time.Second)
			ev.next(t, "resync after a leader change", isResync)

			if err := ev.stop(); !errors.Is(err, context.Canceled) {
				t.Errorf("Events returned %v", err)
			}
			s.srv.CloseClientConnections()
			waitGoroutines(t, before)
		})
	}
}

// TestEventsOnlyOfChanges: the stream asks Marathon only for the events
// that tell an app or its tasks changed; their instance-level twins and
// the rest are not sent at all.
func TestEventsOnlyOfChanges(t *testing.T) {
	for _, gen := range generations {
		t.Run(gen.String(), func(t *testing.T) {
			s := newSim(t, gen, nil, marathon.Config{Root: "/theseus"})
			ev := startEvents(t, s.c)
			ev.next(t, "resync on attach", isResync)
			post(t, s.sim, "/theseus/web/dev")
			s.clk.Advance(time.Minute)
			seen := map[marathon.EventType]int{}
			ev.next(t, "the deployment's end", func(e marathon.Event) bool {
				seen[e.Type]++
				return e.Type == "deployment_success"
			})
			for _, want := range []marathon.EventType{"api_post_event", "deployment_info", "status_update_event"} {
				if seen[want] == 0 {
					t.Errorf("no %s among %v", want, seen)
				}
			}
			for _, not := range []marathon.EventType{"instance_changed_event", "event_stream_attached"} {
				if seen[not] != 0 {
					t.Errorf("%d %s sent, though not asked for", seen[not], not)
				}
			}
		})
	}
}

// sseServer serves /v2/events with body written by serve, and counts the
// attachments.
func sseServer(t *testing.T, serve func(w http.ResponseWriter, r *http.Request)) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v2/events" || r.Header.Get("Accept") != "text/event-stream" {
			http.Error(w, "not an event stream request", http.StatusMethodNotAllowed)
			return
		}
		n.Add(1)
		w.Header().Set("Content-Type", "text/event-stream;charset=UTF-8")
		w.WriteHeader(http.StatusOK)
		serve(w, r)
	}))
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close() })
	return srv, &n
}

// TestEventFraming: the recorded stream and the corners of SSE framing —
// CRLF, CR, comments, multi-line data, an event without a name, unknown
// types — come through as events.
func TestEventFraming(t *testing.T) {
	recordedStream, err := os.ReadFile(recorded + "/docs-examples/events.txt")
	if err != nil {
		t.Fatalf("recorded stream: %v", err)
	}
	frames := string(recordedStream) + "\r\n" +
		": a comment\r\n\r\n" + // a heartbeat
		"event: status_update_event\r\ndata: {\"eventType\":\"status_update_event\",\r\ndata: \"appId\":\"/web/dev\",\"taskStatus\":\"TASK_KILLED\"}\r\n\r\n" +
		"data: {\"eventType\":\"app_terminated_event\",\"appId\":\"/web/dev\"}\r\r" +
		"event: brand_new_event\ndata: {}\n\n" +
		"event: no_data\n\n"
	srv, _ := sseServer(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, frames)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	var want []string
	for _, line := range strings.Split(string(recordedStream), "\n") {
		if name, ok := strings.CutPrefix(strings.TrimSpace(line), "event: "); ok {
			want = append(want, name)
		}
	}
	want = append(want, "status_update_event", "app_terminated_event", "brand_new_event")
	c, _ := marathon.New(marathon.Config{URLs: []string{srv.URL}})
	ev := startEvents(t, c)
	ev.next(t, "resync", isResync)
	var got []marathon.Event
	for len(got) < len(want) {
		got = append(got, ev.next(t, "events", func(marathon.Event) bool { return true }))
	}
	for i, e := range got {
		if string(e.Type) != want[i] {
			t.Errorf("event %d is %s, want %s", i, e.Type, want[i])
		}
	}
	if e := got[1]; e.AppID != "/foo" || e.TaskStatus != "TASK_FAILED" || e.Host == "" || len(e.Ports) != 1 || e.Timestamp.IsZero() {
		t.Errorf("recorded status update: %+v", e)
	}
	if e := got[len(got)-3]; e.TaskStatus != "TASK_KILLED" || !e.KeyOK || e.Key.String() != "web/dev" {
		t.Errorf("multi-line event: %+v", e)
	}
	if e := got[len(got)-2]; !e.KeyOK {
		t.Errorf("CR-framed event: %+v", e)
	}
	_ = ev.stop()
}

// TestEventStreamIdle: a stream that stays silent is taken for dead and
// attached again; heartbeats keep one alive.
func TestEventStreamIdle(t *testing.T) {
	silent, attaches := sseServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	c, _ := marathon.New(marathon.Config{URLs: []string{silent.URL}, EventIdleTimeout: 50 * time.Millisecond})
	ev := startEvents(t, c)
	ev.next(t, "resync", isResync)
	ev.next(t, "resync after a silence", isResync)
	if n := attaches.Load(); n < 2 {
		t.Errorf("%d attachments", n)
	}
	_ = ev.stop()

	beats := make(chan struct{})
	alive, attaches := sseServer(t, func(w http.ResponseWriter, r *http.Request) {
		for range 20 {
			fmt.Fprint(w, "\r\n")
			w.(http.Flusher).Flush()
			select {
			case <-time.After(10 * time.Millisecond):
			case <-r.Context().Done():
				return
			}
		}
		close(beats)
		<-r.Context().Done()
	})
	c, _ = marathon.New(marathon.Config{URLs: []string{alive.URL}, EventIdleTimeout: 150 * time.Millisecond})
	ev = startEvents(t, c)
	ev.next(t, "resync", isResync)
	<-beats
	if n := attaches.Load(); n != 1 {
		t.Errorf("a stream with heartbeats was attached %d times", n)
	}
	_ = ev.stop()
}

// TestEventStreamUnansweredAttach: a member that takes the connection but
// never answers the attach is given up after the idle timeout like a
// silent stream, and the stream is attached again.
func TestEventStreamUnansweredAttach(t *testing.T) {
	s := newSim(t, marathonsim.Gen15, nil, marathon.Config{EventIdleTimeout: 100 * time.Millisecond})
	s.sim.Faults().Add(marathonsim.RequestFault{Method: http.MethodGet, Route: marathonsim.RouteEvents, Hang: true, Times: 1})
	ev := startEvents(t, s.c)
	ev.next(t, "resync once the unanswered attach is given up", isResync)
	if n := s.arrivals("GET", "/v2/events"); n != 2 {
		t.Errorf("%d attach requests, want 2", n)
	}
	_ = ev.stop()
}

// TestEventStreamRefusalReported: an attach that Marathon refuses (a 403
// for an identity without the right to the event stream) is retried, and
// each refusal is reported with Marathon's answer, not swallowed.
func TestEventStreamRefusalReported(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"message":"Not Authorized to perform this action!"}`))
	}))
	t.Cleanup(srv.Close)
	failed := make(chan error, 100)
	c, _ := marathon.New(marathon.Config{URLs: []string{srv.URL},
		Hooks: marathon.Hooks{StreamFailed: func(err error) { failed <- err }}})
	ev := startEvents(t, c)
	for range 2 {
		select {
		case err := <-failed:
			if msg := err.Error(); !strings.Contains(msg, "/v2/events") || !strings.Contains(msg, "403") ||
				!strings.Contains(msg, "Not Authorized to perform this action!") {
				t.Errorf("refused attach reported as %q, want the endpoint, the status and Marathon's message", msg)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a refused attach was not reported")
		}
	}
	_ = ev.stop()
}
