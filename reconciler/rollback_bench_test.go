package reconciler_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"theseus.dev/reconciler"
	"theseus.dev/specs"
)

// BenchmarkRollbackAfterFailure measures, with the simulator at 10×
// real time (as `theseusd dev --speed 10`) and the daemon's defaults for
// what decides it (3 failed tasks, --min-healthy-time 10s, --poll 5s,
// --resync 30s), the time from the first failed task of a crashing image
// (its TASK_FAILED event, as a client of Marathon's event stream hears
// it) to the rollback being issued (Marathon's answer to the forced
// update). Each sample is a group of 2 instances: a good image, Synced
// for good, then the crashing one. Run it with -benchtime=5x; each
// sample takes about 20 seconds.
func BenchmarkRollbackAfterFailure(b *testing.B) {
	e := newEnvAt(b, 10)
	e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"}, minHealthy: reconciler.DefaultMinHealthy,
		poll: reconciler.DefaultPollInterval, resync: reconciler.DefaultResync})
	e.sim.Faults().CrashImage("nginx:bad", 0)
	failed := e.firstFailures(b)
	// What is timed is the samples, not the loop.
	var samples []time.Duration
	b.StopTimer()
	for i := range b.N {
		k := key(b, "web", "b"+string(rune('a'+i%26))+strings.Repeat("x", i/26))
		e.putSpec(k, spec(k, "nginx:1.27", 2, ""))
		good := e.modRevision(k)
		e.eventually(time.Minute, "the good revision Synced for good", func() bool {
			st := e.status(k)
			return st != nil && st.SyncedRevision == good
		})
		e.putSpec(k, spec(k, "nginx:bad", 2, ""))
		e.eventually(time.Minute, "the rollback", func() bool { return len(e.forced()) > i })
		first := failed(specs.AppID("", k))
		if first.IsZero() {
			// Else the sample would be the time since year 1.
			b.Fatalf("rolled back %s, but no failed task of it was heard on the event stream", k)
		}
		ws := e.writesTo("PUT", appPath(k))
		samples = append(samples, ws[len(ws)-1].at.Sub(first))
		b.Logf("sample %d: first failed task → rollback issued: %s", i+1, samples[i].Round(time.Millisecond))
	}
	slices.Sort(samples)
	b.ReportMetric(float64(samples[len(samples)/2].Milliseconds()), "median-ms")
	b.ReportMetric(float64(samples[len(samples)-1].Milliseconds()), "max-ms")
	b.ReportMetric(0, "ns/op")
}

// firstFailures follows Marathon's event stream, as any client would,
// and returns when it first heard a task of each app fail.
func (e *env) firstFailures(b *testing.B) func(appID string) time.Time {
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.url+"/v2/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	first := map[string]time.Time{}
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var ev struct {
				EventType, AppID, TaskStatus string
			}
			if json.Unmarshal([]byte(data), &ev) == nil && ev.EventType == "status_update_event" && ev.TaskStatus == "TASK_FAILED" {
				mu.Lock()
				if _, ok := first[ev.AppID]; !ok {
					first[ev.AppID] = time.Now()
				}
				mu.Unlock()
			}
		}
	}()
	return func(appID string) time.Time {
		mu.Lock()
		defer mu.Unlock()
		return first[appID]
	}
}
