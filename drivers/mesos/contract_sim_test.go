package mesos_test

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"theseus.dev/drivers/marathon/marathonsim"
	"theseus.dev/drivers/mesos"
)

// The driver's contract against the simulator: what it reads from the
// master and the agents agrees with the simulated Marathon it runs under.

// TestSimAgentsAndTasks: the agents are the simulator's, with their
// attributes, resources total and used by the running tasks; every task
// is on the agent Marathon says, with its labels and status history.
func TestSimAgentsAndTasks(t *testing.T) {
	s := newSimMesos(t, marathonsim.MesosOptions{}, mesos.Config{})
	s.createApp(t, webApp)
	tasks := s.sim.Tasks("/web/dev")
	if len(tasks) != 2 {
		t.Fatalf("%d tasks", len(tasks))
	}
	agents := must[[]mesos.Agent](t)(s.c.Agents(ctx(t)))
	simAgents := s.sim.Agents()
	if len(agents) != len(simAgents) {
		t.Fatalf("%d agents, the simulator has %d", len(agents), len(simAgents))
	}
	for i, a := range agents {
		sa := simAgents[i]
		u, _ := url.Parse(s.mesos.AgentURL(a.Hostname))
		if a.Hostname != sa.Hostname || a.ID != sa.ID || a.Addr != u.Host || a.Attributes["rack"] != sa.Attributes["rack"] ||
			!a.Active || a.Version != marathonsim.MesosVersion || a.Region != sa.Region || a.Zone != sa.Zone {
			t.Errorf("agent %d: %+v, simulator %+v", i, a, sa)
		}
		want := mesos.Resources{CPUs: 8, Mem: 16384, Disk: 1 << 20, Ports: []mesos.PortRange{{Begin: 31000, End: 31999}}}
		if describe(a.Resources) != describe(want) || describe(a.Unreserved) != describe(want) || len(a.Reserved) != 0 {
			t.Errorf("%s: resources %+v, unreserved %+v, reserved %+v", a.Hostname, a.Resources, a.Unreserved, a.Reserved)
		}
		n := 0
		for _, tk := range tasks {
			if tk.Host == a.Hostname {
				n++
			}
		}
		if !approx(a.Used.CPUs, 0.1*float64(n)) || !approx(a.Used.Mem, 64*float64(n)) || a.Used.PortCount() != n || !approx(a.Used.CPUs, sa.UsedCPUs) {
			t.Errorf("%s runs %d tasks; used %+v", a.Hostname, n, a.Used)
		}
	}

	st := must[*mesos.State](t)(s.c.State(ctx(t)))
	if len(st.Agents) != len(agents) || st.Version != marathonsim.MesosVersion || !strings.HasPrefix(st.Leader, "master@") {
		t.Errorf("state: %d agents, version %q, leader %q", len(st.Agents), st.Version, st.Leader)
	}
	if len(st.Tasks) != len(tasks) {
		t.Fatalf("%d tasks in the master's state, Marathon runs %d", len(st.Tasks), len(tasks))
	}
	for _, tk := range tasks {
		i := slices.IndexFunc(st.Tasks, func(mt mesos.Task) bool { return mt.ID == tk.ID })
		if i < 0 {
			t.Fatalf("task %s is not in the master's state", tk.ID)
		}
		mt := st.Tasks[i]
		var states []string
		for _, s := range mt.Statuses {
			states = append(states, s.State)
		}
		if mt.AgentID != tk.AgentID || mt.State != "TASK_RUNNING" || mt.Framework != "marathon" || mt.Name != "dev.web" ||
			mt.Labels["theseus.io/group"] != "web/dev" || mt.Executor() != tk.ID || !mt.StartedAt().Equal(tk.StartedAt) ||
			!approx(mt.Resources.CPUs, 0.1) || mt.Resources.PortCount() != 1 || mt.Resources.Ports[0].Begin != tk.Ports[0] ||
			strings.Join(states, " ") != "TASK_STAGING TASK_STARTING TASK_RUNNING" || mt.Statuses[2].IPs[0] != tk.IP {
			t.Errorf("task %s: %+v\nMarathon: %+v", tk.ID, mt, tk)
		}
		one := must[mesos.Task](t)(s.c.Task(ctx(t), tk.ID))
		if one.ID != tk.ID || one.AgentID != tk.AgentID {
			t.Errorf("Task(%s): %+v", tk.ID, one)
		}
	}
	if _, err := s.c.Task(ctx(t), "nope"); !errors.Is(err, mesos.ErrNotFound) {
		t.Errorf("unknown task: %v", err)
	}
}

