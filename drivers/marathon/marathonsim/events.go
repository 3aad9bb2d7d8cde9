package marathonsim

import "time"

// Event types the simulator publishes on /v2/events.
const (
	EventStatusUpdate          = "status_update_event"
	EventInstanceChanged       = "instance_changed_event"
	EventInstanceHealthChanged = "instance_health_changed_event"
	EventHealthStatusChanged   = "health_status_changed_event"
	EventFailedHealthCheck     = "failed_health_check_event"
	EventUnhealthyInstanceKill = "unhealthy_instance_kill_event"
	EventAPIPost               = "api_post_event"
	EventAppTerminated         = "app_terminated_event"
	EventDeploymentInfo        = "deployment_info"
	EventDeploymentStepSuccess = "deployment_step_success"
	EventDeploymentStepFailure = "deployment_step_failure"
	EventDeploymentSuccess     = "deployment_success"
	EventDeploymentFailed      = "deployment_failed"
	EventEventStreamAttached   = "event_stream_attached"
	EventEventStreamDetached   = "event_stream_detached"
	EventAddHealthCheck        = "add_health_check_event"
	EventRemoveHealthCheck     = "remove_health_check_event"
	EventGroupChangeSuccess    = "group_change_success"
)

// emit publishes one event whose fields fill writes, adding eventType and
// timestamp. Nothing is built when no stream takes eventType.
func (s *Sim) emit(eventType string, fill func(w *jsonBuf)) {
	if !s.bus.wants(eventType) {
		return
	}
	var w jsonBuf
	w.objOpen()
	fill(&w)
	w.key("eventType")
	w.str(eventType)
	w.key("timestamp")
	w.time(s.now)
	w.objClose()
	s.bus.publish(eventType, w.b)
}

// terminalCondition maps a terminal Mesos state to Marathon's instance
// condition.
func terminalCondition(state string) string {
	switch state {
	case "TASK_KILLED":
		return "Killed"
	case "TASK_FAILED":
		return "Failed"
	case "TASK_FINISHED":
		return "Finished"
	case "TASK_LOST":
		return "Unreachable"
	case "TASK_KILLING":
		return "Killing"
	}
	return "Error"
}

// publishStatus announces a task state: status_update_event and its
// instance-level twin instance_changed_event.
func (s *Sim) publishStatus(t *task, state, message string) {
	s.markChanged()
	s.mesosStatus(t, state, message)
	if !s.bus.active() {
		return
	}
	a := t.app
	s.emit(EventStatusUpdate, func(w *jsonBuf) {
		w.key("slaveId")
		w.str(t.agent.ID)
		w.key("taskId")
		w.str(t.id)
		w.key("taskStatus")
		w.str(state)
		w.key("message")
		w.str(message)
		w.key("appId")
		w.str(a.id)
		w.key("host")
		w.str(t.agent.Hostname)
		w.key("ipAddresses")
		writeIPAddresses(w, t)
		w.key("ports")
		w.ints(t.hostPorts)
		w.key("version")
		w.time(t.version)
	})
	cond := ""
	switch state {
	case "TASK_STAGING":
		cond = "Staging"
	case "TASK_STARTING":
		cond = "Starting"
	case "TASK_RUNNING":
		cond = "Running"
	default:
		cond = terminalCondition(state)
	}
	s.emit(EventInstanceChanged, func(w *jsonBuf) {
		w.key("instanceId")
		w.str(t.instanceID)
		w.key("condition")
		w.str(cond)
		w.key("runSpecId")
		w.str(a.id)
		w.key("agentId")
		w.str(t.agent.ID)
		w.key("host")
		w.str(t.agent.Hostname)
		w.key("runSpecVersion")
		w.time(t.version)
	})
}

func writeIPAddresses(w *jsonBuf, t *task) {
	w.arrOpen()
	w.objOpen()
	w.key("ipAddress")
	w.str(t.ip)
	w.key("protocol")
	w.str("IPv4")
	w.objClose()
	w.arrClose()
}

// publishHealth announces a check result that changed a task's liveness.
func (s *Sim) publishHealth(t *task, alive bool) {
	s.emit(EventHealthStatusChanged, func(w *jsonBuf) {
		w.key("appId")
		w.str(t.app.id)
		w.key("instanceId")
		w.str(t.instanceID)
		w.key("version")
		w.time(t.version)
		w.key("alive")
		w.bool(alive)
	})
}

// publishInstanceHealth announces a change of a task's overall health.
func (s *Sim) publishInstanceHealth(t *task) {
	s.emit(EventInstanceHealthChanged, func(w *jsonBuf) {
		w.key("instanceId")
		w.str(t.instanceID)
		w.key("runSpecId")
		w.str(t.app.id)
		w.key("healthy")
		if t.hasResults() {
			w.bool(t.healthy())
		} else {
			w.null()
		}
		w.key("runSpecVersion")
		w.time(t.version)
	})
}

