package reconciler_test

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/diff"
	"theseus.dev/discovery"
	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/etcd/etcdtest"
	"theseus.dev/drivers/marathon"
	"theseus.dev/drivers/marathon/marathonsim"
	"theseus.dev/internal/engine"
	"theseus.dev/reconciler"
	"theseus.dev/specs"
)

// simSpeed is how much faster than real time the simulator runs in these
// tests: a 30-second health grace period takes 30ms.
const simSpeed = 1000

// env is a real etcd, the Marathon simulator over HTTP and a driver for
// it: everything a controller talks to.
type env struct {
	t     testing.TB
	etcd  *etcdtest.Etcd
	store *etcd.Client
	sim   *marathonsim.Sim
	url   string
	mc    *marathon.Client

	mu     sync.Mutex
	writes []simWrite // Marathon writes, in the order the simulator received them
}

// simWrite is one mutating request the simulator served.
type simWrite struct {
	at     time.Time // when it reached the simulator
	method string
	path   string
	status int
	done   chan struct{} // closed once status is set
}

func newEnv(t testing.TB) *env { return newEnvAt(t, simSpeed) }

// newEnvAt is newEnv with the simulator running speed times faster than
// real time.
func newEnvAt(t testing.TB, speed float64) *env {
	t.Helper()
	return newEnvOn(t, etcdtest.Start(t), speed)
}

