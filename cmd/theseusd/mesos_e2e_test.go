package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"theseus.dev/drivers/etcd/etcdtest"
	"theseus.dev/drivers/marathon/marathonsim"
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

// agentUp undoes agentDown.
func (c *cluster) agentUp(t *testing.T, hostname string) {
	t.Helper()
	u, _ := url.Parse(c.mesos.AgentURL(hostname))
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.down, u.Host)
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
