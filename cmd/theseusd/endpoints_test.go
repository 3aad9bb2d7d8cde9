package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/etcd/etcdtest"
	"theseus.dev/endpoints"
	"theseus.dev/specs"
)

// publishGroup writes a group under /services as the discovery syncer does:
// n containers, the last one not ready.
func publishGroup(t *testing.T, d *etcd.Discovery, service, labels string, n int, stale bool) {
	t.Helper()
	k := specs.GroupKey{Service: service, Labels: labels}
	st := etcd.GroupState{Containers: map[string]specs.ContainerInfo{}, Config: map[string]string{"upstream": "api"}, Stale: stale}
	for i := range n {
		name := fmt.Sprintf("%s_%s.t%d", service, labels, i)
		st.Containers[name] = specs.ContainerInfo{InstanceHost: fmt.Sprintf("agent-%d", i+1), InstancePort: 31000 + i,
			InstanceName: name, State: "TASK_RUNNING", Health: "healthy", Ready: i < n-1, AppVersion: "v1",
			PortMappings: []specs.PortMapping{{ContainerPort: 80, HostPort: 31000 + i, Protocol: "tcp", Name: "http"}}}
	}
	g, err := d.ReadGroup(context.Background(), k)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.SyncGroup(context.Background(), etcd.Fence{}, g, st); err != nil {
		t.Fatal(err)
	}
}

