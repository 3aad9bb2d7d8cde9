package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"theseus.dev/discovery"
	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/marathon"
	"theseus.dev/drivers/mesos"
	"theseus.dev/internal/engine"
	"theseus.dev/reconciler"
	"theseus.dev/specs"
	"theseus.dev/viewer"
)

// daemonFlags are the controller's settings, shared by run and dev.
type daemonFlags struct {
	prune, allowMassDelete  bool
	maxDeleteFraction       float64
	pruneWindow             time.Duration
	resync                  time.Duration
	progressDeadline        time.Duration
	minHealthy              time.Duration
	rolloutFailures         int
	poll                    time.Duration
	grace                   time.Duration
	ttl                     time.Duration
	workers                 int
	writeQPS                float64
	id                      string
	httpUser                string
	httpToken, httpPassword *secretFlag
	http                    httpFlags
	// limits lower specs.DefaultLimits where set.
	limits specs.Limits
	notify *notifyURLs
}

// httpFlags say how the HTTP endpoints are served.
type httpFlags struct {
	cert, key    string
	insecure     bool
	pprof        bool
	allowedHosts []string
}

// authConfig is what the HTTP endpoints require, from flags, files or
// environment.
// resolve reads what the daemon's flags name beside them (secrets, the
// webhook file) into d, so that a missing file stops the daemon before
// it starts anything.
func (f *daemonFlags) resolve(getenv func(string) string, d *daemon) error {
	if err := checkGuardFlags(f.maxDeleteFraction, f.pruneWindow); err != nil {
		return err
	}
	if err := f.check(); err != nil {
		return err
	}
	auth, err := f.authConfig(getenv)
	if err != nil {
		return err
	}
	urls, err := f.notify.resolve(getenv)
	if err != nil {
		return err
	}
	d.flags, d.auth, d.notifyURLs = f, auth, urls
	return nil
}

// check refuses the settings that mean nothing. The controller takes a
// zero for its default, which --rollout-failures 0 (fail at the first
// failed task) or --min-healthy-time 0 (no wait) would seem to ask for
// otherwise: such a value is refused rather than quietly replaced.
func (f *daemonFlags) check() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"resync", f.resync}, {"poll", f.poll}, {"progress-deadline", f.progressDeadline},
		{"min-healthy-time", f.minHealthy}, {"election-ttl", f.ttl},
	} {
		if d.v <= 0 {
			return fmt.Errorf("--%s %s: want a positive duration", d.name, d.v)
		}
	}
	switch {
	case f.grace < 0:
		return fmt.Errorf("--grace %s: want 0 (cancel calls in flight at once) or more", f.grace)
	case f.workers < 1:
		return fmt.Errorf("--workers %d: want at least 1", f.workers)
	case f.rolloutFailures < 1:
		return fmt.Errorf("--rollout-failures %d: want at least 1 (1 fails a rollout at its first failed task)", f.rolloutFailures)
	case !(f.writeQPS > 0):
		return fmt.Errorf("--marathon-write-qps %g: want a positive rate", f.writeQPS)
	}
	return nil
}

func (f *daemonFlags) authConfig(getenv func(string) string) (viewer.AuthConfig, error) {
	token, err := f.httpToken.resolve(getenv)
	if err != nil {
		return viewer.AuthConfig{}, err
	}
	password, err := f.httpPassword.resolve(getenv)
	if err != nil {
		return viewer.AuthConfig{}, err
	}
	return viewer.AuthConfig{Token: token, Username: cmp.Or(f.httpUser, getenv("THESEUS_HTTP_USER")), Password: password}, nil
}

