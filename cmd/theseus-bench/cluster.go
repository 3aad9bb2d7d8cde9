package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"

	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/etcd/embedded"
	"theseus.dev/drivers/marathon"
	"theseus.dev/drivers/marathon/marathonsim"
)

// cluster is what the controller under test runs against, all in this
// process: an embedded etcd and the Marathon simulator on loopback, the
// simulator's handler wrapped to note when each write arrives.
type cluster struct {
	etcdSrv *embedded.Server
	store   *etcd.Client
	sim     *marathonsim.Sim
	simURL  string
	mc      *marathon.Client
	writes  *writeLog
	httpSrv *http.Server
	serving sync.WaitGroup
}

// startCluster starts etcd in dir and a simulator at the given speed with
// room for every task the run will start.
func startCluster(ctx context.Context, dir string, o options) (*cluster, error) {
	c := &cluster{writes: newWriteLog()}
	var err error
	c.etcdSrv, err = embedded.Start(ctx, embedded.Config{
		Dir: filepath.Join(dir, "etcd"), ClientAddr: "127.0.0.1:0", PeerAddr: "127.0.0.1:0",
		UnsafeNoFsync: true, Fast: true, Logger: zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("embedded etcd: %w", err)
	}
	c.store, err = etcd.Connect(ctx, etcd.Config{Endpoints: []string{c.etcdSrv.Endpoint()}})
	if err != nil {
		c.close()
		return nil, err
	}
	c.sim, err = newSim(o)
	if err != nil {
		c.close()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		c.close()
		return nil, err
	}
	c.simURL = "http://" + ln.Addr().String()
	c.httpSrv = &http.Server{Handler: c.writes.wrap(c.sim), ReadHeaderTimeout: 10 * time.Second}
	c.serving.Go(func() { _ = c.httpSrv.Serve(ln) })
	c.mc, err = marathon.New(marathon.Config{URLs: []string{c.simURL}, Timeout: 5 * time.Minute})
	if err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// newSim sizes the simulator's agents for the run's peak task count with
// a fast clock, so that tasks start in milliseconds of real time.
func newSim(o options) (*marathonsim.Sim, error) {
	return marathonsim.New(marathonsim.Options{
		Clock:  marathonsim.NewScaledClock(time.Now(), o.speed),
		Agents: marathonsim.UniformAgents(50, 1024, 4<<20, marathonsim.PortRange{Begin: 31000, End: 32999}),
		// Events of 10,000 apps starting at once must not overflow the
		// controller's stream: a closed stream is a resync, which would
		// be measured instead of the steady state.
		EventBuffer:    1 << 20,
		RequestLogSize: 1,
	})
}

func (c *cluster) close() {
	if c.httpSrv != nil {
		_ = c.httpSrv.Close()
		c.serving.Wait()
	}
	if c.sim != nil {
		_ = c.sim.Close()
	}
	if c.store != nil {
		_ = c.store.Close()
	}
	if c.etcdSrv != nil {
		c.etcdSrv.Close()
	}
}

// writeLog notes the arrival time of every Marathon write by path, so
// that a latency can end when the controller's call reaches Marathon.
type writeLog struct {
	mu      sync.Mutex
	first   map[string]time.Time // path → arrival of the first write since expect
	arrived chan struct{}        // closed and replaced at each write
}

func newWriteLog() *writeLog {
	return &writeLog{first: map[string]time.Time{}, arrived: make(chan struct{})}
}

func (l *writeLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			now := time.Now()
			l.mu.Lock()
			if _, ok := l.first[r.URL.Path]; !ok {
				l.first[r.URL.Path] = now
				close(l.arrived)
				l.arrived = make(chan struct{})
			}
			l.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	})
}

// forget drops what is known of path, so the next write to it is timed.
func (l *writeLog) forget(path string) {
	l.mu.Lock()
	delete(l.first, path)
	l.mu.Unlock()
}

// wait returns when the first write to path since forget arrived.
func (l *writeLog) wait(ctx context.Context, path string) (time.Time, error) {
	for {
		l.mu.Lock()
		t, ok := l.first[path]
		ch := l.arrived
		l.mu.Unlock()
		if ok {
			return t, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("no write to %s: %w", path, ctx.Err())
		}
	}
}

// untilSim waits, re-checking cond each time the simulator's state moves
// but at most every interval: checking 10,000 apps at every task change
// of a fast clock would measure the check.
func untilSim(ctx context.Context, sim *marathonsim.Sim, interval time.Duration, cond func() bool) error {
	for {
		ch := sim.Changed()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case <-time.After(interval):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// revision returns etcd's current revision: it moves with every write.
func (c *cluster) revision(ctx context.Context) (int64, error) {
	r, err := c.store.Etcd().Get(ctx, "/theseus-bench/revision")
	if err != nil {
		return 0, err
	}
	return r.Header.Revision, nil
}

func mkTemp() (string, error) { return os.MkdirTemp("", "theseus-bench-") }
