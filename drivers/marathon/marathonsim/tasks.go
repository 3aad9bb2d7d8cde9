package marathonsim

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// launchTask places one instance of a on ag: it allocates resources and
// ports, and starts the life cycle STAGING → STARTING → RUNNING. res is
// the free reservation of a resident instance the task takes, or nil; a
// resident app's task without one reserves anew on ag.
func (s *Sim) launchTask(a *app, ag *agent, res *reservation) *task {
	d := a.def
	uuid := s.uuid()
	prefix := taskIDPrefix(a.id)
	t := &task{
		app:           a,
		def:           d,
		agent:         ag,
		state:         taskStaging,
		stagedAt:      s.now,
		version:       a.version,
		configVersion: a.lastConfigChangeAt,
		servicePorts:  d.servicePorts(),
	}
	if s.gen == Gen14 {
		t.id = prefix + "." + uuid
		t.instanceID = t.id
	} else {
		t.instanceID = prefix + ".instance-" + uuid
		t.id = t.instanceID + "._app.1"
	}
	t.hostPorts = ag.allocPorts(hostPortNeeds(d))
	switch {
	case res != nil:
		// The reservation holds the resources already.
	case d.Residency != nil:
		res = &reservation{agent: ag, uuid: s.uuid(), cpus: d.CPUs, mem: d.Mem, disk: d.Disk + d.persistentSize(), gpus: d.GPUs}
		ag.reserve(res.cpus, res.mem, res.disk, res.gpus)
		a.reservations = append(a.reservations, res)
	default:
		ag.reserve(d.CPUs, d.Mem, d.Disk, d.GPUs)
	}
	if res != nil {
		res.task, t.res = t, res
	}
	for _, name := range d.externalNames() {
		s.externalInUse[name] = t
	}
	ag.tasks++
	switch d.networkMode() {
	case modeHost:
		t.ip = ag.IP
	case modeBridge:
		s.ipSeq++
		t.ip = fmt.Sprintf("172.17.%d.%d", s.ipSeq/250%250, s.ipSeq%250+2)
	default:
		s.ipSeq++
		t.ip = fmt.Sprintf("9.0.%d.%d", s.ipSeq/250%250, s.ipSeq%250+2)
	}
	t.failHealth = s.faults.neverHealthy(d.image())
	a.tasks = append(a.tasks, t)
	s.tasks[t.id] = t
	s.appChanged(a)
	s.publishStatus(t, t.state.String(), "")
	// The fetcher downloads the app's URIs while the task stages.
	staging := s.opts.Timings.Staging + time.Duration(len(d.Fetch))*s.opts.Timings.Fetch
	if uri, fails := s.faults.fetchFails(d.Fetch); fails {
		t.timers = append(t.timers, s.after(staging, func() {
			s.taskEnded(t, "TASK_FAILED", fmt.Sprintf("Failed to launch container: Failed to fetch all URIs for container '%s': "+
				"Failed to fetch '%s'", t.instanceID, uri), true)
		}))
		return t
	}
	t.timers = append(t.timers, s.after(staging, func() { s.setTaskState(t, taskStarting) }))
	return t
}

// reserve and release account for the resources a task or reservation
// takes on an agent.
func (a *agent) reserve(cpus, mem, disk, gpus float64) {
	a.usedCPUs += cpus
	a.usedMem += mem
	a.usedDisk += disk
	a.usedGPUs += gpus
}

func (a *agent) release(cpus, mem, disk, gpus float64) { a.reserve(-cpus, -mem, -disk, -gpus) }

// releaseReservations gives back the reservations of a deleted app that
// no task holds any more.
func (s *Sim) releaseReservations(a *app) {
	keep := a.reservations[:0]
	for _, r := range a.reservations {
		if r.task != nil {
			keep = append(keep, r)
			continue
		}
		r.agent.release(r.cpus, r.mem, r.disk, r.gpus)
		s.offerDirty = true
	}
	a.reservations = keep
}

// setTaskState moves a task forward in its life cycle.
func (s *Sim) setTaskState(t *task, st taskState) {
	if t.state == taskKilling || t.state >= st {
		return
	}
	t.state = st
	s.publishStatus(t, st.String(), "")
	switch st {
	case taskStarting:
		t.timers = append(t.timers, s.after(s.opts.Timings.Starting, func() { s.setTaskState(t, taskRunning) }))
	case taskRunning:
		t.startedAt = s.now
		s.startHealthChecks(t)
		s.startReadinessCheck(t)
		if after, message, crash := s.faults.crashes(t.def.image()); crash {
			if after <= 0 {
				after = s.opts.Timings.CrashAfter
			}
			t.timers = append(t.timers, s.after(after, func() {
				s.taskEnded(t, "TASK_FAILED", message, true)
			}))
		}
	}
	s.appChanged(t.app)
}

