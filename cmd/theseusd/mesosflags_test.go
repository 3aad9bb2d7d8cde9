package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"

	"theseus.dev/drivers/mesos"
)

// mesosConfig parses args and resolves them against env.
func mesosConfig(args []string, env map[string]string) (mesos.Config, error) {
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	f := addMesosFlags(fs)
	if err := fs.Parse(args); err != nil {
		return mesos.Config{}, err
	}
	return f.config(func(k string) string { return env[k] })
}

// TestMesosFlags: a flag beats the environment, which beats the `theseusd
// dev` default; the secret may come from a file (its trailing newline
// dropped), but not from a file and a value at once.
func TestMesosFlags(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("fr0m-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"THESEUS_MESOS": "http://m1:5050,https://m2:5050", "THESEUS_MESOS_PRINCIPAL": "envp", "THESEUS_MESOS_SECRET": "envs",
		"THESEUS_MESOS_CA": "env-ca.pem", "THESEUS_MESOS_INSECURE": "true", "THESEUS_MESOS_AGENT_PROXY": "1", "THESEUS_MESOS_TIMEOUT": "3s",
	}
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want mesos.Config
	}{
		{"defaults", nil, nil, mesos.Config{URLs: []string{defaultMesos}, Timeout: mesos.DefaultTimeout}},
		{"environment", nil, env, mesos.Config{URLs: []string{"http://m1:5050", "https://m2:5050"}, Principal: "envp", Secret: "envs",
			CACert: "env-ca.pem", InsecureSkipVerify: true, AgentProxy: true, Timeout: 3 * time.Second}},
		{"flags beat environment", []string{"--mesos", "http://flag:5050", "--mesos-principal", "fp", "--mesos-secret", "fs",
			"--mesos-insecure=false", "--mesos-agent-proxy=false", "--mesos-timeout", "1m"}, env,
			mesos.Config{URLs: []string{"http://flag:5050"}, Principal: "fp", Secret: "fs", CACert: "env-ca.pem", Timeout: time.Minute}},
		{"secret file", []string{"--mesos-secret-file", secret}, nil, mesos.Config{URLs: []string{defaultMesos}, Secret: "fr0m-file", Timeout: mesos.DefaultTimeout}},
		{"secret file from the environment", nil, map[string]string{"THESEUS_MESOS_SECRET_FILE": secret},
			mesos.Config{URLs: []string{defaultMesos}, Secret: "fr0m-file", Timeout: mesos.DefaultTimeout}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mesosConfig(tt.args, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Hooks" }, cmp.Ignore())); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
	for _, tt := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--mesos", " , "}, nil, "--mesos"},
		{nil, map[string]string{"THESEUS_MESOS": "mesos:5050"}, "THESEUS_MESOS"},
		{[]string{"--mesos-timeout", "0s"}, nil, "must be positive"},
		{nil, map[string]string{"THESEUS_MESOS_TIMEOUT": "soon"}, "THESEUS_MESOS_TIMEOUT"},
		{nil, map[string]string{"THESEUS_MESOS_INSECURE": "maybe"}, "THESEUS_MESOS_INSECURE"},
		{[]string{"--mesos-secret-file", filepath.Join(t.TempDir(), "none")}, nil, "--mesos-secret-file"},
		{[]string{"--mesos-secret-file", secret, "--mesos-secret", "x"}, nil, "give one"},
	} {
		if _, err := mesosConfig(tt.args, tt.env); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v %v: %v, want an error naming %s", tt.args, tt.env, err, tt.want)
		}
	}
}