// TestSimSandbox: a task's sandbox holds its stdout and stderr, which
// grow as it runs without changing what was written; a failed task's
// sandbox stays readable and its last lines say why it failed.
func TestSimSandbox(t *testing.T) {
	s := newSimMesos(t, marathonsim.MesosOptions{}, mesos.Config{})
	s.createApp(t, webApp)
	tk := s.sim.Tasks("/web/dev")[0]
	a := s.agentOf(t, tk)
	sb := must[mesos.Sandbox](t)(s.c.Sandbox(ctx(t), a, tk.ID))
	if !strings.Contains(sb.Directory, "/executors/"+tk.ID+"/runs/") || sb.Executor.Completed {
		t.Fatalf("sandbox %+v", sb)
	}
	stdout := sb.Directory + "/stdout"
	head := must[mesos.Chunk](t)(s.c.ReadFile(ctx(t), a, stdout, 0, 0))
	if head.Offset != 0 || !strings.Contains(string(head.Data), "Starting task "+tk.ID+"\n") {
		t.Errorf("stdout: %+v", head)
	}
	stderr := must[mesos.Chunk](t)(s.c.ReadFile(ctx(t), a, sb.Directory+"/stderr", 0, 0))
	if !strings.Contains(string(stderr.Data), "Executor registered on agent "+a.ID) {
		t.Errorf("stderr: %q", stderr.Data)
	}

	lines, end, err := s.c.Tail(ctx(t), a, stdout, 3, 1<<20)
	if err != nil || len(lines) != 3 || end != int64(len(head.Data)) {
		t.Fatalf("tail: %q, end %d (size %d), %v", lines, end, len(head.Data), err)
	}
	s.clk.Advance(30 * time.Second)
	more, next, err := s.c.ReadFrom(ctx(t), a, stdout, end, 0)
	newLines, rest := mesos.SplitLines(more)
	if err != nil || len(newLines) < 5 || len(rest) != 0 || next != end+int64(len(more)) {
		t.Fatalf("30s later: %d new lines %q, next %d, %v", len(newLines), more, next, err)
	}
	again, _, _ := s.c.ReadFrom(ctx(t), a, stdout, 0, end)
	if string(again) != string(head.Data) {
		t.Errorf("the start of stdout changed:\n%q\n%q", head.Data, again)
	}
	virtual := "/frameworks/" + sb.Executor.FrameworkID + "/executors/" + tk.ID + "/runs/latest/stdout"
	if v := must[mesos.Chunk](t)(s.c.ReadFile(ctx(t), a, virtual, 0, 0)); string(v.Data) != string(again) && !strings.HasPrefix(string(v.Data), string(again)) {
		t.Errorf("the virtual path reads %q", v.Data)
	}

	if err := s.sim.FailTask(tk.ID, "out of memory: killed by the kernel"); err != nil {
		t.Fatal(err)
	}
	s.clk.Advance(time.Second)
	st := must[*mesos.State](t)(s.c.State(ctx(t)))
	i := slices.IndexFunc(st.Tasks, func(mt mesos.Task) bool { return mt.ID == tk.ID })
	if i < 0 || st.Tasks[i].State != "TASK_FAILED" || !st.Tasks[i].Terminal() {
		t.Fatalf("the failed task in the master's state: %d %+v", i, st.Tasks)
	}
	sb = must[mesos.Sandbox](t)(s.c.Sandbox(ctx(t), a, tk.ID))
	if !sb.Executor.Completed {
		t.Errorf("the failed task's executor is not completed: %+v", sb.Executor)
	}
	last := tailOf(t, s, a, sb.Directory+"/stderr", 2)
	if len(last) != 2 || !strings.Contains(last[0], "out of memory: killed by the kernel") || !strings.Contains(last[1], "exiting with status 1") {
		t.Errorf("the failed task's last stderr lines: %q", last)
	}
	out := tailOf(t, s, a, stdout, 1)
	if len(out) != 1 || !strings.HasPrefix(out[0], "Command exited with status 1") {
		t.Errorf("the failed task's last stdout line: %q", out)
	}

	_, err = s.c.ReadFile(ctx(t), a, sb.Directory+"/nope", 0, 0)
	if !errors.Is(err, mesos.ErrNotFound) {
		t.Errorf("unknown file: %v", err)
	}
	_, err = s.c.ReadFile(ctx(t), a, sb.Directory, 0, 0)
	var ae *mesos.APIError
	if !errors.As(err, &ae) || ae.Status != 400 || !strings.Contains(ae.Message, "Cannot read a directory") || !mesos.IsPermanent(err) {
		t.Errorf("reading the directory: %v", err)
	}
	if _, err := s.c.Sandbox(ctx(t), a, "nope"); !errors.Is(err, mesos.ErrNotFound) {
		t.Errorf("sandbox of an unknown task: %v", err)
	}
}