func addDaemonFlags(fs *pflag.FlagSet) *daemonFlags {
	f := &daemonFlags{}
	f.httpToken = addSecretFlag(fs, "http-token", "THESEUS_HTTP_TOKEN", "bearer token the HTTP endpoints require, needed to bind off loopback")
	fs.StringVar(&f.httpUser, "http-user", "", "basic-auth user the HTTP endpoints accept (env THESEUS_HTTP_USER)")
	f.httpPassword = addSecretFlag(fs, "http-password", "THESEUS_HTTP_PASSWORD", "basic-auth password of the HTTP endpoints")
	fs.StringVar(&f.http.cert, "http-cert", "", "PEM certificate: serve the HTTP endpoints over TLS (with --http-key)")
	fs.StringVar(&f.http.key, "http-key", "", "PEM private key of --http-cert")
	fs.BoolVar(&f.http.insecure, "http-insecure", false, "serve beyond loopback without TLS, sending credentials in clear text")
	fs.BoolVar(&f.http.pprof, "pprof", false, "serve Go's profiles under /debug/pprof/ (behind the same auth as /metrics)")
	fs.StringSliceVar(&f.http.allowedHosts, "http-allowed-host", nil, "a host name the HTTP endpoints answer to besides their own address, e.g. the name of a proxy in front (repeatable)")
	fs.BoolVar(&f.prune, "prune", false, "delete managed apps that have no desired spec (behind the mass-deletion guard)")
	fs.BoolVar(&f.allowMassDelete, "allow-mass-delete", false, "let pruning past the mass-deletion guard for as long as the daemon runs (theseusd prune --allow-mass-delete releases it for a while, without a restart)")
	fs.Float64Var(&f.maxDeleteFraction, "max-delete-fraction", 0.5, "the mass-deletion guard: the largest share of the managed apps deleted within --prune-window")
	fs.DurationVar(&f.pruneWindow, "prune-window", reconciler.DefaultPruneWindow, "the mass-deletion guard counts the deletions of this long together, so that a wipe one key at a time is seen")
	fs.DurationVar(&f.resync, "resync", reconciler.DefaultResync, "period of the full resync (one Marathon list, every group looked at)")
	fs.DurationVar(&f.progressDeadline, "progress-deadline", reconciler.DefaultProgressDeadline, "how long a rollout may take before it has failed (and is rolled back), or another deployment before the group is reported Stalled; spec.upgrade.progressDeadlineSeconds sets it for a group")
	fs.IntVar(&f.rolloutFailures, "rollout-failures", reconciler.DefaultRolloutFailures, "how many tasks of a rollout theseus started may fail before it has failed (and is rolled back)")
	fs.DurationVar(&f.minHealthy, "min-healthy-time", reconciler.DefaultMinHealthy, "how long a rollout must stay done (tasks running and healthy) before it counts as Synced in the history; a failure until then still rolls it back")
	fs.DurationVar(&f.poll, "poll", reconciler.DefaultPollInterval, "how often a group with a deployment in flight is looked at")
	fs.DurationVar(&f.grace, "grace", 30*time.Second, "on SIGTERM, how long calls in flight may finish before the leadership is resigned")
	fs.DurationVar(&f.ttl, "election-ttl", etcd.DefaultTTL, "lease TTL of the leader election: how soon a standby takes over a dead leader")
	fs.IntVar(&f.workers, "workers", 4, "groups reconciled at once")
	fs.Float64Var(&f.writeQPS, "marathon-write-qps", reconciler.DefaultWriteQPS, "Marathon writes per second across all groups")
	fs.StringVar(&f.id, "id", "", "this daemon's name in the leader election (default hostname/pid)")
	f.notify = addNotifyFlag(fs)
	d := specs.DefaultLimits()
	fs.IntVar(&f.limits.Instances, "max-instances", 0, fmt.Sprintf("refuse specs with more instances than this (at most and by default %d)", d.Instances))
	fs.Float64Var(&f.limits.CPUs, "max-cpus", 0, fmt.Sprintf("refuse specs with more CPUs per task (at most and by default %g)", d.CPUs))
	fs.Float64Var(&f.limits.MemMiB, "max-mem", 0, fmt.Sprintf("refuse specs with more memory per task, in MiB (at most and by default %.0f)", d.MemMiB))
	fs.Float64Var(&f.limits.DiskMiB, "max-disk", 0, fmt.Sprintf("refuse specs with more disk per task, in MiB (at most and by default %.0f)", d.DiskMiB))
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
	// notifyURLs are the webhooks told of phase changes.
	notifyURLs []string
	// ready is called once the HTTP listener is up.
	ready func(httpURL string)
}

// etcdHooks and marathonHooks count what the drivers do; marathonHooks
// also logs why the event stream cannot be attached, which the driver
// only retries.
func etcdHooks(m *reconciler.Metrics) etcd.Hooks {
	return etcd.Hooks{WatchRestart: func(r etcd.RestartReason) { m.WatchRestart(string(r)) }, Relist: m.Relist}
}

func marathonHooks(m *reconciler.Metrics, log *slog.Logger) marathon.Hooks {
	return marathon.Hooks{
		Request: func(method, endpoint string, code int, d time.Duration) {
			m.MarathonRequest(method, endpoint, code, d.Seconds())
		},
		Reconnect: m.SSEReconnect,
		StreamFailed: func(err error) {
			log.Warn("Marathon event stream not attached; retrying, changes are seen at each resync meanwhile", "err", err)
		},
	}
}

