package marathonsim

import (
	"time"
)

// Health checks are simulated, not performed: a check passes unless the
// task was told to fail (SetTaskHealth, a never-healthy image). Checks run
// by Marathon (HTTP, HTTPS, TCP) first run one interval after the task
// started; checks run by the agent (COMMAND, MESOS_*) after delaySeconds.
// Then every intervalSeconds. A passing check that keeps passing needs no
// timer: the time of its latest success is computed when it is read.

func checkInterval(hc healthCheck) time.Duration {
	return max(time.Duration(hc.IntervalSeconds)*time.Second, time.Second)
}

func firstCheckDelay(hc healthCheck) time.Duration {
	switch hc.Protocol {
	case "COMMAND", "MESOS_HTTP", "MESOS_HTTPS", "MESOS_TCP":
		return max(time.Duration(hc.DelaySeconds)*time.Second, time.Second)
	}
	return checkInterval(hc)
}

// failureCause is the lastFailureCause of a failed check.
func failureCause(hc healthCheck) string {
	switch hc.Protocol {
	case "TCP", "MESOS_TCP":
		return "Connection refused"
	case "COMMAND":
		return "Command exited with status 1"
	}
	return "500 Internal Server Error"
}

func (s *Sim) startHealthChecks(t *task) {
	hcs := t.def.HealthChecks
	if len(hcs) == 0 {
		return
	}
	t.health = make([]healthState, len(hcs))
	for i, hc := range hcs {
		s.scheduleCheck(t, i, s.now.Add(firstCheckDelay(hc)))
	}
}

func (s *Sim) scheduleCheck(t *task, i int, at time.Time) {
	t.timers = append(t.timers, s.at(at, func() { s.runCheck(t, i) }))
}

// runCheck performs check i of t at the current instant.
func (s *Sim) runCheck(t *task, i int) {
	if t.state != taskRunning {
		return
	}
	hc := t.def.HealthChecks[i]
	h := &t.health[i]
	interval := checkInterval(hc)
	wasHealthy, hadResults := t.healthy(), t.hasResults()
	if !t.failHealth {
		if !h.ran || !h.alive {
			h.ran, h.alive, h.consecutiveFailures = true, true, 0
			if h.firstSuccess.IsZero() {
				h.firstSuccess = s.now
			}
			h.lastSuccess, h.steady, h.interval = s.now, true, interval
			s.publishHealth(t, true)
		}
	} else {
		grace := time.Duration(hc.GracePeriodSeconds) * time.Second
		if h.firstSuccess.IsZero() && s.now.Before(t.startedAt.Add(grace)) {
			// Failures within the grace period of a task that has never
			// been healthy are ignored.
			s.scheduleCheck(t, i, s.now.Add(interval))
			return
		}
		if h.steady {
			h.lastSuccess = h.latestSuccess(s.now)
			h.steady = false
		}
		wasAlive := h.ran && h.alive
		h.ran, h.alive = true, false
		h.consecutiveFailures++
		h.lastFailure = s.now
		h.lastFailureCause = failureCause(hc)
		s.publishFailedCheck(t, hc)
		if wasAlive {
			s.publishHealth(t, false)
		}
		if hc.MaxConsecutiveFailures > 0 && h.consecutiveFailures >= hc.MaxConsecutiveFailures {
			s.publishInstanceHealthIfChanged(t, wasHealthy, hadResults)
			s.killUnhealthy(t, h.lastFailureCause)
			return
		}
		s.scheduleCheck(t, i, s.now.Add(interval))
	}
	s.publishInstanceHealthIfChanged(t, wasHealthy, hadResults)
	s.appChanged(t.app)
}

func (s *Sim) publishInstanceHealthIfChanged(t *task, wasHealthy, hadResults bool) {
	if t.healthy() != wasHealthy || t.hasResults() != hadResults {
		s.publishInstanceHealth(t)
		s.markChanged()
	}
}

// killUnhealthy kills a task whose check failed maxConsecutiveFailures
// times in a row; Marathon then launches a replacement with backoff.
func (s *Sim) killUnhealthy(t *task, reason string) {
	s.publishUnhealthyKill(t, reason)
	a := t.app
	a.lastFailure = &taskFailure{
		appID: a.id, host: t.agent.Hostname, state: "TASK_KILLED", taskID: t.id, slaveID: t.agent.ID,
		message:   "Task was killed since health check failed. Reason: " + reason,
		timestamp: s.now, version: t.version,
	}
	a.failures++
	a.delayUntil = s.now.Add(backoffDelay(a.def, a.failures))
	s.killTask(t)
}

// setTaskHealth makes the checks of t pass (healthy) or fail from the next
// check on.
func (s *Sim) setTaskHealth(t *task, healthy bool) {
	if t.failHealth == !healthy {
		return
	}
	t.failHealth = !healthy
	if healthy || t.state != taskRunning {
		return
	}
	// Passing checks were not scheduled (steady state); schedule the next
	// run of each so that failures start being seen.
	for i, hc := range t.def.HealthChecks {
		h := &t.health[i]
		if !h.steady {
			continue
		}
		interval := checkInterval(hc)
		next := h.latestSuccess(s.now).Add(interval)
		s.scheduleCheck(t, i, next)
	}
}

// activateHealthChecks is Marathon's healthCheckManager.addAllFor, which
// each deployment step runs for the app of each of its actions before
// anything is launched: the checks of the app's current version start,
// each announced by add_health_check_event, unless that version's checks
// already run (a scale-only change is a new version too).
func (s *Sim) activateHealthChecks(a *app) {
	hcs := a.def.HealthChecks
	if len(hcs) == 0 {
		return
	}
	for _, cv := range a.checkVersions {
		if cv.version.Equal(a.version) {
			return
		}
	}
	a.checkVersions = append(a.checkVersions, checkVersion{version: a.version, checks: len(hcs)})
	for _, hc := range hcs {
		s.publishAddHealthCheck(a, hc)
	}
}

// deactivateHealthChecks is removeAllFor, run as the app is stopped: the
// checks of every version still active go, one remove_health_check_event
// each. Marathon drops the checks of versions no task runs only when it
// reconciles health checks after winning leadership, so until the app
// is stopped they stay.
func (s *Sim) deactivateHealthChecks(a *app) {
	for _, cv := range a.checkVersions {
		for range cv.checks {
			s.publishRemoveHealthCheck(a.id)
		}
	}
	a.checkVersions = nil
}