func tailOf(t *testing.T, s *simMesos, a mesos.Agent, path string, n int) []string {
	t.Helper()
	lines, _, err := s.c.Tail(ctx(t), a, path, n, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

// TestSimCrashingImage: a task of an image that crashes fails, Marathon
// replaces it, and the master remembers the failed one, whose stderr
// ends with why.
func TestSimCrashingImage(t *testing.T) {
	s := newSimMesos(t, marathonsim.MesosOptions{}, mesos.Config{})
	s.sim.Faults().CrashImage("registry.example.com/ingestor:4.1.3", 20*time.Second)
	s.createApp(t, strings.ReplaceAll(webApp, "nginx:1.27", "registry.example.com/ingestor:4.1.3"))
	first := s.sim.Tasks("/web/dev")
	s.clk.Advance(30 * time.Second)
	st := must[*mesos.State](t)(s.c.State(ctx(t)))
	for _, tk := range first {
		i := slices.IndexFunc(st.Tasks, func(mt mesos.Task) bool { return mt.ID == tk.ID })
		if i < 0 || st.Tasks[i].State != "TASK_FAILED" {
			t.Fatalf("crashed task %s: %+v", tk.ID, st.Tasks)
		}
		a := s.agentOf(t, tk)
		sb := must[mesos.Sandbox](t)(s.c.Sandbox(ctx(t), a, tk.ID))
		last := tailOf(t, s, a, sb.Directory+"/stderr", 1)
		if len(last) != 1 || !strings.Contains(last[0], "FATAL ingestor: exiting with status 1") {
			t.Errorf("the crashed task's last stderr line: %q", last)
		}
	}
}

// TestSimStatistics: each running task's executor reports its usage
// against its limits (the task's resources and the executor's overhead),
// and the figures move with the clock.
func TestSimStatistics(t *testing.T) {
	s := newSimMesos(t, marathonsim.MesosOptions{}, mesos.Config{})
	s.createApp(t, webApp)
	tk := s.sim.Tasks("/web/dev")[0]
	a := s.agentOf(t, tk)
	find := func() mesos.Statistics {
		t.Helper()
		usage := must[[]mesos.Usage](t)(s.c.Statistics(ctx(t), a))
		for _, u := range usage {
			if u.ExecutorID == tk.ID && u.Statistics != nil {
				return *u.Statistics
			}
		}
		t.Fatalf("no statistics of %s in %+v", tk.ID, usage)
		return mesos.Statistics{}
	}
	before := find()
	if !approx(before.CPUsLimit, 0.2) || before.MemLimitBytes != 96<<20 || before.MemBytes() <= 0 || before.MemBytes() >= before.MemLimitBytes ||
		before.CPUSeconds() <= 0 || !before.Timestamp.Equal(s.sim.Now()) {
		t.Errorf("statistics %+v (now %s)", before, s.sim.Now())
	}
	s.clk.Advance(time.Minute)
	after := find()
	rate := (after.CPUSeconds() - before.CPUSeconds()) / after.Timestamp.Sub(before.Timestamp).Seconds()
	if after.Timestamp.Sub(before.Timestamp) != time.Minute || rate <= 0 || rate > 0.1 || after.MemBytes() == before.MemBytes() {
		t.Errorf("a minute later: %+v (cpu rate %.3f)", after, rate)
	}
}
