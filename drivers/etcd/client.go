package etcd

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"theseus.dev/specs"
)

// Defaults of Config and Options.
const (
	// DefaultEndpoint is where `theseusd dev` serves etcd.
	DefaultEndpoint       = "127.0.0.1:2379"
	DefaultDialTimeout    = 5 * time.Second
	DefaultRequestTimeout = 10 * time.Second
	DefaultPageSize       = 1000
	DefaultRetryMin       = 100 * time.Millisecond
	DefaultRetryMax       = 30 * time.Second
	DefaultStallTimeout   = 2 * time.Minute
)

// Config says how to reach a production etcd cluster.
type Config struct {
	// Endpoints are the cluster members, "host:port" or a URL
	// ("https://host:port"). Defaults to DefaultEndpoint.
	Endpoints []string
	// CACert is a PEM file of the authorities that sign the servers'
	// certificates. Setting CACert, or Cert and Key, turns on TLS.
	CACert string
	// Cert and Key are the PEM files of a client certificate, for
	// clusters that require client authentication.
	Cert, Key string
	// Username and Password authenticate with etcd's own user database.
	Username, Password string
	// DialTimeout bounds connecting and the readiness check of Connect.
	// Defaults to DefaultDialTimeout.
	DialTimeout time.Duration
	// AuthLater, for a daemon, lets Dial return when etcd does not
	// answer the authentication of Username: the etcd client
	// authenticates before it returns, and fails when etcd is down. The
	// first request authenticates instead, once etcd answers.
	AuthLater bool

	Options
}

// Options are the settings of a Client independent of how it connects.
type Options struct {
	// Prefix is put before every key theseus uses ("/desired/...",
	// "/status/...", "/services/...", "/theseus/..."), so that several
	// installations can share a cluster. Empty, or "/name" without a
	// trailing slash.
	Prefix string
	// RequestTimeout bounds each request that is not a watch. Defaults
	// to DefaultRequestTimeout.
	RequestTimeout time.Duration
	// PageSize is the number of keys read per request when listing.
	// Defaults to DefaultPageSize.
	PageSize int
	// RetryMin and RetryMax bound the jittered exponential backoff
	// between attempts to re-establish a watch or a campaign. Default to
	// DefaultRetryMin and DefaultRetryMax.
	RetryMin, RetryMax time.Duration
	// StallTimeout is how long a watch may stay silent before a progress
	// report is requested; silence for another StallTimeout restarts it.
	// Defaults to DefaultStallTimeout.
	StallTimeout time.Duration
	// Hooks are told about watch restarts, relists and leadership, for
	// metrics. Nil fields are skipped.
	Hooks Hooks
}

func (o Options) withDefaults() Options {
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.PageSize <= 0 {
		o.PageSize = DefaultPageSize
	}
	if o.RetryMin <= 0 {
		o.RetryMin = DefaultRetryMin
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = max(DefaultRetryMax, o.RetryMin)
	}
	if o.StallTimeout <= 0 {
		o.StallTimeout = DefaultStallTimeout
	}
	return o
}

// Client is theseus's handle on etcd: the stores and the election are
// reached through it. It is safe for concurrent use.
type Client struct {
	cli   *clientv3.Client
	opts  Options
	owned bool // Close closes cli
}

// New wraps an existing etcd client. The caller keeps ownership of cli:
// Close does not close it.
func New(cli *clientv3.Client, opts Options) (*Client, error) {
	if err := specs.CheckPrefix(opts.Prefix); err != nil {
		return nil, err
	}
	return &Client{cli: cli, opts: opts.withDefaults()}, nil
}

// Connect creates a client for cfg and checks that the cluster answers a
// linearizable read within cfg.DialTimeout, since creating an etcd client
// does not detect an unreachable cluster.
func Connect(ctx context.Context, cfg Config) (*Client, error) {
	c, err := Dial(cfg)
	if err != nil {
		return nil, err
	}
	timeout := cmp.Or(max(cfg.DialTimeout, 0), DefaultDialTimeout)
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := c.Ready(rctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("etcd at %s does not answer within %s: %w", strings.Join(c.cli.Endpoints(), ","), timeout, err)
	}
	return c, nil
}

