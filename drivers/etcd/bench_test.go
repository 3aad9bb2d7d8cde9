package etcd_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/drivers/etcd"
	"theseus.dev/specs"
	"theseus.dev/specs/specstest"
)

// benchSpec is a realistic group spec: env, config, ports, constraints,
// health checks and an upgrade policy.
func benchSpec(i int) string { return specstest.Bench(i) }

// BenchmarkList10000 lists 10,000 desired specs: paged reads plus strict
// decoding and validation of every spec.
func BenchmarkList10000(b *testing.B) {
	e, _ := start(b, etcd.Options{})
	ctx := context.Background()
	const n = 10_000
	var ops []clientv3.Op
	for i := range n {
		ops = append(ops, clientv3.OpPut(fmt.Sprintf("/desired/svc%05d/dev.frontend", i), benchSpec(i)))
		if len(ops) == etcd.MaxTxnOps || i == n-1 {
			if _, err := e.Client.Txn(ctx).Then(ops...).Commit(); err != nil {
				b.Fatal(err)
			}
			ops = ops[:0]
		}
	}
	list := func(b *testing.B, c *etcd.Client) {
		snap, err := c.Desired().List(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(snap.Entries) != n || len(snap.Invalid()) != 0 {
			b.Fatalf("%d entries, %d invalid", len(snap.Entries), len(snap.Invalid()))
		}
	}
	c, err := etcd.New(e.Client, etcd.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		list(b, c)
	}
}

// BenchmarkPutWatchLatency measures the time from the start of a put to
// the delivery of its event by Watch, and reports the median and the 99th
// percentile.
func BenchmarkPutWatchLatency(b *testing.B) {
	e, c := start(b, etcd.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seen := make(chan int64, 1)
	done := make(chan error, 1)
	from := e.Revision(b) + 1
	go func() {
		done <- c.Desired().Watch(ctx, from, func(u etcd.Update) error {
			if len(u.Events) > 0 {
				seen <- u.Revision
			}
			return nil
		})
	}()
	k := key(b, "web", "dev")
	value := string(specJSON(k, 1))
	var lat []time.Duration
	for b.Loop() {
		begin := time.Now()
		resp, err := e.Client.Put(ctx, specs.DesiredKey("", k), value)
		if err != nil {
			b.Fatal(err)
		}
		for rev := <-seen; rev < resp.Header.Revision; rev = <-seen {
		}
		lat = append(lat, time.Since(begin))
	}
	b.StopTimer()
	cancel()
	<-done
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// BenchmarkTreeCache30k keeps a copy of a tree of 10,000 groups of 3
// containers, as the discovery syncer does, and reports the heap it holds
// (cache-MB) beside the time of a read of it.
func BenchmarkTreeCache30k(b *testing.B) {
	e, c := start(b, fastOptions())
	ctx := context.Background()
	const groups, perGroup = 10_000, 3
	var ops []clientv3.Op
	flush := func(force bool) {
		if len(ops) > 0 && (force || len(ops)+2+perGroup > etcd.MaxTxnOps) {
			if _, err := e.Client.Txn(ctx).Then(ops...).Commit(); err != nil {
				b.Fatal(err)
			}
			ops = ops[:0]
		}
	}
	for i := range groups {
		svc, labels := fmt.Sprintf("svc%03d", i/100), fmt.Sprintf("bench.g%02d", i%100)
		dir := "/services/" + svc + "/" + labels
		ops = append(ops, clientv3.OpPut(dir, fmt.Sprintf(`{"service":%q,"labels":[%q]}`, svc, labels)),
			clientv3.OpPut(dir+"/config", "{}"))
		for j := range perGroup {
			name := fmt.Sprintf("%s_%s.%08x-4c3b-11f1-9f5e-0242ac1100%02d", svc, labels, i, j)
			ops = append(ops, clientv3.OpPut(dir+"/containers/"+name+"/info", mustMarshal(b, info(name, 31000+j))))
		}
		flush(false)
	}
	flush(true)
	d := c.Discovery()
	before := heapInUse()
	cache := d.NewTreeCache()
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- cache.Run(rctx) }()
	defer func() { cancel(); <-done }()
	if err := cache.WaitLive(ctx); err != nil {
		b.Fatal(err)
	}
	held := heapInUse() - before
	for b.Loop() {
		t, err := cache.ReadTree(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(t.Groups) != groups {
			b.Fatalf("%d groups in the cache, want %d", len(t.Groups), groups)
		}
	}
	b.ReportMetric(float64(held)/(1<<20), "cache-MB")
}

// heapInUse is the live heap after a collection.
func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

func mustMarshal(b *testing.B, v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	return string(data)
}
