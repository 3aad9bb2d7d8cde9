package marathonsim

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// ErrNotFound is returned (wrapped) by methods given an unknown app, task
// or agent.
var ErrNotFound = errors.New("marathonsim: not found")

// AppState is a snapshot of one app.
type AppState struct {
	ID string
	// Version is the app's version; LastScalingAt and LastConfigChangeAt
	// its versionInfo.
	Version, LastScalingAt, LastConfigChangeAt time.Time
	Instances                                  int
	Image                                      string // docker image, or ""
	Cmd                                        string
	CPUs, Mem                                  float64
	Labels                                     map[string]string
	Constraints                                [][]string
	HealthChecks                               int
	MinimumHealthCapacity, MaximumOverCapacity float64
	ServicePorts                               []int
	// Task counters, as the AppInfo reports them.
	TasksStaged, TasksRunning, TasksHealthy, TasksUnhealthy int
	// Queued counts instances waiting for an agent (resources, ports,
	// constraints or launch backoff).
	Queued int
	// Deployment is the id of the deployment holding the app, or "".
	Deployment string
}

// TaskState is a snapshot of one task.
type TaskState struct {
	ID, InstanceID, AppID string
	// State is the Mesos state: TASK_STAGING, TASK_STARTING, TASK_RUNNING
	// or TASK_KILLING. Terminal tasks are gone.
	State                     string
	Host, AgentID, IP         string
	Ports, ServicePorts       []int
	StagedAt, StartedAt       time.Time
	Version, ConfigVersion    time.Time
	CurrentConfig             bool // launched with the app's current configuration
	HasHealthResults, Healthy bool // Marathon's rule: results exist and all are alive
	Unhealthy                 bool // some result is not alive
	HealthyForDeployment      bool // running, and healthy if the app has health checks
	ConsecutiveHealthFailures int
	LastHealthFailureCause    string
}

// DeploymentState is a snapshot of one deployment in progress.
type DeploymentState struct {
	ID           string
	Version      time.Time
	AffectedApps []string
	Steps        [][]DeploymentAction
	CurrentStep  int // 1-based, as GET /v2/deployments reports it
	TotalSteps   int
}

// DeploymentAction is one action of a deployment step.
type DeploymentAction struct {
	Action string // StartApplication, ScaleApplication, RestartApplication, StopApplication
	App    string
}

// AgentState is a snapshot of one agent's allocation.
type AgentState struct {
	Agent
	UsedCPUs, UsedMem, UsedDisk float64
	FreePorts                   int
	Tasks                       int
}

func (s *Sim) appState(a *app) AppState {
	d := a.def
	c := appCounts(a)
	st := AppState{
		ID: a.id, Version: a.version, LastScalingAt: a.lastScalingAt, LastConfigChangeAt: a.lastConfigChangeAt,
		Instances: d.Instances, Image: d.image(), CPUs: d.CPUs, Mem: d.Mem,
		Labels: maps.Clone(d.Labels), HealthChecks: len(d.HealthChecks),
		MinimumHealthCapacity: d.UpgradeStrategy.MinimumHealthCapacity,
		MaximumOverCapacity:   d.UpgradeStrategy.MaximumOverCapacity,
		ServicePorts:          d.servicePorts(),
		TasksStaged:           c.staged, TasksRunning: c.running, TasksHealthy: c.healthy, TasksUnhealthy: c.unhealthy,
		Queued: a.queue,
	}
	if d.Cmd != nil {
		st.Cmd = *d.Cmd
	}
	for _, con := range d.Constraints {
		st.Constraints = append(st.Constraints, slices.Clone(con))
	}
	if dep := s.locks[a.id]; dep != nil {
		st.Deployment = dep.id
	}
	return st
}

// Apps returns every app, sorted by id.
func (s *Sim) Apps() []AppState {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]AppState, 0, len(s.appOrder))
	for _, id := range s.appOrder {
		out = append(out, s.appState(s.apps[id]))
	}
	return out
}

// App returns one app.
func (s *Sim) App(id string) (AppState, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.apps[absoluteID(id, "/")]
	if a == nil {
		return AppState{}, false
	}
	return s.appState(a), true
}

func (s *Sim) taskState(t *task) TaskState {
	st := TaskState{
		ID: t.id, InstanceID: t.instanceID, AppID: t.app.id, State: t.state.String(),
		Host: t.agent.Hostname, AgentID: t.agent.ID, IP: t.ip,
		Ports: slices.Clone(t.hostPorts), ServicePorts: slices.Clone(t.servicePorts),
		StagedAt: t.stagedAt, StartedAt: t.startedAt, Version: t.version, ConfigVersion: t.configVersion,
		CurrentConfig:    t.configVersion.Equal(t.app.lastConfigChangeAt),
		HasHealthResults: t.hasResults(), Healthy: t.healthy(), Unhealthy: t.unhealthy(),
		HealthyForDeployment: t.ok(),
	}
	for _, h := range t.health {
		st.ConsecutiveHealthFailures = max(st.ConsecutiveHealthFailures, h.consecutiveFailures)
		if h.lastFailureCause != "" && !h.alive {
			st.LastHealthFailureCause = h.lastFailureCause
		}
	}
	return st
}

