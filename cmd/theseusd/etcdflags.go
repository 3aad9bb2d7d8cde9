package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"theseus.dev/drivers/etcd"
	"theseus.dev/internal/httpclient"
	"theseus.dev/specs"
)

// etcdFlags say how to reach etcd: flag, then THESEUS_ETCD* environment,
// then the `theseusd dev` default. Every command that talks to etcd adds
// them with addEtcdFlags.
type etcdFlags struct {
	endpoints, prefix           string
	caCert, cert, key, user     string
	password                    *secretFlag
	dialTimeout, requestTimeout time.Duration
}

func addEtcdFlags(fs *pflag.FlagSet) *etcdFlags {
	f := &etcdFlags{}
	fs.StringVar(&f.endpoints, "etcd", "", "etcd endpoints, comma-separated (env THESEUS_ETCD; default "+etcd.DefaultEndpoint+", where theseusd dev serves)")
	fs.StringVar(&f.prefix, "prefix", "", "key prefix of this installation, e.g. /prod (env THESEUS_PREFIX)")
	fs.StringVar(&f.caCert, "etcd-cacert", "", "PEM file of the CAs of etcd's certificates (env THESEUS_ETCD_CACERT)")
	fs.StringVar(&f.cert, "etcd-cert", "", "PEM client certificate (env THESEUS_ETCD_CERT)")
	fs.StringVar(&f.key, "etcd-key", "", "PEM client key (env THESEUS_ETCD_KEY)")
	fs.StringVar(&f.user, "etcd-user", "", "etcd user (env THESEUS_ETCD_USER)")
	f.password = addSecretFlag(fs, "etcd-password", "THESEUS_ETCD_PASSWORD", "etcd password")
	fs.DurationVar(&f.dialTimeout, "etcd-dial-timeout", etcd.DefaultDialTimeout, "how long to wait for etcd to answer at start")
	fs.DurationVar(&f.requestTimeout, "etcd-request-timeout", etcd.DefaultRequestTimeout, "timeout of each etcd request")
	return f
}

// endpointSource says where the endpoints come from, for error messages:
// an operator who set THESEUS_ETCD in another shell should see it.
func (f *etcdFlags) endpointSource(getenv func(string) string) (string, string) {
	switch {
	case f.endpoints != "":
		return f.endpoints, "--etcd"
	case getenv("THESEUS_ETCD") != "":
		return getenv("THESEUS_ETCD"), "THESEUS_ETCD"
	}
	return etcd.DefaultEndpoint, "the default, where `theseusd dev` serves; set --etcd or THESEUS_ETCD"
}

// config resolves the flags against the environment: flag, then
// environment, then default.
func (f *etcdFlags) config(getenv func(string) string) (etcd.Config, error) {
	eps, src := f.endpointSource(getenv)
	var list []string
	for _, e := range strings.Split(eps, ",") {
		if e = strings.TrimSpace(e); e == "" {
			continue
		}
		if red := httpclient.RedactRaw(e); red != e {
			// The etcd client ignores them, and every error and log line
			// naming the endpoint would show them.
			return etcd.Config{}, fmt.Errorf("%s: endpoint %s carries credentials, which etcd does not take there; give --etcd-user and --etcd-password-file (or THESEUS_ETCD_USER and THESEUS_ETCD_PASSWORD_FILE)", src, red)
		}
		list = append(list, e)
	}
	prefix, prefixSrc := f.prefix, "--prefix"
	if prefix == "" {
		prefix, prefixSrc = getenv("THESEUS_PREFIX"), "THESEUS_PREFIX"
	}
	switch {
	case len(list) == 0:
		return etcd.Config{}, fmt.Errorf("%s %q names no etcd endpoint", src, eps)
	case f.dialTimeout <= 0:
		return etcd.Config{}, errors.New("--etcd-dial-timeout must be positive")
	case f.requestTimeout <= 0:
		return etcd.Config{}, errors.New("--etcd-request-timeout must be positive")
	}
	if err := specs.CheckPrefix(prefix); err != nil {
		return etcd.Config{}, fmt.Errorf("%s: %w", prefixSrc, err)
	}
	password, err := f.password.resolve(getenv)
	if err != nil {
		return etcd.Config{}, err
	}
	return etcd.Config{
		Endpoints:   list,
		CACert:      cmp.Or(f.caCert, getenv("THESEUS_ETCD_CACERT")),
		Cert:        cmp.Or(f.cert, getenv("THESEUS_ETCD_CERT")),
		Key:         cmp.Or(f.key, getenv("THESEUS_ETCD_KEY")),
		Username:    cmp.Or(f.user, getenv("THESEUS_ETCD_USER")),
		Password:    password,
		DialTimeout: f.dialTimeout,
		Options: etcd.Options{
			Prefix:         prefix,
			RequestTimeout: f.requestTimeout,
		},
	}, nil
}

