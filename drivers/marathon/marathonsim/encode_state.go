package marathonsim

import (
	"slices"
)

// embed selects the optional parts of an AppInfo.
type embed struct {
	tasks, lastTaskFailure, readiness, taskStats bool
}

// parseEmbed reads the embed query values of /v2/apps (prefix "apps.") or
// /v2/apps/{id} (prefix "app."); counts and deployments are always
// included.
func parseEmbed(values []string, forList bool) embed {
	var e embed
	for _, v := range values {
		switch v {
		case "apps.tasks", "app.tasks":
			e.tasks = true
		case "apps.lastTaskFailure", "app.lastTaskFailure", "apps.failures", "app.failures":
			e.lastTaskFailure = true
		case "apps.readiness", "app.readiness":
			e.readiness = true
		case "apps.taskStats", "app.taskStats":
			e.taskStats = true
		}
	}
	if !forList {
		e.tasks, e.lastTaskFailure = true, true
	}
	return e
}

// writeAppInfo writes an AppInfo: the definition plus counts, deployments
// and what e asks for.
func (s *Sim) writeAppInfo(w *jsonBuf, a *app, e embed) { s.writeAppInfoOf(w, a, a.defJSON, e) }

// writeAppInfoOf writes an AppInfo of a with the definition members def.
func (s *Sim) writeAppInfoOf(w *jsonBuf, a *app, def []byte, e embed) {
	w.objOpen()
	w.b = append(w.b, def...)
	w.needComma = true
	c := appCounts(a)
	w.key("tasksStaged")
	w.int(c.staged)
	w.key("tasksRunning")
	w.int(c.running)
	w.key("tasksHealthy")
	w.int(c.healthy)
	w.key("tasksUnhealthy")
	w.int(c.unhealthy)
	w.key("deployments")
	w.arrOpen()
	if d := s.locks[a.id]; d != nil {
		w.objOpen()
		w.key("id")
		w.str(d.id)
		w.objClose()
	}
	w.arrClose()
	if e.tasks {
		w.key("tasks")
		w.arrOpen()
		for _, t := range a.tasks {
			s.writeTask(w, t)
		}
		w.arrClose()
	}
	if e.lastTaskFailure && a.lastFailure != nil {
		w.key("lastTaskFailure")
		writeTaskFailure(w, a.lastFailure)
	}
	if e.readiness {
		w.key("readinessCheckResults")
		writeReadinessResults(w, a)
	}
	if e.taskStats {
		w.key("taskStats")
		s.writeTaskStats(w, a)
	}
	w.objClose()
}

func writeTaskFailure(w *jsonBuf, f *taskFailure) {
	w.objOpen()
	w.key("appId")
	w.str(f.appID)
	w.key("host")
	w.str(f.host)
	w.key("message")
	w.str(f.message)
	w.key("state")
	w.str(f.state)
	w.key("taskId")
	w.str(f.taskID)
	w.key("timestamp")
	w.time(f.timestamp)
	w.key("version")
	w.time(f.version)
	w.key("slaveId")
	w.str(f.slaveID)
	w.objClose()
}

// writeTask writes a task as /v2/tasks and embedded tasks show it.
func (s *Sim) writeTask(w *jsonBuf, t *task) {
	w.objOpen()
	w.key("id")
	w.str(t.id)
	w.key("appId")
	w.str(t.app.id)
	w.key("host")
	w.str(t.agent.Hostname)
	w.key("slaveId")
	w.str(t.agent.ID)
	w.key("state")
	w.str(t.state.String())
	w.key("stagedAt")
	w.time(t.stagedAt)
	if s.gen == Gen14 {
		w.key("startedAt")
		w.timeOrNull(t.startedAt)
	} else if !t.startedAt.IsZero() {
		w.key("startedAt")
		w.time(t.startedAt)
	}
	w.key("version")
	w.time(t.version)
	w.key("ports")
	w.ints(t.hostPorts)
	w.key("servicePorts")
	w.ints(t.servicePorts)
	w.key("ipAddresses")
	writeIPAddresses(w, t)
	w.key("healthCheckResults")
	w.arrOpen()
	for i := range t.health {
		h := &t.health[i]
		if !h.ran {
			continue
		}
		w.objOpen()
		w.key("alive")
		w.bool(h.alive)
		w.key("consecutiveFailures")
		w.int(h.consecutiveFailures)
		w.key("firstSuccess")
		w.timeOrNull(h.firstSuccess)
		w.key("lastFailure")
		w.timeOrNull(h.lastFailure)
		w.key("lastSuccess")
		w.timeOrNull(h.latestSuccess(s.now))
		w.key("lastFailureCause")
		if h.lastFailureCause == "" {
			w.null()
		} else {
			w.str(h.lastFailureCause)
		}
		w.key("instanceId")
		w.str(t.instanceID)
		w.objClose()
	}
	w.arrClose()
	w.key("localVolumes")
	writeLocalVolumes(w, t)
	if s.gen == Gen15 {
		if t.agent.Region != "" {
			w.key("region")
			w.str(t.agent.Region)
		}
		if t.agent.Zone != "" {
			w.key("zone")
			w.str(t.agent.Zone)
		}
		w.key("role")
		w.str("*")
	}
	w.objClose()
}

