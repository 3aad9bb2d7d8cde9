package main

import (
	"bytes"
	"context"
	"flag"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"theseus.dev/internal/goldenfile"
	"theseus.dev/viewer/viewertest"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata")

// checkGolden compares got with testdata/name, or rewrites that file
// with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name), []byte(got), *updateGolden)
}

// runGet runs `theseusd get args...` with ages counted to now.
func runGet(ctx context.Context, env map[string]string, now time.Time, stdout, stderr *getOutput, args ...string) error {
	c := &cli{stdin: bytes.NewReader(nil), stdout: stdout, stderr: stderr, getenv: func(k string) string { return env[k] }}
	cmd := newGetCommand(c, func() time.Time { return now })
	cmd.SetArgs(append([]string{}, args...)) // never nil: cobra would read os.Args
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	return cmd.ExecuteContext(ctx)
}

// TestGetGolden: every output format of `get` on the fixed state of
// viewertest, against testdata/get-*.golden (go test -run TestGetGolden
// -update rewrites them). No output shows a secret.
func TestGetGolden(t *testing.T) {
	f := viewertest.Start(t)
	now := f.Populate(t)
	f.Lead(t)
	env := map[string]string{"THESEUS_ETCD": f.Etcd.Endpoint(), "THESEUS_MARATHON": f.MarathonURL}
	tests := []struct {
		name string
		args []string
	}{
		{"table", nil},
		{"wide", []string{"-o", "wide"}},
		{"json", []string{"-o", "json"}},
		{"yaml-stalled", []string{"ingestor", "-l", "testing", "-o", "yaml"}},
		{"yaml-progressing", []string{"cassandra", "-l", "dev", "-o", "yaml"}},
		{"not-dev", []string{"-l", "!dev"}},
		{"service", []string{"haproxy", "-o", "wide"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb getOutput
			if err := runGet(t.Context(), env, now, &out, &errb, tt.args...); err != nil {
				t.Fatalf("get %v: %v\n%s", tt.args, err, errb.String())
			}
			got := out.String()
			for _, s := range viewertest.SecretValues() {
				if strings.Contains(got, s) {
					t.Errorf("output shows the secret %q", s)
				}
			}
			checkGolden(t, "get-"+tt.name+".golden", got)
		})
	}
}

// TestGetErrors: bad arguments and unreachable stores fail with a message
// that names the problem.
func TestGetErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"bad output", nil, []string{"get", "-o", "xml"}, `-o "xml"`},
		{"bad selector", nil, []string{"get", "-l", "Dev"}, "label selector"},
		{"bad service", nil, []string{"get", "Web_1"}, `service "Web_1"`},
		{"two services", nil, []string{"get", "a", "b"}, "accepts at most 1 arg"},
		{"etcd unreachable", map[string]string{"THESEUS_ETCD": "127.0.0.1:1"}, []string{"get", "--etcd-dial-timeout", "300ms"}, "etcd at 127.0.0.1:1"},
		{"bad interval", nil, []string{"get", "--watch", "--watch-interval", "0s"}, "--watch-interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errb := runCLI(t, tt.env, tt.args...)
			if code != exitError || !strings.Contains(errb, tt.want) {
				t.Errorf("exit %d, want 1 with %q:\n%s", code, tt.want, errb)
			}
		})
	}
}

// TestGetMarathonDown: with Marathon unreachable, get still lists the
// groups from etcd, with a warning and the tasks of /status.
func TestGetMarathonDown(t *testing.T) {
	f := viewertest.Start(t)
	now := f.Populate(t)
	env := map[string]string{"THESEUS_ETCD": f.Etcd.Endpoint(), "THESEUS_MARATHON": "http://127.0.0.1:1"}
	var out, errb getOutput
	if err := runGet(t.Context(), env, now, &out, &errb, "haproxy", "--marathon-timeout", "300ms"); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "warning: Marathon cannot be read") {
		t.Errorf("no warning about Marathon:\n%s", errb.String())
	}
	if !strings.Contains(out.String(), "haproxy   testing") || !strings.Contains(out.String(), "Synced") {
		t.Errorf("groups not listed from etcd:\n%s", out.String())
	}
}

// TestGetNoGroups: an empty list says so, and while Marathon cannot be
// read it does not claim there is no group where an orphaned app, which
// only Marathon shows, may run.
func TestGetNoGroups(t *testing.T) {
	f := viewertest.Start(t)
	now := f.Populate(t)
	tests := []struct {
		name, marathon, service, want string
	}{
		{"no such service", f.MarathonURL, "nosuch", "No groups found.\n"},
		{"an orphan while Marathon is down", "http://127.0.0.1:1", "legacy", "an app that only Marathon shows (an orphan) cannot be listed while Marathon cannot be read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"THESEUS_ETCD": f.Etcd.Endpoint(), "THESEUS_MARATHON": tt.marathon}
			var out, errb getOutput
			if err := runGet(t.Context(), env, now, &out, &errb, tt.service, "--marathon-timeout", "300ms"); err != nil {
				t.Fatalf("%v\n%s", err, errb.String())
			}
			if !strings.Contains(errb.String(), tt.want) || out.String() != "" {
				t.Errorf("stdout %q, stderr:\n%s\nwant %q", out.String(), errb.String(), tt.want)
			}
		})
	}
}

