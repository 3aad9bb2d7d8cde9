package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"theseus.dev/drivers/etcd"
	"theseus.dev/internal/httpclient"
)

// The etcd client says only that its deadline passed when it could not
// connect, whatever the reason: a certificate that does not verify, a
// client certificate refused, TLS spoken to a plain port. probeEtcd
// looks at each endpoint itself to say which.

// etcdProblem is what the look at one endpoint found.
type etcdProblem struct {
	endpoint string
	reason   string
	// config marks a matter of configuration (TLS, credentials), which
	// waiting does not mend.
	config bool
}

func (p etcdProblem) String() string { return p.endpoint + ": " + p.reason }

// http2Preface opens an HTTP/2 connection, as gRPC does, followed by an
// empty SETTINGS frame: etcd answers it with one of its own.
const http2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + "\x00\x00\x00\x04\x00\x00\x00\x00\x00"

// probeEtcd looks at every endpoint of cfg at once, within timeout, and
// returns what it found wrong; nothing for an endpoint that answers as
// etcd does.
func probeEtcd(ctx context.Context, cfg etcd.Config, timeout time.Duration) []etcdProblem {
	tc, err := cfg.TLSConfig()
	if err != nil {
		return []etcdProblem{{endpoint: strings.Join(cfg.Endpoints, ","), reason: err.Error(), config: true}}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	found := make([]*etcdProblem, len(cfg.Endpoints))
	var wg sync.WaitGroup
	for i, ep := range cfg.Endpoints {
		wg.Go(func() { found[i] = probeEndpoint(ctx, ep, tc, cfg) })
	}
	wg.Wait()
	var out []etcdProblem
	for _, p := range found {
		if p != nil {
			out = append(out, *p)
		}
	}
	return out
}

// probeEndpoint connects to ep as the etcd client does (TLS for https://,
// and for an endpoint without a scheme when TLS is configured) and opens
// HTTP/2 on the connection.
func probeEndpoint(ctx context.Context, ep string, tc *tls.Config, cfg etcd.Config) *etcdProblem {
	scheme, hostport, ok := strings.Cut(ep, "://")
	if !ok {
		scheme, hostport = "", ep
	}
	if strings.HasPrefix(scheme, "unix") {
		return nil
	}
	hostport, _, _ = strings.Cut(hostport, "/")
	useTLS := scheme == "https" || (scheme == "" && tc != nil)
	problem := func(config bool, format string, args ...any) *etcdProblem {
		return &etcdProblem{endpoint: ep, reason: fmt.Sprintf(format, args...), config: config}
	}
	raw, err := (&net.Dialer{}).DialContext(ctx, "tcp", hostport)
	if err != nil {
		return problem(false, "not reachable: %v", err)
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
			return tlsProblem(ep, err, cfg)
		}
		conn = tlsConn
	}
	if _, err := conn.Write([]byte(http2Preface)); err != nil {
		return tlsProblem(ep, err, cfg)
	}
	buf := make([]byte, 128)
	n, err := io.ReadAtLeast(conn, buf, 9)
	switch got := string(buf[:n]); {
	case n > 0 && !useTLS && (buf[0] == 0x15 || strings.Contains(got, "HTTP request to an HTTPS server")):
		// A TLS alert record, or net/http's answer to plain HTTP on
		// a TLS port.
		return problem(true, "speaks TLS; name it https://%s and give --etcd-cacert", hostport)
	case n >= 4 && buf[3] == 0x4:
		return nil // a SETTINGS frame: the transport is fine
	case n > 0:
		return problem(true, "does not answer as etcd does (no HTTP/2): is this etcd's client port?")
	case err != nil && isTimeout(err):
		return problem(false, "accepts connections but does not answer")
	case err != nil && useTLS:
		return tlsProblem(ep, err, cfg)
	case err != nil && !useTLS && tc == nil:
		return problem(false, "closed the connection (%v); if it speaks TLS, name it https://%s and give --etcd-cacert", err, hostport)
	}
	return problem(false, "closed the connection: %v", err)
}

// tlsProblem says what a failed handshake, or the alert etcd sent after
// it, means in terms of the flags.
func tlsProblem(ep string, err error, cfg etcd.Config) *etcdProblem {
	var rec tls.RecordHeaderError
	var op *net.OpError
	p := &etcdProblem{endpoint: ep, config: true}
	switch {
	case httpclient.BadCertificate(err):
		roots := "the system's CAs"
		if cfg.CACert != "" {
			roots = "--etcd-cacert " + cfg.CACert
		}
		p.reason = fmt.Sprintf("its certificate does not verify against %s: %v", roots, err)
	case errors.As(err, &rec):
		p.reason = fmt.Sprintf("does not speak TLS; name it http://%s, without --etcd-cacert and --etcd-cert", hostOf(ep))
	case errors.As(err, &op) && op.Op == "remote error":
		p.reason = clientCertProblem(err, cfg)
	case isTimeout(err):
		p.reason, p.config = "accepts connections but does not finish the TLS handshake", false
	case errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET):
		p.reason, p.config = fmt.Sprintf("closed the connection in the TLS handshake; if it does not speak TLS, name it http://%s", hostOf(ep)), false
	default:
		p.reason, p.config = fmt.Sprintf("TLS: %v", err), false
	}
	return p
}

// clientCertProblem explains a TLS alert from etcd, which is about the
// client's certificate: none given, expired, or not signed by a CA etcd
// trusts.
func clientCertProblem(err error, cfg etcd.Config) string {
	if cfg.Cert == "" {
		return fmt.Sprintf("refused the connection (%v): etcd wants a client certificate; give --etcd-cert and --etcd-key", err)
	}
	if pair, lerr := tls.LoadX509KeyPair(cfg.Cert, cfg.Key); lerr == nil {
		if leaf, perr := x509.ParseCertificate(pair.Certificate[0]); perr == nil {
			now := time.Now()
			switch {
			case now.After(leaf.NotAfter):
				return fmt.Sprintf("refused the client certificate --etcd-cert %s (%v): it expired at %s", cfg.Cert, err, leaf.NotAfter.UTC().Format(time.RFC3339))
			case now.Before(leaf.NotBefore):
				return fmt.Sprintf("refused the client certificate --etcd-cert %s (%v): it is valid only from %s", cfg.Cert, err, leaf.NotBefore.UTC().Format(time.RFC3339))
			}
		}
	}
	return fmt.Sprintf("refused the client certificate --etcd-cert %s (%v): is it signed by a CA etcd trusts, for client authentication?", cfg.Cert, err)
}

// hostOf is ep without its scheme.
func hostOf(ep string) string {
	if _, h, ok := strings.Cut(ep, "://"); ok {
		return h
	}
	return ep
}

// isTimeout reports whether err is a deadline passing.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// authProblem reports whether err is etcd refusing the request for want
// of credentials, or of the rights to read theseus's keys: a matter of
// configuration, which waiting does not mend.
func authProblem(err error) bool {
	for _, e := range []error{rpctypes.ErrUserEmpty, rpctypes.ErrAuthFailed, rpctypes.ErrPermissionDenied} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
