// Package embedded runs a single-member etcd server inside the process, on
// loopback addresses, for tests and for `theseusd dev`. It is the real etcd
// server (go.etcd.io/etcd/server/v3/embed), not a fake: watches,
// compaction, leases and transactions behave exactly as in production.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/types"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Defaults of Config.
const (
	DefaultClientAddr   = "127.0.0.1:2379"
	DefaultPeerAddr     = "127.0.0.1:2380"
	DefaultName         = "theseus"
	DefaultStartTimeout = 30 * time.Second
)

// Config describes one embedded etcd member.
type Config struct {
	// Dir is the data directory; it is created if needed and reused on
	// restart. Required.
	Dir string
	// Name is the member name. Defaults to DefaultName.
	Name string
	// ClientAddr is the host:port clients connect to. Defaults to
	// DefaultClientAddr; a port of 0 picks a free port.
	ClientAddr string
	// PeerAddr is the host:port of the raft peer listener, unused by a
	// single member but required by etcd. Defaults to DefaultPeerAddr; a
	// port of 0 picks a free port.
	PeerAddr string
	// Logger receives etcd's logs. Nil logs errors only, to stderr.
	Logger *zap.Logger
	// UnsafeNoFsync turns off fsync: much faster, loses data on a machine
	// crash. For tests only.
	UnsafeNoFsync bool
	// Fast shortens raft's heartbeat and election timers so that a fresh
	// or restarted member is ready in milliseconds. Meant for tests; a
	// single member has no peers to time out on, so it is harmless.
	Fast bool
	// InitialCluster, for a member of a cluster of several, lists every
	// member as "name=http://peer-host:port,...", this one included;
	// empty for a single member. Members of a new cluster must be
	// started together: none is ready before a majority runs.
	InitialCluster string
	// TickMs and ElectionMs, when set, are raft's heartbeat and election
	// timeouts, overriding Fast: a test cluster wants them short, but not
	// so short that a loaded machine makes it change leaders.
	TickMs, ElectionMs uint
	// StartTimeout bounds how long Start waits for the member to serve.
	// Defaults to DefaultStartTimeout.
	StartTimeout time.Duration
}

// Server is a running embedded etcd member.
type Server struct {
	etcd       *embed.Etcd
	clientAddr string
	peerAddr   string
	dir        string
}

// Start starts a member and waits until it serves client requests, the
// context ends or cfg.StartTimeout passes. The addresses chosen for a port
// of 0 are in ClientAddr and PeerAddr; to restart on the same data and
// addresses, Start again with Dir, ClientAddr and PeerAddr of the old
// server.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Dir == "" {
		return nil, errors.New("embedded etcd: Dir is required")
	}
	cfg = withDefaults(cfg)
	if err := CheckNotInUse(cfg.Dir); err != nil {
		return nil, err
	}
	// A free port found by listening and closing can be taken by someone
	// else before etcd binds it; try again with new ports in that case.
	const attempts = 3
	var lastErr error
	for range attempts {
		s, err := start(ctx, cfg)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if !IsAddrInUse(err) || (!wantsFreePort(cfg.ClientAddr) && !wantsFreePort(cfg.PeerAddr)) {
			break
		}
	}
	return nil, lastErr
}

func withDefaults(cfg Config) Config {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if cfg.ClientAddr == "" {
		cfg.ClientAddr = DefaultClientAddr
	}
	if cfg.PeerAddr == "" {
		cfg.PeerAddr = DefaultPeerAddr
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = DefaultStartTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.New(zapcore.NewCore(
			zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig()),
			zapcore.Lock(os.Stderr), zapcore.ErrorLevel))
	}
	return cfg
}

