package reconciler

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"theseus.dev/drivers/etcd"
)

// DaemonConfig configures a Daemon.
type DaemonConfig struct {
	// Controller is the configuration of each term's controller.
	Controller Config
	Leader     LeaderConfig
	// EtcdReady and MarathonReady check that each answers, for /readyz.
	EtcdReady, MarathonReady func(context.Context) error
	// Companions run beside the controller for each term of leadership,
	// under the term's work context (the discovery syncer, for one).
	Companions []func(work context.Context, ctl *Controller)
}

// Daemon is theseusd's controller process: the election, a controller per
// term of leadership, and the health endpoints.
type Daemon struct {
	cfg     DaemonConfig
	ctl     atomic.Pointer[Controller]
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
	ctl := NewController(d.cfg.Controller, fence)
	d.ctl.Store(ctl)
	defer d.ctl.Store(nil)
	var wg sync.WaitGroup
	for _, run := range d.cfg.Companions {
		wg.Go(func() { run(work, ctl) })
	}
	err := ctl.Run(stop, work)
	wg.Wait()
	return err
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
