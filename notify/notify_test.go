package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"theseus.dev/specs"
)

var t0 = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

func group(t *testing.T, service string, labels ...string) specs.GroupKey {
	t.Helper()
	k, err := specs.NewGroupKey(service, labels)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// sink is a receiver that answers with the statuses it is given, in turn
// (200 when they run out), and hands every request it took to got.
type sink struct {
	mu       sync.Mutex
	statuses []int
	attempts int
	got      chan Payload
	srv      *httptest.Server
}

func newSink(t *testing.T, statuses ...int) *sink {
	t.Helper()
	s := &sink{statuses: statuses, got: make(chan Payload, 100)}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.attempts++
		status := http.StatusOK
		if len(s.statuses) > 0 {
			status, s.statuses = s.statuses[0], s.statuses[1:]
		}
		s.mu.Unlock()
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s with Content-Type %q", r.Method, r.Header.Get("Content-Type"))
		}
		w.WriteHeader(status)
		if status/100 != 2 {
			return
		}
		var p Payload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("body is not a payload: %v\n%s", err, body)
		}
		s.got <- p
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *sink) next(t *testing.T) Payload {
	t.Helper()
	select {
	case p := <-s.got:
		return p
	case <-time.After(10 * time.Second):
		t.Fatal("no notification arrived")
		return Payload{}
	}
}

func (s *sink) attemptsSoFar() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

func start(t *testing.T, cfg Config) *Notifier {
	t.Helper()
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff, cfg.MaxBackoff = time.Millisecond, 5*time.Millisecond
	}
	n, err := Start(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return n
}

// TestPayload: a change into an alerting phase is a firing alert with a
// one-line text; the return to Synced resolves the same alert.
func TestPayload(t *testing.T) {
	web := group(t, "web", "dev", "frontend")
	p := NewPayload(Change{Group: web, From: specs.PhaseProgressing, To: specs.PhaseRolledBack,
		Reason: "Command exited with status 1", Revision: 15, FailedRevision: 15, RestoredRevision: 12, Time: t0})
	want := "theseus: web/dev.frontend is RolledBack (was Progressing): Command exited with status 1 [revision 15 rolled back to 12]"
	if p.Text != want {
		t.Errorf("text %q, want %q", p.Text, want)
	}
	if p.Status != "firing" || p.Version != "4" || len(p.Alerts) != 1 || p.Alerts[0].Labels["group"] != "web/dev.frontend" ||
		p.Alerts[0].Annotations["severity"] != "warning" || !p.Alerts[0].EndsAt.IsZero() || p.Phase != specs.PhaseRolledBack ||
		p.PreviousPhase != specs.PhaseProgressing || strings.Join(p.Labels, ",") != "dev,frontend" {
		t.Errorf("payload %+v", p)
	}
	r := NewPayload(Change{Group: web, From: specs.PhaseProgressing, To: specs.PhaseSynced, Revision: 16, Time: t0.Add(time.Minute)})
	if r.Status != "resolved" || r.Alerts[0].Status != "resolved" || !r.Alerts[0].EndsAt.Equal(t0.Add(time.Minute)) ||
		r.Alerts[0].Fingerprint != p.Alerts[0].Fingerprint || r.GroupKey != p.GroupKey {
		t.Errorf("resolved payload %+v does not resolve %+v", r, p)
	}
	b, err := json.Marshal(p)
	if err != nil || !bytes.Contains(b, []byte(`"text":`)) || !bytes.Contains(b, []byte(`"endsAt":"0001-01-01T00:00:00Z"`)) {
		t.Errorf("JSON %s, %v", b, err)
	}
}

