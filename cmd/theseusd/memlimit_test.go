package main

import (
	"bytes"
	"errors"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// TestFollowContainerMemory runs serially: the memory limit is the
// process's.
func TestFollowContainerMemory(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	failing := func() (uint64, error) { return 0, errors.New("memory.max: permission denied") }
	for _, tc := range []struct {
		name       string
		env        map[string]string
		limit      memlimit.Provider
		want       int64 // the runtime's limit afterwards
		wantLog    string
		wantNoLogs bool
	}{
		{name: "a container's limit", limit: memlimit.Limit(200 << 20),
			want: int64(0.9 * (200 << 20)), wantLog: "limit_mib=180"},
		{name: "no limit", limit: func() (uint64, error) { return 0, memlimit.ErrNoLimit },
			want: math.MaxInt64, wantNoLogs: true},
		{name: "not in a container", limit: func() (uint64, error) { return 0, memlimit.ErrCgroupsNotSupported },
			want: math.MaxInt64, wantNoLogs: true},
		{name: "an unreadable limit", limit: failing, want: math.MaxInt64, wantLog: "permission denied"},
		{name: "GOMEMLIMIT wins", env: map[string]string{"GOMEMLIMIT": "300MiB"}, limit: memlimit.Limit(200 << 20),
			want: math.MaxInt64, wantNoLogs: true},
		{name: "AUTOMEMLIMIT=off", env: map[string]string{"AUTOMEMLIMIT": "off"}, limit: memlimit.Limit(200 << 20),
			want: math.MaxInt64, wantNoLogs: true},
		{name: "AUTOMEMLIMIT a share", env: map[string]string{"AUTOMEMLIMIT": "0.5"}, limit: memlimit.Limit(200 << 20),
			want: 100 << 20, wantLog: "limit_mib=100 ratio=0.5"},
		{name: "AUTOMEMLIMIT not a share", env: map[string]string{"AUTOMEMLIMIT": "lots"}, limit: memlimit.Limit(200 << 20),
			want: math.MaxInt64, wantLog: "AUTOMEMLIMIT=lots"},
		{name: "AUTOMEMLIMIT above 1", env: map[string]string{"AUTOMEMLIMIT": "1.5"}, limit: memlimit.Limit(200 << 20),
			want: math.MaxInt64, wantLog: "AUTOMEMLIMIT=1.5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			unsetenv(t, "GOMEMLIMIT")
			unsetenv(t, "AUTOMEMLIMIT")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			debug.SetMemoryLimit(math.MaxInt64)
			var logs bytes.Buffer
			got := followContainerMemory(slog.New(slog.NewTextHandler(&logs, nil)), tc.limit)
			if now := debug.SetMemoryLimit(-1); now != tc.want || got != tc.want {
				t.Errorf("memory limit %d (returned %d), want %d", now, got, tc.want)
			}
			switch {
			case tc.wantNoLogs && logs.Len() > 0:
				t.Errorf("logged %q, want nothing", logs.String())
			case tc.wantLog != "" && !strings.Contains(logs.String(), tc.wantLog):
				t.Errorf("logged %q, want it to contain %q", logs.String(), tc.wantLog)
			}
		})
	}
}

// unsetenv removes k from the environment for the test: an AUTOMEMLIMIT
// set but empty is a ratio that does not parse.
func unsetenv(t *testing.T, k string) {
	t.Setenv(k, "") // restores k's value when the test ends
	if err := os.Unsetenv(k); err != nil {
		t.Fatal(err)
	}
}
