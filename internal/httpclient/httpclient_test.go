package httpclient

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestErrorText(t *testing.T) {
	for body, want := range map[string]string{
		"No leader elected\n": "No leader elected",
		"<html><head><title>Error 502</title></head><body><h2>HTTP ERROR 502</h2>\n<p>Bad Gateway</p></body></html>": "Error 502 HTTP ERROR 502 Bad Gateway",
		strings.Repeat("x", 300): strings.Repeat("x", 200) + "…",
		"":                       "",
	} {
		if got := ErrorText([]byte(body)); got != want {
			t.Errorf("ErrorText(%.30q) = %q, want %q", body, got, want)
		}
	}
}

func TestTLSConfig(t *testing.T) {
	if tc, err := TLSConfig("mesos", "", false); tc != nil || err != nil {
		t.Errorf("no CA, verify: %v, %v", tc, err)
	}
	if tc, err := TLSConfig("mesos", "", true); err != nil || !tc.InsecureSkipVerify {
		t.Errorf("insecure: %v, %v", tc, err)
	}
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{notPEM, filepath.Join(t.TempDir(), "none.pem")} {
		if _, err := TLSConfig("mesos", f, false); err == nil || !strings.Contains(err.Error(), "mesos CA") {
			t.Errorf("%s: %v", f, err)
		}
	}
}
