package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"theseus.dev/drivers/etcd/etcdtest"
)

// testCA signs certificates for the TLS tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string // its certificate, PEM
}

func newTestCA(t *testing.T, dir, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	file := filepath.Join(dir, name+".pem")
	writePEM(t, file, "CERTIFICATE", der)
	return &testCA{cert: cert, key: key, file: file}
}

// issue writes a certificate for 127.0.0.1 signed by ca, valid from
// notBefore to notAfter, and its key; it returns their paths.
func (ca *testCA) issue(t *testing.T, dir, name string, notBefore, notAfter time.Time) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: notBefore, NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", kder)
	return certFile, keyFile
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// startTLSEtcd starts a real etcd member serving clients over TLS only,
// with the certificate of ca, and requiring client certificates that ca
// signed; it returns its client address.
func startTLSEtcd(t *testing.T, ca *testCA, dir string) string {
	t.Helper()
	now := time.Now()
	cert, key := ca.issue(t, dir, "server", now.Add(-time.Hour), now.Add(time.Hour))
	client, peer := freeAddr(t), freeAddr(t)
	cu, pu := url.URL{Scheme: "https", Host: client}, url.URL{Scheme: "http", Host: peer}
	cfg := embed.NewConfig()
	cfg.Dir = filepath.Join(dir, "etcd")
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
	cfg.InitialCluster = cfg.Name + "=" + pu.String()
	cfg.ClientTLSInfo.CertFile, cfg.ClientTLSInfo.KeyFile = cert, key
	cfg.ClientTLSInfo.TrustedCAFile, cfg.ClientTLSInfo.ClientCertAuth = ca.file, true
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.UnsafeNoFsync = true
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(time.Minute):
		t.Fatal("etcd over TLS did not start")
	}
	return client
}

// TestEtcdTLSErrors: etcd over TLS refusing the connection is an error
// that says why (the CA, the client certificate missing, expired or not
// signed by a CA etcd trusts, TLS spoken to a plain port or the other way
// round), exit 1, where it only said that etcd did not answer in time.
// `run` stops on it too: waiting mends none of them.
func TestEtcdTLSErrors(t *testing.T) {
	dir := t.TempDir()
	ca, other := newTestCA(t, dir, "ca"), newTestCA(t, dir, "other-ca")
	addr := startTLSEtcd(t, ca, dir)
	now := time.Now()
	cert, key := ca.issue(t, dir, "client", now.Add(-time.Hour), now.Add(time.Hour))
	expired, expiredKey := ca.issue(t, dir, "expired", now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	foreign, foreignKey := other.issue(t, dir, "foreign", now.Add(-time.Hour), now.Add(time.Hour))
	https := "https://" + addr
	tests := []struct {
		name string
		args []string
		want string // "" for success
	}{
		{"good", []string{"--etcd", https, "--etcd-cacert", ca.file, "--etcd-cert", cert, "--etcd-key", key}, ""},
		{"no scheme, TLS configured", []string{"--etcd", addr, "--etcd-cacert", ca.file, "--etcd-cert", cert, "--etcd-key", key}, ""},
		{"wrong CA", []string{"--etcd", https, "--etcd-cacert", other.file, "--etcd-cert", cert, "--etcd-key", key},
			https + ": its certificate does not verify against --etcd-cacert " + other.file},
		{"system CAs", []string{"--etcd", https, "--etcd-cert", cert, "--etcd-key", key},
			"does not verify against the system's CAs"},
		{"no client certificate", []string{"--etcd", https, "--etcd-cacert", ca.file},
			"etcd wants a client certificate; give --etcd-cert and --etcd-key"},
		{"expired client certificate", []string{"--etcd", https, "--etcd-cacert", ca.file, "--etcd-cert", expired, "--etcd-key", expiredKey},
			"refused the client certificate --etcd-cert " + expired},
		{"client certificate of another CA", []string{"--etcd", https, "--etcd-cacert", ca.file, "--etcd-cert", foreign, "--etcd-key", foreignKey},
			"is it signed by a CA etcd trusts"},
		{"plain HTTP to TLS", []string{"--etcd", "http://" + addr}, "name it https://" + addr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"history", "web", "-l", "dev", "--etcd-dial-timeout", "1s"}, tt.args...)
			code, _, stderr := runCLI(t, nil, args...)
			switch {
			case tt.want == "" && code != exitOK:
				t.Fatalf("exit %d, want 0:\n%s", code, stderr)
			case tt.want != "" && (code != exitError || !strings.Contains(stderr, tt.want)):
				t.Fatalf("exit %d, stderr:\n%s\nwant exit 1 and %q", code, stderr, tt.want)
			}
		})
	}
	t.Run("expired: when", func(t *testing.T) {
		_, _, stderr := runCLI(t, nil, "history", "web", "-l", "dev", "--etcd-dial-timeout", "1s",
			"--etcd", https, "--etcd-cacert", ca.file, "--etcd-cert", expired, "--etcd-key", expiredKey)
		if !strings.Contains(stderr, "it expired at") {
			t.Errorf("stderr %q does not say when the certificate expired", stderr)
		}
	})

	t.Run("run stops", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		var errb strings.Builder
		c := &cli{stdin: strings.NewReader(""), stdout: &errb, stderr: &errb, getenv: func(string) string { return "" }}
		code := run(ctx, []string{"run", "--etcd", https, "--etcd-cacert", other.file, "--etcd-cert", cert, "--etcd-key", key,
			"--marathon", "http://" + freeAddr(t), "--etcd-dial-timeout", "1s"}, c)
		if ctx.Err() != nil {
			t.Fatalf("run did not stop on a certificate that does not verify:\n%s", errb.String())
		}
		if code != exitError || !strings.Contains(errb.String(), "does not verify against --etcd-cacert") {
			t.Fatalf("run exited %d:\n%s\nwant 1 saying the certificate does not verify", code, errb.String())
		}
	})
}

