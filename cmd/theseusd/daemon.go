package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/marathon"
	"theseus.dev/drivers/mesos"
	"theseus.dev/reconciler"
	"theseus.dev/viewer"
)

// daemonFlags are the controller's settings, shared by run and dev.
type daemonFlags struct {
	prune, allowMassDelete bool
	maxDeleteFraction      float64
	resync                 time.Duration
	progressDeadline       time.Duration
	poll                   time.Duration
	grace                  time.Duration
	ttl                    time.Duration
	workers                int
	writeQPS               float64
	id                     string
	httpToken, httpUser    string
	httpPassword           string
}

// authConfig is what the HTTP endpoints require, from flags or
// environment.
func (f *daemonFlags) authConfig(getenv func(string) string) viewer.AuthConfig {
	return viewer.AuthConfig{
		Token:    cmp.Or(f.httpToken, getenv("THESEUS_HTTP_TOKEN")),
		Username: cmp.Or(f.httpUser, getenv("THESEUS_HTTP_USER")),
		Password: cmp.Or(f.httpPassword, getenv("THESEUS_HTTP_PASSWORD")),
	}
}

func addDaemonFlags(fs *pflag.FlagSet) *daemonFlags {
	f := &daemonFlags{}
	fs.StringVar(&f.httpToken, "http-token", "", "bearer token the HTTP endpoints require (env THESEUS_HTTP_TOKEN); needed to bind off loopback")
	fs.StringVar(&f.httpUser, "http-user", "", "basic-auth user the HTTP endpoints accept (env THESEUS_HTTP_USER)")
	fs.StringVar(&f.httpPassword, "http-password", "", "basic-auth password (env THESEUS_HTTP_PASSWORD)")
	fs.BoolVar(&f.prune, "prune", false, "delete managed apps that have no desired spec (behind the mass-deletion guard)")
	fs.BoolVar(&f.allowMassDelete, "allow-mass-delete", false, "let pruning past the mass-deletion guard (for example after emptying /desired on purpose)")
	fs.Float64Var(&f.maxDeleteFraction, "max-delete-fraction", 0.5, "the mass-deletion guard: the largest share of managed apps one pass may delete")
	fs.DurationVar(&f.resync, "resync", reconciler.DefaultResync, "period of the full resync (one Marathon list, every group looked at)")
	fs.DurationVar(&f.progressDeadline, "progress-deadline", reconciler.DefaultProgressDeadline, "how long a deployment may run before the group is reported Stalled")
	fs.DurationVar(&f.poll, "poll", reconciler.DefaultPollInterval, "how often a group with a deployment in flight is looked at")
	fs.DurationVar(&f.grace, "grace", 30*time.Second, "on SIGTERM, how long calls in flight may finish before the leadership is resigned")
	fs.DurationVar(&f.ttl, "election-ttl", etcd.DefaultTTL, "lease TTL of the leader election: how soon a standby takes over a dead leader")
	fs.IntVar(&f.workers, "workers", 4, "groups reconciled at once")
	fs.Float64Var(&f.writeQPS, "marathon-write-qps", reconciler.DefaultWriteQPS, "Marathon writes per second across all groups")
	fs.StringVar(&f.id, "id", "", "this daemon's name in the leader election (default hostname/pid)")
	return f
}

// daemon is everything a controller process needs, built by run and dev.
type daemon struct {
	flags    *daemonFlags
	etcd     *etcd.Client
	marathon *marathon.Client
	// mesos, when set, feeds the viewer's agents page, usage and logs.
	mesos    *mesos.Client
	metrics  *reconciler.Metrics
	log      *slog.Logger
	httpAddr string
	// auth is what the HTTP endpoints require; needed off loopback.
	auth viewer.AuthConfig
	// ready is called once the HTTP listener is up.
	ready func(httpURL string)
}

// etcdHooks and marathonHooks count what the drivers do.
func etcdHooks(m *reconciler.Metrics) etcd.Hooks {
	return etcd.Hooks{WatchRestart: func(r etcd.RestartReason) { m.WatchRestart(string(r)) }, Relist: m.Relist}
}

func marathonHooks(m *reconciler.Metrics) marathon.Hooks {
	return marathon.Hooks{
		Request: func(method, endpoint string, code int, d time.Duration) {
			m.MarathonRequest(method, endpoint, code, d.Seconds())
		},
		Reconnect: m.SSEReconnect,
	}
}

// run serves HTTP and runs the controller until ctx ends.
func (d *daemon) run(ctx context.Context) error {
	f := d.flags
	tree := d.etcd.Discovery()
	dm := reconciler.NewDaemon(reconciler.DaemonConfig{
		Controller: reconciler.Config{
			Desired: d.etcd.Desired(), Marathon: d.marathon, Events: d.marathon, Status: d.etcd.Status(),
			Prune: f.prune, AllowMassDelete: f.allowMassDelete, MaxDeleteFraction: f.maxDeleteFraction,
			Resync: f.resync, ProgressDeadline: f.progressDeadline, PollInterval: f.poll, WriteQPS: f.writeQPS,
			Engine: reconciler.EngineOptions{Workers: f.workers},
			Logger: d.log, Metrics: d.metrics,
		},
		Leader: reconciler.LeaderConfig{
			Elector: d.etcd, Election: etcd.ElectionConfig{ID: f.id, TTL: f.ttl},
			Grace: f.grace, Logger: d.log, Metrics: d.metrics,
		},
		Discovery:     &reconciler.DiscoveryConfig{Store: tree, Cache: tree.NewTreeCache(), Logger: d.log},
		EtcdReady:     d.etcd.Ready,
		MarathonReady: d.marathon.Ping,
	})
	var wg sync.WaitGroup
	defer wg.Wait()
	if d.httpAddr != "" {
		if err := viewer.CheckBind(d.httpAddr, d.auth); err != nil {
			return fmt.Errorf("--http: %w", err)
		}
		v, err := viewer.New(viewer.Config{Desired: d.etcd.Desired(), Status: d.etcd.Status(), Marathon: d.marathon,
			Services: d.etcd.Discovery(), Auth: d.auth, Logger: d.log, Mesos: viewerMesos(d.mesos)})
		if err != nil {
			return err
		}
		h := httpHandler(dm, d.metrics, v.Handler(), d.auth)
		ln, err := net.Listen("tcp", d.httpAddr)
		if err != nil {
			return fmt.Errorf("--http %s: %w", d.httpAddr, err)
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		wg.Go(func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				d.log.Error("http server", "err", err)
			}
		})
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
		d.log.Info("serving", "http", "http://"+ln.Addr().String())
		if d.ready != nil {
			d.ready("http://" + ln.Addr().String())
		}
	} else if d.ready != nil {
		d.ready("")
	}
	return dm.Run(ctx)
}

// viewerMesos is the viewer's Mesos source: none without a client.
func viewerMesos(c *mesos.Client) viewer.Mesos {
	if c == nil {
		return nil
	}
	return c
}
