package marathonsim

import (
	"time"
)

// app is a Marathon app: its current definition, the versions Marathon
// reports for it, its tasks and its launch queue.
type app struct {
	id                 string
	def                *appDef
	version            time.Time
	lastScalingAt      time.Time
	lastConfigChangeAt time.Time

	// defJSON caches the definition part of the app's JSON (no braces)
	// for the simulator's generation; rebuilt whenever def or the
	// versions change.
	defJSON []byte

	tasks []*task // active (non-terminal) tasks, in launch order

	// Launch queue: instances waiting for an agent. Placement takes them
	// in order once delayUntil (launch backoff) has passed.
	queue      int
	delayUntil time.Time
	failures   int // consecutive failures, for the backoff delay
	delayTimer *timer
	pending    bool // listed in Sim.pending

	lastFailure *taskFailure
	history     []appVersion // newest last, at most maxVersions
	removed     bool         // deleted; tasks may still be dying

	// reservations hold the resources and persistent volumes of a
	// resident app's instances on their agents, in use or not.
	reservations []*reservation

	// checkVersions are the app versions whose health checks Marathon's
	// health check manager runs, with how many checks each has: added
	// as a deployment step takes the version up, removed when the app
	// is stopped.
	checkVersions []checkVersion
}

// checkVersion is one app version whose health checks are active.
type checkVersion struct {
	version time.Time
	checks  int
}

// reservation is what a resident instance holds on its agent: its
// resources and persistent volumes, kept while no task runs on it, so
// that the next task of the instance finds its data there.
type reservation struct {
	agent *agent
	uuid  string
	task  *task // the task on it, nil while none runs
	// cpus, mem, disk and gpus reserved (disk with the persistent
	// volumes).
	cpus, mem, disk, gpus float64
}

// appVersion is one stored version of an app, for /versions and rollback.
type appVersion struct {
	def                              *appDef
	version, lastScaling, lastConfig time.Time
}

// maxVersions is how many versions of an app are kept (zk_max_versions).
const maxVersions = 50

type taskFailure struct {
	appID, host, message, state, taskID, slaveID string
	timestamp, version                           time.Time
}

// Task states.
type taskState int

const (
	taskStaging taskState = iota
	taskStarting
	taskRunning
	taskKilling
)

func (s taskState) String() string {
	switch s {
	case taskStaging:
		return "TASK_STAGING"
	case taskStarting:
		return "TASK_STARTING"
	case taskRunning:
		return "TASK_RUNNING"
	case taskKilling:
		return "TASK_KILLING"
	}
	return "TASK_UNKNOWN"
}

// task is one Mesos task (one instance of an app: the simulator does not
// model pods or resident tasks, so instance and task are one).
type task struct {
	id         string
	instanceID string
	app        *app
	def        *appDef // the definition the task was launched with
	agent      *agent

	state     taskState
	stagedAt  time.Time
	startedAt time.Time
	// version is the app version the task was launched with;
	// configVersion the app's lastConfigChangeAt then. A task runs the
	// current configuration when configVersion equals the app's
	// lastConfigChangeAt.
	version       time.Time
	configVersion time.Time

	hostPorts    []int
	servicePorts []int
	ip           string

	health []healthState // one per health check of def, once it has run

	// failHealth makes health checks fail (Sim.SetTaskHealth, or a
	// never-healthy image).
	failHealth bool
	timers     []*timer
	// doomed is set when the deployment picked the task to be killed for
	// scaling down; unexpected exits of doomed tasks are not replaced.
	doomed bool

	// ready: the readiness check of def (if any) passed; readyRan: it has
	// been run at least once.
	ready, readyRan bool
	// res is the reservation of a resident task.
	res *reservation
}

// healthState is the result of one health check for one task.
type healthState struct {
	ran                 bool
	alive               bool
	consecutiveFailures int
	firstSuccess        time.Time
	lastSuccess         time.Time // when steady, the first success of the streak
	lastFailure         time.Time
	lastFailureCause    string
	// steady: the check keeps passing every interval from lastSuccess on;
	// the latest success is computed when read instead of scheduled.
	steady   bool
	interval time.Duration
}

// latestSuccess returns the time of the last passed check at now.
func (h *healthState) latestSuccess(now time.Time) time.Time {
	if !h.steady || h.interval <= 0 || now.Before(h.lastSuccess) {
		return h.lastSuccess
	}
	n := now.Sub(h.lastSuccess) / h.interval
	return h.lastSuccess.Add(n * h.interval)
}

// hasResults reports whether any check has produced a result.
func (t *task) hasResults() bool {
	for i := range t.health {
		if t.health[i].ran {
			return true
		}
	}
	return false
}

// healthy is Marathon's TaskForStatistics rule: results exist and all are
// alive.
func (t *task) healthy() bool {
	any := false
	for i := range t.health {
		if !t.health[i].ran {
			continue
		}
		any = true
		if !t.health[i].alive {
			return false
		}
	}
	return any
}

// unhealthy: some result is not alive.
func (t *task) unhealthy() bool {
	for i := range t.health {
		if t.health[i].ran && !t.health[i].alive {
			return true
		}
	}
	return false
}

// goalRunning: the task is meant to keep running (not being killed).
func (t *task) goalRunning() bool { return t.state != taskKilling }

// ok is what a deployment waits for: running, healthy when the app it
// was launched with has health checks, and ready when it has a readiness
// check.
func (t *task) ok() bool {
	if t.state != taskRunning {
		return false
	}
	if len(t.def.ReadinessChecks) > 0 && !t.ready {
		return false
	}
	if len(t.def.HealthChecks) > 0 {
		return t.healthy()
	}
	return true
}

// agent is a simulated Mesos agent and what is allocated on it.
type agent struct {
	Agent
	usedCPUs, usedMem, usedDisk, usedGPUs float64
	usedPorts                             map[int]bool
	freePorts                             int
	portCursor                            int
	tasks                                 int
	index                                 int
}

func (a *agent) fits(d *appDef) bool {
	const eps = 1e-9
	return a.usedCPUs+d.CPUs <= a.CPUs+eps &&
		a.usedMem+d.Mem <= a.Mem+eps &&
		a.usedDisk+d.Disk <= a.Disk+eps &&
		a.usedGPUs+d.GPUs <= a.GPUs+eps
}