// TestNotifyTellsTransitions: changes into alerting phases are sent, in
// order, and so is the return to Synced of a group that was told, even
// through another phase; ordinary rollouts are not.
func TestNotifyTellsTransitions(t *testing.T) {
	s := newSink(t)
	n := start(t, Config{URLs: []string{s.srv.URL}})
	web, api := group(t, "web", "dev"), group(t, "api", "dev")
	for _, c := range []Change{
		{Group: api, From: specs.PhaseSynced, To: specs.PhaseProgressing},
		{Group: api, From: specs.PhaseProgressing, To: specs.PhaseSynced},
		{Group: web, From: specs.PhaseProgressing, To: specs.PhaseStalled, Reason: "deadline passed"},
		{Group: web, From: specs.PhaseStalled, To: specs.PhaseRolledBack, Reason: "Command exited with status 1"},
		{Group: web, From: specs.PhaseRolledBack, To: specs.PhaseProgressing},
		{Group: web, From: specs.PhaseProgressing, To: specs.PhaseSynced},
		{Group: web, From: specs.PhaseSynced, To: specs.PhaseSynced},
		{Group: api, From: specs.PhaseSynced, To: specs.PhasePaused},
	} {
		c.Time = t0
		n.Notify(c)
	}
	var got []string
	for range 4 {
		p := s.next(t)
		got = append(got, p.Group+" "+string(p.Phase)+" "+p.Status)
	}
	want := []string{"web/dev Stalled firing", "web/dev RolledBack firing", "web/dev Synced resolved", "api/dev Paused firing"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("told %q, want %q", got, want)
	}
	select {
	case p := <-s.got:
		t.Errorf("one more notification: %+v", p)
	default:
	}
}

// TestAlertKeepsItsStart: as with Alertmanager, the alert of a group
// starts when the group first went into an alerting phase: a change to
// another one (Stalled, then RolledBack) and the return to Synced carry
// that start, and the return its end.
func TestAlertKeepsItsStart(t *testing.T) {
	s := newSink(t)
	n := start(t, Config{URLs: []string{s.srv.URL}})
	web := group(t, "web", "dev")
	for _, c := range []Change{
		{Group: web, From: specs.PhaseProgressing, To: specs.PhaseStalled, Time: t0},
		{Group: web, From: specs.PhaseStalled, To: specs.PhaseRolledBack, Time: t0.Add(time.Minute)},
		{Group: web, From: specs.PhaseRolledBack, To: specs.PhaseProgressing, Time: t0.Add(2 * time.Minute)},
		{Group: web, From: specs.PhaseProgressing, To: specs.PhaseSynced, Time: t0.Add(5 * time.Minute)},
		{Group: web, From: specs.PhaseSynced, To: specs.PhaseDrifted, Time: t0.Add(9 * time.Minute)},
	} {
		n.Notify(c)
	}
	for _, want := range []struct {
		status       string
		starts, ends time.Time
	}{
		{"firing", t0, time.Time{}},
		{"firing", t0, time.Time{}},
		{"resolved", t0, t0.Add(5 * time.Minute)},
		{"firing", t0.Add(9 * time.Minute), time.Time{}}, // a new alert
	} {
		p := s.next(t)
		if a := p.Alerts[0]; a.Status != want.status || !a.StartsAt.Equal(want.starts) || !a.EndsAt.Equal(want.ends) {
			t.Errorf("%s alert of %s: startsAt %s, endsAt %s; want %s %s, %s", a.Status, p.Phase, a.StartsAt, a.EndsAt,
				want.status, want.starts, want.ends)
		}
	}
}

// TestResolveAfterTakeOver: a daemon that takes over (or restarts)
// with a group RolledBack in /status, told by the last leader, resolves
// its alert when the group comes back to Synced through Progressing,
// as the last leader would have.
func TestResolveAfterTakeOver(t *testing.T) {
	s := newSink(t)
	n := start(t, Config{URLs: []string{s.srv.URL}})
	web := group(t, "web", "dev")
	n.Notify(Change{Group: web, From: specs.PhaseRolledBack, To: specs.PhaseProgressing, Time: t0})
	n.Notify(Change{Group: web, From: specs.PhaseProgressing, To: specs.PhaseSynced, Time: t0.Add(time.Minute)})
	if p := s.next(t); p.Group != "web/dev" || p.Phase != specs.PhaseSynced || p.Status != "resolved" {
		t.Errorf("told %s %s (%s), want web/dev Synced resolved", p.Group, p.Phase, p.Status)
	}
}

