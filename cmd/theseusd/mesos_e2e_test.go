package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"theseus.dev/drivers/etcd/etcdtest"
	"theseus.dev/drivers/marathon/marathonsim"
	"theseus.dev/drivers/mesos"
	"theseus.dev/viewer"
)

// cluster is an embedded etcd, the simulator (Marathon and Mesos) on a
// fast clock, and `theseusd run` against them in this process: what an
// operator's commands talk to.
type cluster struct {
	etcd  *etcdtest.Etcd
	sim   *marathonsim.Sim
	mesos *marathonsim.MesosServer
	env   map[string]string

	mu   sync.Mutex
	down map[string]bool // addresses of agents that drop every request
	// intercept, when set, may answer an agent's request in its place.
	intercept func(w http.ResponseWriter, r *http.Request) bool
}

// agentDown makes an agent drop every request, as a host that went away
// does: the connection is closed without an answer.
func (c *cluster) agentDown(t *testing.T, hostname string) {
	t.Helper()
	u, err := url.Parse(c.mesos.AgentURL(hostname))
	if err != nil || u.Host == "" {
		t.Fatalf("no agent %s", hostname)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down[u.Host] = true
}

// dropDown wraps the agents' handlers: a request to an agent that is
// down gets its connection closed, and intercept may answer the others.
func (c *cluster) dropDown(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		down, intercept := c.down[r.Host], c.intercept
		c.mu.Unlock()
		if intercept != nil && intercept(w, r) {
			return
		}
		if down {
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					_ = conn.Close()
					return
				}
			}
			panic(http.ErrAbortHandler)
		}
		h.ServeHTTP(w, r)
	})
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
	c := &cluster{etcd: e, sim: sim, down: map[string]bool{}}
	ms, err := sim.ListenMesos("127.0.0.1:0", marathonsim.MesosOptions{Wrap: c.dropDown})
	if err != nil {
		t.Fatal(err)
	}
	c.mesos = ms
	c.env = map[string]string{"THESEUS_ETCD": e.Endpoint(), "THESEUS_MARATHON": srv.URL, "THESEUS_MESOS": ms.URL}
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

// webPortSpec is web/dev with n instances and an http port.
func webPortSpec(n int, config string) string {
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
	c.put(t, "web/dev", webPortSpec(3, ""), 3)
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
	c.put(t, "web/dev", webPortSpec(2, ""), 2)
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
	if code != exitOK || strings.Count(out, "web/dev") != 2 || !strings.Contains(out, "of 0.1") || !strings.Contains(out, "of 64Mi") ||
		!strings.Contains(out, " CPU(cores) ") {
		t.Errorf("top: exit %d:\n%s", code, out)
	}
	if code, _, errb := runCLI(t, c.env, "top", "api"); code != exitError || !strings.Contains(errb, "no containers of api") {
		t.Errorf("top api: exit %d: %s", code, errb)
	}
	// No agent answers: the rows are printed, with "-", but the command
	// fails, since it measured nothing.
	c.sim.Faults().FailRequests("GET", marathonsim.RouteAgentStatistics, http.StatusServiceUnavailable, 0)
	code, out, errb = runCLI(t, c.env, "top", "web", "--interval", "0", "--mesos-timeout", "1s")
	if code != exitError || strings.Count(out, "web/dev") != 2 || !strings.Contains(errb, "warning: agent") ||
		!strings.Contains(errb, "no container's usage could be read") {
		t.Errorf("top with no agent answering: exit %d:\n%s%s", code, out, errb)
	}
}

