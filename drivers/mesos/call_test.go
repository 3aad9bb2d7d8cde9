package mesos

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestAnswerBound asks /master/state of two masters, the first of which
// answers with as much as the bound allows, or more. An answer past the
// bound is an error naming the call and the bound, asked neither again
// nor of the other master; one at the bound is read. The bound is 4 KiB
// here, not 256 MiB, so that no test sends that much.
func TestAnswerBound(t *testing.T) {
	const bound = 4096
	state := `{"version": "1.9.0", "hostname": "m1", "pid": "master@10.0.0.1:5050", "leader": "master@10.0.0.1:5050"}`
	for _, tc := range []struct {
		name    string
		answer  func(w http.ResponseWriter)
		refused bool
	}{
		{"at the bound", func(w http.ResponseWriter) {
			_, _ = w.Write([]byte(state + strings.Repeat(" ", bound-len(state))))
		}, false},
		{"a byte past it", func(w http.ResponseWriter) {
			_, _ = w.Write([]byte(state + strings.Repeat(" ", bound+1-len(state))))
		}, true},
		{"endless", func(w http.ResponseWriter) {
			_, _ = w.Write([]byte(`{"version": "1.9.0", "hostname": "`))
			chunk := bytes.Repeat([]byte("x"), bound)
			for range 64 { // well past the bound; the client stops reading there
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var first, second atomic.Int32
			m1 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				first.Add(1)
				w.Header().Set("Content-Type", "application/json")
				tc.answer(w)
			}))
			defer m1.Close()
			m2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				second.Add(1)
				_, _ = w.Write([]byte(state))
			}))
			defer m2.Close()
			c, err := New(Config{URLs: []string{m1.URL, m2.URL}})
			if err != nil {
				t.Fatal(err)
			}
			c.maxAnswer = bound
			st, err := c.State(t.Context())
			switch {
			case !tc.refused && (err != nil || st.Hostname != "m1"):
				t.Errorf("an answer of %d bytes: %+v, %v; want m1's state", bound, st, err)
			case tc.refused && (err == nil || !strings.Contains(err.Error(), "GET "+m1.URL+"/master/state") ||
				!strings.Contains(err.Error(), "larger than 4096 bytes, more than Mesos sends")):
				t.Errorf("an answer past the bound: %v; want an error naming the call and the bound", err)
			case tc.refused && !IsPermanent(err):
				t.Errorf("an answer past the bound: %v; want it permanent", err)
			}
			if n, m := first.Load(), second.Load(); n != 1 || m != 0 {
				t.Errorf("asked the first master %d times and the second %d; want once and never", n, m)
			}
		})
	}
}

// TestCancelledCallSaysSo: a call given up because the caller's context
// was cancelled, while it retried a master that refuses connections or
// answers 503, is an error that says so (errors.Is context.Canceled),
// which the commands do not report as trouble of Mesos's on interrupt.
func TestCancelledCallSaysSo(t *testing.T) {
	refusing := httptest.NewServer(http.NotFoundHandler())
	refusing.Close()
	hits := make(chan struct{}, 100)
	busy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits <- struct{}{}
		http.Error(w, "No leader elected", http.StatusServiceUnavailable)
	}))
	t.Cleanup(busy.Close)
	for _, u := range []string{refusing.URL, busy.URL} {
		c, err := New(Config{URLs: []string{u}, Timeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		if u == busy.URL {
			go func() { <-hits; <-hits; cancel() }()
		} else {
			time.AfterFunc(100*time.Millisecond, cancel)
		}
		_, err = c.Agents(ctx)
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v, want context.Canceled", u, err)
		}
	}
}
