package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"time"

	"theseus.dev/drivers/etcd"
)

// etcdProblems looks at the endpoints of cfg within timeout
// (etcd.Probe) and says what each finding means in terms of the flags;
// config is set when every endpoint has a finding that waiting does not
// mend.
func etcdProblems(ctx context.Context, cfg etcd.Config, timeout time.Duration) (reasons []string, config bool) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	found := etcd.Probe(ctx, cfg)
	config = len(found) > 0 && len(found) == len(cfg.Endpoints)
	for _, f := range found {
		reasons = append(reasons, f.Endpoint+": "+findingText(f, cfg))
		config = config && f.Kind.Config()
	}
	return reasons, config
}

// findingText says what f means, naming the flags that mend it.
func findingText(f etcd.Finding, cfg etcd.Config) string {
	switch f.Kind {
	case etcd.BadTLSConfig:
		return f.Err.Error()
	case etcd.Unreachable:
		return fmt.Sprintf("not reachable: %v", f.Err)
	case etcd.Silent:
		return "accepts connections but does not answer"
	case etcd.SpeaksTLS:
		return fmt.Sprintf("speaks TLS; name it https://%s and give --etcd-cacert", f.Host)
	case etcd.NotEtcd:
		return "does not answer as etcd does (no HTTP/2): is this etcd's client port?"
	case etcd.ClosedPlain:
		return fmt.Sprintf("closed the connection (%v); if it speaks TLS, name it https://%s and give --etcd-cacert", f.Err, f.Host)
	case etcd.ServerCertificate:
		roots := "the system's CAs"
		if cfg.CACert != "" {
			roots = "--etcd-cacert " + cfg.CACert
		}
		return fmt.Sprintf("its certificate does not verify against %s: %v", roots, f.Err)
	case etcd.NotTLS:
		return fmt.Sprintf("does not speak TLS; name it http://%s, without --etcd-cacert and --etcd-cert", f.Host)
	case etcd.ClientCertificate:
		return clientCertProblem(f.Err, cfg)
	case etcd.HandshakeSilent:
		return "accepts connections but does not finish the TLS handshake"
	case etcd.HandshakeClosed:
		return fmt.Sprintf("closed the connection in the TLS handshake; if it does not speak TLS, name it http://%s", f.Host)
	case etcd.TLSFailed:
		return fmt.Sprintf("TLS: %v", f.Err)
	}
	return fmt.Sprintf("closed the connection: %v", f.Err)
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