// newEnvOn is newEnvAt on the etcd member m, for instance one of a
// cluster.
func newEnvOn(t testing.TB, m *etcdtest.Etcd, speed float64) *env {
	t.Helper()
	e := &env{t: t, etcd: m}
	e.store = newStore(t, e.etcd.Client, nil)
	var err error
	e.sim, err = marathonsim.New(marathonsim.Options{
		Clock:  marathonsim.NewScaledClock(time.Now(), speed),
		Agents: marathonsim.UniformAgents(10, 64, 256*1024, marathonsim.PortRange{Begin: 31000, End: 32999}),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(func() {
		e.sim.Close() // first: it ends hung requests, which srv.Close waits for
		srv.CloseClientConnections()
		srv.Close()
	})
	e.url = srv.URL
	e.mc, err = marathon.New(marathon.Config{URLs: []string{e.url}, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// newStore is theseus's etcd client on cli with the harness's short
// retry periods, counting its watch restarts and relists in m if set.
func newStore(t testing.TB, cli *clientv3.Client, m *reconciler.Metrics) *etcd.Client {
	t.Helper()
	opts := etcd.Options{RetryMin: 5 * time.Millisecond, RetryMax: 100 * time.Millisecond}
	if m != nil {
		opts.Hooks = etcd.Hooks{WatchRestart: func(r etcd.RestartReason) { m.WatchRestart(string(r)) }, Relist: m.Relist}
	}
	s, err := etcd.New(cli, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// storeWithHooks is a client of the env's etcd, through the proxy, that
// counts its watch restarts and relists in m.
func (e *env) storeWithHooks(m *reconciler.Metrics) *etcd.Client {
	return newStore(e.t, e.etcd.Client, m)
}

// directStore is a client of the env's etcd that bypasses the proxy and
// its faults, as a daemon on the healthy side of a partition has.
func (e *env) directStore() *etcd.Client { return newStore(e.t, e.etcd.NewDirectClient(e.t), nil) }

// serve passes requests to the simulator and records the writes.
func (e *env) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		e.sim.ServeHTTP(w, r)
		return
	}
	// The write is logged before the simulator sees it: its effects (a
	// deployment, running tasks) may be visible before its answer is sent.
	e.mu.Lock()
	i := len(e.writes)
	e.writes = append(e.writes, simWrite{at: time.Now(), method: r.Method, path: r.URL.Path, done: make(chan struct{})})
	e.mu.Unlock()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	e.sim.ServeHTTP(rec, r)
	e.mu.Lock()
	e.writes[i].status = rec.status
	close(e.writes[i].done)
	e.mu.Unlock()
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) { s.status = code; s.ResponseWriter.WriteHeader(code) }
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// writesTo returns the successful writes whose path starts with prefix.
func (e *env) writesTo(method, prefix string) []simWrite {
	var out []simWrite
	for _, w := range e.answered(method, prefix) {
		if w.status < 300 {
			out = append(out, w)
		}
	}
	return out
}

// answered returns the writes with method to paths starting with prefix
// and their answers. A write the simulator is still serving is waited
// for, up to converge (a hung one is left out): its effects may already
// show.
func (e *env) answered(method, prefix string) []simWrite {
	e.mu.Lock()
	var idx []int
	for i, w := range e.writes {
		if w.method == method && strings.HasPrefix(w.path, prefix) {
			idx = append(idx, i)
		}
	}
	e.mu.Unlock()
	timeout := time.NewTimer(converge)
	defer timeout.Stop()
	out := make([]simWrite, 0, len(idx))
	for _, i := range idx {
		e.mu.Lock()
		done := e.writes[i].done
		e.mu.Unlock()
		select {
		case <-done:
		case <-timeout.C:
			return out
		}
		e.mu.Lock()
		out = append(out, e.writes[i])
		e.mu.Unlock()
	}
	return out
}

// controllerOpts tweak a controller started by start.
type controllerOpts struct {
	prune   bool
	id      string
	metrics *reconciler.Metrics
	mc      *marathon.Client // defaults to the env's
}

// start runs a daemon with the harness's settings; see startWith.
func (e *env) start(o controllerOpts) (d *reconciler.Daemon, stop func()) {
	e.t.Helper()
	return e.startWith(daemonOpts{controllerOpts: o})
}

// daemonOpts extend controllerOpts with parts a test can replace.
type daemonOpts struct {
	controllerOpts
	// logTo receives the daemon's log, which is discarded otherwise.
	logTo io.Writer
	// store is the etcd client the daemon uses; the env's (through the
	// proxy) by default.
	store *etcd.Client
	// marathon wraps the driver, e.g. to inject panics or record calls.
	marathon func(reconciler.Marathon) reconciler.Marathon
	// status wraps the /status store.
	status func(reconciler.StatusStore) reconciler.StatusStore
	// desired wraps the /desired source.
	desired func(reconciler.DesiredSource) reconciler.DesiredSource
	// history wraps the store of the groups' histories.
	history func(reconciler.HistoryStore) reconciler.HistoryStore
	// events replaces Marathon's event stream.
	events reconciler.EventSource
	// noDiscovery runs no discovery syncer, whose reads of Marathon go
	// through the same driver.
	noDiscovery bool
	// progressDeadline defaults to the harness's minute.
	progressDeadline time.Duration
	// resync defaults to the harness's 500ms.
	resync time.Duration
	// writeQPS, if set, limits Marathon writes to that rate with a burst
	// of one.
	writeQPS float64
	// limits, if set, are the daemon's lowered spec limits.
	limits *specs.Limits
	// ttl defaults to the harness's 2s election TTL.
	ttl time.Duration
	// minHealthy defaults to the harness's 50ms, poll to its 20ms.
	minHealthy, poll time.Duration
	// notifier, if set, is told of the phase changes.
	notifier reconciler.Notifier
	// noPauseWatch leaves the pauses to the read before each write.
	noPauseWatch bool
}

// startWith runs a daemon (election, controller, discovery) until the
// test ends or the returned stop is called; stop waits for it to end.
func (e *env) startWith(o daemonOpts) (d *reconciler.Daemon, stop func()) {
	e.t.Helper()
	store := o.store
	if store == nil {
		store = e.store
	}
	mc := o.mc
	if mc == nil {
		mc = e.mc
	}
	var m reconciler.Marathon = mc
	if o.marathon != nil {
		m = o.marathon(m)
	}
	var st reconciler.StatusStore = store.Status()
	if o.status != nil {
		st = o.status(st)
	}
	var events reconciler.EventSource = mc
	if o.events != nil {
		events = o.events
	}
	var ds reconciler.DesiredSource = store.Desired()
	if o.desired != nil {
		ds = o.desired(ds)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("THESEUS_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil)).With("daemon", o.id)
	}
	if o.logTo != nil {
		log = slog.New(slog.NewTextHandler(o.logTo, nil))
	}
	var loops []func(reconciler.Term) reconciler.Loop
	if !o.noDiscovery {
		tree := store.Discovery()
		cache := tree.NewTreeCache()
		loops = append(loops, func(t reconciler.Term) reconciler.Loop {
			return discovery.New(discovery.Config{Apps: t.Apps, Configs: t.Configs, Fence: t.Fence,
				Store: tree, Cache: cache, Logger: log, Metrics: o.metrics.Engine()})
		})
	}
	var history reconciler.HistoryStore = store.History()
	if o.history != nil {
		history = o.history(history)
	}
	var pauses reconciler.PauseSource = store.Pauses()
	if o.noPauseWatch {
		pauses = nil
	}
	writeQPS, writeBurst := 1000.0, 1000
	if o.writeQPS > 0 {
		writeQPS, writeBurst = o.writeQPS, 1
	}
	d = reconciler.NewDaemon(reconciler.DaemonConfig{
		Controller: reconciler.Config{
			Desired: ds, Marathon: m, Events: events, Status: st, Limits: o.limits, PruneLedger: store.Prune(),
			Restarts: store.Restarts(), History: history, Pauses: pauses,
			Notifier: o.notifier, MinHealthy: cmp.Or(o.minHealthy, 50*time.Millisecond),
			Prune: o.prune, Resync: cmp.Or(o.resync, 500*time.Millisecond), PollInterval: cmp.Or(o.poll, 20*time.Millisecond),
			ProgressDeadline: cmp.Or(o.progressDeadline, time.Minute), WriteQPS: writeQPS, WriteBurst: writeBurst,
			Engine: engine.Options{Workers: 4, Timeout: 10 * time.Second,
				BaseBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, QPS: 1000, Burst: 1000},
			Logger: log, Metrics: o.metrics,
		},
		Leader: reconciler.LeaderConfig{Elector: store, Election: etcd.ElectionConfig{ID: o.id, TTL: cmp.Or(o.ttl, 2*time.Second)},
			Grace: time.Second, Logger: log, Metrics: o.metrics},
		Loops:     loops,
		EtcdReady: store.Ready, MarathonReady: mc.Ping,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := d.Run(ctx); err != nil {
			e.t.Errorf("daemon %s: %v", o.id, err)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	e.t.Cleanup(stop)
	return d, stop
}

// put writes a spec with the real etcdctl, as a user would.
func (e *env) put(k specs.GroupKey, spec string) {
	e.t.Helper()
	e.etcd.Etcdctl(e.t, "put", specs.DesiredKey("", k), spec)
}

// plan is what `theseusd plan` would print now.
func (e *env) plan(prune bool) *diff.Plan {
	e.t.Helper()
	p, err := reconciler.Plan(e.t.Context(), e.store.Desired(), nil, e.mc, diff.Options{Prune: prune})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// eventually waits until cond holds, looking again each time the
// simulator's state changes and at least every 10ms, for at most limit.
func (e *env) eventually(limit time.Duration, what string, cond func() bool) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.t.Context(), limit)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			e.t.Fatalf("after %s: %s did not happen\n%s", limit, what, e.describe())
		case <-e.sim.Changed():
		case <-tick.C:
		}
	}
}

// describe says what the simulator runs and what /status holds, for a
// test that failed waiting for them (at most 20 groups of each).
func (e *env) describe() string {
	var b strings.Builder
	apps := e.sim.Apps()
	for i, a := range apps {
		if i == 20 {
			fmt.Fprintf(&b, "  ... %d apps in all\n", len(apps))
			break
		}
		fmt.Fprintf(&b, "  app %s: %s, %d instances, %d running, %d healthy, deployment %q, revision label %s\n",
			a.ID, a.Image, a.Instances, a.TasksRunning, a.TasksHealthy, a.Deployment, a.Labels["theseus.io/revision"])
	}
	entries, _, err := e.store.Status().List(context.WithoutCancel(e.t.Context()))
	if err != nil {
		fmt.Fprintf(&b, "  /status: %v\n", err)
	}
	for i, s := range entries {
		if i == 20 {
			fmt.Fprintf(&b, "  ... %d statuses in all\n", len(entries))
			break
		}
		if st := s.Status; st != nil {
			fmt.Fprintf(&b, "  status %s: %s at revision %d: %s\n", s.Key, st.Phase, st.ObservedRevision, st.Message)
			if st.Rollout != nil {
				fmt.Fprintf(&b, "    rollout %+v\n", *st.Rollout)
			}
			if st.Failure != nil {
				fmt.Fprintf(&b, "    failure %+v\n", *st.Failure)
			}
		}
	}
	return b.String()
}

// converged reports whether the plan is empty and every desired group's
// app runs its instances with no deployment in flight.
func (e *env) converged(prune bool) bool {
	p, err := reconciler.Plan(e.t.Context(), e.store.Desired(), nil, e.mc, diff.Options{Prune: prune})
	if err != nil || p.Acts() {
		return false
	}
	for _, a := range p.Actions {
		if a.Kind == diff.Wait {
			return false
		}
	}
	return len(e.sim.Deployments()) == 0
}

func key(t testing.TB, service string, labels ...string) specs.GroupKey {
	t.Helper()
	k, err := specs.NewGroupKey(service, labels)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// spec returns a group spec as JSON.
func spec(k specs.GroupKey, image string, instances int, extra string) string {
	labels := `"` + strings.Join(k.LabelSet(), `","`) + `"`
	return fmt.Sprintf(`{"apiVersion":"theseus/v1","kind":"Group","metadata":{"service":%q,"labels":[%s]},"spec":{"image":%q,"instances":%d,"cpus":0.1,"mem":64%s}}`,
		k.Service, labels, image, instances, extra)
}

// appPath is the URL path of the group's app.
func appPath(k specs.GroupKey) string { return "/v2/apps" + specs.AppID("", k) }

// app returns the simulator's state of the group's app.
func (e *env) app(k specs.GroupKey) (marathonsim.AppState, bool) {
	return e.sim.App(specs.AppID("", k))
}

// status reads the group's /status.
func (e *env) status(k specs.GroupKey) *specs.Status {
	e.t.Helper()
	entries, _, err := e.store.Status().List(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	for _, s := range entries {
		if s.Key == k {
			return s.Status
		}
	}
	return nil
}

// lockedBuffer is a buffer a daemon writes its log to while the test
// reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
