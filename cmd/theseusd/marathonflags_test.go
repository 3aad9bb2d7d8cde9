package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"theseus.dev/drivers/etcd/etcdtest"
	"theseus.dev/drivers/marathon"
)

// TestMarathonFlagsPrecedence: a flag beats the environment, which beats
// the `theseusd dev` default.
func TestMarathonFlagsPrecedence(t *testing.T) {
	env := map[string]string{
		"THESEUS_MARATHON": "http://env-a:8080, https://env-b:8443", "THESEUS_MARATHON_ROOT": "/env",
		"THESEUS_MARATHON_USER": "envuser", "THESEUS_MARATHON_PASSWORD": "envpw", "THESEUS_MARATHON_TOKEN": "envtok",
		"THESEUS_MARATHON_CA": "env-ca.pem", "THESEUS_MARATHON_INSECURE": "true", "THESEUS_MARATHON_TIMEOUT": "3s",
	}
	flags := []string{"--marathon", "http://flag:8080", "--marathon-root", "/flag", "--marathon-user", "flaguser",
		"--marathon-password", "flagpw", "--marathon-token", "flagtok", "--marathon-ca", "flag-ca.pem",
		"--marathon-insecure=false", "--marathon-timeout", "7s"}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want marathon.Config
	}{
		{"defaults", nil, nil, marathon.Config{URLs: []string{"http://127.0.0.1:8080"}, Timeout: marathon.DefaultTimeout}},
		{"environment", nil, env, marathon.Config{URLs: []string{"http://env-a:8080", "https://env-b:8443"}, Root: "/env",
			Username: "envuser", Password: "envpw", Token: "envtok", CACert: "env-ca.pem", InsecureSkipVerify: true, Timeout: 3 * time.Second}},
		{"flags beat environment", flags, env, marathon.Config{URLs: []string{"http://flag:8080"}, Root: "/flag",
			Username: "flaguser", Password: "flagpw", Token: "flagtok", CACert: "flag-ca.pem", Timeout: 7 * time.Second}},
		{"some flags, the rest from the environment", []string{"--marathon-user", "flaguser", "--marathon-timeout", "1m"}, env,
			marathon.Config{URLs: []string{"http://env-a:8080", "https://env-b:8443"}, Root: "/env", Username: "flaguser",
				Password: "envpw", Token: "envtok", CACert: "env-ca.pem", InsecureSkipVerify: true, Timeout: time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			f := addMarathonFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			got, err := f.config(func(k string) string { return tt.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			w := tt.want
			if !slices.Equal(got.URLs, w.URLs) || got.Root != w.Root || got.Username != w.Username || got.Password != w.Password ||
				got.Token != w.Token || got.CACert != w.CACert || got.InsecureSkipVerify != w.InsecureSkipVerify || got.Timeout != w.Timeout {
				t.Errorf("got %+v\nwant %+v", got, w)
			}
			if _, err := marathon.New(got); err != nil && got.CACert == "" {
				t.Errorf("the driver refuses the config: %v", err)
			}
		})
	}
}

func TestMarathonFlagsErrors(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--marathon", " , "}, nil, "--marathon"},
		{nil, map[string]string{"THESEUS_MARATHON": "marathon:8080"}, "THESEUS_MARATHON"},
		{[]string{"--marathon-root", "/Not_Valid"}, nil, "THESEUS_MARATHON_ROOT"},
		{[]string{"--marathon-timeout", "0s"}, nil, "must be positive"},
		{nil, map[string]string{"THESEUS_MARATHON_TIMEOUT": "soon"}, "THESEUS_MARATHON_TIMEOUT"},
		{nil, map[string]string{"THESEUS_MARATHON_INSECURE": "maybe"}, "THESEUS_MARATHON_INSECURE"},
	}
	for _, tt := range tests {
		fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
		f := addMarathonFlags(fs)
		if err := fs.Parse(tt.args); err != nil {
			t.Fatal(err)
		}
		if _, err := f.config(func(k string) string { return tt.env[k] }); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v %v: %v, want an error naming %s", tt.args, tt.env, err, tt.want)
		}
	}
}

// TestMarathonURLErrorsHidePassword: Marathon's basic auth may ride in
// its URL (THESEUS_MARATHON=http://user:password@host:8080). A URL that
// is refused, a scheme left out (the commonest slip) or a query string,
// is quoted with its password masked: the error goes to stderr, and from
// `run` to the daemon's log.
func TestMarathonURLErrorsHidePassword(t *testing.T) {
	const password = "hunter2-marathon"
	e := etcdtest.Start(t)
	for _, u := range []string{
		"admin:" + password + "@127.0.0.1:8080",
		"htps://admin:" + password + "@127.0.0.1:8080",
		"http://admin:" + password + "@127.0.0.1:8080/?x=1",
	} {
		env := map[string]string{"THESEUS_ETCD": e.Endpoint(), "THESEUS_MARATHON": u}
		code, out, errb := runCLI(t, env, "plan")
		if code != exitError {
			t.Errorf("plan with THESEUS_MARATHON=%s: exit %d, want %d", u, code, exitError)
		}
		if strings.Contains(out+errb, password) {
			t.Errorf("the error shows the password of THESEUS_MARATHON:\n%s", linesWith(out+errb, password))
		}
	}
}

// TestMarathonClearTextCredentialsWarned: Marathon's password or token
// about to go over plain HTTP to a member beyond loopback is warned about
// once, naming the member, as the etcd password is; it went without a
// word.
func TestMarathonClearTextCredentialsWarned(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "token")
	if err := os.WriteFile(tok, []byte("t0ken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const warning = "warning: the Marathon credentials go in clear text to "
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string // "" for no warning
	}{
		{"token file", []string{"--marathon", "http://192.0.2.1:8080", "--marathon-token-file", tok}, nil, warning + "http://192.0.2.1:8080,"},
		{"password in the environment", []string{"--marathon", "http://127.0.0.1:8080,http://192.0.2.1:8080"},
			map[string]string{"THESEUS_MARATHON_USER": "u", "THESEUS_MARATHON_PASSWORD": "p"}, warning + "http://192.0.2.1:8080,"},
		{"credentials in the URL", nil, map[string]string{"THESEUS_MARATHON": "http://u:p@192.0.2.1:8080"}, warning + "http://192.0.2.1:8080,"},
		{"https", []string{"--marathon", "https://192.0.2.1:8443", "--marathon-token-file", tok}, nil, ""},
		{"loopback", []string{"--marathon", "http://localhost:8080", "--marathon-token-file", tok}, nil, ""},
		{"no credentials", []string{"--marathon", "http://192.0.2.1:8080"}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"plan", "--etcd", "127.0.0.1:1", "--etcd-dial-timeout", "50ms"}, tt.args...)
			_, _, stderr := runCLI(t, tt.env, args...)
			switch {
			case tt.want == "" && strings.Contains(stderr, warning):
				t.Errorf("warned:\n%s", stderr)
			case tt.want != "" && (!strings.Contains(stderr, tt.want) || strings.Count(stderr, warning) != 1):
				t.Errorf("stderr:\n%s\nwant one %q", stderr, tt.want)
			}
			if strings.Contains(stderr, "t0ken") || strings.Contains(stderr, "u:p@") {
				t.Errorf("a credential shown:\n%s", stderr)
			}
		})
	}
}
