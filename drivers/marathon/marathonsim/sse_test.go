package marathonsim

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func newServedHarness(t *testing.T, mod ...func(*Options)) (*harness, *httptest.Server) {
	h := newHarness(t, Gen15, mod...)
	srv := httptest.NewServer(h.sim)
	t.Cleanup(srv.Close)
	return h, srv
}

// TestEventStreamAccept: only an Accept value exactly equal to
// text/event-stream opens a stream; anything else is a 405.
func TestEventStreamAccept(t *testing.T) {
	_, srv := newServedHarness(t)
	for _, tc := range []struct {
		accept []string
		want   int
	}{
		{nil, http.StatusMethodNotAllowed},
		{[]string{"application/json"}, http.StatusMethodNotAllowed},
		{[]string{"text/event-stream, */*"}, http.StatusMethodNotAllowed},
		{[]string{"text/event-stream;q=1"}, http.StatusMethodNotAllowed},
		{[]string{"application/json", "text/event-stream"}, http.StatusOK},
		{[]string{"text/event-stream"}, http.StatusOK},
	} {
		c, status := dialStream(t, srv.URL+"/v2/events", tc.accept...)
		if status != tc.want {
			t.Errorf("Accept %q: status %d, want %d", tc.accept, status, tc.want)
		}
		if c != nil {
			if ct := c.resp.Header.Get("Content-Type"); ct != "text/event-stream;charset=UTF-8" {
				t.Errorf("Content-Type %q", ct)
			}
			c.close()
		}
	}
}

// TestEventStreamFramingAndFilter: the first frame is
// event_stream_attached; frames use CRLF (the client checks); repeated
// event_type parameters filter; heartbeats are bare CRLFs.
func TestEventStreamFramingAndFilter(t *testing.T) {
	h, srv := newServedHarness(t)
	all := openStream(t, srv.URL+"/v2/events", "text/event-stream")
	filtered := openStream(t, srv.URL+"/v2/events?event_type=deployment_success&event_type=api_post_event", "text/event-stream")
	if ev := all.nextEvent(); ev.typ != EventEventStreamAttached || !strings.Contains(ev.data, `"remoteAddress":"127.0.0.1"`) {
		t.Fatalf("first event %+v", ev)
	}
	h.create(dockerApp("/f", "web:1", 1))
	var types []string
	for _, ev := range filtered.drain(100 * time.Millisecond) {
		types = append(types, ev.typ)
	}
	if strings.Join(types, ",") != "api_post_event,deployment_success" {
		t.Fatalf("filtered stream got %v", types)
	}
	got := map[string]bool{}
	for _, ev := range all.drain(100 * time.Millisecond) {
		got[ev.typ] = true
	}
	for _, want := range []string{EventEventStreamAttached, EventAPIPost, EventDeploymentInfo, EventStatusUpdate, EventInstanceChanged, EventDeploymentStepSuccess, EventDeploymentSuccess} {
		if !got[want] {
			t.Errorf("unfiltered stream lacks %s (got %v)", want, got)
		}
	}
	h.advance(10 * time.Second)
	if ev, _ := all.next(); ev.typ != "" {
		t.Fatalf("expected a heartbeat, got %+v", ev)
	}
	if ev, _ := filtered.next(); ev.typ != "" {
		t.Fatalf("expected a heartbeat on the filtered stream, got %+v", ev)
	}
}

// TestDropEventStreams: the fault ends every stream and refuses new ones
// for a while.
func TestDropEventStreams(t *testing.T) {
	h, srv := newServedHarness(t)
	c := openStream(t, srv.URL+"/v2/events", "text/event-stream")
	c.nextEvent()
	h.sim.Faults().DropEventStreams(30 * time.Second)
	c.waitEnd()
	if _, status := dialStream(t, srv.URL+"/v2/events", "text/event-stream"); status != http.StatusServiceUnavailable {
		t.Fatalf("status %d during the refusal", status)
	}
	h.advance(30 * time.Second)
	c2 := openStream(t, srv.URL+"/v2/events", "text/event-stream")
	if ev := c2.nextEvent(); ev.typ != EventEventStreamAttached {
		t.Fatalf("first event %+v", ev)
	}
}

// blockingWriter is a ResponseWriter whose Write blocks until released: a
// subscriber that stopped reading.
type blockingWriter struct {
	header  http.Header
	release chan struct{}
	once    sync.Once
	wrote   chan struct{}
}

func (w *blockingWriter) Header() http.Header { return w.header }
func (w *blockingWriter) WriteHeader(int)     {}
func (w *blockingWriter) Flush()              {}
func (w *blockingWriter) Write(b []byte) (int, error) {
	w.once.Do(func() { close(w.wrote) })
	<-w.release
	return len(b), nil
}

// TestSlowSubscriberIsDisconnected: a subscriber that does not read never
// blocks the simulator; once its buffer is full its stream is closed.
func TestSlowSubscriberIsDisconnected(t *testing.T) {
	h := newHarness(t, Gen15, func(o *Options) { o.EventBuffer = 8 })
	w := &blockingWriter{header: http.Header{}, release: make(chan struct{}), wrote: make(chan struct{})}
	req := httptest.NewRequest("GET", "/v2/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.sim.ServeHTTP(w, req)
	}()
	<-w.wrote // the handler is stuck writing the attached event
	for i := range 20 {
		h.must(http.StatusCreated, "POST", "/v2/apps", dockerApp("/slow/a"+itoa(i), "web:1", 1))
	}
	h.advance(time.Minute) // hundreds of events: the simulator did not wait
	h.sim.mu.RLock()
	subs := len(h.sim.bus.subs)
	h.sim.mu.RUnlock()
	if subs != 0 {
		t.Fatalf("%d subscribers still attached", subs)
	}
	close(w.release)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream handler did not end after the overflow")
	}
}