// Tasks returns the active tasks of an app ("" for every app, including
// tasks of deleted apps still being killed), in launch order per app.
func (s *Sim) Tasks(appID string) []TaskState {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []TaskState
	if appID != "" {
		if a := s.apps[absoluteID(appID, "/")]; a != nil {
			for _, t := range a.tasks {
				out = append(out, s.taskState(t))
			}
		}
		return out
	}
	for _, t := range s.tasks {
		out = append(out, s.taskState(t))
	}
	slices.SortFunc(out, func(x, y TaskState) int {
		if c := x.StagedAt.Compare(y.StagedAt); c != 0 {
			return c
		}
		if x.AppID != y.AppID {
			if x.AppID < y.AppID {
				return -1
			}
			return 1
		}
		if x.ID < y.ID {
			return -1
		}
		return 1
	})
	return out
}

// Task returns one task.
func (s *Sim) Task(id string) (TaskState, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.tasks[id]
	if t == nil {
		return TaskState{}, false
	}
	return s.taskState(t), true
}

// Deployments returns the deployments in progress, oldest first.
func (s *Sim) Deployments() []DeploymentState {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]DeploymentState, 0, len(s.depOrder))
	for _, d := range s.depOrder {
		ds := DeploymentState{
			ID: d.id, Version: d.version, AffectedApps: slices.Clone(d.affected),
			CurrentStep: d.current + 1, TotalSteps: len(d.steps),
		}
		for _, step := range d.steps {
			var acts []DeploymentAction
			for _, a := range step {
				acts = append(acts, DeploymentAction{Action: a.kind.String(), App: a.appID})
			}
			ds.Steps = append(ds.Steps, acts)
		}
		out = append(out, ds)
	}
	return out
}

// Agents returns the agents and what is allocated on them.
func (s *Sim) Agents() []AgentState {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]AgentState, len(s.agents))
	for i, a := range s.agents {
		out[i] = AgentState{
			Agent: a.Agent, UsedCPUs: a.usedCPUs, UsedMem: a.usedMem, UsedDisk: a.usedDisk,
			FreePorts: a.freePorts, Tasks: a.tasks,
		}
	}
	return out
}

// AddAgent adds an agent; queued instances that fit on it are placed.
func (s *Sim) AddAgent(a Agent) error {
	if a.Hostname == "" {
		return fmt.Errorf("marathonsim: add agent: %w", errors.New("hostname is required"))
	}
	s.lock()
	defer s.unlock()
	return s.addAgentLocked(a)
}

func (s *Sim) findTask(id string) (*task, error) {
	t := s.tasks[id]
	if t == nil {
		return nil, fmt.Errorf("task %q: %w", id, ErrNotFound)
	}
	return t, nil
}

// KillTask ends a task at once with TASK_KILLED, as if killed outside
// Marathon (an operator on the agent). Marathon replaces it.
func (s *Sim) KillTask(id string) error {
	s.lock()
	defer s.unlock()
	t, err := s.findTask(id)
	if err != nil {
		return err
	}
	s.taskEnded(t, "TASK_KILLED", "Killed by the operator", false)
	return nil
}

// FailTask ends a task at once with TASK_FAILED and message: it becomes
// the app's lastTaskFailure, the launch backoff grows, and Marathon
// replaces the task.
func (s *Sim) FailTask(id, message string) error {
	s.lock()
	defer s.unlock()
	t, err := s.findTask(id)
	if err != nil {
		return err
	}
	s.taskEnded(t, "TASK_FAILED", message, true)
	return nil
}

// SetTaskHealth makes a task's health checks pass (true) or fail (false)
// from their next run on. A task failing maxConsecutiveFailures checks in
// a row is killed and replaced.
func (s *Sim) SetTaskHealth(id string, healthy bool) error {
	s.lock()
	defer s.unlock()
	t, err := s.findTask(id)
	if err != nil {
		return err
	}
	s.setTaskHealth(t, healthy)
	return nil
}

// WaitFor blocks until cond returns true, re-evaluating it after every
// change of the simulated state, or until ctx ends. Use it with a
// ScaledClock; with a ManualClock use RunUntil, since nothing changes
// unless the test advances the clock.
func (s *Sim) WaitFor(ctx context.Context, cond func() bool) error {
	for {
		ch := s.Changed()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("marathonsim: wait: %w", ctx.Err())
		case <-s.closed:
			return ErrClosed
		}
	}
}

// ErrNotManual is returned by RunUntil on a simulator whose clock is not a
// ManualClock.
var ErrNotManual = errors.New("marathonsim: the simulator's clock is not a ManualClock")

// ErrLimit is returned by RunUntil when the condition did not become true
// within the limit.
var ErrLimit = errors.New("marathonsim: condition not met within the limit")

// RunUntil advances the simulator's ManualClock by step until cond returns
// true, at most limit of simulated time. It returns nil as soon as cond
// holds (checked before each step).
func (s *Sim) RunUntil(cond func() bool, step, limit time.Duration) error {
	clk, ok := s.clock.(*ManualClock)
	if !ok {
		return ErrNotManual
	}
	if step <= 0 {
		step = time.Second
	}
	for elapsed := time.Duration(0); ; elapsed += step {
		if cond() {
			return nil
		}
		if elapsed >= limit {
			return fmt.Errorf("after %v: %w", limit, ErrLimit)
		}
		clk.Advance(step)
	}
}