// run serves HTTP and runs the controller until ctx ends.
func (d *daemon) run(ctx context.Context) error {
	f := d.flags
	limits, err := f.limits.Lower(specs.DefaultLimits())
	if err != nil {
		return fmt.Errorf("--max-*: %w", err)
	}
	// The notifier outlives ctx: the phase changes of the grace after a
	// SIGTERM, and those still queued, are sent for up to notifyDrain
	// once the controller has stopped. No other daemon tells them.
	notifier, err := d.startNotifier(context.WithoutCancel(ctx))
	if err != nil {
		return err
	}
	defer func() {
		drain, cancel := context.WithTimeout(context.WithoutCancel(ctx), notifyDrain)
		defer cancel()
		notifier.Stop(drain)
	}()
	tree := d.etcd.Discovery()
	dm := reconciler.NewDaemon(reconciler.DaemonConfig{
		Controller: reconciler.Config{
			Desired: d.etcd.Desired(), Marathon: d.marathon, Events: d.marathon, Status: d.etcd.Status(),
			Limits: &limits, Prune: f.prune, AllowMassDelete: f.allowMassDelete, MaxDeleteFraction: f.maxDeleteFraction,
			PruneLedger: d.etcd.Prune(), PruneWindow: f.pruneWindow, Restarts: d.etcd.Restarts(),
			History: d.etcd.History(), Pauses: d.etcd.Pauses(), Notifier: notifier,
			RolloutFailures: f.rolloutFailures, MinHealthy: f.minHealthy,
			Resync: f.resync, ProgressDeadline: f.progressDeadline, PollInterval: f.poll, WriteQPS: f.writeQPS,
			Engine: engine.Options{Workers: f.workers},
			Logger: d.log, Metrics: d.metrics,
		},
		Leader: reconciler.LeaderConfig{
			Elector: d.etcd, Election: etcd.ElectionConfig{ID: f.id, TTL: f.ttl},
			Grace: f.grace, Logger: d.log, Metrics: d.metrics,
		},
		Loops:         []func(reconciler.Term) reconciler.Loop{d.discovery(tree)},
		EtcdReady:     d.etcd.Ready,
		MarathonReady: d.marathon.Ping,
	})
	var wg sync.WaitGroup
	defer wg.Wait()
	if d.httpAddr != "" {
		stopHTTP, err := d.serveHTTP(ctx, dm, &wg)
		if err != nil {
			return err
		}
		defer stopHTTP()
	} else if d.ready != nil {
		d.ready("")
	}
	return dm.Run(ctx)
}

// discovery builds the discovery syncer of each term, on the term's view
// of Marathon and the controller's configs, writing /services under the
// term's fence. The copy of the tree is kept from term to term.
func (d *daemon) discovery(tree *etcd.Discovery) func(reconciler.Term) reconciler.Loop {
	cache := tree.NewTreeCache()
	return func(t reconciler.Term) reconciler.Loop {
		return discovery.New(discovery.Config{Apps: t.Apps, Configs: t.Configs, Fence: t.Fence,
			Store: tree, Cache: cache, Logger: d.log, Metrics: d.metrics.Engine()})
	}
}

// serveHTTP serves the probes, /metrics, the viewer and, with --pprof,
// the profiles on --http, over TLS when a certificate is given. The
// returned func shuts the server down.
func (d *daemon) serveHTTP(ctx context.Context, dm *reconciler.Daemon, wg *sync.WaitGroup) (func(), error) {
	hf := d.flags.http
	if (hf.cert == "") != (hf.key == "") {
		return nil, errors.New("--http-cert and --http-key go together")
	}
	if err := viewer.CheckBind(viewer.Bind{Addr: d.httpAddr, Auth: d.auth, TLS: hf.cert != "", Insecure: hf.insecure}); err != nil {
		return nil, fmt.Errorf("--http: %w", err)
	}
	var tc *tls.Config
	if hf.cert != "" {
		pair, err := tls.LoadX509KeyPair(hf.cert, hf.key)
		if err != nil {
			return nil, fmt.Errorf("--http-cert/--http-key: %w", err)
		}
		tc = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	}
	v, err := viewer.New(viewer.Config{Desired: d.etcd.Desired(), Status: d.etcd.Status(), Marathon: d.marathon, Leader: d.etcd,
		Services: d.etcd.Discovery(), History: d.etcd.History(), Auth: d.auth, Logger: d.log, Mesos: viewerMesos(d.mesos)})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", d.httpAddr)
	if err != nil {
		return nil, fmt.Errorf("--http %s: %w", d.httpAddr, err)
	}
	h := viewer.HostGuard(ln.Addr(), hf.allowedHosts, httpHandler(dm, d.metrics, v.Handler(), httpOptions{auth: d.auth, pprof: hf.pprof}))
	scheme := "http"
	if tc != nil {
		ln, scheme = tls.NewListener(ln, tc), "https"
	}
	// The server's own complaints (a failed TLS handshake, a scanner's
	// garbage) are debug noise in the daemon's log, not lines on stderr.
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(d.log.Handler(), slog.LevelDebug)}
	wg.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("http server", "err", err)
		}
	})
	url := scheme + "://" + ln.Addr().String()
	d.log.Info("serving", "http", url)
	if d.ready != nil {
		d.ready(url)
	}
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}, nil
}

// viewerMesos is the viewer's Mesos source: none without a client.
func viewerMesos(c *mesos.Client) viewer.Mesos {
	if c == nil {
		return nil
	}
	return c
}