// TestEtcdAuthErrors: etcd with authentication on, asked without a user,
// is an error that says to give one, where it said etcd did not answer
// within the dial timeout, though it answered at once; `run` stops on it
// rather than wait, not ready, for ever.
func TestEtcdAuthErrors(t *testing.T) {
	e := startAuthEtcd(t)
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good"), filepath.Join(dir, "bad")
	os.WriteFile(good, []byte("sekrit\n"), 0o600)
	os.WriteFile(bad, []byte("guess\n"), 0o600)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"good", []string{"--etcd-user", "root", "--etcd-password-file", good}, ""},
		{"no user", nil, "refused theseus's read: etcdserver: user name is empty; give --etcd-user and --etcd-password-file"},
		{"wrong password", []string{"--etcd-user", "root", "--etcd-password-file", bad}, "authentication failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"history", "web", "-l", "dev", "--etcd", e.Endpoint()}, tt.args...)
			code, _, stderr := runCLI(t, nil, args...)
			switch {
			case tt.want == "" && code != exitOK:
				t.Fatalf("exit %d, want 0:\n%s", code, stderr)
			case tt.want != "" && (code != exitError || !strings.Contains(stderr, tt.want) || strings.Contains(stderr, "does not answer")):
				t.Fatalf("exit %d, stderr:\n%s\nwant exit 1 and %q", code, stderr, tt.want)
			}
		})
	}
	t.Run("run stops", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		var errb strings.Builder
		c := &cli{stdin: strings.NewReader(""), stdout: &errb, stderr: &errb, getenv: func(string) string { return "" }}
		code := run(ctx, []string{"run", "--etcd", e.Endpoint(), "--marathon", "http://" + freeAddr(t), "--etcd-dial-timeout", "1s"}, c)
		if ctx.Err() != nil {
			t.Fatalf("run did not stop, asked for no user by an etcd with authentication on:\n%s", errb.String())
		}
		if code != exitError || !strings.Contains(errb.String(), "user name is empty") {
			t.Fatalf("run exited %d:\n%s\nwant 1 saying a user is wanted", code, errb.String())
		}
	})
}

// startAuthEtcd starts etcd with authentication on: user root, password
// sekrit.
func startAuthEtcd(t *testing.T) *etcdtest.Etcd {
	t.Helper()
	e := etcdtest.Start(t)
	ctx := t.Context()
	for _, step := range []func() error{
		func() error { _, err := e.Client.RoleAdd(ctx, "root"); return err },
		func() error { _, err := e.Client.UserAdd(ctx, "root", "sekrit"); return err },
		func() error { _, err := e.Client.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := e.Client.AuthEnable(ctx); return err },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// TestRunWaitsForAuthenticatedEtcdAtStart: `theseusd run` with a user and
// password waits for an etcd that is down at start, as it does without
// them: /healthz answers, /readyz says etcd is down, and it leads once
// etcd is back. It exited 1, as the etcd client authenticates before it
// returns.
func TestRunWaitsForAuthenticatedEtcdAtStart(t *testing.T) {
	e := startAuthEtcd(t)
	e.Stop()
	_, url := newSim(t, nil)
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("sekrit\n"), 0o600)
	stop := runWhileEtcdDown(t, e, url, "--etcd-user", "root", "--etcd-password-file", pw)
	if code := stop(); code != exitOK {
		t.Errorf("run exited %d after its context ended, want 0", code)
	}
}

// TestEtcdProbeNotEtcd: an endpoint that is no etcd is named as such, and
// a TLS port given as plain HTTP is pointed to https://: a web server's HTTP/1 answer
// was taken for TLS.
func TestEtcdProbeNotEtcd(t *testing.T) {
	web := httptest.NewServer(http.NotFoundHandler())
	defer web.Close()
	tlsWeb := httptest.NewTLSServer(http.NotFoundHandler())
	defer tlsWeb.Close()
	tlsAddr := strings.TrimPrefix(tlsWeb.URL, "https://")
	tests := []struct {
		endpoint, want string
	}{
		{web.URL, "does not answer as etcd does (no HTTP/2): is this etcd's client port?"},
		{"http://" + tlsAddr, "closed the connection (EOF); if it speaks TLS, name it https://" + tlsAddr},
	}
	for _, tt := range tests {
		code, _, stderr := runCLI(t, nil, "history", "web", "-l", "dev", "--etcd", tt.endpoint, "--etcd-dial-timeout", "500ms")
		if code != exitError || !strings.Contains(stderr, tt.endpoint+": "+tt.want) {
			t.Errorf("%s: exit %d, stderr:\n%s\nwant 1 and %q", tt.endpoint, code, stderr, tt.want)
		}
	}
}
