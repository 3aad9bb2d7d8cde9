package etcd

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// writeCert writes a self-signed certificate and its key as PEM files.
func writeCert(t *testing.T, dir, name string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestClientConfigTLS(t *testing.T) {
	dir := t.TempDir()
	ca, _ := writeCert(t, dir, "ca")
	cert, key := writeCert(t, dir, "client")

	cc, err := Config{}.clientConfig()
	if err != nil || cc.TLS != nil || len(cc.Endpoints) != 1 || cc.Endpoints[0] != DefaultEndpoint || cc.DialTimeout != DefaultDialTimeout {
		t.Fatalf("defaults: %+v, %v", cc, err)
	}
	cc, err = Config{Endpoints: []string{"https://a:2379", "https://b:2379"}, CACert: ca, Cert: cert, Key: key,
		Username: "u", Password: "p", DialTimeout: time.Second}.clientConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cc.TLS == nil || cc.TLS.RootCAs == nil || len(cc.TLS.Certificates) != 1 || len(cc.Endpoints) != 2 ||
		cc.Username != "u" || cc.Password != "p" || cc.DialTimeout != time.Second {
		t.Fatalf("config %+v", cc)
	}
	if cc, err := (Config{CACert: ca}).clientConfig(); err != nil || cc.TLS == nil || cc.TLS.Certificates != nil {
		t.Fatalf("CA only: %+v, %v", cc.TLS, err)
	}
	for name, cfg := range map[string]Config{
		"cert without key": {Cert: cert},
		"missing CA file":  {CACert: filepath.Join(dir, "nope.pem")},
		"CA is not PEM":    {CACert: key + ".txt"},
		"key mismatch":     {Cert: cert, Key: ca},
	} {
		if name == "CA is not PEM" {
			os.WriteFile(cfg.CACert, []byte("hello"), 0o600)
		}
		if _, err := cfg.clientConfig(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
