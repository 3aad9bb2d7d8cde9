package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/etcd/etcdtest"
	"theseus.dev/drivers/marathon/marathonsim"
	"theseus.dev/viewer"
)

// cluster is an embedded etcd, the simulator (Marathon and Mesos) on a
// fast clock, and `theseusd run` against them in this process: what an
// operator's commands talk to.
type cluster struct {
	etcd *etcdtest.Etcd
	sim  *marathonsim.Sim
	env  map[string]string
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	return newCluster(t, marathonsim.Options{Clock: marathonsim.NewScaledClock(time.Now(), 100)})
}

// newCluster starts a cluster whose simulator has opts, on dev's agents.
func newCluster(t testing.TB, opts marathonsim.Options) *cluster {
	t.Helper()
	e := etcdtest.Start(t)
	opts.Agents = devAgents()
	sim, err := marathonsim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	ms, err := sim.ListenMesos("127.0.0.1:0", marathonsim.MesosOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{etcd: e, sim: sim, env: map[string]string{"THESEUS_ETCD": e.Endpoint(), "THESEUS_MARATHON": srv.URL, "THESEUS_MESOS": ms.URL}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		cl := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string { return c.env[k] }}
		done <- run(ctx, daemonArgs(e.Endpoint(), srv.URL), cl)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = ms.Close()
		srv.CloseClientConnections()
		srv.Close()
		_ = sim.Close()
	})
	return c
}

// webSpec is web/dev with n instances and an http port.
func webSpec(n int, config string) string {
	return fmt.Sprintf(`{"apiVersion":"theseus/v1","kind":"Group","metadata":{"service":"web","labels":["dev"]},"spec":{"image":"nginx:1.27","instances":%d,"cpus":0.1,"mem":64,"ports":[{"name":"http","containerPort":80}],"config":{%s}}}`, n, config)
}

// put writes a spec to /desired and waits until its app runs n tasks.
func (c *cluster) put(t *testing.T, key, spec string, n int) {
	t.Helper()
	if _, err := c.etcd.Client.Put(t.Context(), "/desired/"+key, spec); err != nil {
		t.Fatal(err)
	}
	c.waitRunning(t, "/"+key, n)
}

func (c *cluster) waitRunning(t *testing.T, appID string, n int) {
	t.Helper()
	waitSim(t, c.sim, fmt.Sprintf("%s runs %d tasks", appID, n), func() bool {
		a, ok := c.sim.App(appID)
		return ok && a.Instances == n && a.TasksRunning == n && a.Deployment == "" && len(c.sim.Tasks(appID)) == n
	})
}

// TestAgentsCommand: `agents` lists the simulator's agents with their
// rack, the resources the running tasks use and the groups they belong
// to; -o json carries the same.
func TestAgentsCommand(t *testing.T) {
	c := startCluster(t)
	c.put(t, "web/dev", webSpec(3, ""), 3)
	tasks := c.sim.Tasks("/web/dev")
	code, out, errb := runCLI(t, c.env, "agents")
	if code != exitOK {
		t.Fatalf("agents: exit %d: %s", code, errb)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1+len(devAgents()) || !strings.HasPrefix(lines[0], "HOSTNAME") {
		t.Fatalf("agents:\n%s", out)
	}
	for _, tk := range tasks {
		i := findLine(lines, tk.Host+" ")
		if i < 0 || !strings.Contains(lines[i], "web/dev×") {
			t.Errorf("%s runs %s, its line: %q", tk.Host, tk.ID, lines[i])
		}
	}

	code, out, errb = runCLI(t, c.env, "agents", "-o", "json")
	var l viewer.AgentList
	if code != exitOK || json.Unmarshal([]byte(out), &l) != nil {
		t.Fatalf("agents -o json: exit %d: %s%s", code, out, errb)
	}
	webTasks := 0
	for _, a := range l.Items {
		sa := simAgent(c.sim, a.Hostname)
		if a.Attributes["rack"] != sa.Attributes["rack"] || a.CPUs.Total != sa.CPUs || a.CPUs.Used != sa.UsedCPUs || a.Tasks != sa.Tasks {
			t.Errorf("%s: %+v, simulator %+v", a.Hostname, a, sa)
		}
		for _, g := range a.Groups {
			if g.Key == "web/dev" {
				webTasks += g.Tasks
			}
		}
	}
	if webTasks != 3 {
		t.Errorf("%d tasks of web/dev on the agents, want 3", webTasks)
	}
	if code, out, _ := runCLI(t, c.env, "agents", "-o", "wide"); code != exitOK || !strings.Contains(out, "ADDRESS") || !strings.Contains(out, "1.10.0") {
		t.Errorf("agents -o wide: exit %d:\n%s", code, out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"agents", "-o", "yaml"}, "want table, wide or json"},
		{[]string{"agents", "--mesos", "http://127.0.0.1:1", "--mesos-timeout", "300ms"}, "--mesos"},
	} {
		if code, _, errb := runCLI(t, c.env, tc.args...); code != exitError || !strings.Contains(errb, tc.want) {
			t.Errorf("%v: exit %d: %s", tc.args, code, errb)
		}
	}
}