// TestGetWatch: --watch prints a group again when it changes, here after
// a scale written with the real etcdctl, and stops when interrupted.
func TestGetWatch(t *testing.T) {
	f := viewertest.Start(t)
	now := f.Populate(t)
	env := map[string]string{"THESEUS_ETCD": f.Etcd.Endpoint(), "THESEUS_MARATHON": f.MarathonURL}
	ctx, cancel := context.WithCancel(t.Context())
	out := &getOutput{notify: make(chan struct{}, 1)}
	var errb getOutput
	var wg sync.WaitGroup
	var err error
	wg.Go(func() { err = runGet(ctx, env, now, out, &errb, "haproxy", "--watch", "--watch-interval", "20ms") })
	defer func() { cancel(); wg.Wait() }()

	header := out.waitFor(t, "HEALTHY")
	scaled := strings.Replace(viewertest.HaproxyDev, `"instances":2`, `"instances":4`, 1)
	f.Etcd.Etcdctl(t, "put", "/desired/haproxy/dev", scaled)
	line := out.waitFor(t, "Pending")
	if !strings.HasPrefix(line, "haproxy") || !strings.Contains(line, " 4 ") {
		t.Errorf("watch printed %q, want haproxy/dev pending with 4 wanted", line)
	}
	// The row printed later lines up with the header printed first.
	for _, col := range []string{"PHASE", "AGE"} {
		at := strings.Index(header, " "+col) + 1
		if at <= 0 || len(line) <= at || line[at-1] != ' ' || line[at] == ' ' {
			t.Errorf("%s of the watched row is not under the header:\n%q\n%q", col, header, line)
		}
	}
	if strings.Count(out.String(), "HEALTHY") != 1 {
		t.Errorf("watch repeated the header:\n%s", out.String())
	}
	// A group that leaves the list is said to be gone, not left out.
	canary := strings.Replace(viewertest.HaproxyDev, `"dev"`, `"canary"`, 1)
	f.Etcd.Etcdctl(t, "put", "/desired/haproxy/canary", canary)
	out.waitFor(t, "canary")
	f.Etcd.Etcdctl(t, "del", "/desired/haproxy/canary")
	if line := out.waitFor(t, "removed"); strings.Join(strings.Fields(line), " ") != "haproxy canary (removed)" {
		t.Errorf("watch printed %q for the deleted group", line)
	}
	cancel()
	wg.Wait()
	if err != nil {
		t.Errorf("get --watch ended with %v", err)
	}
}

// getOutput is an output that tests read while get writes it, with a
// signal at each write.
type getOutput struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	notify chan struct{}
}

func (b *getOutput) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.notify != nil {
		select {
		case b.notify <- struct{}{}:
		default:
		}
	}
	return b.buf.Write(p)
}

func (b *getOutput) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor waits until a line of the output contains s, and returns it.
func (b *getOutput) waitFor(t *testing.T, s string) string {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		for _, line := range strings.Split(b.String(), "\n") {
			if strings.Contains(line, s) {
				return line
			}
		}
		select {
		case <-b.notify:
		case <-timeout:
			t.Fatalf("no line with %q in:\n%s", s, b.String())
		}
	}
}

// getWatch runs get --watch with args against f until the test ends
// or stop is called, which returns get's error.
func getWatch(t *testing.T, f *viewertest.Fixture, now time.Time, args ...string) (out, errb *getOutput, stop func() error) {
	env := map[string]string{"THESEUS_ETCD": f.Etcd.Endpoint(), "THESEUS_MARATHON": f.MarathonURL}
	ctx, cancel := context.WithCancel(t.Context())
	out = &getOutput{notify: make(chan struct{}, 1)}
	errb = &getOutput{notify: make(chan struct{}, 1)}
	var wg sync.WaitGroup
	var err error
	wg.Go(func() {
		err = runGet(ctx, env, now, out, errb, append(args, "--watch", "--watch-interval", "20ms")...)
	})
	stop = func() error { cancel(); wg.Wait(); return err }
	t.Cleanup(func() { _ = stop() })
	return out, errb, stop
}

