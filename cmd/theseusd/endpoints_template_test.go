package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/etcd/etcdtest"
)

// exampleTemplate is the haproxy template of the README.
const exampleTemplate = "../../testdata/templates/haproxy.cfg.tmpl"

// serverLines returns the server lines of a rendered haproxy config.
func serverLines(t testing.TB, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "server ") {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return out
}

// lineCount counts the lines of a file, 0 when there is none.
func lineCount(path string) int {
	data, _ := os.ReadFile(path)
	return strings.Count(string(data), "\n")
}

// TestEndpointsTemplateWatch: `endpoints --template --watch --on-change`
// renders the ready containers into the file, and again through a scale
// up and a scale down, running the command after each change; a command
// that fails runs again at the next change of /services, even one that
// leaves the file as it is; nothing but the file is left in its
// directory.
func TestEndpointsTemplateWatch(t *testing.T) {
	c := startCluster(t)
	c.put(t, "web/dev", webPortSpec(2, ""), 2)
	dir := t.TempDir()
	out, runs := filepath.Join(dir, "haproxy.cfg"), filepath.Join(t.TempDir(), "runs")
	// The first run of the command fails; the others succeed.
	onChange := fmt.Sprintf(`echo "$THESEUS_ENDPOINTS_OUT" >> %[1]s; test -f %[1]s.ok || { touch %[1]s.ok; exit 3; }`, runs)
	var stderr syncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() {
		env := maps.Clone(c.env)
		env["HAPROXY_PORT"] = "8080"
		cl := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr, getenv: func(k string) string { return env[k] }}
		done <- run(ctx, []string{"endpoints", "web", "-l", "dev", "--template", exampleTemplate, "--out", out,
			"--watch", "--on-change", onChange, "--wait", "20ms"}, cl)
	}()
	rendered := func(what string, n, minRuns int) {
		t.Helper()
		waitSim(t, c.sim, what, func() bool {
			return len(serverLines(t, out)) == n && lineCount(runs) >= minRuns && len(c.sim.Tasks("/web/dev")) == n
		})
		lines := serverLines(t, out)
		for _, tk := range c.sim.Tasks("/web/dev") {
			want := fmt.Sprintf("server %s %s:%d check", tk.ID, tk.Host, tk.Ports[0])
			if !slices.Contains(lines, want) {
				t.Errorf("%s: %q lacks %q", what, lines, want)
			}
		}
	}
	rendered("two servers", 2, 1)
	data, _ := os.ReadFile(out)
	if !strings.Contains(string(data), "bind *:8080") || !strings.Contains(string(data), "backend web") {
		t.Errorf("rendered:\n%s", data)
	}
	waitSim(t, c.sim, "the failed command reported", func() bool {
		return strings.Contains(stderr.String(), "exit status 3") && strings.Contains(stderr.String(), "run again at the next change")
	})
	// A change of /services that leaves the file as it is (config the
	// template does not use) runs the failed command again.
	if _, err := c.etcd.Client.Put(t.Context(), "/desired/web/dev", webPortSpec(2, `"team":"web"`)); err != nil {
		t.Fatal(err)
	}
	waitSim(t, c.sim, "the command run again", func() bool { return lineCount(runs) == 2 })
	if again, _ := os.ReadFile(out); string(again) != string(data) {
		t.Errorf("the file changed:\n%s", again)
	}

	c.put(t, "web/dev", webPortSpec(4, `"team":"web"`), 4)
	rendered("four servers after a scale up", 4, 3)
	c.put(t, "web/dev", webPortSpec(1, `"team":"web"`), 1)
	rendered("one server after a scale down", 1, 4)
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("endpoints --watch: exit %d: %s", code, stderr.String())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left in the directory: %v", entries)
	}
	if got, _ := os.ReadFile(runs); !strings.HasPrefix(string(got), out+"\n") {
		t.Errorf("the command saw THESEUS_ENDPOINTS_OUT %q", got)
	}
}