func start(ctx context.Context, cfg Config) (*Server, error) {
	clientAddr, err := resolveAddr(cfg.ClientAddr)
	if err != nil {
		return nil, fmt.Errorf("embedded etcd: client address: %w", err)
	}
	peerAddr, err := resolveAddr(cfg.PeerAddr)
	if err != nil {
		return nil, fmt.Errorf("embedded etcd: peer address: %w", err)
	}
	ec := embed.NewConfig()
	ec.Name = cfg.Name
	ec.Dir = cfg.Dir
	curl := url.URL{Scheme: "http", Host: clientAddr}
	purl := url.URL{Scheme: "http", Host: peerAddr}
	ec.ListenClientUrls, ec.AdvertiseClientUrls = []url.URL{curl}, []url.URL{curl}
	ec.ListenPeerUrls, ec.AdvertisePeerUrls = []url.URL{purl}, []url.URL{purl}
	ec.InitialCluster = cfg.Name + "=" + purl.String()
	if cfg.InitialCluster != "" {
		ec.InitialCluster = cfg.InitialCluster
	}
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(cfg.Logger)
	ec.LogLevel = "error"
	// Left at zero, every request counts as slow and is formatted for a
	// log line that the level then drops: an eighth of the server's CPU
	// under load.
	ec.WarningUnaryRequestDuration = embed.DefaultWarningUnaryRequestDuration
	ec.UnsafeNoFsync = cfg.UnsafeNoFsync
	if cfg.Fast {
		ec.TickMs, ec.ElectionMs = 10, 100
	}
	if cfg.TickMs > 0 && cfg.ElectionMs > 0 {
		ec.TickMs, ec.ElectionMs = cfg.TickMs, cfg.ElectionMs
	}
	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("embedded etcd: start: %w", err)
	}
	timer := time.NewTimer(cfg.StartTimeout)
	defer timer.Stop()
	select {
	case <-e.Server.ReadyNotify():
		return &Server{etcd: e, clientAddr: clientAddr, peerAddr: peerAddr, dir: cfg.Dir}, nil
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd: start: %w", err)
	case <-timer.C:
		e.Close()
		return nil, fmt.Errorf("embedded etcd: not ready after %v", cfg.StartTimeout)
	case <-ctx.Done():
		e.Close()
		return nil, fmt.Errorf("embedded etcd: start: %w", ctx.Err())
	}
}

// Endpoint returns the client URL, e.g. "http://127.0.0.1:2379".
func (s *Server) Endpoint() string { return "http://" + s.clientAddr }

// ClientAddr returns the host:port clients connect to.
func (s *Server) ClientAddr() string { return s.clientAddr }

// PeerAddr returns the host:port of the peer listener.
func (s *Server) PeerAddr() string { return s.peerAddr }

// Dir returns the data directory.
func (s *Server) Dir() string { return s.dir }

// MemberID is the member's id in its cluster.
func (s *Server) MemberID() uint64 { return uint64(s.etcd.Server.MemberID()) }

// CutPeer drops every raft message to and from the member with id at
// this member, as a network partition between the two would; MendPeer
// undoes it. Both sides must cut for a full partition.
func (s *Server) CutPeer(id uint64) { s.etcd.Server.CutPeer(types.ID(id)) }

// MendPeer lets raft messages to and from the member with id through
// again.
func (s *Server) MendPeer(id uint64) { s.etcd.Server.MendPeer(types.ID(id)) }

// HasLeader reports whether this member knows of a raft leader.
func (s *Server) HasLeader() bool { return s.etcd.Server.Leader() != 0 }

// IsLeader reports whether this member is its cluster's raft leader.
func (s *Server) IsLeader() bool { return s.etcd.Server.Leader() == s.etcd.Server.MemberID() }

// Err reports a fatal error of the running server; it never fires after a
// clean Close.
func (s *Server) Err() <-chan error { return s.etcd.Err() }

// Close stops the server gracefully, closing client connections, and
// waits until its listeners are released. It is safe to call more than
// once.
func (s *Server) Close() { s.etcd.Close() }

// resolveAddr replaces a port of 0 by a free port, so that the address is
// known before etcd starts (etcd needs its peer URL in the initial
// cluster) and stays the same across restarts.
func resolveAddr(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	if port != "0" {
		return addr, nil
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", err
	}
	defer l.Close()
	return net.JoinHostPort(host, strconv.Itoa(l.Addr().(*net.TCPAddr).Port)), nil
}

func wantsFreePort(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	return err == nil && port == "0"
}

// IsAddrInUse reports whether err is a failure to bind a port another
// listener holds. etcd does not wrap the listener's error, so it is
// recognised by its text.
func IsAddrInUse(err error) bool {
	return err != nil && strings.Contains(err.Error(), "address already in use")
}