func findLine(lines []string, prefix string) int {
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return i
		}
	}
	return -1
}

func simAgent(sim *marathonsim.Sim, host string) marathonsim.AgentState {
	for _, a := range sim.Agents() {
		if a.Hostname == host {
			return a
		}
	}
	return marathonsim.AgentState{}
}

// TestTopCommand: `top` shows every container of the group with its CPU
// and memory use, below what the spec asked for.
func TestTopCommand(t *testing.T) {
	c := startCluster(t)
	c.put(t, "web/dev", webSpec(2, ""), 2)
	code, out, errb := runCLI(t, c.env, "top", "web", "-l", "dev", "--interval", "100ms", "-o", "json")
	var l viewer.UsageList
	if code != exitOK || json.Unmarshal([]byte(out), &l) != nil {
		t.Fatalf("top -o json: exit %d: %s%s", code, out, errb)
	}
	tasks := c.sim.Tasks("/web/dev")
	if len(l.Items) != len(tasks) {
		t.Fatalf("%d containers, Marathon runs %d", len(l.Items), len(tasks))
	}
	for _, u := range l.Items {
		if u.Key != "web/dev" || !u.Known || u.CPUs <= 0 || u.CPUs >= u.CPUsAsked || u.CPUsAsked != 0.1 ||
			u.MemBytes <= 0 || u.MemBytes >= u.MemAsked || u.MemAsked != 64<<20 || u.CPULimit != 0.2 {
			t.Errorf("usage %+v", u)
		}
	}
	code, out, _ = runCLI(t, c.env, "top", "--interval", "0")
	if code != exitOK || strings.Count(out, "web/dev") != 2 || !strings.Contains(out, "of 0.1") || !strings.Contains(out, "of 64Mi") {
		t.Errorf("top: exit %d:\n%s", code, out)
	}
	if code, _, errb := runCLI(t, c.env, "top", "api"); code != exitError || !strings.Contains(errb, "no containers of api") {
		t.Errorf("top api: exit %d: %s", code, errb)
	}
}

