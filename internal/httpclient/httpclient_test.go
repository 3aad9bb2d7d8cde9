package httpclient

import (
	"net/url"
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
		strings.Repeat("é", 300): strings.Repeat("é", 200) + "…",
		"denied\x1b[2J\x07":      "denied [2J",
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

// TestRedactRaw: the credential of a URL quoted in a message is masked,
// in URLs that parse and in the mistyped ones that do not.
func TestRedactRaw(t *testing.T) {
	for raw, want := range map[string]string{
		"http://admin:pw@host:8080":       "http://admin:***@host:8080",
		"admin:pw@host:8080":              "admin:***@host:8080",
		"htps://admin:pw@host:8080/x?y=1": "htps://admin:***@host:8080/x?y=1",
		"https://TOKEN@host/repo":         "https://***@host/repo",
		"http://host:8080/a@b":            "http://host:8080/a@b",
		"http://host:8080":                "http://host:8080",
		"http://a:b:c@host":               "http://a:***@host",
		"user:p@ss@host":                  "user:***@host",
	} {
		if got := RedactRaw(raw); got != want {
			t.Errorf("RedactRaw(%q) = %q, want %q", raw, got, want)
		}
	}
}

// TestTakeCredentials: credentials in members' URLs are taken out of
// every URL and returned once; members that disagree are refused, with
// where the credentials go instead and without quoting them.
func TestTakeCredentials(t *testing.T) {
	parse := func(raws ...string) []*url.URL {
		out, err := BaseURLs("test URL", raws)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		members []string
		user    string // "" for none
		err     bool
	}{
		{"none", []string{"http://a:1", "http://b:1"}, "", false},
		{"one member", []string{"http://a:1", "http://u:pw@b:1"}, "u:pw", false},
		{"the same on each", []string{"http://u:pw@a:1", "http://u:pw@b:1"}, "u:pw", false},
		{"a token alone", []string{"http://TOKEN@a:1"}, "TOKEN", false},
		{"different", []string{"http://u:pw@a:1", "http://u:other@b:1"}, "", true},
	} {
		members := parse(tc.members...)
		user, err := TakeCredentials("test", "the test settings", members)
		if tc.err {
			if err == nil || !strings.Contains(err.Error(), "the test settings") || strings.Contains(err.Error(), "pw") {
				t.Errorf("%s: %v, want a refusal naming the settings, without the credentials", tc.name, err)
			}
			continue
		}
		got := ""
		if user != nil {
			got = user.String()
		}
		if err != nil || got != tc.user {
			t.Errorf("%s: %q, %v; want %q", tc.name, got, err, tc.user)
		}
		for _, m := range members {
			if m.User != nil {
				t.Errorf("%s: %s keeps its credentials", tc.name, m.Redacted())
			}
		}
	}
}

// TestIsLoopback: only localhost and loopback addresses are; an empty
// host and 0.0.0.0 are every interface.
func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LocalHost": true, "127.0.0.1": true, "127.8.9.1": true, "::1": true, "[::1]": true,
		"": false, "0.0.0.0": false, "::": false, "10.0.0.1": false, "etcd.example.com": false, "localhost.example.com": false,
	} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}
