package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/etcd/etcdtest"
	"theseus.dev/drivers/marathon"
	"theseus.dev/reconciler"
	"theseus.dev/viewer"
)

const httpTestToken = "0123456789abcdef0123456789abcdef"

// selfSigned writes a certificate for 127.0.0.1 and its key as PEM files
// and returns their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T) (cert, key string, pool *x509.CertPool) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "theseus test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeFile(t, cert, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(t, key, string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})))
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(parsed)
	return cert, key, pool
}

// serveTestHTTP serves the daemon's HTTP endpoints as run does with the
// given HTTP settings and returns their URL.
func serveTestHTTP(t *testing.T, hf httpFlags, auth viewer.AuthConfig) string {
	t.Helper()
	e := etcdtest.Start(t)
	ec, err := etcd.New(e.Client, etcd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, simURL := newSim(t, nil)
	mc, err := marathon.New(marathon.Config{URLs: []string{simURL}})
	if err != nil {
		t.Fatal(err)
	}
	url := make(chan string, 1)
	d := &daemon{flags: &daemonFlags{http: hf}, etcd: ec, marathon: mc, metrics: reconciler.NewMetrics(),
		log: slog.New(slog.NewTextHandler(io.Discard, nil)), httpAddr: "127.0.0.1:0", auth: auth,
		ready: func(u string) { url <- u }}
	var wg sync.WaitGroup
	stop, err := d.serveHTTP(t.Context(), reconciler.NewDaemon(reconciler.DaemonConfig{}), &wg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(); wg.Wait() })
	return <-url
}

// get fetches path with Host set to host (when not empty) and the
// bearer token when authed.
func get(t *testing.T, client *http.Client, base, path, host string, authed bool) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	if authed {
		req.Header.Set("Authorization", "Bearer "+httpTestToken)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestHTTPHostsAndProfiles: the listener answers 421 to a Host that
// names neither its own address nor an allowed name, as a page doing DNS
// rebinding would send, before any credential check; Go's profiles,
// whose cmdline shows secrets given as flags, are served only with
// --pprof.
func TestHTTPHostsAndProfiles(t *testing.T) {
	base := serveTestHTTP(t, httpFlags{allowedHosts: []string{"theseus.example.com"}}, viewer.AuthConfig{})
	port := base[strings.LastIndex(base, ":"):]
	for _, tc := range []struct {
		host string
		code int
	}{
		{"", 200},
		{"localhost" + port, 200},
		{"LOCALHOST" + port, 200},
		{"theseus.example.com", 200},
		{"theseus.example.com:8443", 200},
		{"attacker.example" + port, 421},
		{"127.0.0.2" + port, 421},
		{"theseus.example.com.attacker.example", 421},
	} {
		if code, body := get(t, http.DefaultClient, base, "/healthz", tc.host, false); code != tc.code {
			t.Errorf("Host %q: %d %q, want %d", tc.host, code, body, tc.code)
		}
	}
	if code, body := get(t, http.DefaultClient, base, "/debug/pprof/cmdline", "", false); code != http.StatusNotFound {
		t.Errorf("/debug/pprof/cmdline without --pprof: %d %q, want 404", code, body)
	}

	withPprof := serveTestHTTP(t, httpFlags{pprof: true}, viewer.AuthConfig{Token: httpTestToken})
	if code, _ := get(t, http.DefaultClient, withPprof, "/debug/pprof/cmdline", "attacker.example", true); code != http.StatusMisdirectedRequest {
		t.Errorf("a foreign Host with the right token: %d, want 421", code)
	}
	if code, _ := get(t, http.DefaultClient, withPprof, "/debug/pprof/cmdline", "", false); code != http.StatusUnauthorized {
		t.Errorf("/debug/pprof/cmdline with --pprof, no credentials: %d, want 401", code)
	}
	if code, _ := get(t, http.DefaultClient, withPprof, "/debug/pprof/cmdline", "", true); code != http.StatusOK {
		t.Errorf("/debug/pprof/cmdline with --pprof and credentials: %d, want 200", code)
	}
}

// TestHTTPTLS: with --http-cert and --http-key the endpoints are served
// over TLS only.
func TestHTTPTLS(t *testing.T) {
	cert, key, pool := selfSigned(t)
	base := serveTestHTTP(t, httpFlags{cert: cert, key: key}, viewer.AuthConfig{Token: httpTestToken})
	if !strings.HasPrefix(base, "https://") {
		t.Fatalf("served at %s, want https", base)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if code, body := get(t, client, base, "/metrics", "", true); code != http.StatusOK || !strings.Contains(body, "theseus_") {
		t.Errorf("GET /metrics over TLS: %d", code)
	}
	plain := "http://" + strings.TrimPrefix(base, "https://")
	if code, _ := get(t, http.DefaultClient, plain, "/healthz", "", false); code != http.StatusBadRequest {
		t.Errorf("plain HTTP to the TLS listener: %d, want 400", code)
	}
}

// TestHTTPBindRefusals: beyond loopback, auth without TLS is refused
// unless --http-insecure; a certificate needs its key.
func TestHTTPBindRefusals(t *testing.T) {
	e := etcdtest.Start(t)
	_, url := newSim(t, nil)
	cert, _, _ := selfSigned(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--http", "0.0.0.0:0", "--http-token", httpTestToken}, "--http-insecure"},
		{[]string{"--http", "127.0.0.1:0", "--http-cert", cert}, "--http-key"},
		{[]string{"--http", "127.0.0.1:0", "--http-cert", cert, "--http-key", filepath.Join(t.TempDir(), "none.pem")}, "--http-cert/--http-key"},
	} {
		args := append([]string{"run", "--etcd", e.Endpoint(), "--marathon", url}, tc.args...)
		code, _, errb := runCLI(t, nil, args...)
		if code != exitError || !strings.Contains(errb, tc.want) {
			t.Errorf("%s: exit %d, want 1 with %q:\n%s", strings.Join(tc.args, " "), code, tc.want, errb)
		}
	}
}
