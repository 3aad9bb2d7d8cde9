// Package etcdtest starts a real, in-process etcd server for tests, with
// the fault injection they need: stop and restart on the same data and
// port, compaction, and a proxy in front of the server that can drop or
// blackhole client connections. It also finds or builds the real etcdctl
// binary for end-to-end tests.
package etcdtest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/etcd/embedded"
)

// LogEnv, when set to a non-empty value, sends the embedded server's
// errors to stderr; by default tests keep it silent.
const LogEnv = "THESEUS_ETCD_TEST_LOG"

// Etcd is one embedded etcd member behind a Proxy. Every method that
// changes its state is safe for concurrent use.
type Etcd struct {
	// Client is connected through the proxy, so it sees the faults the
	// proxy injects. It is closed when the test ends.
	Client *clientv3.Client
	// admin bypasses the proxy, so that Compact and Revision work while
	// the proxy cuts clients off.
	admin *clientv3.Client

	cfg   embedded.Config
	proxy *Proxy

	mu     sync.Mutex
	server *embedded.Server // nil while stopped
}

// Start starts an etcd member on free loopback ports with a data directory
// under t.TempDir, and a client for it. Everything is shut down by
// t.Cleanup.
func Start(t testing.TB) *Etcd {
	t.Helper()
	cfg := memberConfig(t)
	cfg.ClientAddr, cfg.PeerAddr = "127.0.0.1:0", "127.0.0.1:0"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := embedded.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("etcdtest: %v", err)
	}
	// Restart reuses the ports chosen now.
	cfg.ClientAddr, cfg.PeerAddr = s.ClientAddr(), s.PeerAddr()
	e, err := newEtcd(cfg, s)
	if err != nil {
		t.Fatalf("etcdtest: %v", err)
	}
	t.Cleanup(e.shutdown)
	e.Client = e.NewClient(t)
	e.admin = e.NewDirectClient(t)
	return e
}

// memberConfig is the configuration of a test member: data under
// t.TempDir, quiet logs, no fsync, fast raft timers.
func memberConfig(t testing.TB) embedded.Config {
	logger := zap.NewNop()
	if os.Getenv(LogEnv) != "" {
		logger = zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig()),
			zapcore.Lock(os.Stderr), zapcore.ErrorLevel))
	}
	return embedded.Config{Dir: t.TempDir(), Logger: logger, UnsafeNoFsync: true, Fast: true}
}

// newEtcd puts a proxy in front of the running member s.
func newEtcd(cfg embedded.Config, s *embedded.Server) (*Etcd, error) {
	p, err := NewProxy(s.ClientAddr())
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("proxy: %w", err)
	}
	return &Etcd{cfg: cfg, proxy: p, server: s}, nil
}

func (e *Etcd) shutdown() {
	e.Stop()
	e.proxy.Close()
}

// Endpoint returns the URL of the proxy, the endpoint clients should use.
func (e *Etcd) Endpoint() string { return "http://" + e.proxy.Addr() }

// ServerEndpoint returns the URL of the server itself, bypassing the
// proxy.
func (e *Etcd) ServerEndpoint() string { return "http://" + e.cfg.ClientAddr }

// Proxy returns the proxy in front of the server.
func (e *Etcd) Proxy() *Proxy { return e.proxy }

// ClientConfig returns a client configuration for the proxy endpoint with
// quiet logs and short timeouts, for tests that build their own client.
func (e *Etcd) ClientConfig() clientv3.Config {
	return clientv3.Config{
		Endpoints:   []string{e.Endpoint()},
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
		// gRPC waits a second before its first reconnect by default;
		// tests that restart the server or drop connections should
		// not.
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 10 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 500 * time.Millisecond},
			MinConnectTimeout: 2 * time.Second,
		})},
	}
}

// NewClient returns a new client connected through the proxy, closed when
// the test ends.
func (e *Etcd) NewClient(t testing.TB) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(e.ClientConfig())
	if err != nil {
		t.Fatalf("etcdtest: client: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// NewDirectClient returns a new client connected to the server itself,
// bypassing the proxy and its faults, closed when the test ends.
func (e *Etcd) NewDirectClient(t testing.TB) *clientv3.Client {
	t.Helper()
	cfg := e.ClientConfig()
	cfg.Endpoints = []string{e.ServerEndpoint()}
	cli, err := clientv3.New(cfg)
	if err != nil {
		t.Fatalf("etcdtest: client: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// Stop shuts the server down; clients of the proxy see connection
// failures until Restart. The proxy cuts its connections first, so the
// server's graceful shutdown does not wait for their watch streams (it
// would for five seconds). Stopping a stopped server does nothing.
func (e *Etcd) Stop() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.proxy.Refuse()
	if e.server != nil {
		e.server.Close()
		e.server = nil
	}
}

// Restart starts the server again on the same data directory and ports,
// after stopping it if it runs. Clients reconnect by themselves.
func (e *Etcd) Restart(t testing.TB) {
	t.Helper()
	e.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := embedded.Start(ctx, e.cfg)
	if err != nil {
		t.Fatalf("etcdtest: restart: %v", err)
	}
	e.mu.Lock()
	e.server = s
	e.mu.Unlock()
	e.proxy.Accept()
}

// Compact compacts the key-value history up to rev and waits until the
// compaction is physically done, so that older revisions are gone.
func (e *Etcd) Compact(t testing.TB, rev int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := e.admin.Compact(ctx, rev, clientv3.WithCompactPhysical()); err != nil {
		t.Fatalf("etcdtest: compact %d: %v", rev, err)
	}
}

// Revision returns the store's current revision.
func (e *Etcd) Revision(t testing.TB) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := e.admin.Get(ctx, "\x00", clientv3.WithCountOnly())
	if err != nil {
		t.Fatalf("etcdtest: revision: %v", err)
	}
	return resp.Header.Revision
}

// DropConnections closes every client connection through the proxy.
func (e *Etcd) DropConnections() { e.proxy.DropConnections() }

// Blackhole makes the proxy swallow all traffic without closing anything.
func (e *Etcd) Blackhole() { e.proxy.Blackhole() }

// Freeze makes the connections open now through the proxy dead for good,
// without a reset; new ones get through (Proxy.Freeze).
func (e *Etcd) Freeze() { e.proxy.Freeze() }

// Unblackhole lets traffic through again.
func (e *Etcd) Unblackhole() { e.proxy.Unblackhole() }

// Theseus returns theseus's etcd driver over e's client, with opts.
func (e *Etcd) Theseus(t testing.TB, opts etcd.Options) *etcd.Client {
	t.Helper()
	c, err := etcd.New(e.Client, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
