package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"theseus.dev/drivers/etcd"
)

// TestSecretFiles: every password and token flag has a -file twin and
// an environment variable with a _FILE twin; a file's final line break
// is not part of the secret, and its content never shows in an error.
func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pw := file("pw", "s3cret-from-file\n")
	empty := file("empty", "\n")
	get := func(args []string, env map[string]string) (etcdPW, mPW, mTok, hTok, hPW string, err error) {
		fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
		ef, mf, df := addEtcdFlags(fs), addMarathonFlags(fs), addDaemonFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		getenv := func(k string) string { return env[k] }
		ec, err := ef.config(getenv)
		if err != nil {
			return "", "", "", "", "", err
		}
		mc, err := mf.config(getenv)
		if err != nil {
			return "", "", "", "", "", err
		}
		auth, err := df.authConfig(getenv)
		return ec.Password, mc.Password, mc.Token, auth.Token, auth.Password, err
	}
	for _, name := range []string{"etcd-password", "marathon-password", "marathon-token", "http-token", "http-password"} {
		envName := "THESEUS_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		for _, tc := range []struct {
			how  string
			args []string
			env  map[string]string
		}{
			{"file flag", []string{"--" + name + "-file", pw}, nil},
			{"file from the environment", nil, map[string]string{envName + "_FILE": pw}},
			{"the file flag beats the environment", []string{"--" + name + "-file", pw}, map[string]string{envName: "other"}},
		} {
			a, b, c, d, e, err := get(tc.args, tc.env)
			if err != nil {
				t.Errorf("%s, %s: %v", name, tc.how, err)
				continue
			}
			got := map[string]string{"etcd-password": a, "marathon-password": b, "marathon-token": c, "http-token": d, "http-password": e}
			if got[name] != "s3cret-from-file" {
				t.Errorf("%s, %s: got %q", name, tc.how, got[name])
			}
		}
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"--" + name, "x", "--" + name + "-file", pw}, "give one"},
			{[]string{"--" + name + "-file", empty}, "empty"},
			{[]string{"--" + name + "-file", filepath.Join(dir, "missing")}, "no such file"},
		} {
			_, _, _, _, _, err := get(tc.args, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "s3cret") {
				t.Errorf("%s %v: error %v, want one with %q and no secret", name, tc.args, err, tc.want)
			}
		}
	}
}

// TestSecretFlagWarnedOnce: a secret on the command line is warned about
// once, by name, never by value; from a file it is not.
func TestSecretFlagWarnedOnce(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("from-a-file"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Nothing listens there: the command fails after the warning.
	args := []string{"get", "--etcd", "127.0.0.1:1", "--etcd-dial-timeout", "50ms", "--marathon-token", "flag-secret-value",
		"--etcd-password-file", pw}
	_, _, errb := runCLI(t, nil, args...)
	if n := strings.Count(errb, "warning: --marathon-token on the command line"); n != 1 {
		t.Errorf("%d warnings about --marathon-token, want 1:\n%s", n, errb)
	}
	if strings.Contains(errb, "flag-secret-value") || strings.Contains(errb, "from-a-file") || strings.Contains(errb, "--etcd-password ") {
		t.Errorf("stderr shows a secret or warns about a file:\n%s", errb)
	}
}

// TestEtcdClearTextPasswordWarned: an etcd password without TLS to an
// endpoint beyond loopback is warned about; on loopback or with TLS it
// is not.
func TestEtcdClearTextPasswordWarned(t *testing.T) {
	for _, tc := range []struct {
		cfg  etcd.Config
		warn bool
	}{
		{etcd.Config{Endpoints: []string{"10.0.0.5:2379"}, Username: "u", Password: "p"}, true},
		{etcd.Config{Endpoints: []string{"127.0.0.1:2379", "http://etcd.example.com:2379"}, Username: "u", Password: "p"}, true},
		{etcd.Config{Endpoints: []string{"127.0.0.1:2379", "localhost:2379", "[::1]:2379"}, Username: "u", Password: "p"}, false},
		{etcd.Config{Endpoints: []string{"10.0.0.5:2379"}, Username: "u", Password: "p", CACert: "ca.pem"}, false},
		{etcd.Config{Endpoints: []string{"https://10.0.0.5:2379"}, Username: "u", Password: "p"}, false},
		{etcd.Config{Endpoints: []string{"10.0.0.5:2379"}}, false},
	} {
		if _, warn := clearTextPassword(tc.cfg); warn != tc.warn {
			t.Errorf("%+v: warned %v, want %v", tc.cfg, warn, tc.warn)
		}
	}
	env := map[string]string{"THESEUS_ETCD_PASSWORD": "p", "THESEUS_ETCD_USER": "u"}
	_, _, errb := runCLI(t, env, "get", "--etcd", "192.0.2.1:2379", "--etcd-dial-timeout", "50ms")
	if !strings.Contains(errb, "warning: the etcd password goes in clear text to 192.0.2.1:2379") {
		t.Errorf("no warning:\n%s", errb)
	}
}
