package mesos

import (
	"net"
	"strconv"
	"strings"
	"time"
)

// Resources are a Mesos resource map: the scalars theseus reads by name,
// the port ranges, and every other resource as Mesos prints it.
type Resources struct {
	// CPUs are fractional CPUs; Mem and Disk megabytes (MiB); GPUs a count.
	CPUs float64 `json:"cpus"`
	Mem  float64 `json:"mem"`
	Disk float64 `json:"disk"`
	GPUs float64 `json:"gpus"`
	// Ports are the "ports" ranges.
	Ports []PortRange `json:"ports,omitempty"`
	// Others holds every other resource in Mesos's text: a number for a
	// scalar, "[a-b, ...]" for ranges, "{a,b}" for a set; revocable
	// resources carry a "_revocable" suffix.
	Others map[string]string `json:"others,omitempty"`
}

// PortRange is an inclusive range of ports.
type PortRange struct {
	Begin int `json:"begin"`
	End   int `json:"end"`
}

// PortCount is how many ports the ranges hold.
func (r Resources) PortCount() int {
	n := 0
	for _, p := range r.Ports {
		n += p.End - p.Begin + 1
	}
	return n
}

// Agent is one agent as the master reports it (/master/slaves).
type Agent struct {
	ID       string `json:"id"`
	Hostname string `json:"hostname"`
	// PID is the agent's libprocess pid, "slave(1)@10.0.1.7:5051"; Addr
	// the host:port of its HTTP API taken from it.
	PID  string `json:"pid"`
	Addr string `json:"addr,omitempty"`
	// Attributes are the agent's attributes, numbers and ranges in
	// Mesos's text.
	Attributes map[string]string `json:"attributes"`
	// Resources are the agent's total; Used what tasks and executors are
	// allocated; Offered what is in outstanding offers; Unreserved what no
	// role holds; Reserved what each role holds.
	Resources  Resources            `json:"resources"`
	Used       Resources            `json:"used"`
	Offered    Resources            `json:"offered"`
	Unreserved Resources            `json:"unreserved"`
	Reserved   map[string]Resources `json:"reserved,omitempty"`
	// Active is false for a deactivated (or draining) agent.
	Active       bool      `json:"active"`
	Version      string    `json:"version,omitempty"`
	RegisteredAt time.Time `json:"registeredAt,omitzero"`
	// Region and Zone are the agent's fault domain (Mesos 1.5+).
	Region string `json:"region,omitempty"`
	Zone   string `json:"zone,omitempty"`
}

// addrOfPID returns host:port of a libprocess pid "name@host:port".
func addrOfPID(pid string) string {
	_, hostport, ok := strings.Cut(pid, "@")
	if !ok {
		return ""
	}
	if _, port, err := net.SplitHostPort(hostport); err != nil || port == "" {
		return ""
	}
	return hostport
}

// Task is one task as the master or an agent reports it.
type Task struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// FrameworkID and Framework (its name, when the master said) own the
	// task; ExecutorID is "" for a command task, whose executor has the
	// task's id.
	FrameworkID string `json:"frameworkId"`
	Framework   string `json:"framework,omitempty"`
	ExecutorID  string `json:"executorId,omitempty"`
	AgentID     string `json:"agentId"`
	// State is TASK_STAGING, TASK_RUNNING, TASK_FAILED, ...
	State     string            `json:"state"`
	Resources Resources         `json:"resources"`
	Labels    map[string]string `json:"labels,omitempty"`
	// Statuses are the task's status updates, oldest first.
	Statuses []TaskStatus `json:"statuses,omitempty"`
}

// TaskStatus is one status update of a task.
type TaskStatus struct {
	State     string    `json:"state"`
	Timestamp time.Time `json:"timestamp,omitzero"`
	// Healthy is the result of the task's Mesos health check, when it
	// has one.
	Healthy     *bool  `json:"healthy,omitempty"`
	ContainerID string `json:"containerId,omitempty"`
	// IPs are the container's addresses.
	IPs []string `json:"ips,omitempty"`
}

// Executor returns the id of the executor running the task: the task's
// own id for a command task.
func (t Task) Executor() string {
	if t.ExecutorID != "" {
		return t.ExecutorID
	}
	return t.ID
}

// Terminal reports whether the task has ended.
func (t Task) Terminal() bool { return TerminalState(t.State) }

// TerminalState reports whether a task state is final.
func TerminalState(s string) bool {
	switch s {
	case "TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_LOST", "TASK_ERROR",
		"TASK_DROPPED", "TASK_GONE", "TASK_GONE_BY_OPERATOR":
		return true
	}
	return false
}