// TestNoResolveAfterAnotherLeaderSynced: a daemon that told a group
// RolledBack, then lost the leadership to one under which the group
// turned Synced, and led again, tells nothing of the group's next
// ordinary rollout (Synced, Progressing, Synced): the alert it
// remembers was over when the group was Synced.
func TestNoResolveAfterAnotherLeaderSynced(t *testing.T) {
	s := newSink(t)
	n := start(t, Config{URLs: []string{s.srv.URL}})
	web, api := group(t, "web", "dev"), group(t, "api", "dev")
	n.Notify(Change{Group: web, From: specs.PhaseProgressing, To: specs.PhaseRolledBack, Time: t0})
	if p := s.next(t); p.Phase != specs.PhaseRolledBack {
		t.Fatalf("got %+v", p)
	}
	// The next term of this daemon: the other leader left web Synced.
	n.Notify(Change{Group: web, From: specs.PhaseSynced, To: specs.PhaseProgressing, Time: t0})
	n.Notify(Change{Group: web, From: specs.PhaseProgressing, To: specs.PhaseSynced, Time: t0})
	// api's alert is behind web's changes in the queue: once it arrives,
	// anything told of web would have arrived before it.
	n.Notify(Change{Group: api, From: specs.PhaseSynced, To: specs.PhasePaused, Time: t0})
	if p := s.next(t); p.Group != "api/dev" {
		t.Errorf("told %s %s (%s) of an ordinary rollout", p.Group, p.Phase, p.Status)
	}
}

// TestRetriedDeliveredOnce: a receiver that answers 500 and then 200
// gets the notification once, after a retry; 4xx is not retried.
func TestRetriedDeliveredOnce(t *testing.T) {
	s := newSink(t, http.StatusInternalServerError)
	bad := newSink(t, http.StatusBadRequest)
	reg := prometheus.NewRegistry()
	done := make(chan string, 10)
	n := start(t, Config{URLs: []string{s.srv.URL, bad.srv.URL}, Registerer: reg, delivered: func(r string) { done <- r }})
	web := group(t, "web", "dev")
	n.Notify(Change{Group: web, From: specs.PhaseProgressing, To: specs.PhaseFailed, Time: t0})
	if p := s.next(t); p.Phase != specs.PhaseFailed {
		t.Fatalf("got %+v", p)
	}
	// A second notification behind the first proves that the first is
	// done with: delivered once, nothing more sent for it.
	n.Notify(Change{Group: web, From: specs.PhaseFailed, To: specs.PhaseSynced, Time: t0})
	if p := s.next(t); p.Phase != specs.PhaseSynced {
		t.Fatalf("got %+v", p)
	}
	if a := s.attemptsSoFar(); a != 3 {
		t.Errorf("%d requests for 2 notifications with one 500, want 3", a)
	}
	bad.next(t) // the second notification; the first was refused with a 400
	for range 4 {
		<-done // each receiver is done with both notifications
	}
	if a := bad.attemptsSoFar(); a != 2 {
		t.Errorf("%d requests to a receiver that answered 400, want 2 (no retry)", a)
	}
	for name, want := range map[string]float64{
		"theseus_notifications_sent_total":    3,
		"theseus_notifications_retries_total": 1,
		"theseus_notifications_failed_total":  1,
		"theseus_notifications_dropped_total": 0,
	} {
		if got := sumMetric(t, reg, name); got != want {
			t.Errorf("%s = %g, want %g", name, got, want)
		}
	}
}

// TestRedirectIsRefused: a receiver that answers with a redirect has
// refused the notification, as any answer but 2xx, 408, 429 and 5xx: it
// is counted failed, not sent, and the POST is not sent on (a 301, 302 or
// 303 would turn it into a GET without the payload); the log says so.
func TestRedirectIsRefused(t *testing.T) {
	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			var mu sync.Mutex
			var moved []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/moved" {
					mu.Lock()
					moved = append(moved, r.Method)
					mu.Unlock()
					return
				}
				http.Redirect(w, r, "/moved", code)
			}))
			defer srv.Close()
			reg, logs := notifyOnce(t, srv.URL+"/hook")
			mu.Lock()
			defer mu.Unlock()
			if len(moved) > 0 {
				t.Errorf("the redirect was followed with %v", moved)
			}
			if sent, failed := sumMetric(t, reg, "theseus_notifications_sent_total"),
				sumMetric(t, reg, "theseus_notifications_failed_total"); sent != 0 || failed != 1 {
				t.Errorf("sent %g, failed %g; want 0 sent, 1 failed", sent, failed)
			}
			if !strings.Contains(logs.String(), "redirect") {
				t.Errorf("the log does not say the receiver redirected:\n%s", logs.String())
			}
		})
	}
}

