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

	"theseus.dev/internal/observe"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// DaemonConfig configures a Daemon.
type DaemonConfig struct {
	// Controller is the configuration of each term's controller. Its
	// Marathon, Events, Resync and Logger also make the term's observer.
	Controller Config
	Leader     LeaderConfig
	// EtcdReady and MarathonReady check that each answers, for /readyz.
	EtcdReady, MarathonReady func(context.Context) error
	// Loops build, for each term of leadership, the control loops that run
	// beside the controller on the same view of Marathon (the discovery
	// syncer): each subscribes to Term.Apps, writes under Term.Fence, and
	// runs until the term ends.
	Loops []func(Term) Loop
	// ObserverTimeout bounds each Marathon list and read of the observer;
	// 0 takes observe.DefaultTimeout.
	ObserverTimeout time.Duration
}

// Term is what a loop of one term of leadership is given.
type Term struct {
	// Fence guards the term's writes.
	Fence model.Fence
	// Apps is the term's view of Marathon, shared by every loop.
	Apps *observe.Observer
	// Configs is the config of each group as the controller's cache of
	// /desired holds it, secrets left out.
	Configs interface {
		GroupConfig(k specs.GroupKey) (map[string]string, bool)
	}
}

// ConfigFollower is a Loop told of each group whose config changed in
// /desired (Controller.FollowConfigs): the discovery syncer, which
// mirrors it to /services.
type ConfigFollower interface {
	ConfigChanged(k specs.GroupKey)
}

// Loop is a control loop run beside the controller for one term.
type Loop interface {
	// Run runs the loop until ctx ends.
	Run(ctx context.Context) error
	// Ready returns nil once the loop has done what a leader must have
	// done before it is ready (the discovery syncer: its first sweep).
	Ready() error
}

// Daemon is theseusd's controller process: the election, a controller per
// term of leadership with the loops beside it, and the health endpoints.
type Daemon struct {
	cfg     DaemonConfig
	ctl     atomic.Pointer[Controller]
	loops   atomic.Pointer[[]Loop]
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

// term runs one term of leadership: one observer of Marathon, the
// controller and the other loops subscribed to it, each under the
// term's fence.
func (d *Daemon) term(stop, work context.Context, fence model.Fence) error {
	cfg := d.cfg.Controller
	var wg sync.WaitGroup
	defer wg.Wait()
	// The observer and the loops end when the controller does.
	work, cancel := context.WithCancel(work)
	defer cancel()
	apps := observe.New(observe.Config{Marathon: cfg.Marathon, Events: cfg.Events,
		Resync: cmp.Or(cfg.Resync, DefaultResync), Timeout: d.cfg.ObserverTimeout, Logger: cfg.Logger, Now: cfg.Now})
	ctl := NewController(cfg, fence, apps)
	loops := make([]Loop, len(d.cfg.Loops))
	for i, build := range d.cfg.Loops {
		loops[i] = build(Term{Fence: fence, Apps: apps, Configs: ctl})
		if f, ok := loops[i].(ConfigFollower); ok {
			ctl.FollowConfigs(f.ConfigChanged)
		}
	}
	d.ctl.Store(ctl)
	d.loops.Store(&loops)
	defer d.ctl.Store(nil)
	defer d.loops.Store(nil)
	for _, l := range loops {
		wg.Go(func() { _ = l.Run(work) })
	}
	// The observer's lists share the specs of apps in sync with the
	// controller's (model.KnownSpecs): one copy of each, not two.
	wg.Go(func() { _ = apps.Run(model.WithKnownSpecs(work, ctl)) })
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
	// etcd and Marathon are asked side by side: one that does not answer
	// would otherwise use up ctx and have the other reported as failing.
	var etcdErr, marathonErr error
	var wg sync.WaitGroup
	if d.cfg.EtcdReady != nil {
		wg.Go(func() { etcdErr = d.cfg.EtcdReady(ctx) })
	}
	if d.cfg.MarathonReady != nil {
		wg.Go(func() { marathonErr = d.cfg.MarathonReady(ctx) })
	}
	wg.Wait()
	var errs []error
	if etcdErr != nil {
		errs = append(errs, fmt.Errorf("etcd: %w", etcdErr))
	}
	if marathonErr != nil {
		errs = append(errs, fmt.Errorf("marathon: %w", marathonErr))
	}
	if d.Leading() {
		if c := d.Controller(); c == nil || !c.Synced() {
			errs = append(errs, errors.New("leading, but the first full resync is not done"))
		}
		loops := d.loops.Load()
		if loops == nil && len(d.cfg.Loops) > 0 {
			errs = append(errs, errors.New("leading, but the term's loops have not started"))
		}
		if loops != nil {
			for _, l := range *loops {
				if err := l.Ready(); err != nil {
					errs = append(errs, fmt.Errorf("leading, but %w", err))
				}
			}
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