// TestLogsCommand: `logs` prints each container's last lines, prefixed
// with the container; -f follows them, picks up a container that starts
// from its first line, and prints a failed container's last lines, which
// say why it failed.
func TestLogsCommand(t *testing.T) {
	c := startCluster(t)
	c.put(t, "web/dev", webSpec(2, ""), 2)
	tasks := c.sim.Tasks("/web/dev")
	code, out, errb := runCLI(t, c.env, "logs", "web", "-l", "dev", "--tail", "2")
	if code != exitOK {
		t.Fatalf("logs: exit %d: %s", code, errb)
	}
	for _, tk := range tasks {
		if n := strings.Count(out, "["+tk.ID+"] "); n != 2 {
			t.Errorf("%d lines of %s, want 2:\n%s", n, tk.ID, out)
		}
	}
	if code, out, _ := runCLI(t, c.env, "logs", "web", "--stderr", "--tail", "-1"); code != exitOK ||
		!strings.Contains(out, "["+tasks[0].ID+"] I") || !strings.Contains(out, "Executor registered on agent "+tasks[0].AgentID) {
		t.Errorf("logs --stderr: exit %d:\n%s", code, out)
	}

	var stdout, stderr syncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() {
		cl := &cli{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return c.env[k] }}
		done <- run(ctx, []string{"logs", "web", "-l", "dev", "--stderr", "-f", "--tail", "1", "--poll", "20ms"}, cl)
	}()
	following := func(what string, cond func(string) bool) {
		t.Helper()
		waitSim(t, c.sim, what, func() bool { return cond(stdout.String()) })
	}
	// The periodic stderr lines come once a simulated minute.
	following("new lines of both containers", func(s string) bool {
		return strings.Count(s, "["+tasks[0].ID+"] ") >= 2 && strings.Count(s, "["+tasks[1].ID+"] ") >= 2
	})
	c.put(t, "web/dev", webSpec(3, ""), 3)
	var added string
	for _, tk := range c.sim.Tasks("/web/dev") {
		if tk.ID != tasks[0].ID && tk.ID != tasks[1].ID {
			added = tk.ID
		}
	}
	following("the new container from its first line", func(s string) bool {
		return strings.Contains(s, "["+added+"] I") && strings.Contains(s, "Version: "+marathonsim.MesosVersion)
	})
	if err := c.sim.FailTask(tasks[0].ID, "disk full: cannot write /var/cache/nginx"); err != nil {
		t.Fatal(err)
	}
	following("the failed container's last lines", func(s string) bool {
		return strings.Contains(s, "["+tasks[0].ID+"] ") && strings.Contains(s, "FATAL nginx: disk full: cannot write /var/cache/nginx") &&
			strings.Contains(s, "FATAL nginx: exiting with status 1")
	})
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("logs -f: exit %d: %s", code, stderr.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		if !strings.HasPrefix(line, "[web_dev.") {
			t.Errorf("a line without its container: %q", line)
		}
	}
	if code, _, errb := runCLI(t, c.env, "logs", "web", "-l", "prod"); code != exitError || !strings.Contains(errb, "no containers of web matching -l prod") {
		t.Errorf("logs of no group: exit %d: %s", code, errb)
	}
}

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
	c.put(t, "web/dev", webSpec(2, ""), 2)
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
	if _, err := c.etcd.Client.Put(t.Context(), "/desired/web/dev", webSpec(2, `"team":"web"`)); err != nil {
		t.Fatal(err)
	}
	waitSim(t, c.sim, "the command run again", func() bool { return lineCount(runs) == 2 })
	if again, _ := os.ReadFile(out); string(again) != string(data) {
		t.Errorf("the file changed:\n%s", again)
	}

	c.put(t, "web/dev", webSpec(4, `"team":"web"`), 4)
	rendered("four servers after a scale up", 4, 3)
	c.put(t, "web/dev", webSpec(1, `"team":"web"`), 1)
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
		name string
		args []string
		code int
		want string // in stderr
		file string // out.cfg afterwards
	}{
		{"a template that fails", []string{"--template", bad, "--out", out}, exitError, "can't evaluate field Nope", "old\n"},
		{"a template that does not parse", []string{"--template", broken, "--out", out}, exitError, "broken.tmpl", "old\n"},
		{"no --out", []string{"--template", good}, exitError, "--template needs --out", "old\n"},
		{"--out alone", []string{"--out", out}, exitError, "go with --template", "old\n"},
		{"a command that fails", []string{"--template", good, "--out", out, "--on-change", "exit 4"}, exitError, "exit status 4",
			"web: web_dev.t0=agent-1:31000/true web_dev.t1=agent-2:31001/true web_dev.t2=agent-3:31002/false api\n"},
		{"unchanged", []string{"--template", good, "--out", out, "--on-change", "exit 4"}, exitOK, "",
			"web: web_dev.t0=agent-1:31000/true web_dev.t1=agent-2:31001/true web_dev.t2=agent-3:31002/false api\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errb := runCLI(t, env, append([]string{"endpoints", "web"}, tc.args...)...)
			if code != tc.code || !strings.Contains(errb, tc.want) {
				t.Errorf("exit %d, want %d; stderr %q lacks %q", code, tc.code, errb, tc.want)
			}
			if got, _ := os.ReadFile(out); string(got) != tc.file {
				t.Errorf("out.cfg is %q, want %q", got, tc.file)
			}
		})
	}
}