// writeTaskStats writes the taskStats embed: counts and life times of the
// tasks started after the last scaling, with the latest config, with an
// outdated config, and in total; empty categories are left out.
func (s *Sim) writeTaskStats(w *jsonBuf, a *app) {
	cats := []struct {
		name string
		keep func(*task) bool
	}{
		{"startedAfterLastScaling", func(t *task) bool { return !t.stagedAt.Before(a.lastScalingAt) }},
		{"withLatestConfig", func(t *task) bool { return t.configVersion.Equal(a.lastConfigChangeAt) }},
		{"withOutdatedConfig", func(t *task) bool { return !t.configVersion.Equal(a.lastConfigChangeAt) }},
		{"totalSummary", func(*task) bool { return true }},
	}
	w.objOpen()
	for _, cat := range cats {
		var c counts
		var life []float64
		for _, t := range a.tasks {
			if !cat.keep(t) {
				continue
			}
			switch t.state {
			case taskStaging, taskStarting:
				c.staged++
			case taskRunning:
				c.running++
				life = append(life, s.now.Sub(t.startedAt).Seconds())
			}
			if t.healthy() {
				c.healthy++
			}
			if t.unhealthy() {
				c.unhealthy++
			}
		}
		if c == (counts{}) {
			continue
		}
		w.key(cat.name)
		w.objOpen()
		w.key("stats")
		w.objOpen()
		w.key("counts")
		w.objOpen()
		w.key("staged")
		w.int(c.staged)
		w.key("running")
		w.int(c.running)
		w.key("healthy")
		w.int(c.healthy)
		w.key("unhealthy")
		w.int(c.unhealthy)
		w.objClose()
		if len(life) > 0 {
			slices.Sort(life)
			sum := 0.0
			for _, l := range life {
				sum += l
			}
			median := life[len(life)/2]
			if len(life)%2 == 0 {
				median = (life[len(life)/2-1] + life[len(life)/2]) / 2
			}
			w.key("lifeTime")
			w.objOpen()
			w.key("averageSeconds")
			w.num(sum / float64(len(life)))
			w.key("medianSeconds")
			w.num(median)
			w.objClose()
		}
		w.objClose()
		w.objClose()
	}
	w.objClose()
}

// writeDeployment writes one element of GET /v2/deployments.
func writeDeployment(w *jsonBuf, d *deployment) {
	w.objOpen()
	w.key("id")
	w.str(d.id)
	w.key("version")
	w.time(d.version)
	w.key("affectedApps")
	w.strings(d.affected)
	w.key("affectedPods")
	w.arrOpen()
	w.arrClose()
	w.key("steps")
	writeSteps(w, d)
	w.key("currentActions")
	writeActions(w, d.steps[d.current], true)
	w.key("currentStep")
	w.int(d.current + 1)
	w.key("totalSteps")
	w.int(len(d.steps))
	w.objClose()
}

// writeLocalVolumes writes the persistent volumes of a resident task:
// {runSpecId, containerPath, uuid, persistenceId}.
func writeLocalVolumes(w *jsonBuf, t *task) {
	w.arrOpen()
	if t.res != nil {
		for _, v := range persistentVolumes(t.def) {
			w.objOpen()
			w.key("runSpecId")
			w.str(t.app.id)
			w.key("containerPath")
			w.str(v.ContainerPath)
			w.key("uuid")
			w.str(t.res.uuid)
			w.key("persistenceId")
			w.str(taskIDPrefix(t.app.id) + "#" + v.ContainerPath + "#" + t.res.uuid)
			w.objClose()
		}
	}
	w.arrClose()
}
