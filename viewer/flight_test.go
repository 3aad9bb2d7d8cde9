package viewer

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"theseus.dev/drivers/marathon"
	"theseus.dev/viewer/viewertest"
)

// heldMarathon holds each list of the apps until released, or until its
// context ends, and counts them.
type heldMarathon struct {
	Marathon
	lists   atomic.Int32
	entered chan struct{}
	release chan struct{}
}

func (m *heldMarathon) List(ctx context.Context) ([]marathon.App, error) {
	m.lists.Add(1)
	m.entered <- struct{}{}
	select {
	case <-m.release:
		return m.Marathon.List(ctx)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// waiting waits until n loads wait for the read in flight.
func waiting(t *testing.T, v *Viewer, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		v.mu.Lock()
		f := v.flying
		v.mu.Unlock()
		if f != nil {
			f.mu.Lock()
			got := f.waiting
			f.mu.Unlock()
			if got == n {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d loads do not wait for one read", n)
		}
	}
}

// TestPollsShareARead: polls of the open pages that come while a read is
// in flight take its result, rather than each reading every group again
// (with 10,000 groups six open pages made each poll take 10-20s and
// doubled the daemon's memory, until reads passed their timeout); a poll
// that gives up leaves the read to the others, and the next poll after it
// reads anew.
func TestPollsShareARead(t *testing.T) {
	f := viewertest.Start(t)
	f.Populate(t)
	m := &heldMarathon{Marathon: f.Marathon, entered: make(chan struct{}, 16), release: make(chan struct{})}
	v, err := New(Config{Desired: f.Client.Desired(), Status: f.Client.Status(), Marathon: m})
	if err != nil {
		t.Fatal(err)
	}
	h := v.Handler()
	type answer struct {
		code       int
		etag, body string
	}
	const polls = 5
	answers := make(chan answer, polls)
	for range polls {
		go func() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequestWithContext(t.Context(), "GET", "/api/v1/groups", nil))
			answers <- answer{w.Code, w.Header().Get("ETag"), w.Body.String()}
		}()
	}
	<-m.entered
	// One more, which gives up while the read is in flight.
	ctx, cancel := context.WithCancel(t.Context())
	gaveUp := make(chan error, 1)
	go func() {
		_, err := v.Load(ctx, Query{})
		gaveUp <- err
	}()
	waiting(t, v, polls+1)
	cancel()
	if err := <-gaveUp; err == nil {
		t.Error("a load whose context ended returned no error")
	}
	close(m.release)
	var first answer
	for i := range polls {
		a := <-answers
		if i == 0 {
			first = a
		}
		if a.code != http.StatusOK || a.etag != first.etag || a.body != first.body {
			t.Errorf("poll %d: %d %s, want 200 and the answer of the others (%s)", i, a.code, a.etag, first.etag)
		}
	}
	if n := m.lists.Load(); n != 1 {
		t.Errorf("%d polls at once read Marathon's apps %d times, want once", polls, n)
	}
	if _, err := v.Load(t.Context(), Query{}); err != nil {
		t.Fatal(err)
	}
	if n := m.lists.Load(); n != 2 {
		t.Errorf("a load after the shared read made %d reads in all, want a read of its own (2)", n)
	}
}

// TestLastToGiveUpEndsTheRead: the read of loads that all gave up ends,
// and the next load reads anew rather than joining it.
func TestLastToGiveUpEndsTheRead(t *testing.T) {
	f := viewertest.Start(t)
	m := &heldMarathon{Marathon: f.Marathon, entered: make(chan struct{}, 16), release: make(chan struct{})}
	v, err := New(Config{Desired: f.Client.Desired(), Status: f.Client.Status(), Marathon: m})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := v.Load(ctx, Query{})
		done <- err
	}()
	<-m.entered
	cancel()
	if err := <-done; err == nil {
		t.Fatal("a load whose context ended returned no error")
	}
	close(m.release)
	if _, err := v.Load(t.Context(), Query{}); err != nil {
		t.Fatalf("a load after the others gave up: %v", err)
	}
	if n := m.lists.Load(); n != 2 {
		t.Errorf("%d reads of Marathon's apps, want 2: the second load joined a read nobody waited for", n)
	}
}