// TestLogsCommand: `logs` prints each container's last lines, prefixed
// with the container; -f follows them, picks up a container that starts
// from its first line, and prints a failed container's last lines, which
// say why it failed.
func TestLogsCommand(t *testing.T) {
	c := startCluster(t)
	c.put(t, "web/dev", webPortSpec(2, ""), 2)
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
	c.put(t, "web/dev", webPortSpec(3, ""), 3)
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

// TestLogsAgentDown: with an agent down, `logs` prints the other
// containers and names each container it could not read, with its agent,
// then fails; `logs -f` follows the other containers on while the
// agent's reads wait for their timeout.
func TestLogsAgentDown(t *testing.T) {
	c := startCluster(t)
	c.put(t, "web/dev", webPortSpec(4, ""), 4)
	tasks := c.sim.Tasks("/web/dev")
	down := map[string]bool{}
	for _, tk := range tasks[:2] {
		down[tk.Host] = true
	}
	var up []marathonsim.TaskState
	for _, tk := range tasks {
		if !down[tk.Host] {
			up = append(up, tk)
		}
	}
	if len(up) == 0 {
		t.Fatalf("every task on %v", down)
	}

	var stdout, stderr syncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() {
		cl := &cli{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return c.env[k] }}
		done <- run(ctx, []string{"logs", "web", "-l", "dev", "-f", "--tail", "1", "--poll", "20ms", "--mesos-timeout", "1m"}, cl)
	}()
	following := func(what string, cond func(string) bool) {
		t.Helper()
		waitSim(t, c.sim, what, func() bool { return cond(stdout.String()) })
	}
	following("every container", func(s string) bool {
		for _, tk := range tasks {
			if !strings.Contains(s, "["+tk.ID+"] ") {
				return false
			}
		}
		return true
	})
	for h := range down {
		c.agentDown(t, h)
	}
	before := strings.Count(stdout.String(), "["+up[0].ID+"] ")
	following("new lines of a container on an agent that answers", func(s string) bool {
		return strings.Count(s, "["+up[0].ID+"] ") >= before+5
	})
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("logs -f: exit %d: %s", code, stderr.String())
	}

	code, out, errb := runCLI(t, c.env, "logs", "web", "-l", "dev", "--tail", "1", "--mesos-timeout", "500ms")
	want := fmt.Sprintf("the logs of %d of 4 containers could not be read", len(tasks)-len(up))
	if code != exitError || !strings.Contains(errb, want) {
		t.Errorf("logs with agents down: exit %d: %s", code, errb)
	}
	for _, tk := range tasks {
		printed := strings.Contains(out, "["+tk.ID+"] ")
		warned := strings.Contains(errb, "warning: "+tk.ID+": agent "+tk.Host+": ")
		if printed == down[tk.Host] || warned != down[tk.Host] {
			t.Errorf("%s on %s (down %v): printed %v, warned %v:\n%s%s", tk.ID, tk.Host, down[tk.Host], printed, warned, out, errb)
		}
	}
}

