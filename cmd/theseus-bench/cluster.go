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
	writes  *firstSeen // Marathon writes by path
	httpSrv *http.Server
	serving sync.WaitGroup
}

// startCluster starts etcd in dir and a simulator at the given speed with
// room for every task the run will start.
func startCluster(ctx context.Context, dir string, o options) (*cluster, error) {
	c := &cluster{writes: newFirstSeen()}
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
	c.httpSrv = &http.Server{Handler: wrapWrites(c.writes, c.sim), ReadHeaderTimeout: 10 * time.Second}
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
		// Marathon's heartbeat keeps a connection alive: it comes every
		// 10 s of real time, not of the simulator's sped-up time, in
		// which it would be a hundred a second at 1000x, a load no real
		// Marathon puts on the controller.
		Heartbeat: time.Duration(o.speed * float64(10*time.Second)),
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

// wrapWrites notes in seen the arrival of every Marathon write, by path,
// so that a latency can end when the controller's call reaches Marathon.
func wrapWrites(seen *firstSeen, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			seen.note(r.URL.Path, time.Now())
		}
		h.ServeHTTP(w, r)
	})
}

// firstSeen records when each key (a path, a task id) was first seen,
// for a measurement to wait on.
type firstSeen struct {
	mu    sync.Mutex
	at    map[string]time.Time
	added chan struct{} // closed and replaced at each addition
}

func newFirstSeen() *firstSeen {
	return &firstSeen{at: map[string]time.Time{}, added: make(chan struct{})}
}

// note records t for key unless key was seen already.
func (f *firstSeen) note(key string, t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.at[key]; !ok {
		f.at[key] = t
		close(f.added)
		f.added = make(chan struct{})
	}
}

// forget drops key, so that its next sighting is timed.
func (f *firstSeen) forget(key string) {
	f.mu.Lock()
	delete(f.at, key)
	f.mu.Unlock()
}

// wait returns when key was first seen, waiting for it.
func (f *firstSeen) wait(ctx context.Context, key string) (time.Time, error) {
	for {
		f.mu.Lock()
		t, ok := f.at[key]
		ch := f.added
		f.mu.Unlock()
		if ok {
			return t, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("%s never seen: %w", key, ctx.Err())
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
