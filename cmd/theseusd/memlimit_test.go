package main

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/KimMachineGun/automemlimit/memlimit"

	"theseus.dev/drivers/etcd/etcdtest"
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

// TestCollectSooner runs serially: GOGC is the process's.
func TestCollectSooner(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })
	for _, tc := range []struct {
		name    string
		env     map[string]string
		set     bool
		want    int // the collector's GOGC afterwards
		wantLog string
	}{
		{name: "no GOGC", set: true, want: controllerGCPercent, wantLog: "GOGC=35"},
		{name: "GOGC set", env: map[string]string{"GOGC": "100"}, want: 100},
		{name: "GOGC off", env: map[string]string{"GOGC": "off"}, want: 100},
		{name: "GOGC set but empty", env: map[string]string{"GOGC": ""}, set: true, want: controllerGCPercent, wantLog: "GOGC=35"},
		{name: "GOGC not a number", env: map[string]string{"GOGC": "lots"}, want: 100, wantLog: "GOGC=lots"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetGCPercent(100) // what the runtime made of the environment, as far as this test goes
			var logs bytes.Buffer
			lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
			set := collectSooner(slog.New(slog.NewTextHandler(&logs, nil)), lookup)
			if now := debug.SetGCPercent(100); now != tc.want || set != tc.set {
				t.Errorf("GOGC %d (set: %v), want %d (set: %v)", now, set, tc.want, tc.set)
			}
			if got := logs.String(); tc.wantLog == "" && got != "" || !strings.Contains(got, tc.wantLog) {
				t.Errorf("logged %q, want %q", got, tc.wantLog)
			}
		})
	}
}

// gogcSample is the sample of go_gc_gogc_percent in the text exposition.
var gogcSample = regexp.MustCompile(`(?m)^go_gc_gogc_percent (\S+)$`)

// TestRunCollectsSooner: theseusd run, in a process of its own, collects
// at controllerGCPercent, as its /metrics tells, unless the environment
// sets GOGC.
func TestRunCollectsSooner(t *testing.T) {
	e := etcdtest.Start(t)
	_, url := newSim(t, nil)
	for _, tc := range []struct {
		gogc string // "": set but empty, which chooses nothing
		want int
	}{
		{"", controllerGCPercent},
		{"100", 100},
		{"25", 25},
	} {
		t.Run("GOGC="+tc.gogc, func(t *testing.T) {
			addr := freeAddr(t)
			// An empty GOGC takes the runtime's default, and so the
			// daemon's; a GOGC the test runs under would not.
			startChild(t, append(daemonArgs(e.Endpoint(), url), "--http", addr), "GOGC="+tc.gogc)
			var got []string // the sample's line, and its value
			pollUntil(t, "the daemon's go_gc_gogc_percent on /metrics", func() bool {
				resp, err := http.Get("http://" + addr + "/metrics")
				if err != nil {
					return false
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				got = gogcSample.FindStringSubmatch(string(b))
				return got != nil
			})
			if want := strconv.Itoa(tc.want); got[1] != want {
				t.Errorf("/metrics says %q, want the value %s", got[0], want)
			}
		})
	}
}
