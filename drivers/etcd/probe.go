package etcd

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"theseus.dev/internal/httpclient"
)

// The etcd client says only that its deadline passed when it could not
// connect, whatever the reason: a certificate that does not verify, a
// client certificate refused, TLS spoken to a plain port. Probe looks at
// each endpoint itself to tell which.

// FindingKind is what a look at one endpoint found wrong.
type FindingKind int

// The kinds of Finding.
const (
	// BadTLSConfig: the TLS settings themselves cannot be loaded.
	BadTLSConfig FindingKind = iota + 1
	// Unreachable: no connection could be made.
	Unreachable
	// Silent: it accepts connections but does not answer.
	Silent
	// SpeaksTLS: a plain connection reached a port that speaks TLS.
	SpeaksTLS
	// NotEtcd: it answers, but not in HTTP/2 as etcd does.
	NotEtcd
	// ClosedPlain: a plain connection, without any TLS settings, was
	// closed: the port may speak TLS.
	ClosedPlain
	// Closed: the connection was closed after the handshake.
	Closed
	// ServerCertificate: the server's certificate does not verify.
	ServerCertificate
	// NotTLS: TLS was spoken to a port that does not speak it.
	NotTLS
	// ClientCertificate: etcd refused the client's certificate (or its
	// lack of one) with a TLS alert.
	ClientCertificate
	// HandshakeSilent: the TLS handshake did not finish in time.
	HandshakeSilent
	// HandshakeClosed: the connection was closed in the TLS handshake.
	HandshakeClosed
	// TLSFailed: TLS failed otherwise.
	TLSFailed
)

// Config reports whether the finding is a matter of configuration (TLS,
// scheme, credentials), which waiting does not mend.
func (k FindingKind) Config() bool {
	switch k {
	case BadTLSConfig, SpeaksTLS, NotEtcd, ServerCertificate, NotTLS, ClientCertificate:
		return true
	}
	return false
}

// Finding is what Probe found wrong with one endpoint.
type Finding struct {
	Endpoint string
	// Host is the endpoint's host:port.
	Host string
	Kind FindingKind
	// Err is the failure behind the finding, if there is one.
	Err error
}

// http2Preface opens an HTTP/2 connection, as gRPC does, followed by an
// empty SETTINGS frame: etcd answers it with one of its own.
const http2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + "\x00\x00\x00\x04\x00\x00\x00\x00\x00"

// Probe looks at every endpoint of cfg at once, until ctx ends, and
// returns what it found wrong; nothing for an endpoint that answers as
// etcd does, or a unix socket.
func Probe(ctx context.Context, cfg Config) []Finding {
	tc, err := cfg.TLSConfig()
	if err != nil {
		return []Finding{{Endpoint: strings.Join(cfg.Endpoints, ","), Kind: BadTLSConfig, Err: err}}
	}
	found := make([]*Finding, len(cfg.Endpoints))
	var wg sync.WaitGroup
	for i, ep := range cfg.Endpoints {
		wg.Go(func() { found[i] = probeEndpoint(ctx, ep, tc) })
	}
	wg.Wait()
	var out []Finding
	for _, f := range found {
		if f != nil {
			out = append(out, *f)
		}
	}
	return out
}

// probeEndpoint connects to ep as the etcd client does (TLS for https://,
// and for an endpoint without a scheme when TLS is configured) and opens
// HTTP/2 on the connection.
func probeEndpoint(ctx context.Context, ep string, tc *tls.Config) *Finding {
	scheme, hostport, ok := strings.Cut(ep, "://")
	if !ok {
		scheme, hostport = "", ep
	}
	if strings.HasPrefix(scheme, "unix") {
		return nil
	}
	hostport, _, _ = strings.Cut(hostport, "/")
	useTLS := scheme == "https" || (scheme == "" && tc != nil)
	found := func(k FindingKind, err error) *Finding {
		return &Finding{Endpoint: ep, Host: hostport, Kind: k, Err: err}
	}
	raw, err := (&net.Dialer{}).DialContext(ctx, "tcp", hostport)
	if err != nil {
		return found(Unreachable, err)
	}
	defer raw.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = raw.SetDeadline(dl)
	}
	conn := raw
	if useTLS {
		c := &tls.Config{}
		if tc != nil {
			c = tc.Clone()
		}
		if c.ServerName == "" {
			c.ServerName, _, _ = net.SplitHostPort(hostport)
		}
		c.NextProtos = []string{"h2"}
		tlsConn := tls.Client(raw, c)
		if err := tlsConn.HandshakeContext(ctx); err != nil {
			return found(tlsKind(err), err)
		}
		conn = tlsConn
	}
	if _, err := conn.Write([]byte(http2Preface)); err != nil {
		return found(tlsKind(err), err)
	}
	buf := make([]byte, 128)
	n, err := io.ReadAtLeast(conn, buf, 9)
	switch got := string(buf[:n]); {
	case n > 0 && !useTLS && (buf[0] == 0x15 || strings.Contains(got, "HTTP request to an HTTPS server")):
		// A TLS alert record, or net/http's answer to plain HTTP on
		// a TLS port.
		return found(SpeaksTLS, nil)
	case n >= 4 && buf[3] == 0x4:
		return nil // a SETTINGS frame: the transport is fine
	case n > 0:
		return found(NotEtcd, nil)
	case err != nil && isTimeout(err):
		return found(Silent, err)
	case err != nil && useTLS:
		return found(tlsKind(err), err)
	case err != nil && !useTLS && tc == nil:
		return found(ClosedPlain, err)
	}
	return found(Closed, err)
}

// tlsKind is what a failed handshake, or the alert etcd sent after it,
// means.
func tlsKind(err error) FindingKind {
	var rec tls.RecordHeaderError
	var op *net.OpError
	switch {
	case httpclient.BadCertificate(err):
		return ServerCertificate
	case errors.As(err, &rec):
		return NotTLS
	case errors.As(err, &op) && op.Op == "remote error":
		return ClientCertificate
	case isTimeout(err):
		return HandshakeSilent
	case errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET):
		return HandshakeClosed
	}
	return TLSFailed
}

// isTimeout reports whether err is a deadline passing.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// AuthRefused reports whether err is etcd refusing a request for want of
// credentials, or of the rights to read theseus's keys: a matter of
// configuration, which waiting does not mend.
func AuthRefused(err error) bool {
	for _, e := range []error{rpctypes.ErrUserEmpty, rpctypes.ErrAuthFailed, rpctypes.ErrPermissionDenied} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
