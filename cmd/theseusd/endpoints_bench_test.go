package main

import (
	"context"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"theseus.dev/drivers/marathon/marathonsim"
)

// BenchmarkTaskStartToRenderedFile measures the time from a task turning
// TASK_RUNNING in Marathon to the file that `endpoints --template --watch`
// renders holding it: Marathon's event stream, the discovery syncer's
// write to /services, the etcd watch, the --wait debounce and the atomic
// write. Each iteration scales web/dev up by one task through /desired
// and `theseusd run`; the simulator runs in real time with a fast task
// launch. It reports the p50 and p99 over the iterations:
//
//	go test ./cmd/theseusd -run '^$' -bench TaskStartToRenderedFile -benchtime 100x
//
// "lone" starts one task at a time, 1.5s apart: the discovery syncer
// writes a lone change at once. "burst" starts them back to back: after
// its first few writes of a group, the syncer writes it at most once per
// 250ms (reconciler.DefaultDiscoveryMinInterval), which the figures show.
func BenchmarkTaskStartToRenderedFile(b *testing.B) {
	for _, bc := range []struct {
		name  string
		wait  string
		pause time.Duration
	}{
		{"lone/wait=100ms", "100ms", 1500 * time.Millisecond},
		{"lone/wait=0s", "0s", 1500 * time.Millisecond},
		{"burst/wait=100ms", "100ms", 0},
	} {
		b.Run(bc.name, func(b *testing.B) { benchRender(b, bc.wait, bc.pause) })
	}
}

func benchRender(b *testing.B, wait string, pause time.Duration) {
	c := newCluster(b, marathonsim.Options{Clock: marathonsim.NewScaledClock(time.Now(), 1),
		Timings: marathonsim.Timings{Staging: 10 * time.Millisecond, Starting: 10 * time.Millisecond}})
	put := func(n int) {
		if _, err := c.etcd.Client.Put(context.Background(), "/desired/web/dev", webPortSpec(n, "")); err != nil {
			b.Fatal(err)
		}
	}
	put(1)
	out := filepath.Join(b.TempDir(), "haproxy.cfg")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		cl := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string { return c.env[k] }}
		done <- run(ctx, []string{"endpoints", "web", "-l", "dev", "--template", exampleTemplate, "--out", out, "--watch", "--wait", wait}, cl)
	}()
	defer func() { cancel(); <-done }()
	// rendered polls the file until it holds n servers and returns when
	// it saw that; the poll's period bounds the error of a measurement.
	rendered := func(n int) time.Time {
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if len(serverLines(b, out)) == n {
				return time.Now()
			}
			time.Sleep(200 * time.Microsecond)
		}
		b.Fatalf("the file never held %d servers", n)
		return time.Time{}
	}
	rendered(1)
	var lat []time.Duration
	b.ResetTimer()
	for i := range b.N {
		if pause > 0 {
			b.StopTimer()
			t := time.NewTimer(pause)
			<-t.C
			b.StartTimer()
		}
		n := i + 2
		known := map[string]bool{}
		for _, tk := range c.sim.Tasks("/web/dev") {
			known[tk.ID] = true
		}
		put(n)
		at := rendered(n)
		for _, tk := range c.sim.Tasks("/web/dev") {
			if !known[tk.ID] {
				lat = append(lat, at.Sub(tk.StartedAt))
			}
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) == 0 {
		b.Fatal("no task started")
	}
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	b.ReportMetric(float64(pct(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "p99-ms")
	b.Logf("%d tasks: p50 %s, p99 %s, max %s", len(lat), pct(0.50).Round(time.Millisecond),
		pct(0.99).Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
}