// TestGetWatchWarnsWhenMarathonGoesDown: when Marathon cannot be read any
// more during --watch, the rows printed again (images gone, tasks from
// /status) come with the warning that says why, once.
func TestGetWatchWarnsWhenMarathonGoesDown(t *testing.T) {
	f := viewertest.Start(t)
	now := f.Populate(t)
	// A short timeout: each read of a Marathon that answers 503 retries
	// until it is up.
	out, errb, stop := getWatch(t, f, now, "haproxy", "--marathon-timeout", "2s")

	out.waitFor(t, "HEALTHY")
	f.Sim.Faults().FailRequests("", "", http.StatusServiceUnavailable, 0)
	errb.waitFor(t, "Marathon cannot be read")
	// Later reads without Marathon do not repeat it.
	f.Etcd.Etcdctl(t, "put", "/desired/haproxy/dev", strings.Replace(viewertest.HaproxyDev, `"instances":2`, `"instances":4`, 1))
	out.waitFor(t, "Pending")
	if err := stop(); err != nil {
		t.Errorf("get --watch ended with %v", err)
	}
	if n := strings.Count(errb.String(), "Marathon cannot be read"); n != 1 {
		t.Errorf("the warning was printed %d times, want once:\n%s", n, errb.String())
	}
}

// TestGetWatchKeepsOrphansWhileMarathonIsDown: a group known only from
// Marathon (an orphaned app) is not said to be removed because Marathon
// cannot be read for a while.
func TestGetWatchKeepsOrphansWhileMarathonIsDown(t *testing.T) {
	f := viewertest.Start(t)
	now := f.Populate(t)
	out, errb, stop := getWatch(t, f, now, "--marathon-timeout", "2s")

	if line := out.waitFor(t, "legacy"); !strings.Contains(line, "Orphaned") {
		t.Fatalf("legacy/dev is not listed as Orphaned: %q", line)
	}
	f.Sim.Faults().FailRequests("", "", http.StatusServiceUnavailable, 0)
	errb.waitFor(t, "Marathon cannot be read")
	// A read after the one that found Marathon down.
	f.Etcd.Etcdctl(t, "put", "/desired/haproxy/dev", strings.Replace(viewertest.HaproxyDev, `"instances":2`, `"instances":4`, 1))
	out.waitFor(t, "Pending")
	if err := stop(); err != nil {
		t.Errorf("get --watch ended with %v", err)
	}
	if strings.Contains(out.String(), "(removed)") {
		t.Errorf("watch said a group was removed while Marathon could not be read:\n%s", out.String())
	}
}

// TestGetWarnsOncePerKind: while Marathon stays unreadable, a warning
// whose details change from read to read (the error, what the rows come
// from) is printed once; it is printed again once it has ended and come
// back.
func TestGetWarnsOncePerKind(t *testing.T) {
	var errb bytes.Buffer
	p := &getPrinter{errw: &errb}
	down := "Marathon cannot be read (marathon GET /v2/apps: 503); tasks from /status"
	for _, ws := range [][]string{
		{down},
		{"Marathon cannot be read (marathon GET /v2/apps: 503); tasks from /status, containers from /services"},
		{"Marathon cannot be read (dial tcp: connection refused); tasks from /status"},
		nil,
		{down},
	} {
		p.warn(ws)
	}
	if n := strings.Count(errb.String(), "warning: Marathon cannot be read"); n != 2 {
		t.Errorf("printed %d times, want twice (once per spell):\n%s", n, errb.String())
	}
}

// TestGetWarnsEachAgent: a warning that differs from one already printed
// before its details, as one naming another agent of the same host by
// its port does, is printed: the colon of an address starts no details.
func TestGetWarnsEachAgent(t *testing.T) {
	var errb bytes.Buffer
	p := &getPrinter{errw: &errb}
	first := "agent 10.0.0.1:5051 did not answer: timeout"
	p.warn([]string{first})
	p.warn([]string{first, "agent 10.0.0.1:5052 did not answer: timeout"})
	if n := strings.Count(errb.String(), "warning: agent"); n != 2 {
		t.Errorf("printed %d agent warnings, want 2:\n%s", n, errb.String())
	}
}

// TestGetWarnsWhenNoDaemonLeads: with no theseusd running, get says that
// the phases are as the last leader left them.
func TestGetWarnsWhenNoDaemonLeads(t *testing.T) {
	f := viewertest.Start(t)
	now := f.Populate(t)
	env := map[string]string{"THESEUS_ETCD": f.Etcd.Endpoint(), "THESEUS_MARATHON": f.MarathonURL}
	var out, errb getOutput
	if err := runGet(t.Context(), env, now, &out, &errb, "haproxy"); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "warning: no theseusd leads") || !strings.Contains(out.String(), "haproxy   dev") {
		t.Errorf("stdout:\n%s\nstderr:\n%s\nwant the groups and a warning that no theseusd leads", out.String(), errb.String())
	}
}
