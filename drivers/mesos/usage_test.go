package mesos_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"theseus.dev/drivers/mesos"
	"theseus.dev/specs"
	"theseus.dev/viewer"
)

// TestStatisticsWithoutTimestamp: figures an agent gives no timestamp
// (the recorded /containers body of dcos-metrics has none) are stamped
// with the time of the read, so that top's two reads give the CPU rate
// rather than a 0 shown as measured.
func TestStatisticsWithoutTimestamp(t *testing.T) {
	var reads atomic.Int64
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := url.Parse(srv.URL)
		switch r.URL.Path {
		case "/master/slaves":
			fmt.Fprintf(w, `{"slaves": [{"id": "S0", "hostname": "agent-1", "pid": "slave(1)@%s", "active": true}]}`, u.Host)
		case "/monitor/statistics":
			// One CPU second more at each read.
			n := reads.Add(1)
			fmt.Fprintf(w, `[{"executor_id": "web.1", "framework_id": "F", "source": "web.1",
				"statistics": {"cpus_limit": 1.1, "cpus_user_time_secs": %d.0, "cpus_system_time_secs": 0.5, "mem_rss_bytes": 1048576}}]`, 100+n)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	c := must[*mesos.Client](t)(mesos.New(mesos.Config{URLs: []string{srv.URL}}))

	before := time.Now()
	agent := must[mesos.Agent](t)(c.Agent(ctx(t), "agent-1"))
	usage := must[[]mesos.Usage](t)(c.Statistics(ctx(t), agent))
	if len(usage) != 1 || usage[0].Statistics == nil || usage[0].Statistics.Timestamp.Before(before) || usage[0].Statistics.Timestamp.After(time.Now()) {
		t.Fatalf("statistics without a timestamp: %+v", usage)
	}

	key := must[specs.GroupKey](t)(specs.ParseGroupKey("web/dev"))
	targets := []viewer.UsageTarget{{Key: key, Name: "web.1", Host: "agent-1", State: "TASK_RUNNING", CPUsAsked: 1, MemMB: 64}}
	l := must[*viewer.UsageList](t)(viewer.LoadUsage(ctx(t), c, targets, 20*time.Millisecond))
	u := l.Items[0]
	if !u.Known || u.CPUs <= 0 || u.Sampled.IsZero() || u.MemBytes != 1<<20 || len(l.Warnings) != 0 {
		t.Errorf("usage over two reads of figures without a timestamp: %+v, warnings %v", u, l.Warnings)
	}
}

// TestStatisticsEntryWithoutExecutor: an entry without executor_id (a
// container no executor runs) does not cost the agent's other figures.
func TestStatisticsEntryWithoutExecutor(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`[{"container_id": "c1", "statistics": {"timestamp": 1.5e9, "mem_rss_bytes": 10}},
			{"executor_id": "web.1", "framework_id": "F", "source": "web.1", "statistics": {"timestamp": 1.5e9, "mem_rss_bytes": 1048576}}]`))
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	c := must[*mesos.Client](t)(mesos.New(mesos.Config{URLs: []string{"http://127.0.0.1:1"}}))
	usage := must[[]mesos.Usage](t)(c.Statistics(ctx(t), mesos.Agent{ID: "S0", Hostname: "agent-1", Addr: u.Host}))
	if len(usage) != 2 || usage[1].ExecutorID != "web.1" || usage[1].Statistics == nil || usage[1].Statistics.MemBytes() != 1<<20 {
		t.Errorf("usage %+v", usage)
	}
}
