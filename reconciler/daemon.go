package reconciler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/marathon"
	"theseus.dev/specs"
)

// DaemonConfig configures a Daemon.
type DaemonConfig struct {
	// Controller is the configuration of each term's controller.
	Controller Config
	Leader     LeaderConfig
	// EtcdReady and MarathonReady check that each answers, for /readyz.
	EtcdReady, MarathonReady func(context.Context) error
	// Discovery, if set, runs a discovery syncer beside the controller in
	// each term. Its Marathon, Configs, Fence and Tick are filled in per
	// term: it sweeps from the controller's resync list, so a resync costs
	// one Marathon list for both.
	Discovery *DiscoveryConfig
	// Companions run beside the controller for each term of leadership,
	// under the term's work context.
	Companions []func(work context.Context, ctl *Controller)
}

// Daemon is theseusd's controller process: the election, a controller per
// term of leadership, and the health endpoints.
type Daemon struct {
	cfg     DaemonConfig
	ctl     atomic.Pointer[Controller]
	disc    atomic.Pointer[Discovery]
	leading atomic.Bool
}

// NewDaemon returns a daemon; start it with Run.
func NewDaemon(cfg DaemonConfig) *Daemon {
	d := &Daemon{cfg: cfg}
	prev := cfg.Leader.Leading
	d.cfg.Leader.Leading = func(b bool) {
		d.leading.Store(b)
		if prev != nil {
			prev(b)
		}
	}
	return d
}

// Run campaigns and reconciles while leading, until stop ends.
func (d *Daemon) Run(stop context.Context) error {
	return RunLeader(stop, d.cfg.Leader, d.term)
}

func (d *Daemon) term(stop, work context.Context, fence etcd.Fence) error {
	cfg := d.cfg.Controller
	var wg sync.WaitGroup
	defer wg.Wait()
	// The term's companions end when the controller does.
	work, cancel := context.WithCancel(work)
	defer cancel()
	var disc *Discovery
	if d.cfg.Discovery != nil {
		shared := &sharedList{m: cfg.Marathon}
		resynced := make(chan time.Time, 1)
		cfg.OnResync = func(apps []marathon.App) {
			shared.publish(apps)
			select {
			case resynced <- time.Now():
			default:
			}
		}
		next := cfg.OnEvent
		cfg.OnEvent = func(ev marathon.Event) {
			disc.Notify(ev)
			if next != nil {
				next(ev)
			}
		}
		defer func() { d.disc.Store(nil) }()
		ticks := make(chan time.Time)
		wg.Go(func() { sweepTicks(work, resynced, ticks, 2*cmp.Or(cfg.Resync, DefaultResync)) })
		dc := *d.cfg.Discovery
		dc.Marathon, dc.Fence, dc.Tick = shared, fence, ticks
		ctlRef := &ctlConfigs{}
		dc.Configs = ctlRef
		disc = NewDiscovery(dc)
		d.disc.Store(disc)
		ctl := NewController(cfg, fence)
		ctlRef.ctl = ctl
		return d.runTerm(stop, work, ctl, &wg, func() { _ = disc.Run(work) })
	}
	return d.runTerm(stop, work, NewController(cfg, fence), &wg, nil)
}

// ctlConfigs hands the controller's configs to the discovery syncer; the
// controller is built after the syncer, which its event hook refers to.
type ctlConfigs struct{ ctl *Controller }

func (c *ctlConfigs) GroupConfig(k specs.GroupKey) (map[string]string, bool) {
	return c.ctl.GroupConfig(k)
}

// sweepTicks tells the discovery syncer to sweep after each resync of the
// controller, and on its own when resyncs stop coming (Marathon cannot be
// listed), so that the syncer notices and marks the tree stale.
func sweepTicks(ctx context.Context, resynced <-chan time.Time, ticks chan<- time.Time, fallback time.Duration) {
	t := time.NewTimer(fallback)
	defer t.Stop()
	for {
		var now time.Time
		select {
		case <-ctx.Done():
			return
		case now = <-resynced:
		case now = <-t.C:
		}
		select {
		case ticks <- now:
		case <-ctx.Done():
			return
		}
		t.Reset(fallback)
	}
}

// sharedList serves the discovery syncer the list of the controller's
// latest resync, once, and lists Marathon itself otherwise.
type sharedList struct {
	m    Marathon
	mu   sync.Mutex
	apps []marathon.App
	have bool
}

func (s *sharedList) publish(apps []marathon.App) {
	s.mu.Lock()
	s.apps, s.have = apps, true
	s.mu.Unlock()
}

func (s *sharedList) List(ctx context.Context) ([]marathon.App, error) {
	s.mu.Lock()
	apps, have := s.apps, s.have
	s.apps, s.have = nil, false
	s.mu.Unlock()
	if have {
		return apps, nil
	}
	return s.m.List(ctx)
}

func (s *sharedList) Get(ctx context.Context, k specs.GroupKey) (marathon.App, error) {
	return s.m.Get(ctx, k)
}

func (d *Daemon) runTerm(stop, work context.Context, ctl *Controller, wg *sync.WaitGroup, disc func()) error {
	d.ctl.Store(ctl)
	defer d.ctl.Store(nil)
	if disc != nil {
		wg.Go(disc)
	}
	for _, run := range d.cfg.Companions {
		wg.Go(func() { run(work, ctl) })
	}
	return ctl.Run(stop, work)
}

// Controller is the controller of the current term, or nil when this
// daemon is not leading.
func (d *Daemon) Controller() *Controller { return d.ctl.Load() }

// Leading reports whether this daemon leads.
func (d *Daemon) Leading() bool { return d.leading.Load() }

// Ready returns nil when the daemon can do its job: etcd and Marathon
// answer and, when leading, the first full resync is done. A standby is
// ready when it could take over.
func (d *Daemon) Ready(ctx context.Context) error {
	var errs []error
	if d.cfg.EtcdReady != nil {
		if err := d.cfg.EtcdReady(ctx); err != nil {
			errs = append(errs, fmt.Errorf("etcd: %w", err))
		}
	}
	if d.cfg.MarathonReady != nil {
		if err := d.cfg.MarathonReady(ctx); err != nil {
			errs = append(errs, fmt.Errorf("marathon: %w", err))
		}
	}
	if d.Leading() {
		if c := d.Controller(); c == nil || !c.Synced() {
			errs = append(errs, errors.New("leading, but the first full resync is not done"))
		}
		if s := d.disc.Load(); d.cfg.Discovery != nil && (s == nil || !s.Synced()) {
			errs = append(errs, errors.New("leading, but the first discovery sweep is not done"))
		}
	}
	return errors.Join(errs...)
}

// Handle adds /healthz (the process serves), /readyz (Ready) and, with
// metrics, /metrics to mux.
func (d *Daemon) Handle(mux *http.ServeMux, metrics *Metrics) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := d.Ready(ctx); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		role := "standby"
		if d.Leading() {
			role = "leader"
		}
		fmt.Fprintln(w, "ok", role)
	})
	if metrics != nil {
		mux.Handle("GET /metrics", metrics.Handler())
	}
}