// TestEndpointsTemplateErrors: a template that fails leaves the old file
// in place; a command that fails is an error once the file is written;
// the flags go together.
func TestEndpointsTemplateErrors(t *testing.T) {
	e := etcdtest.Start(t)
	cl, err := etcd.New(e.Client, etcd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	publishGroup(t, cl.Discovery(), "web", "dev", 3, false)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint()}
	dir := t.TempDir()
	out := filepath.Join(dir, "out.cfg")
	if err := os.WriteFile(out, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := write("bad.tmpl", "{{range .Containers}}{{.Nope}}{{end}}")
	broken := write("broken.tmpl", "{{range .Containers}")
	good := write("good.tmpl", `{{.Service}}:{{range .Containers}} {{.Name}}={{.Host}}:{{index .Ports "http"}}/{{.Ready}}{{end}} {{index .Config "upstream"}}`+"\n")
	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		want    string // in stderr
		file    string // out.cfg afterwards
		notWant string // not in stderr
	}{
		{"a template that fails", []string{"--template", bad, "--out", out}, exitError, "can't evaluate field Nope", "old\n", ""},
		{"a template that does not parse", []string{"--template", broken, "--out", out}, exitError, "broken.tmpl", "old\n", ""},
		{"no --out", []string{"--template", good}, exitError, "--template needs --out", "old\n", ""},
		{"--out alone", []string{"--out", out}, exitError, "go with --template", "old\n", ""},
		// Nothing runs it again: not a later run, which finds the file
		// unchanged.
		{"a command that fails", []string{"--template", good, "--out", out, "--on-change", "exit 4"}, exitError, "exit status 4",
			"web: web_dev.t0=agent-1:31000/true web_dev.t1=agent-2:31001/true web_dev.t2=agent-3:31002/false api\n", "run again"},
		{"unchanged", []string{"--template", good, "--out", out, "--on-change", "exit 4"}, exitOK, "",
			"web: web_dev.t0=agent-1:31000/true web_dev.t1=agent-2:31001/true web_dev.t2=agent-3:31002/false api\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errb := runCLI(t, env, append([]string{"endpoints", "web"}, tc.args...)...)
			if code != tc.code || !strings.Contains(errb, tc.want) {
				t.Errorf("exit %d, want %d; stderr %q lacks %q", code, tc.code, errb, tc.want)
			}
			if tc.notWant != "" && strings.Contains(errb, tc.notWant) {
				t.Errorf("stderr %q says %q", errb, tc.notWant)
			}
			if got, _ := os.ReadFile(out); string(got) != tc.file {
				t.Errorf("out.cfg is %q, want %q", got, tc.file)
			}
		})
	}
}

// TestEndpointsTemplateOnChangeHangs: a --on-change command that hangs
// is killed, with what it started, after --on-change-timeout and
// reported, and the next change of /services is rendered rather than
// waiting behind it for ever.
func TestEndpointsTemplateOnChangeHangs(t *testing.T) {
	e := etcdtest.Start(t)
	cl, err := etcd.New(e.Client, etcd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := cl.Discovery()
	publishGroup(t, d, "web", "dev", 2, false)
	dir := t.TempDir()
	out, pids := filepath.Join(dir, "haproxy.cfg"), filepath.Join(t.TempDir(), "pids")
	// The first run hangs in a child of the shell; the others return.
	onChange := fmt.Sprintf(`test -f %[1]s && exit 0; sleep 60 & echo $! > %[1]s; wait`, pids)
	b, stop := startEndpoints(t, e, "web", "-l", "dev", "--template", exampleTemplate, "--out", out,
		"--watch", "--wait", "0s", "--on-change", onChange, "--on-change-timeout", "200ms")
	b.waitFor(t, "the hung command killed", func(_, stderr string) bool {
		return strings.Contains(stderr, "did not finish within --on-change-timeout 200ms")
	})
	publishGroup(t, d, "web", "dev", 4, false)
	// publishGroup makes the last container not ready.
	b.waitFor(t, "the change rendered", func(_, _ string) bool { return len(serverLines(t, out)) == 3 })
	if code := stop(); code != exitOK {
		t.Errorf("exit %d: %s", code, b.err.String())
	}
	pid, err := os.ReadFile(pids)
	if err != nil {
		t.Fatal(err)
	}
	// Killed, it is gone or a zombie soon after.
	stat := filepath.Join("/proc", strings.TrimSpace(string(pid)), "stat")
	pollUntil(t, "the end of the command's child "+strings.TrimSpace(string(pid)), func() bool {
		data, err := os.ReadFile(stat)
		f := strings.Fields(string(data))
		return err != nil || len(f) > 2 && f[2] == "Z"
	})
}

// TestEndpointsTemplateWriteRetried: with --watch, a file that cannot be
// written (its directory not there yet) is reported and tried again
// after a while, not only at the next change of /services, which may
// not come for a long time: once the directory is there, the file is
// written, and the command runs.
func TestEndpointsTemplateWriteRetried(t *testing.T) {
	e := etcdtest.Start(t)
	cl, err := etcd.New(e.Client, etcd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	publishGroup(t, cl.Discovery(), "web", "dev", 3, false)
	dir := filepath.Join(t.TempDir(), "haproxy")
	out := filepath.Join(dir, "haproxy.cfg")
	b, stop := startEndpoints(t, e, "web", "-l", "dev", "--template", exampleTemplate, "--out", out,
		"--watch", "--on-change", "echo reloaded")
	b.waitFor(t, "the failed write reported", func(_, stderr string) bool {
		return strings.Contains(stderr, "no such file or directory (tried again in")
	})
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b.waitFor(t, "the file written and the command run", func(stdout, _ string) bool { return stdout == "reloaded\n" })
	if code := stop(); code != exitOK {
		t.Errorf("exit %d: %s", code, b.err.String())
	}
	if n := len(serverLines(t, out)); n != 2 {
		t.Errorf("%d server lines, want 2", n)
	}
}