// killTask asks a task to stop: it goes TASK_KILLING and, after the kill
// delay, TASK_KILLED. Killing a killing task does nothing.
func (s *Sim) killTask(t *task) {
	if t.state == taskKilling {
		return
	}
	s.cancelTaskTimers(t)
	t.state = taskKilling
	s.publishStatus(t, "TASK_KILLING", "")
	// A task with a kill grace period gets SIGTERM and, when it does not
	// exit by itself, SIGKILL at the end of the period: the simulated
	// process uses all of it.
	delay := s.opts.Timings.Killing
	if g := t.def.TaskKillGracePeriod; g != nil {
		delay = time.Duration(*g * float64(time.Second))
	}
	t.timers = append(t.timers, s.after(delay, func() {
		s.taskEnded(t, "TASK_KILLED", "", false)
	}))
	s.appChanged(t.app)
}

func (s *Sim) cancelTaskTimers(t *task) {
	for _, tm := range t.timers {
		s.cancel(tm)
	}
	t.timers = t.timers[:0]
}

// taskEnded makes a task terminal: it frees the agent, drops the task
// and, for an app that no deployment is driving, queues a replacement, as
// Marathon reschedules a lost instance. failure records lastTaskFailure
// and lengthens the app's launch backoff.
func (s *Sim) taskEnded(t *task, state, message string, failure bool) {
	if _, ok := s.tasks[t.id]; !ok {
		return
	}
	s.cancelTaskTimers(t)
	delete(s.tasks, t.id)
	a := t.app
	if i := slices.Index(a.tasks, t); i >= 0 {
		a.tasks = slices.Delete(a.tasks, i, i+1)
	}
	ag := t.agent
	if t.res != nil {
		// The reservation outlives the task, for its next one.
		t.res.task = nil
		if a.removed {
			s.releaseReservations(a)
		}
	} else {
		ag.release(t.def.CPUs, t.def.Mem, t.def.Disk, t.def.GPUs)
	}
	for _, name := range t.def.externalNames() {
		if s.externalInUse[name] == t {
			delete(s.externalInUse, name)
		}
	}
	ag.tasks--
	ag.releasePorts(t.hostPorts)
	s.offerDirty = true
	s.publishStatus(t, state, message)
	if failure {
		a.lastFailure = &taskFailure{
			appID: a.id, host: ag.Hostname, message: message, state: state,
			taskID: t.id, slaveID: ag.ID, timestamp: s.now, version: t.version,
		}
		a.failures++
		a.delayUntil = s.now.Add(backoffDelay(a.def, a.failures))
	}
	s.appChanged(a)
	if a.removed {
		return
	}
	if s.locks[a.id] == nil && !t.doomed {
		s.queueLaunch(a, 1)
	}
}

// backoffDelay is Marathon's launch delay after the n-th consecutive
// failure: backoffSeconds × backoffFactor^(n-1), at most
// maxLaunchDelaySeconds.
func backoffDelay(d *appDef, n int) time.Duration {
	if n <= 0 {
		return 0
	}
	secs := d.BackoffSeconds * math.Pow(d.BackoffFactor, float64(n-1))
	secs = min(secs, d.MaxLaunchDelaySeconds)
	return time.Duration(secs * float64(time.Second))
}

// resetBackoff forgets an app's failures, as Marathon does when a new
// version is deployed.
func (s *Sim) resetBackoff(a *app) {
	a.failures = 0
	a.delayUntil = time.Time{}
	s.cancel(a.delayTimer)
	a.delayTimer = nil
	if a.queue > 0 {
		// Instances waiting for the delay to end are launched now: the
		// timer that would have said so is gone.
		s.offerDirty = true
	}
}

// counts are the task counters of an AppInfo.
type counts struct{ staged, running, healthy, unhealthy int }

func appCounts(a *app) counts {
	var c counts
	for _, t := range a.tasks {
		switch t.state {
		case taskStaging, taskStarting:
			c.staged++
		case taskRunning:
			c.running++
		}
		if t.healthy() {
			c.healthy++
		}
		if t.unhealthy() {
			c.unhealthy++
		}
	}
	return c
}