// Dial creates a client for cfg without waiting for the cluster to
// answer: for a daemon, which must keep running, not ready, while etcd
// is down, and take up its work when etcd is back.
func Dial(cfg Config) (*Client, error) {
	if err := specs.CheckPrefix(cfg.Prefix); err != nil {
		return nil, err
	}
	ccfg, err := cfg.clientConfig()
	if err != nil {
		return nil, err
	}
	var dialled atomic.Bool
	if cfg.AuthLater && ccfg.Username != "" && ccfg.Password != "" {
		ccfg.DialOptions = append(ccfg.DialOptions, grpc.WithChainUnaryInterceptor(authLater(&dialled)))
	}
	cli, err := clientv3.New(ccfg)
	dialled.Store(true)
	if err != nil {
		return nil, fmt.Errorf("etcd at %s: %w", strings.Join(ccfg.Endpoints, ","), err)
	}
	return &Client{cli: cli, opts: cfg.Options.withDefaults(), owned: true}, nil
}

// authLater takes the authentication of clientv3.New that etcd did not
// answer for one that gave an empty token. etcd refuses a request with an
// empty token as "user name is empty", on which the client authenticates
// again and retries: the first request once etcd answers. Once New has
// returned, it passes every call through.
func authLater(dialled *atomic.Bool) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoker(ctx, method, req, reply, cc, opts...)
		if err != nil && !dialled.Load() && method == authenticateMethod {
			if c := status.Code(err); c == codes.Unavailable || c == codes.DeadlineExceeded {
				return nil
			}
		}
		return err
	}
}

// authenticateMethod is the gRPC method of etcd's authentication.
const authenticateMethod = "/etcdserverpb.Auth/Authenticate"

// keepAliveTime and keepAliveTimeout are how long a connection may be
// silent before the client pings etcd, and how long it then waits for
// the answer before it gives the connection up.
const (
	keepAliveTime    = 10 * time.Second
	keepAliveTimeout = 5 * time.Second
)

// clientConfig turns cfg into the etcd client's configuration, reading
// the TLS files.
func (cfg Config) clientConfig() (clientv3.Config, error) {
	ccfg := clientv3.Config{
		Endpoints:   cfg.Endpoints,
		DialTimeout: cfg.DialTimeout,
		Username:    cfg.Username,
		Password:    cfg.Password,
		// A connection that went dead without a reset (a host gone, a
		// path dropped) is found and dialled again within 15 s; without
		// pings, a watch on it waits for ever. etcd refuses pings more
		// often than every 5 s.
		DialKeepAliveTime:    keepAliveTime,
		DialKeepAliveTimeout: keepAliveTimeout,
		// The client's own logs repeat what its errors say.
		Logger: zap.NewNop(),
	}
	if len(ccfg.Endpoints) == 0 {
		ccfg.Endpoints = []string{DefaultEndpoint}
	}
	if ccfg.DialTimeout <= 0 {
		ccfg.DialTimeout = DefaultDialTimeout
	}
	if (cfg.Cert == "") != (cfg.Key == "") {
		return ccfg, errors.New("etcd TLS: a client certificate needs both the cert and the key file")
	}
	if cfg.CACert == "" && cfg.Cert == "" {
		return ccfg, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CACert != "" {
		pem, err := os.ReadFile(cfg.CACert)
		if err != nil {
			return ccfg, fmt.Errorf("etcd TLS: CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return ccfg, fmt.Errorf("etcd TLS: CA %s holds no PEM certificate", cfg.CACert)
		}
		tc.RootCAs = pool
	}
	if cfg.Cert != "" {
		pair, err := tls.LoadX509KeyPair(cfg.Cert, cfg.Key)
		if err != nil {
			return ccfg, fmt.Errorf("etcd TLS: client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	ccfg.TLS = tc
	return ccfg, nil
}

// TLSConfig is the TLS configuration the client dials with: nil when
// neither a CA nor a client certificate is given.
func (cfg Config) TLSConfig() (*tls.Config, error) {
	ccfg, err := cfg.clientConfig()
	return ccfg.TLS, err
}

// Ready checks that the cluster has a leader and answers a linearizable
// read, within ctx and the request timeout.
func (c *Client) Ready(ctx context.Context) error {
	ctx, cancel := c.reqCtx(ctx)
	defer cancel()
	_, err := c.cli.Get(ctx, c.opts.Prefix+specs.TheseusDir+"ready", clientv3.WithCountOnly())
	return err
}

// Etcd returns the underlying etcd client, for what this package does not
// cover.
func (c *Client) Etcd() *clientv3.Client { return c.cli }

// Prefix returns the key prefix.
func (c *Client) Prefix() string { return c.opts.Prefix }

// Close closes the etcd client if Connect created it.
func (c *Client) Close() error {
	if !c.owned {
		return nil
	}
	return c.cli.Close()
}

// reqCtx bounds one unary request. WithRequireLeader makes a member that
// lost its leader fail the request instead of serving a stale answer or
// hanging in a partition (docs/reliability.md).
func (c *Client) reqCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(clientv3.WithRequireLeader(ctx), c.opts.RequestTimeout)
}
