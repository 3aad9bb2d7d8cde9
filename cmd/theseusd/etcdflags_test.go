package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// TestEtcdFlagsPrecedence: a flag beats the environment, which beats the
// `theseusd dev` default.
func TestEtcdFlagsPrecedence(t *testing.T) {
	env := map[string]string{
		"THESEUS_ETCD": "env-a:2379, env-b:2379", "THESEUS_PREFIX": "/env",
		"THESEUS_ETCD_USER": "envuser", "THESEUS_ETCD_PASSWORD": "envpw",
		"THESEUS_ETCD_CACERT": "env-ca.pem",
	}
	tests := []struct {
		name          string
		args          []string
		env           map[string]string
		wantEndpoints []string
		wantPrefix    string
		wantUser      string
		wantCA        string
	}{
		{"defaults", nil, nil, []string{"127.0.0.1:2379"}, "", "", ""},
		{"environment", nil, env, []string{"env-a:2379", "env-b:2379"}, "/env", "envuser", "env-ca.pem"},
		{"flags beat environment", []string{"--etcd", "flag:2379", "--prefix", "/flag", "--etcd-user", "flaguser", "--etcd-cacert", "flag-ca.pem"}, env,
			[]string{"flag:2379"}, "/flag", "flaguser", "flag-ca.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			f := addEtcdFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			cfg, err := f.config(func(k string) string { return tt.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(cfg.Endpoints, tt.wantEndpoints) || cfg.Prefix != tt.wantPrefix || cfg.Username != tt.wantUser || cfg.CACert != tt.wantCA {
				t.Errorf("got endpoints %q prefix %q user %q ca %q", cfg.Endpoints, cfg.Prefix, cfg.Username, cfg.CACert)
			}
			if cfg.DialTimeout != 5*time.Second || cfg.RequestTimeout != 10*time.Second {
				t.Errorf("timeouts %s, %s", cfg.DialTimeout, cfg.RequestTimeout)
			}
		})
	}
}

func TestEtcdFlagsErrors(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--etcd", " , "}, nil, "names no etcd endpoint"},
		{[]string{"--etcd-dial-timeout", "0s"}, nil, "--etcd-dial-timeout"},
		{[]string{"--etcd-request-timeout", "-1s"}, nil, "--etcd-request-timeout"},
		// A bad prefix is named with where it came from, before any
		// connection, not blamed on the endpoints.
		{[]string{"--prefix", "prod"}, nil, `--prefix: etcd prefix "prod" must start with '/'`},
		{nil, map[string]string{"THESEUS_PREFIX": "/prod/"}, `THESEUS_PREFIX: etcd prefix "/prod/" must start with '/'`},
		// Credentials in an endpoint are refused, never repeated: the
		// etcd client ignored them, and errors and logs showed them.
		{[]string{"--etcd", "a:2379,http://root:sekrit@b:2379"}, nil, "--etcd: endpoint http://root:***@b:2379 carries credentials"},
		{nil, map[string]string{"THESEUS_ETCD": "https://tok3n@b:2379"}, "THESEUS_ETCD: endpoint https://***@b:2379 carries credentials"},
	}
	for _, tt := range tests {
		fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
		f := addEtcdFlags(fs)
		if err := fs.Parse(tt.args); err != nil {
			t.Fatal(err)
		}
		_, err := f.config(func(k string) string { return tt.env[k] })
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "sekrit") || strings.Contains(err.Error(), "tok3n") {
			t.Errorf("%v: error %v, want %q", tt.args, err, tt.want)
		}
	}
}