// TestAgentsInactive: the table says which agents are inactive (here
// disconnected, and draining as Mesos 1.9 reports it), since they get no
// new tasks whatever they have free.
func TestAgentsInactive(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/master/state" {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, `{"version": "1.9.0", "slaves": [
			{"id": "S0", "hostname": "up", "pid": "slave(1)@10.0.0.1:5051", "resources": {"cpus": 8, "mem": 1024}, "active": true},
			{"id": "S1", "hostname": "gone", "pid": "slave(1)@10.0.0.2:5051", "resources": {"cpus": 8, "mem": 1024}, "active": false},
			{"id": "S2", "hostname": "draining", "pid": "slave(1)@10.0.0.3:5051", "resources": {"cpus": 8, "mem": 1024}, "active": true, "deactivated": true}],
			"frameworks": []}`)
	}))
	t.Cleanup(srv.Close)
	for _, wide := range []bool{false, true} {
		args := []string{"agents", "--mesos", srv.URL}
		if wide {
			args = append(args, "-o", "wide")
		}
		code, out, errb := runCLI(t, map[string]string{}, args...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if code != exitOK || len(lines) != 4 {
			t.Fatalf("%v: exit %d:\n%s%s", args, code, out, errb)
		}
		for host, state := range map[string]string{"up": "active", "gone": "inactive", "draining": "inactive"} {
			if f := strings.Fields(lines[findLine(lines, host+" ")]); f[1] != state {
				t.Errorf("%v: %s is %s, want %s:\n%s", args, host, f[1], state, out)
			}
		}
		if f := strings.Fields(lines[0]); f[1] != "STATE" || strings.Count(lines[0], "STATE") != 1 {
			t.Errorf("%v: header %q", args, lines[0])
		}
	}
}

// longStdout makes the stdout of a task lines lines of 1 KiB ("000042
// xxx..."), served as an agent's /files/read does; reads from wait on
// offset on are held until release is closed.
func (c *cluster) longStdout(taskID string, lines int, wait int64, release <-chan struct{}) {
	var file []byte
	for i := range lines {
		file = fmt.Appendf(file, "%06d %s\n", i, strings.Repeat("x", 1024-8))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.intercept = func(w http.ResponseWriter, r *http.Request) bool {
		q := r.URL.Query()
		if p := q.Get("path"); r.URL.Path != "/files/read" || !strings.Contains(p, "/executors/"+taskID+"/") || !strings.HasSuffix(p, "/stdout") {
			return false
		}
		offset, _ := strconv.ParseInt(q.Get("offset"), 10, 64)
		length, _ := strconv.ParseInt(q.Get("length"), 10, 64)
		if offset < 0 || offset >= int64(len(file)) {
			fmt.Fprintf(w, `{"data": "", "offset": %d}`, len(file))
			return true
		}
		if offset >= wait {
			select {
			case <-release:
			case <-r.Context().Done():
				return true
			}
		}
		end := min(int64(len(file)), offset+min(length, 64<<10))
		data, _ := json.Marshal(string(file[offset:end]))
		fmt.Fprintf(w, `{"data": %s, "offset": %d}`, data, offset)
		return true
	}
}

// TestLogsLongFileFromStart: every line of a log longer than one read
// (4 MiB) is printed as it is read, not held whole until the end.
func TestLogsLongFileFromStart(t *testing.T) {
	c := startCluster(t)
	c.put(t, "web/dev", webPortSpec(1, ""), 1)
	task := c.sim.Tasks("/web/dev")[0]
	const lines = 4<<10 + 64
	// The last part waits: what came before must be out by then.
	release := make(chan struct{})
	c.longStdout(task.ID, lines, 4<<20, release)

	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		cl := &cli{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return c.env[k] }}
		done <- run(t.Context(), []string{"logs", "web"}, cl)
	}()
	first := "[" + task.ID + "] 000000 x"
	waitSim(t, c.sim, "the first lines printed before the end is read", func() bool { return strings.Contains(stdout.String(), first) })
	close(release)
	if code := <-done; code != exitOK {
		t.Fatalf("logs: exit %d: %s", code, stderr.String())
	}
	got := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	if len(got) != lines || !strings.HasPrefix(got[lines-1], fmt.Sprintf("[%s] %06d x", task.ID, lines-1)) {
		t.Errorf("%d lines, want %d, the last %.80q", len(got), lines, got[len(got)-1])
	}
}

// TestLogsRunningTaskWithoutSandbox: a running container whose agent
// has no sandbox for it (the agent lost it) is a failure that says so,
// not a sandbox "not there yet" and an empty success.
func TestLogsRunningTaskWithoutSandbox(t *testing.T) {
	c := startCluster(t)
	c.put(t, "web/dev", webPortSpec(1, ""), 1)
	task := c.sim.Tasks("/web/dev")[0]
	c.mu.Lock()
	c.intercept = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/state" {
			return false
		}
		_, _ = io.WriteString(w, `{"id": "S99", "hostname": "`+task.Host+`", "frameworks": [], "completed_frameworks": []}`)
		return true
	}
	c.mu.Unlock()
	code, out, errb := runCLI(t, c.env, "logs", "web")
	if code != exitError || out != "" || !strings.Contains(errb, "warning: "+task.ID+": agent "+task.Host+" has no sandbox for it, though Marathon has it TASK_RUNNING") ||
		strings.Contains(errb, "yet") {
		t.Errorf("logs of a running task without a sandbox: exit %d:\n%s%s", code, out, errb)
	}
}

// TestLogsFollowEndedContainerToTheEnd: the last read of a container
// that ended reads on past one read's worth (4 MiB) to the end of its
// log, rather than stopping there and cutting a line in two.
func TestLogsFollowEndedContainerToTheEnd(t *testing.T) {
	c := startCluster(t)
	c.put(t, "web/dev", webPortSpec(1, ""), 1)
	task := c.sim.Tasks("/web/dev")[0]
	const lines = 9 << 10
	c.longStdout(task.ID, lines, math.MaxInt64, nil)
	mc, err := mesos.New(mesos.Config{URLs: []string{c.env["THESEUS_MESOS"]}})
	if err != nil {
		t.Fatal(err)
	}
	agents, err := mc.Agents(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	a, err := mesos.FindAgent(agents, task.Host)
	if err != nil {
		t.Fatal(err)
	}
	f, err := mc.OpenLog(t.Context(), a, task.ID, mesos.Stdout)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr syncBuffer
	l := &logFollower{mesos: mc, out: &stdout, errw: &stderr}
	gone := make(chan struct{})
	close(gone)
	l.follow(t.Context(), f, gone, time.Hour) // gone already: one last read
	got := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	if len(got) != lines || !strings.HasPrefix(got[lines-1], fmt.Sprintf("[%s] %06d x", task.ID, lines-1)) || stderr.String() != "" {
		t.Errorf("%d lines, want %d, the last %.80q; %s", len(got), lines, got[len(got)-1], stderr.String())
	}
}