// StartedAt is when the task first reported TASK_RUNNING, or zero.
func (t Task) StartedAt() time.Time {
	for _, s := range t.Statuses {
		if s.State == "TASK_RUNNING" {
			return s.Timestamp
		}
	}
	return time.Time{}
}

// Executor is one executor on an agent (an agent's /state), with its
// sandbox.
type Executor struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Source      string `json:"source,omitempty"`
	FrameworkID string `json:"frameworkId"`
	// ContainerID is the executor's container; Directory its sandbox on
	// the agent, what /files/read takes.
	ContainerID string    `json:"containerId,omitempty"`
	Directory   string    `json:"directory,omitempty"`
	Resources   Resources `json:"resources"`
	// Tasks are its tasks, launched, queued and completed.
	Tasks []Task `json:"tasks,omitempty"`
	// Completed is set for an executor that has ended; its sandbox stays
	// until the agent collects it.
	Completed bool `json:"completed,omitempty"`
}

// Runs reports whether the executor runs, or ran, the task.
func (e Executor) Runs(taskID string) bool {
	if e.ID == taskID {
		return true
	}
	for _, t := range e.Tasks {
		if t.ID == taskID {
			return true
		}
	}
	return false
}

// AgentState is what an agent says of itself (/slave(1)/state).
type AgentState struct {
	ID       string `json:"id"`
	Hostname string `json:"hostname"`
	PID      string `json:"pid"`
	Version  string `json:"version,omitempty"`
	// Executors are the executors of every framework, running and
	// completed.
	Executors []Executor `json:"executors"`
}

// Sandbox is where a task's files are: the agent and the directory of
// its executor's run.
type Sandbox struct {
	Agent     Agent
	Executor  Executor
	Directory string
}

// Usage is one executor's resource usage (/monitor/statistics).
type Usage struct {
	ExecutorID   string `json:"executorId"`
	ExecutorName string `json:"executorName,omitempty"`
	FrameworkID  string `json:"frameworkId"`
	Source       string `json:"source,omitempty"`
	// Statistics is nil when the agent had no figures for the executor.
	Statistics *Statistics `json:"statistics,omitempty"`
}

// Statistics are an executor container's figures, as far as the agent's
// isolators measure them (a zero means "not reported").
type Statistics struct {
	// Timestamp is when they were sampled (by the agent; when it gave
	// no time, when its answer came).
	Timestamp time.Time `json:"timestamp,omitzero"`
	// CPU time in seconds since the container started; CPUsLimit the
	// container's CPUs (the executor's overhead included).
	CPUsUserTimeSecs      float64 `json:"cpusUserTimeSecs"`
	CPUsSystemTimeSecs    float64 `json:"cpusSystemTimeSecs"`
	CPUsLimit             float64 `json:"cpusLimit"`
	CPUsThrottledTimeSecs float64 `json:"cpusThrottledTimeSecs,omitempty"`
	// Memory in bytes (resources count MiB).
	MemRSSBytes   int64 `json:"memRssBytes,omitempty"`
	MemTotalBytes int64 `json:"memTotalBytes,omitempty"`
	MemLimitBytes int64 `json:"memLimitBytes,omitempty"`
	MemCacheBytes int64 `json:"memCacheBytes,omitempty"`
	// Disk in bytes, with the disk/du isolator.
	DiskUsedBytes  int64 `json:"diskUsedBytes,omitempty"`
	DiskLimitBytes int64 `json:"diskLimitBytes,omitempty"`
	// Network counters, with network/port_mapping.
	NetRxBytes int64 `json:"netRxBytes,omitempty"`
	NetTxBytes int64 `json:"netTxBytes,omitempty"`
}

// CPUSeconds is the CPU time used, user and system.
func (s Statistics) CPUSeconds() float64 { return s.CPUsUserTimeSecs + s.CPUsSystemTimeSecs }

// MemBytes is the memory used: the total (cgroups v2 and newer agents
// report it), else the resident set.
func (s Statistics) MemBytes() int64 {
	if s.MemTotalBytes > 0 {
		return s.MemTotalBytes
	}
	return s.MemRSSBytes
}

// Chunk is a piece of a file read from a sandbox.
type Chunk struct {
	// Data are the bytes read, from Offset on, as they are in the file
	// (they may end inside a UTF-8 character). An empty Data at Offset
	// means the file ends there (for now).
	Data   []byte
	Offset int64
}

// formatNumber prints a Mesos scalar the way Mesos does: "4", "0.5".
func formatNumber(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