// notifyOnce sends one change to the receiver at url and waits until it
// is delivered or given up; it returns the notifier's metrics and log.
func notifyOnce(t *testing.T, url string) (*prometheus.Registry, *syncBuffer) {
	t.Helper()
	reg := prometheus.NewRegistry()
	done := make(chan string, 1)
	logs := &syncBuffer{}
	n := start(t, Config{URLs: []string{url}, Registerer: reg, delivered: func(r string) { done <- r },
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	n.Notify(Change{Group: group(t, "web", "dev"), From: specs.PhaseProgressing, To: specs.PhaseFailed, Time: t0})
	<-done
	return reg, logs
}

// TestLostNotificationLogNamesIt: the log line of a notification given
// up, or dropped from a full queue, says which group and phase it told,
// so that the operator knows what the receiver never heard.
func TestLostNotificationLogNamesIt(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 10)
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hung.Close()
	defer close(release)
	bad := newSink(t, http.StatusBadRequest)
	var logs syncBuffer
	done := make(chan string, 10)
	n := start(t, Config{URLs: []string{bad.srv.URL, hung.URL}, QueueSize: 1, delivered: func(r string) { done <- r },
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	n.Notify(Change{Group: group(t, "web", "dev"), From: specs.PhaseProgressing, To: specs.PhaseFailed, Time: t0})
	<-done // refused by bad
	<-arrived
	// hung holds web/dev; api/dev waits in its queue of 1 and is dropped
	// for db/dev.
	n.Notify(Change{Group: group(t, "api", "dev"), From: specs.PhaseSynced, To: specs.PhasePaused, Time: t0})
	n.Notify(Change{Group: group(t, "db", "dev"), From: specs.PhaseSynced, To: specs.PhasePaused, Time: t0})
	for _, want := range []string{
		`msg="notification given up" receiver=0:` + strings.TrimPrefix(bad.srv.URL, "http://") + ` group=web/dev phase=Failed`,
		`msg="notification dropped: the receiver's queue is full" receiver=1:` + strings.TrimPrefix(hung.URL, "http://") + ` group=api/dev phase=Paused`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no log line with %q:\n%s", want, logs.String())
		}
	}
}

// syncBuffer is a bytes.Buffer that workers may write while a test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRetryAfterHonoured: a receiver that answers 429 or 503 with
// Retry-After (Slack's rate limit does) is not tried again sooner, so
// that the attempts are not spent while it asked to wait; the wait is
// capped at MaxBackoff, and without the header it is the backoff's.
func TestRetryAfterHonoured(t *testing.T) {
	for _, tc := range []struct {
		code       int
		retryAfter string
		max        time.Duration
		want       time.Duration
	}{
		{http.StatusTooManyRequests, "7", time.Minute, 7 * time.Second},
		{http.StatusServiceUnavailable, "7", time.Minute, 7 * time.Second},
		{http.StatusServiceUnavailable, "600", time.Minute, time.Minute}, // capped at MaxBackoff
		{http.StatusServiceUnavailable, "", time.Minute, 0},              // the backoff's own wait
	} {
		t.Run(fmt.Sprintf("%d %q", tc.code, tc.retryAfter), func(t *testing.T) {
			var attempts atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if attempts.Add(1) == 1 {
					if tc.retryAfter != "" {
						w.Header().Set("Retry-After", tc.retryAfter)
					}
					w.WriteHeader(tc.code)
				}
			}))
			defer srv.Close()
			done := make(chan string, 1)
			var waits []time.Duration // only the receiver's goroutine appends
			n := start(t, Config{URLs: []string{srv.URL}, MaxAttempts: 3, MinBackoff: time.Millisecond, MaxBackoff: tc.max,
				delivered: func(r string) { done <- r },
				sleep: func(ctx context.Context, d time.Duration) error {
					waits = append(waits, d)
					return ctx.Err()
				}})
			n.Notify(Change{Group: group(t, "web", "dev"), From: specs.PhaseProgressing, To: specs.PhaseFailed, Time: t0})
			<-done
			if got := attempts.Load(); got != 2 {
				t.Fatalf("%d attempts, want 2", got)
			}
			if len(waits) != 1 {
				t.Fatalf("waited %v between 2 attempts, want one wait", waits)
			}
			if tc.want == 0 {
				if waits[0] >= time.Second {
					t.Errorf("waited %v after a %d without Retry-After, want the backoff's few ms", waits[0], tc.code)
				}
			} else if waits[0] != tc.want {
				t.Errorf("waited %v after a %d with Retry-After: %s (MaxBackoff %v), want %v", waits[0], tc.code, tc.retryAfter, tc.max, tc.want)
			}
		})
	}
}

