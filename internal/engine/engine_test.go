package engine

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"theseus.dev/specs"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func gk(t testing.TB, s string) specs.GroupKey {
	t.Helper()
	k, err := specs.ParseGroupKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestEngineDeduplicatesAndSerialises adds one key many times while it is
// being reconciled: it must be reconciled again once, never twice at once.
func TestEngineDeduplicatesAndSerialises(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := gk(t, "web/dev")
		var running, maxRunning, calls atomic.Int32
		release := make(chan struct{})
		rec := ReconcileFunc(func(ctx context.Context, key specs.GroupKey) (Result, error) {
			n := running.Add(1)
			defer running.Add(-1)
			if n > maxRunning.Load() {
				maxRunning.Store(n)
			}
			if calls.Add(1) == 1 {
				<-release
			}
			return Result{}, nil
		})
		e := New(rec, Options{Workers: 4, Logger: quietLogger()})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { e.Run(ctx); close(done) }()
		e.Add(k)
		synctest.Wait() // the first reconcile is blocked on release
		for range 200 {
			e.Add(k)
		}
		close(release)
		synctest.Wait()
		if got := calls.Load(); got != 2 {
			t.Errorf("reconciled %d times, want 2 (one in flight, one for the 200 adds)", got)
		}
		if maxRunning.Load() != 1 {
			t.Errorf("%d reconciles of one key ran at once", maxRunning.Load())
		}
		cancel()
		<-done
	})
}

func TestEngineResults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMetrics(prometheus.NewRegistry())
		var mu sync.Mutex
		calls := map[string][]time.Time{}
		errTransient := errors.New("marathon unavailable")
		rec := ReconcileFunc(func(ctx context.Context, key specs.GroupKey) (Result, error) {
			mu.Lock()
			calls[key.Service] = append(calls[key.Service], time.Now())
			n := len(calls[key.Service])
			mu.Unlock()
			switch key.Service {
			case "flaky":
				if n < 4 {
					return Result{}, errTransient
				}
			case "invalid":
				return Result{}, TerminalError(errors.New("spec.mem: too small"))
			case "deploying":
				if n < 3 {
					return Result{RequeueAfter: 10 * time.Second}, nil
				}
			case "panics":
				if n == 1 {
					panic("boom")
				}
			case "hangs":
				if n == 1 {
					<-ctx.Done()
					return Result{}, ctx.Err()
				}
			}
			return Result{}, nil
		})
		e := New(rec, Options{Workers: 3, Timeout: 30 * time.Second, BaseBackoff: time.Second, Metrics: m, Logger: quietLogger()})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { e.Run(ctx); close(done) }()
		start := time.Now()
		for _, s := range []string{"flaky", "invalid", "deploying", "panics", "hangs"} {
			e.Add(gk(t, s+"/dev"))
		}
		time.Sleep(10 * time.Minute) // fake time: every backoff and requeue has run
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		want := map[string]int{"flaky": 4, "invalid": 1, "deploying": 3, "panics": 2, "hangs": 2}
		for s, n := range want {
			if len(calls[s]) != n {
				t.Errorf("%s reconciled %d times, want %d", s, len(calls[s]), n)
			}
		}
		// Backoff doubles: retries of flaky after 1s, 2s, 4s.
		if f := calls["flaky"]; len(f) == 4 {
			for i, want := range []time.Duration{0, time.Second, 3 * time.Second, 7 * time.Second} {
				if got := f[i].Sub(start); got != want {
					t.Errorf("flaky attempt %d at %s, want %s", i, got, want)
				}
			}
		}
		if d := calls["deploying"]; len(d) == 3 && d[1].Sub(d[0]) != 10*time.Second {
			t.Errorf("requeue after %s, want 10s", d[1].Sub(d[0]))
		}
		if h := calls["hangs"]; len(h) == 2 && h[1].Sub(h[0]) < 30*time.Second {
			t.Errorf("hung reconcile retried after %s, before its 30s timeout", h[1].Sub(h[0]))
		}
		for name, want := range map[string]float64{
			"panics":   testutil.ToFloat64(m.panics.WithLabelValues("theseus")),
			"timeouts": testutil.ToFloat64(m.timeouts.WithLabelValues("theseus")),
			"terminal": testutil.ToFloat64(m.terminalErrs.WithLabelValues("theseus")),
			"requeue":  testutil.ToFloat64(m.reconcileTotal.WithLabelValues("theseus", resultRequeueAfter)),
		} {
			if want < 1 {
				t.Errorf("metric %s not counted", name)
			}
		}
		cancel()
		<-done
	})
}

// TestEngineStopsWithContext checks that Run returns once its context ends,
// with an in-flight reconcile seeing the cancellation.
func TestEngineStopsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sawCancel := make(chan error, 1)
		started := make(chan struct{})
		rec := ReconcileFunc(func(ctx context.Context, key specs.GroupKey) (Result, error) {
			close(started)
			<-ctx.Done()
			sawCancel <- ctx.Err()
			return Result{}, ctx.Err()
		})
		e := New(rec, Options{Logger: quietLogger()})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { e.Run(ctx); close(done) }()
		e.Add(gk(t, "web/dev"))
		<-started
		cancel()
		<-done
		if err := <-sawCancel; !errors.Is(err, context.Canceled) {
			t.Errorf("in-flight reconcile saw %v", err)
		}
	})
}
