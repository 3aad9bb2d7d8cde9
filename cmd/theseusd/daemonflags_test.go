package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestDaemonFlagsRefused: run and dev refuse a setting that means nothing
// before they connect to anything, naming the flag; the controller took
// each for its default, so that --rollout-failures 0 allowed 3 failed
// tasks and --min-healthy-time 0 waited 10s.
func TestDaemonFlagsRefused(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--workers", "0"}, "--workers 0: want at least 1"},
		{[]string{"--resync", "0s"}, "--resync 0s: want a positive duration"},
		{[]string{"--poll", "-1s"}, "--poll -1s: want a positive duration"},
		{[]string{"--progress-deadline", "0s"}, "--progress-deadline 0s"},
		{[]string{"--min-healthy-time", "0s"}, "--min-healthy-time 0s"},
		{[]string{"--election-ttl", "0s"}, "--election-ttl 0s"},
		{[]string{"--grace", "-1s"}, "--grace -1s"},
		{[]string{"--rollout-failures", "0"}, "--rollout-failures 0: want at least 1"},
		{[]string{"--marathon-write-qps", "0"}, "--marathon-write-qps 0: want a positive rate"},
		{[]string{"--marathon-write-qps", "NaN"}, "--marathon-write-qps NaN"},
	}
	for _, cmd := range []string{"run", "dev"} {
		for _, tt := range tests {
			// Nothing answers at run's addresses, and dev would start
			// its etcd: the refusal must come first.
			args := append([]string{cmd, "--etcd", "127.0.0.1:1", "--marathon", "http://127.0.0.1:1"}, tt.args...)
			if cmd == "dev" {
				args = append([]string{cmd, "--data", t.TempDir(), "--etcd-listen", "127.0.0.1:0", "--marathon-listen", "127.0.0.1:0",
					"--http", "127.0.0.1:0", "--mesos-listen", "127.0.0.1:0"}, tt.args...)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			var out strings.Builder
			code := run(ctx, args, &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &out, getenv: func(string) string { return "" }})
			cancel()
			if code != exitError || !strings.Contains(out.String(), tt.want) {
				t.Errorf("%s %v: exit %d, output %q; want 1 and %q", cmd, tt.args, code, out.String(), tt.want)
			}
		}
	}
	// 0 is a grace: calls in flight are cancelled at once.
	if err := (&daemonFlags{resync: 1, poll: 1, progressDeadline: 1, minHealthy: 1, ttl: 1, workers: 1, rolloutFailures: 1, writeQPS: 1}).check(); err != nil {
		t.Errorf("--grace 0: %v", err)
	}
}
