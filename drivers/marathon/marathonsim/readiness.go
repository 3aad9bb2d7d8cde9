package marathonsim

import (
	"time"
)

// Readiness checks are simulated like health checks: a running task's
// check first runs one interval after it started and then every interval
// until it passes; it passes unless the image never gets ready
// (Faults.NeverReadyImage). A task with a readiness check counts for a
// deployment only once it is ready, as Marathon's ReadinessBehavior has it.

func readinessInterval(rc readinessCheck) time.Duration {
	return max(time.Duration(rc.IntervalSeconds)*time.Second, time.Second)
}

// startReadinessCheck schedules the first readiness check of a task that
// just started running.
func (s *Sim) startReadinessCheck(t *task) {
	if len(t.def.ReadinessChecks) == 0 {
		return
	}
	interval := readinessInterval(t.def.ReadinessChecks[0])
	t.timers = append(t.timers, s.after(interval, func() { s.runReadiness(t) }))
}

// runReadiness runs the readiness check of t at the current instant.
func (s *Sim) runReadiness(t *task) {
	if t.state != taskRunning || t.ready {
		return
	}
	t.readyRan = true
	if s.faults.neverReady(t.def.image()) {
		interval := readinessInterval(t.def.ReadinessChecks[0])
		t.timers = append(t.timers, s.after(interval, func() { s.runReadiness(t) }))
		s.markChanged()
		return
	}
	t.ready = true
	s.appChanged(t.app)
}

// writeReadinessResults writes the readiness check results of the tasks
// of a that run its current configuration: {name, taskId, ready,
// lastResponse}.
func writeReadinessResults(w *jsonBuf, a *app) {
	w.arrOpen()
	if a != nil && len(a.def.ReadinessChecks) > 0 {
		name := a.def.ReadinessChecks[0].Name
		for _, t := range a.tasks {
			if t.state != taskRunning || !t.configVersion.Equal(a.lastConfigChangeAt) || !t.readyRan && !t.ready {
				continue
			}
			w.objOpen()
			w.key("name")
			w.str(name)
			w.key("taskId")
			w.str(t.id)
			w.key("ready")
			w.bool(t.ready)
			w.key("lastResponse")
			w.null()
			w.objClose()
		}
	}
	w.arrClose()
}
