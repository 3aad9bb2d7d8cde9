package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/specs"
)

// floors are what the same work costs with nothing of theseus in the
// way, measured in the same run so that ratios compare like with like.
type floors struct {
	watch map[int]time.Duration // etcd put → watch delivery, by percentile
	rtt   map[int]time.Duration // one HTTP round trip to the simulator
}

// measureFloors times n raw etcd put→watch deliveries and n HTTP round
// trips to the simulator's /ping.
func measureFloors(ctx context.Context, c *cluster, n int) (*floors, error) {
	const key = "/theseus-bench/floor"
	cli := c.store.Etcd()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wch := cli.Watch(wctx, key)
	watch := make([]time.Duration, 0, n)
	for i := range n {
		start := time.Now()
		if _, err := cli.Put(ctx, key, fmt.Sprint(i)); err != nil {
			return nil, err
		}
		if err := awaitPut(ctx, wch); err != nil {
			return nil, err
		}
		watch = append(watch, time.Since(start))
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	rtt := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		resp, err := hc.Get(c.simURL + "/ping")
		if err != nil {
			return nil, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		rtt = append(rtt, time.Since(start))
	}
	return &floors{watch: quantiles(watch), rtt: quantiles(rtt)}, nil
}

func awaitPut(ctx context.Context, wch clientv3.WatchChan) error {
	for {
		select {
		case wr, ok := <-wch:
			if !ok || wr.Err() != nil {
				return fmt.Errorf("floor watch ended: %v", wr.Err())
			}
			if len(wr.Events) > 0 {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// coldStartFloor times a minimal client issuing the cold start's creates
// straight to a fresh simulator, as many at once as the controller has
// workers: the least any tool could take for the same calls.
func coldStartFloor(ctx context.Context, o options, keys []specs.GroupKey) (time.Duration, error) {
	sim, err := newSim(o)
	if err != nil {
		return 0, err
	}
	defer sim.Close()
	srv, err := sim.Listen("127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer srv.Close()
	hc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: o.workers}}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, o.workers)
	start := time.Now()
	for range o.workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(keys) || ctx.Err() != nil {
					return
				}
				if err := createApp(hc, srv.URL, keys[i], o.instances); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return 0, fmt.Errorf("minimal client: %w", err)
	}
	return elapsed, nil
}

// createApp posts a bare definition of k's app.
func createApp(hc *http.Client, base string, k specs.GroupKey, instances int) error {
	body := fmt.Appendf(nil, `{"id":%q,"instances":%d,"cpus":0.01,"mem":32,`+
		`"container":{"type":"DOCKER","docker":{"image":%q}},"env":{"REV":"0"}}`,
		specs.AppID("", k), instances, image)
	resp, err := hc.Post(base+"/v2/apps", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("create %s: %s", k, resp.Status)
	}
	return nil
}
