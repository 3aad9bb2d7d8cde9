package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/etcd/etcdtest"
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

// TestSecretNotInInvalidSpecErrors: a /desired value whose secret env
// value is written unquoted (a JSON number, as `etcdctl put` of a PIN
// easily is) is invalid, and its validation error names what is wrong
// without the value: in `plan` (text and JSON), `get -o json`, the
// group's /status (and so an Invalid notification's reason) and the log
// of `run`.
func TestSecretNotInInvalidSpecErrors(t *testing.T) {
	const secret = "83920175"
	e := etcdtest.Start(t)
	_, url := newSim(t, nil)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint(), "THESEUS_MARATHON": url}
	e.Etcdctl(t, "put", "/desired/web/dev", `{"apiVersion":"theseus/v1","kind":"Group",`+
		`"spec":{"image":"nginx:1.27","instances":1,"cpus":0.1,"mem":64,`+
		`"env":{"DB_PIN":{"value":`+secret+`,"secret":true}}}}`)

	for _, tt := range []struct {
		args []string
		code int
	}{{[]string{"plan"}, exitError}, {[]string{"plan", "-o", "json"}, exitError}, {[]string{"get", "-o", "json"}, exitOK}} {
		code, out, errb := runCLI(t, env, tt.args...)
		// The error is there, only without the value.
		if code != tt.code || !strings.Contains(out+errb, "DB_PIN") {
			t.Errorf("%s: exit %d (want %d), does not name DB_PIN's problem:\n%s%s", strings.Join(tt.args, " "), code, tt.code, out, errb)
		}
		if strings.Contains(out+errb, secret) {
			t.Errorf("%s shows the secret value %s:\n%s", strings.Join(tt.args, " "), secret, linesWith(out+errb, secret))
		}
	}

	// The controller records the group Invalid in /status, and logs it.
	cli := e.NewClient(t)
	wch := cli.Watch(t.Context(), "/status/web/dev")
	logPath := filepath.Join(t.TempDir(), "run.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+strings.Join(daemonArgs(e.Endpoint(), url), "\x1f"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); logf.Close() })
	var status string
	timeout := time.After(30 * time.Second)
	for status == "" {
		select {
		case resp := <-wch:
			for _, ev := range resp.Events {
				if ev.Type == clientv3.EventTypePut {
					status = string(ev.Kv.Value)
				}
			}
		case <-timeout:
			t.Fatal("the controller never wrote /status/web/dev")
		}
	}
	if !strings.Contains(status, `"Invalid"`) {
		t.Fatalf("status is not Invalid: %s", status)
	}
	if strings.Contains(status, secret) {
		t.Errorf("/status/web/dev shows the secret value %s: %s", secret, status)
	}
	// The log's line of the invalid spec is written after /status.
	pollUntil(t, "the log of run names the invalid spec", func() bool {
		log, _ := os.ReadFile(logPath)
		return strings.Contains(string(log), "DB_PIN")
	})
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if log, _ := os.ReadFile(logPath); strings.Contains(string(log), secret) {
		t.Errorf("the log of run shows the secret value %s:\n%s", secret, linesWith(string(log), secret))
	}
}

// linesWith is the lines of s that hold sub.
func linesWith(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return strings.Join(out, "\n")
}