func (s *Sim) publishFailedCheck(t *task, hc healthCheck) {
	s.emit(EventFailedHealthCheck, func(w *jsonBuf) {
		w.key("appId")
		w.str(t.app.id)
		// 1.10 writes the instance id under "taskId"; 1.4 names it
		// "instanceId".
		if s.gen == Gen14 {
			w.key("instanceId")
		} else {
			w.key("taskId")
		}
		w.str(t.instanceID)
		w.key("healthCheck")
		writeHealthCheck(w, hc, s.gen)
	})
}

func (s *Sim) publishUnhealthyKill(t *task, reason string) {
	s.emit(EventUnhealthyInstanceKill, func(w *jsonBuf) {
		w.key("appId")
		w.str(t.app.id)
		w.key("taskId")
		w.str(t.id)
		w.key("instanceId")
		w.str(t.instanceID)
		w.key("version")
		w.time(t.version)
		w.key("reason")
		w.str(reason)
		w.key("host")
		w.str(t.agent.Hostname)
		w.key("slaveId")
		w.str(t.agent.ID)
	})
}

func (s *Sim) publishAPIPost(a *app, clientIP, uri string) {
	s.emit(EventAPIPost, func(w *jsonBuf) {
		w.key("clientIp")
		w.str(clientIP)
		w.key("uri")
		w.str(uri)
		w.key("appDefinition")
		w.objOpen()
		w.b = append(w.b, a.defJSON...)
		w.needComma = len(a.defJSON) > 0
		w.objClose()
	})
}

func (s *Sim) publishAddHealthCheck(a *app, hc healthCheck) {
	s.emit(EventAddHealthCheck, func(w *jsonBuf) {
		w.key("appId")
		w.str(a.id)
		w.key("version")
		w.time(a.version)
		w.key("healthCheck")
		writeHealthCheck(w, hc, s.gen)
	})
}

func (s *Sim) publishRemoveHealthCheck(id string) {
	s.emit(EventRemoveHealthCheck, func(w *jsonBuf) {
		w.key("appId")
		w.str(id)
	})
}

// publishGroupChange announces group_change_success: Marathon's group
// manager publishes it once it has accepted a change to group (the
// parent of a changed app, or the root for a change of several apps)
// and handed its deployment over, before the deployment runs. Marathon
// 1.10's group manager no longer publishes it, so Gen15 does not.
func (s *Sim) publishGroupChange(group string, version time.Time) {
	if s.gen != Gen14 {
		return
	}
	s.emit(EventGroupChangeSuccess, func(w *jsonBuf) {
		w.key("groupId")
		w.str(group)
		w.key("version")
		w.time(version)
	})
}

func (s *Sim) publishAppTerminated(id string) {
	s.emit(EventAppTerminated, func(w *jsonBuf) {
		w.key("appId")
		w.str(id)
	})
}

// publishStep announces deployment_info, deployment_step_success or
// deployment_step_failure for step i of d.
func (s *Sim) publishStep(eventType string, d *deployment, i int) {
	s.emit(eventType, func(w *jsonBuf) {
		w.key("plan")
		writePlan(w, d)
		w.key("currentStep")
		w.objOpen()
		w.key("actions")
		writeActions(w, d.steps[i], false)
		w.objClose()
	})
}

func (s *Sim) publishDeploymentEnd(eventType string, d *deployment, reason string) {
	s.emit(eventType, func(w *jsonBuf) {
		w.key("id")
		w.str(d.id)
		w.key("plan")
		writePlan(w, d)
		if eventType == EventDeploymentFailed {
			w.key("reason")
			w.str(reason)
		}
	})
}

func (s *Sim) publishStream(eventType, remote string) {
	s.emit(eventType, func(w *jsonBuf) {
		w.key("remoteAddress")
		w.str(remote)
	})
}

// writePlan writes the "light" deployment plan of events (1.8+):
// id, steps and version.
func writePlan(w *jsonBuf, d *deployment) {
	w.objOpen()
	w.key("id")
	w.str(d.id)
	w.key("steps")
	writeSteps(w, d)
	w.key("version")
	w.time(d.version)
	w.objClose()
}

func writeSteps(w *jsonBuf, d *deployment) {
	w.arrOpen()
	for _, step := range d.steps {
		w.objOpen()
		w.key("actions")
		writeActions(w, step, false)
		w.objClose()
	}
	w.arrClose()
}

// writeActions writes [{action, app}]; current adds the
// readinessCheckResults of currentActions.
func writeActions(w *jsonBuf, step []*action, current bool) {
	w.arrOpen()
	for _, act := range step {
		w.objOpen()
		w.key("action")
		w.str(act.kind.String())
		w.key("app")
		w.str(act.appID)
		if current {
			w.key("readinessCheckResults")
			writeReadinessResults(w, act.app)
		}
		w.objClose()
	}
	w.arrClose()
}

// scheduleHeartbeat arranges the periodic bare-CRLF heartbeat on every
// event stream.
func (s *Sim) scheduleHeartbeat() {
	var beat func()
	beat = func() {
		s.bus.heartbeat()
		s.after(s.opts.Heartbeat, beat)
	}
	s.after(s.opts.Heartbeat, beat)
}
