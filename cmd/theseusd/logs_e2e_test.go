package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"theseus.dev/drivers/marathon/marathonsim"
	"theseus.dev/drivers/mesos"
)

// The tests of `theseusd logs`, on the cluster of mesos_e2e_test.go.

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
	waitSim(t, c.sim, "a line saying how the failed container ended", func() bool {
		return strings.Contains(stderr.String(), tasks[0].ID+" ended: TASK_FAILED\n")
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
	// Marathon lists it still: it is not said to have ended.
	if len(got) != lines || !strings.HasPrefix(got[lines-1], fmt.Sprintf("[%s] %06d x", task.ID, lines-1)) ||
		stderr.String() != task.ID+" is no longer listed by Marathon (Mesos has it TASK_RUNNING)\n" {
		t.Errorf("%d lines, want %d, the last %.80q; %s", len(got), lines, got[len(got)-1], stderr.String())
	}
}

// TestLogsFollowTailAfterAgentBack: with -f --tail N, a container whose
// agent did not answer at the start gets its last N lines once the agent
// is back, not its whole log, which is for containers that start later.
func TestLogsFollowTailAfterAgentBack(t *testing.T) {
	c := startCluster(t)
	c.put(t, "web/dev", webPortSpec(2, ""), 2)
	tasks := c.sim.Tasks("/web/dev")
	if tasks[0].Host == tasks[1].Host {
		t.Fatalf("both tasks on %s", tasks[0].Host)
	}
	c.agentDown(t, tasks[0].Host)
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() {
		cl := &cli{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return c.env[k] }}
		done <- run(ctx, []string{"logs", "web", "-l", "dev", "-f", "--tail", "1", "--poll", "20ms", "--mesos-timeout", "200ms"}, cl)
	}()
	waitSim(t, c.sim, "a warning about the agent down", func() bool {
		return strings.Contains(stderr.String(), "warning: "+tasks[0].ID+": agent "+tasks[0].Host)
	})
	c.agentUp(t, tasks[0].Host)
	waitSim(t, c.sim, "the lines of the container whose agent is back", func() bool { return strings.Contains(stdout.String(), "["+tasks[0].ID+"] ") })
	cancel()
	<-done
	// nginx's first line says where it starts; the last line of its
	// log by now is one of its periodic ones.
	if strings.Contains(stdout.String(), "["+tasks[0].ID+"] --container=") {
		t.Errorf("the whole log, not the last line, of %s:\n%s", tasks[0].ID, stdout.String())
	}
}

// TestLogsLastLineWithoutNewline: without -f, a log's last line without
// its newline is printed, and counts as one of --tail's.
func TestLogsLastLineWithoutNewline(t *testing.T) {
	c := startCluster(t)
	c.put(t, "web/dev", webPortSpec(1, ""), 1)
	task := c.sim.Tasks("/web/dev")[0]
	c.mu.Lock()
	c.intercept = func(w http.ResponseWriter, r *http.Request) bool {
		q := r.URL.Query()
		if p := q.Get("path"); r.URL.Path != "/files/read" || !strings.Contains(p, "/executors/"+task.ID+"/") {
			return false
		}
		const file = "one\ntwo\npanic: out of memory"
		offset, _ := strconv.ParseInt(q.Get("offset"), 10, 64)
		if offset < 0 || offset >= int64(len(file)) {
			fmt.Fprintf(w, `{"data": "", "offset": %d}`, len(file))
			return true
		}
		data, _ := json.Marshal(file[offset:])
		fmt.Fprintf(w, `{"data": %s, "offset": %d}`, data, offset)
		return true
	}
	c.mu.Unlock()
	p := "[" + task.ID + "] "
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"logs", "web"}, p + "one\n" + p + "two\n" + p + "panic: out of memory\n"},
		{[]string{"logs", "web", "--tail", "2"}, p + "two\n" + p + "panic: out of memory\n"},
		{[]string{"logs", "web", "--tail", "0"}, ""},
	} {
		if code, out, errb := runCLI(t, c.env, tc.args...); code != exitOK || out != tc.want {
			t.Errorf("%v: exit %d:\n%s%s\nwant\n%s", tc.args, code, out, errb, tc.want)
		}
	}
}