func TestEndpointsCommand(t *testing.T) {
	e := etcdtest.Start(t)
	c, err := etcd.New(e.Client, etcd.Options{Prefix: "/prod"})
	if err != nil {
		t.Fatal(err)
	}
	publishGroup(t, c.Discovery(), "web", "dev", 3, false)
	publishGroup(t, c.Discovery(), "web", "dev.frontend", 2, true)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint(), "THESEUS_PREFIX": "/prod"}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string // substrings of stdout, or of stderr when code != 0
		not  []string
	}{
		{name: "table", args: []string{"endpoints", "web"}, want: []string{
			"GROUP", "web_dev.t0", "agent-1", "http:80->31000/tcp", "web_dev.t2", "false", "dev,frontend (stale)", "web_dev.frontend.t1"}},
		{name: "selector", args: []string{"endpoints", "web", "-l", "!frontend"}, want: []string{"web_dev.t1"}, not: []string{"frontend"}},
		{name: "env", args: []string{"endpoints", "web", "-l", "dev", "-o", "env"}, want: []string{
			"WEB_ENDPOINTS='agent-1:31000,agent-1:31000,agent-2:31001'", "WEB_HTTP_ENDPOINTS='agent-1:31000,agent-1:31000,agent-2:31001'", "WEB_COUNT=3"}},
		{name: "json", args: []string{"endpoints", "web", "-o", "json", "-l", "frontend"}, want: []string{`"stale": true`, `"upstream": "api"`, `"updatedAt": "`,
			`"instance_name": "web_dev.frontend.t0"`}}, // the /services values keep their layout
		{name: "no such service", args: []string{"endpoints", "api"}, code: exitError, want: []string{"no group of api"}},
		{name: "no group matches", args: []string{"endpoints", "web", "-l", "prod"}, code: exitError, want: []string{"matching -l prod"}},
		{name: "bad format", args: []string{"endpoints", "web", "-o", "yaml"}, code: exitError, want: []string{"want table, json or env"}},
		{name: "bad service", args: []string{"endpoints", "Web"}, code: exitError, want: []string{"service"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, env, tc.args...)
			out := stdout
			if tc.code != exitOK {
				out = stderr
			}
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(out, n) {
					t.Errorf("output has %q:\n%s", n, out)
				}
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestEndpointsWatch follows a group with --watch -o json: one line per
// update of the selected groups, none for updates of others.
func TestEndpointsWatch(t *testing.T) {
	e := etcdtest.Start(t)
	c, err := etcd.New(e.Client, etcd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := c.Discovery()
	publishGroup(t, d, "web", "dev", 1, false)
	var out, errb syncBuffer
	cl := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string {
		return map[string]string{"THESEUS_ETCD": e.Endpoint()}[k]
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() { done <- run(ctx, []string{"endpoints", "web", "-l", "dev", "--watch", "-o", "json"}, cl) }()
	lines := func(n int) []string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			ls := strings.Split(strings.TrimSpace(out.String()), "\n")
			if len(ls) >= n && ls[0] != "" {
				return ls
			}
			if time.Now().After(deadline) {
				t.Fatalf("wanted %d lines, got:\n%s\nstderr: %s", n, out.String(), errb.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	lines(1)
	publishGroup(t, d, "web", "prod", 2, false) // not selected: no line
	publishGroup(t, d, "web", "dev", 4, false)
	ls := lines(2)
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if len(ls) != 2 {
		t.Fatalf("%d lines for 2 states of web/dev:\n%s", len(ls), strings.Join(ls, "\n"))
	}
	for i, want := range []int{1, 4} {
		var groups []struct {
			Labels    []string          `json:"labels"`
			Endpoints []json.RawMessage `json:"endpoints"`
		}
		if err := json.Unmarshal([]byte(ls[i]), &groups); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, ls[i])
		}
		if len(groups) != 1 || len(groups[0].Endpoints) != want {
			t.Errorf("line %d: %s", i, ls[i])
		}
	}
}

// signalBuffers are a command's stdout and stderr, signalling each write.
type signalBuffers struct {
	out, err syncBuffer
	wrote    chan struct{}
}

type signalWriter struct {
	b     *syncBuffer
	wrote chan struct{}
}

func (w signalWriter) Write(p []byte) (int, error) {
	n, err := w.b.Write(p)
	select {
	case w.wrote <- struct{}{}:
	default:
	}
	return n, err
}

// startEndpoints runs `theseusd endpoints args...` against etcd e in the
// background, its output written to b; stop ends it and returns its exit
// code.
func startEndpoints(t *testing.T, e *etcdtest.Etcd, args ...string) (b *signalBuffers, stop func() int) {
	t.Helper()
	b = &signalBuffers{wrote: make(chan struct{}, 1)}
	cl := &cli{stdin: strings.NewReader(""), stdout: signalWriter{&b.out, b.wrote}, stderr: signalWriter{&b.err, b.wrote},
		getenv: func(k string) string { return map[string]string{"THESEUS_ETCD": e.Endpoint()}[k] }}
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	done := make(chan int, 1)
	go func() { done <- run(ctx, append([]string{"endpoints"}, args...), cl) }()
	return b, func() int {
		cancel()
		return <-done
	}
}

// waitFor waits until cond holds of what was written, checking again at
// each write.
func (s *signalBuffers) waitFor(t *testing.T, what string, cond func(stdout, stderr string) bool) {
	t.Helper()
	timeout := time.NewTimer(20 * time.Second)
	defer timeout.Stop()
	for !cond(s.out.String(), s.err.String()) {
		select {
		case <-s.wrote:
		case <-timeout.C:
			t.Fatalf("%s: not seen\nstdout:\n%s\nstderr:\n%s", what, s.out.String(), s.err.String())
		}
	}
}

// TestEndpointsWatchNoGroup: a watch of a service with no group (a
// misspelt name or selector, or a group deleted) warns on stderr each
// time the set it prints or renders turns empty, as a run without
// --watch does, rather than look like a service whose containers are
// all gone.
func TestEndpointsWatchNoGroup(t *testing.T) {
	const warning = "warning: no group of web matching -l dev in /services"
	for _, tc := range []struct {
		name    string
		args    []string
		renders func(stdout, stderr string) int
	}{
		{"json", []string{"-o", "json"}, func(stdout, _ string) int { return strings.Count(stdout, "\n") }},
		{"template", []string{"--template", exampleTemplate, "--out", filepath.Join(t.TempDir(), "haproxy.cfg"), "--wait", "0s"},
			func(_, stderr string) int { return strings.Count(stderr, "endpoints: wrote") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := etcdtest.Start(t)
			c, err := etcd.New(e.Client, etcd.Options{})
			if err != nil {
				t.Fatal(err)
			}
			d := c.Discovery()
			publishGroup(t, d, "web", "prod", 1, false) // not selected
			b, stop := startEndpoints(t, e, append([]string{"web", "-l", "dev", "--watch"}, tc.args...)...)
			state := func(what string, renders, warnings int) {
				t.Helper()
				b.waitFor(t, what, func(stdout, stderr string) bool { return tc.renders(stdout, stderr) >= renders })
				if n := strings.Count(b.err.String(), warning); n != warnings {
					t.Errorf("%s: %d warnings, want %d\nstderr:\n%s", what, n, warnings, b.err.String())
				}
			}
			state("no group at start", 1, 1)
			publishGroup(t, d, "web", "dev", 2, false)
			state("the group published", 2, 1)
			g, err := d.ReadGroup(t.Context(), specs.GroupKey{Service: "web", Labels: "dev"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.DropGroup(t.Context(), etcd.Fence{}, g); err != nil {
				t.Fatal(err)
			}
			state("the group dropped", 3, 2)
			publishGroup(t, d, "web", "prod", 2, false) // not selected: no render, no warning
			publishGroup(t, d, "web", "dev", 3, false)
			state("the group back", 4, 2)
			if code := stop(); code != exitOK {
				t.Fatalf("exit %d: %s", code, b.err.String())
			}
		})
	}
}

// TestRenderEnvSkipsUnpublishedPorts: -o env lists a named port only at
// the host ports it is published on; one reachable at the task's own
// address only (a container network) is not "host:0".
func TestRenderEnvSkipsUnpublishedPorts(t *testing.T) {
	g := endpoints.Group{Endpoints: []endpoints.Endpoint{{Host: "agent-1", Port: 31001, Ready: true, Ports: []endpoints.Port{
		{ContainerPort: 80, Name: "http", Protocol: "tcp"},
		{ContainerPort: 9000, HostPort: 31001, Name: "admin", Protocol: "tcp"},
	}}}}
	var b bytes.Buffer
	if err := renderEnv(&b, "web", []endpoints.Group{g}, false); err != nil {
		t.Fatal(err)
	}
	want := "WEB_ENDPOINTS='agent-1:31001'\nWEB_ADMIN_ENDPOINTS='agent-1:31001'\nWEB_COUNT=1\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

// TestEndpointsWatchEtcdDown: while etcd does not answer, a watch says
// so on stderr, once, and that what it shows is the last state seen;
// once etcd is back it says so, and follows the changes again.
func TestEndpointsWatchEtcdDown(t *testing.T) {
	e := etcdtest.Start(t)
	c, err := etcd.New(e.NewDirectClient(t), etcd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := c.Discovery()
	publishGroup(t, d, "web", "dev", 1, false)
	b, stop := startEndpoints(t, e, "web", "-l", "dev", "--watch", "-o", "json", "--etcd-request-timeout", "200ms")
	const down, back = "warning: etcd does not answer", "etcd answers again"
	b.waitFor(t, "the first state", func(stdout, _ string) bool { return strings.Count(stdout, "\n") == 1 })
	e.Stop()
	b.waitFor(t, "the outage reported", func(_, stderr string) bool { return strings.Contains(stderr, down) })
	if !strings.Contains(b.err.String(), "the output shows the last state seen") {
		t.Errorf("stderr: %s", b.err.String())
	}
	e.Restart(t)
	b.waitFor(t, "the end of the outage reported", func(_, stderr string) bool { return strings.Contains(stderr, back) })
	publishGroup(t, d, "web", "dev", 2, false)
	b.waitFor(t, "the next state", func(stdout, _ string) bool { return strings.Count(stdout, "\n") == 2 })
	if code := stop(); code != exitOK {
		t.Errorf("exit %d: %s", code, b.err.String())
	}
	if n := strings.Count(b.err.String(), down); n != 1 {
		t.Errorf("%d warnings for one outage:\n%s", n, b.err.String())
	}
}

// TestEndpointsPendingGroup: a run without --watch does not hang on a
// group left half-written (its revision marked pending by a writer that
// died halfway, with no theseusd to finish it): after twice
// --etcd-request-timeout it exits 1 naming the group, and renders no file.
func TestEndpointsPendingGroup(t *testing.T) {
	e := etcdtest.Start(t)
	c, err := etcd.New(e.Client, etcd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	publishGroup(t, c.Discovery(), "web", "dev", 2, false)
	if _, err := e.Client.Put(t.Context(), "/services/web/big/revision", `{"generation":7,"containers":300,"pending":true}`); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "haproxy.cfg")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"table", nil},
		{"template", []string{"--template", exampleTemplate, "--out", out}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			type result struct {
				code   int
				stderr string
			}
			done := make(chan result, 1)
			go func() {
				var stdout, stderr syncBuffer
				cl := &cli{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
					getenv: func(k string) string { return map[string]string{"THESEUS_ETCD": e.Endpoint()}[k] }}
				code := run(t.Context(), append([]string{"endpoints", "web", "--etcd-request-timeout", "100ms"}, tc.args...), cl)
				done <- result{code, stderr.String()}
			}()
			select {
			case r := <-done:
				if r.code != exitError || !strings.Contains(r.stderr, "web/big half-written") {
					t.Errorf("exit %d, stderr %q; want 1 naming web/big", r.code, r.stderr)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("endpoints hangs on a pending group")
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("the file was rendered")
			}
		})
	}
}