// connect connects to etcd and checks that it answers within the dial
// timeout. The error names the endpoints and where they came from, and
// why they did not answer when a look at them tells. A password about to
// cross the network in clear text is warned about.
func (f *etcdFlags) connect(ctx context.Context, cl *cli, hooks etcd.Hooks) (*etcd.Client, error) {
	cfg, src, err := f.clientConfig(cl, hooks)
	if err != nil {
		return nil, err
	}
	c, err := etcd.Dial(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w (endpoints from %s)", err, src)
	}
	if err := f.ready(ctx, c, cfg, src); err != nil {
		c.Close()
		return nil, err.err
	}
	return c, nil
}

// dial is connect for the daemon: etcd down at start is waited for, not
// ready meanwhile, as later on, rather than an exit. That it does not
// answer yet is logged. Only what waiting does not mend stops it: etcd
// refusing its certificate or its credentials, or speaking TLS where it
// does not, on every endpoint.
func (f *etcdFlags) dial(ctx context.Context, cl *cli, hooks etcd.Hooks, log *slog.Logger) (*etcd.Client, error) {
	cfg, src, err := f.clientConfig(cl, hooks)
	if err != nil {
		return nil, err
	}
	cfg.AuthLater = true
	c, err := etcd.Dial(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w (endpoints from %s)", err, src)
	}
	if err := f.ready(ctx, c, cfg, src); err != nil && ctx.Err() == nil {
		if err.config {
			c.Close()
			return nil, err.err
		}
		log.Warn("etcd does not answer yet; waiting for it, not ready meanwhile",
			"endpoints", strings.Join(cfg.Endpoints, ","), "from", src, "err", err.err)
	}
	return c, nil
}

// notReady is why etcd did not answer; config when no endpoint can
// answer before the configuration changes.
type notReady struct {
	err    error
	config bool
}

// ready checks that etcd answers a read within the dial timeout and, when
// it does not, looks at the endpoints to say why.
func (f *etcdFlags) ready(ctx context.Context, c *etcd.Client, cfg etcd.Config, src string) *notReady {
	rctx, cancel := context.WithTimeout(ctx, f.dialTimeout)
	defer cancel()
	err := c.Ready(rctx)
	if err == nil {
		return nil
	}
	eps := strings.Join(cfg.Endpoints, ",")
	if etcd.AuthRefused(err) {
		return &notReady{config: true, err: fmt.Errorf("etcd at %s refused theseus's read: %w; give --etcd-user and --etcd-password-file of a user that may read and write the prefix, or a client certificate (endpoints from %s)", eps, err, src)}
	}
	out := &notReady{err: fmt.Errorf("etcd at %s does not answer within %s: %w (endpoints from %s)", eps, f.dialTimeout, err, src)}
	if ctx.Err() != nil {
		return out
	}
	reasons, config := etcdProblems(ctx, cfg, min(f.dialTimeout, probeTimeout))
	if len(reasons) == 0 {
		return out
	}
	out.config = config
	out.err = fmt.Errorf("%w; %s", out.err, strings.Join(reasons, "; "))
	return out
}

// probeTimeout bounds the look at the endpoints after etcd did not
// answer.
const probeTimeout = 3 * time.Second

// clientConfig is the client's configuration with hooks, and where its
// endpoints came from; a password about to cross the network in clear
// text is warned about.
func (f *etcdFlags) clientConfig(cl *cli, hooks etcd.Hooks) (etcd.Config, string, error) {
	cfg, err := f.config(cl.getenv)
	if err != nil {
		return etcd.Config{}, "", err
	}
	if ep, ok := clearTextPassword(cfg); ok {
		fmt.Fprintf(cl.stderr, "warning: the etcd password goes in clear text to %s, which is not loopback; use TLS (--etcd-cacert) or client certificates\n", ep)
	}
	cfg.Hooks = hooks
	_, src := f.endpointSource(cl.getenv)
	return cfg, src, nil
}

// clearTextPassword returns an endpoint beyond loopback to which a
// password would be sent without TLS.
func clearTextPassword(cfg etcd.Config) (string, bool) {
	if cfg.Username == "" && cfg.Password == "" {
		return "", false
	}
	if cfg.CACert != "" || cfg.Cert != "" {
		return "", false
	}
	for _, ep := range cfg.Endpoints {
		u := ep
		if !strings.Contains(u, "://") {
			u = "http://" + u
		}
		p, err := url.Parse(u)
		if err != nil || p.Scheme == "https" {
			continue
		}
		if !httpclient.IsLoopback(p.Hostname()) {
			return ep, true
		}
	}
	return "", false
}