// TestDownReceiverDelaysNothing: with one receiver that does not answer
// and one that refuses connections, Notify returns at once every time,
// the healthy receiver gets every notification, and the full queue of
// the hung one drops its oldest, counted; nothing logged holds the
// receivers' paths, where webhook URLs keep their tokens.
func TestDownReceiverDelaysNothing(t *testing.T) {
	release, arrived := make(chan struct{}), make(chan struct{}, 100)
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hung.Close()
	defer close(release)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String() + "/services/T000/B000/secret-token"
	ln.Close()
	ok := newSink(t)
	reg := prometheus.NewRegistry()
	var logs bytes.Buffer // read once Close has stopped the workers that write it
	n := start(t, Config{URLs: []string{hung.URL + "/hooks/secret-token", refused, ok.srv.URL}, QueueSize: 4, MaxAttempts: 2,
		Registerer: reg, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	const changes = 20
	for i := range changes {
		n.Notify(Change{Group: group(t, "svc", "g"+strconv.Itoa(i)), From: specs.PhaseSynced, To: specs.PhaseInvalid, Time: t0})
		if p := ok.next(t); p.Group != "svc/g"+strconv.Itoa(i) {
			t.Fatalf("the healthy receiver got %s, want svc/g%d", p.Group, i)
		}
		if i == 0 {
			<-arrived // the hung receiver holds the first from now on
		}
	}
	// One in flight, four queued: the rest were dropped, oldest first.
	if got := testutil.ToFloat64(n.metrics.dropped.WithLabelValues("0:" + strings.TrimPrefix(hung.URL, "http://"))); got != changes-5 {
		t.Errorf("the hung receiver dropped %g of %d notifications with a queue of 4, want %d", got, changes, changes-5)
	}
	n.Close()
	if strings.Contains(logs.String(), "secret-token") {
		t.Errorf("a receiver's path was logged:\n%s", logs.String())
	}
	// Closed, it queues nothing more: its workers are gone, so what it
	// queued would only wait there.
	queued := n.metrics.queued.WithLabelValues("2:" + strings.TrimPrefix(ok.srv.URL, "http://"))
	n.Notify(Change{Group: group(t, "web", "dev"), From: specs.PhaseSynced, To: specs.PhaseFailed, Time: t0})
	if got := testutil.ToFloat64(queued); got != 0 {
		t.Errorf("a closed notifier queued %g notifications, want 0", got)
	}
}

// TestStartRefusesBadURLs: a receiver that is not an http(s) URL with a
// host name is refused, without repeating it (it may hold a token): a
// URL with a port and no name would be sent to this machine.
func TestStartRefusesBadURLs(t *testing.T) {
	for _, u := range []string{"hooks.slack.com/services/x", "ftp://example.com/x", "http://", "://x",
		"https://:443/services/x", "http://user:token@/x"} {
		if _, err := Start(t.Context(), Config{URLs: []string{u}}); err == nil || strings.Contains(err.Error(), u) {
			t.Errorf("Start(%q): %v", u, err)
		}
	}
	n, err := Start(t.Context(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	n.Notify(Change{Group: group(t, "web", "dev"), From: specs.PhaseSynced, To: specs.PhaseFailed, Time: t0})
	n.Close()
	reg := prometheus.NewRegistry()
	if _, err := Start(t.Context(), Config{Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	if _, err := Start(t.Context(), Config{Registerer: reg}); err == nil {
		t.Error("two notifiers registered their metrics in one registry")
	}
}

func sumMetric(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// TestStopDeliversWhatIsQueued: a notifier stopped with time to spare
// delivers what it had queued, in order, then stops taking more; one
// stopped against a receiver that does not answer returns when its time
// is up.
func TestStopDeliversWhatIsQueued(t *testing.T) {
	release, arrived := make(chan struct{}), make(chan struct{}, 3)
	slow := newSink(t)
	gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release // the first waits until Stop has begun
		slow.srv.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(gate.Close)
	n := start(t, Config{URLs: []string{gate.URL}})
	for i := range 3 {
		n.Notify(Change{Group: group(t, "svc", "g"+strconv.Itoa(i)), From: specs.PhaseSynced, To: specs.PhaseFailed, Time: t0})
	}
	<-arrived // the first in flight, the other two queued
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n.Stop(ctx)
	}()
	<-n.draining // Stop has begun: what is delivered now is its drain
	close(release)
	<-stopped
	for i := range 3 {
		if p := slow.next(t); p.Group != "svc/g"+strconv.Itoa(i) {
			t.Errorf("delivered %s, want svc/g%d", p.Group, i)
		}
	}
	n.Notify(Change{Group: group(t, "web", "dev"), From: specs.PhaseSynced, To: specs.PhaseFailed, Time: t0})
	if got := testutil.ToFloat64(n.metrics.queued.WithLabelValues("0:" + strings.TrimPrefix(gate.URL, "http://"))); got != 0 {
		t.Errorf("a stopped notifier queued %g notifications", got)
	}

	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // read whole, a request cut by its client ends its context
		<-r.Context().Done()
	}))
	t.Cleanup(hung.Close)
	h := start(t, Config{URLs: []string{hung.URL}})
	h.Notify(Change{Group: group(t, "web", "dev"), From: specs.PhaseSynced, To: specs.PhaseFailed, Time: t0})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	begun := time.Now()
	h.Stop(ctx)
	if d := time.Since(begun); d > 5*time.Second {
		t.Errorf("Stop against a receiver that does not answer took %s with 100ms to spare", d)
	}
}

// TestParseRetryAfter: seconds or an HTTP date in the future are a wait;
// anything else, a date past and a negative number included, is none,
// and seconds past what a Duration holds are its largest, not a wrapped
// negative.
func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		header string
		want   time.Duration
		ok     bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{" 120 ", 2 * time.Minute, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"99999999999999", time.Duration(math.MaxInt64/int64(time.Second)) * time.Second, true},
		{"99999999999999999999", 0, false}, // beyond int64: not a number
		{"Mon, 07 Dec 2026 10:00:30 GMT", 30 * time.Second, true},
		{"Mon, 07 Dec 2026 09:59:30 GMT", 0, false},
	} {
		got, ok := parseRetryAfter(tc.header, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tc.header, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzParseRetryAfter: whatever a receiver sends, the wait is never
// negative.
func FuzzParseRetryAfter(f *testing.F) {
	for _, seed := range []string{"", "5", "-5", "9223372036854775807", "Mon, 07 Dec 2026 10:00:30 GMT", "Wed, 21 Oct 2015 07:28:00 GMT"} {
		f.Add(seed)
	}
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, header string) {
		if d, ok := parseRetryAfter(header, now); d < 0 || !ok && d != 0 {
			t.Fatalf("parseRetryAfter(%q) = %v, %v", header, d, ok)
		}
	})
}

// TestBadCertificateIsRefused: a receiver whose certificate does not
// verify has refused the notification: given up at the first attempt,
// logged with the reason, where it was tried 8 times over minutes,
// holding the receiver's queue, though no attempt could fare better.
func TestBadCertificateIsRefused(t *testing.T) {
	var mu sync.Mutex
	posted := 0
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		mu.Lock()
		posted++
		mu.Unlock()
	}))
	defer srv.Close()
	reg, logs := notifyOnce(t, srv.URL+"/hook")
	if retries, failed := sumMetric(t, reg, "theseus_notifications_retries_total"),
		sumMetric(t, reg, "theseus_notifications_failed_total"); retries != 0 || failed != 1 {
		t.Errorf("retries %g, failed %g; want 0 retries, 1 failed", retries, failed)
	}
	if !strings.Contains(logs.String(), "certificate") {
		t.Errorf("the log does not say the certificate failed:\n%s", logs.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if posted != 0 {
		t.Errorf("the receiver got %d notifications over a connection that did not verify", posted)
	}
}
