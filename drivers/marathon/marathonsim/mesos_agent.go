package marathonsim

import (
	"net/http"
	"strconv"
	"strings"
)

// An agent's endpoints, in the shapes of Mesos 1.10's src/slave/http.cpp
// and src/files/files.cpp. Each task runs under a command executor of
// the task's id; its sandbox holds stdout and stderr.

// agentTasks returns the active and ended tasks that ran on a. Under
// Sim.mu.
func (s *Sim) agentTasks(a *agent) (active, done []*mesosTask) {
	all, ended := s.mesosTasksOf()
	for _, mt := range all {
		if mt.agent == a {
			active = append(active, mt)
		}
	}
	for _, mt := range ended {
		if mt.agent == a {
			done = append(done, mt)
		}
	}
	return active, done
}

func (s *Sim) writeExecutor(w *jsonBuf, mt *mesosTask) {
	w.objOpen()
	w.key("id")
	w.str(mt.id)
	w.key("name")
	command := "NO EXECUTABLE"
	if mt.cmd != "" {
		command = "sh -c '" + mt.cmd + "'"
		if len(command) > 40 {
			command = command[:36] + "...'"
		}
	}
	w.str("Command Executor (Task: " + mt.id + ") (Command: " + command + ")")
	w.key("source")
	w.str(mt.id)
	w.key("container")
	w.str(mt.containerID)
	w.key("directory")
	w.str(s.sandboxDir(mt))
	w.key("resources")
	r := taskResources(mt)
	r.cpus = clean(r.cpus + mesosExecutorCPUs)
	r.mem += mesosExecutorMem
	writeResources(w, r)
	w.key("role")
	w.str("*")
	w.key("type")
	w.str("COMMAND")
	for _, list := range []string{"tasks", "queued_tasks", "completed_tasks"} {
		w.key(list)
		w.arrOpen()
		if (list == "tasks" && !mt.ended()) || (list == "completed_tasks" && mt.ended()) {
			s.writeMesosTask(w, mt)
		}
		w.arrClose()
	}
	w.objClose()
}

// agentState is GET /state (and /slave(1)/state) of agent a.
func (s *Sim) agentState(a *agent, v *mesosView) mesosReply {
	s.mu.RLock()
	defer s.mu.RUnlock()
	active, done := s.agentTasks(a)
	var w jsonBuf
	w.objOpen()
	s.writeBuild(&w)
	w.key("id")
	w.str(a.ID)
	w.key("pid")
	w.str(v.agentPID(a))
	w.key("hostname")
	w.str(a.Hostname)
	w.key("capabilities")
	w.strings([]string{"MULTI_ROLE", "HIERARCHICAL_ROLE", "RESERVATION_REFINEMENT", "RESOURCE_PROVIDER", "RESIZE_VOLUME", "AGENT_OPERATION_FEEDBACK", "AGENT_DRAINING", "TASK_RESOURCE_LIMITS"})
	writeDomain(&w, a)
	total := agentTotal(a)
	w.key("resources")
	writeResources(&w, total)
	w.key("reserved_resources")
	w.raw([]byte("{}"))
	w.key("unreserved_resources")
	writeResources(&w, total)
	w.key("reserved_resources_full")
	w.raw([]byte("{}"))
	w.key("unreserved_resources_full")
	writeResourcesFull(&w, total, false)
	w.key("reserved_resources_allocated")
	w.raw([]byte("{}"))
	w.key("unreserved_resources_allocated")
	writeResources(&w, agentUsed(a))
	w.key("resource_providers")
	w.raw([]byte("[]"))
	w.key("attributes")
	w.stringMap(a.Attributes)
	w.key("master_hostname")
	w.str(hostOnly(v.masterAddr))
	w.key("log_dir")
	w.str("/var/log/mesos")
	w.key("flags")
	w.stringMap(map[string]string{
		"containerizers": "docker,mesos", "hostname": a.Hostname, "log_dir": "/var/log/mesos",
		"master": "zk://127.0.0.1:2181/mesos", "port": strconv.Itoa(portOf(v.agentAddrs[a.Hostname], 5051)),
		"work_dir": mesosWorkDir, "executor_registration_timeout": "5mins",
	})
	w.key("frameworks")
	w.arrOpen()
	if len(active)+len(done) > 0 {
		w.objOpen()
		w.key("id")
		w.str(s.frameworkID())
		w.key("name")
		w.str("marathon")
		w.key("user")
		w.str("root")
		w.key("failover_timeout")
		w.int(604800)
		w.key("checkpoint")
		w.bool(true)
		w.key("hostname")
		w.str("marathon-1")
		w.key("role")
		w.str("*")
		w.key("executors")
		s.writeEach(&w, active, s.writeExecutor)
		w.key("completed_executors")
		s.writeEach(&w, done, s.writeExecutor)
		w.objClose()
	}
	w.arrClose()
	w.key("completed_frameworks")
	w.raw([]byte("[]"))
	w.objClose()
	return mesosJSON(&w)
}

// agentStatistics is GET /monitor/statistics of agent a: one entry per
// running executor container.
func (s *Sim) agentStatistics(a *agent) mesosReply {
	s.mu.RLock()
	defer s.mu.RUnlock()
	active, _ := s.agentTasks(a)
	var w jsonBuf
	w.arrOpen()
	for _, mt := range active {
		if mt.state == "TASK_STAGING" {
			continue // no container yet
		}
		w.objOpen()
		w.key("executor_id")
		w.str(mt.id)
		w.key("executor_name")
		w.str("Command Executor (Task: " + mt.id + ")")
		w.key("framework_id")
		w.str(s.frameworkID())
		w.key("source")
		w.str(mt.id)
		w.key("statistics")
		writeStatistics(&w, mt.usage(s.mesosNow()))
		w.objClose()
	}
	w.arrClose()
	return mesosJSON(&w)
}

// filesRead is GET /files/read of agent a, as FilesProcess::read
// answers: the sandboxes of the agent's tasks are attached under their
// real run directory, its runs/latest twin and the virtual
// /frameworks/F/executors/E/runs/latest.
func (s *Sim) filesRead(r *http.Request, a *agent) mesosReply {
	q := r.URL.Query()
	path := q.Get("path")
	if path == "" {
		return mesosText(http.StatusBadRequest, "Expecting 'path=value' in query.")
	}
	offset, length := int64(-1), int64(-1)
	for name, dst := range map[string]*int64{"offset": &offset, "length": &length} {
		if !q.Has(name) {
			continue
		}
		n, err := strconv.ParseInt(q.Get(name), 10, 64)
		if err != nil {
			return mesosText(http.StatusBadRequest, "Failed to parse "+name+": Failed to convert '"+q.Get(name)+"' to number.")
		}
		if n < -1 {
			return mesosText(http.StatusBadRequest, "Negative "+name+" provided: "+q.Get(name)+".")
		}
		*dst = n
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	mt, file, dir := s.resolveSandbox(a, path)
	switch {
	case mt == nil:
		return mesosReply{status: http.StatusNotFound}
	case dir:
		return mesosText(http.StatusBadRequest, "Cannot read a directory.")
	}
	now := s.mesosNow()
	_, size := s.sandboxRead(mt, file, 0, 0, now)
	if offset == -1 {
		offset = size
	}
	if length == -1 {
		length = size - offset
	}
	length = min(length, 16*4096)
	var w jsonBuf
	w.objOpen()
	if offset >= size {
		w.key("data")
		w.str("")
		w.key("offset")
		w.int(int(size))
	} else {
		data, _ := s.sandboxRead(mt, file, offset, length, now)
		w.key("data")
		w.str(string(data))
		w.key("offset")
		w.int(int(offset))
	}
	w.objClose()
	return mesosJSON(&w)
}

// resolveSandbox finds the task and file a /files/read path names on
// agent a: nil when none; dir when the path is the sandbox itself.
func (s *Sim) resolveSandbox(a *agent, path string) (mt *mesosTask, file int, dir bool) {
	path = strings.TrimRight(path, "/")
	rest, ok := strings.CutPrefix(path, mesosWorkDir+"/slaves/"+a.ID)
	if !ok {
		rest = path // the virtual path: /frameworks/...
	}
	parts := strings.Split(strings.TrimPrefix(rest, "/"), "/")
	// frameworks/F/executors/E/runs/R[/file]
	if len(parts) < 6 || len(parts) > 7 || parts[0] != "frameworks" || parts[1] != s.frameworkID() ||
		parts[2] != "executors" || parts[4] != "runs" {
		return nil, 0, false
	}
	active, done := s.agentTasks(a)
	for _, t := range append(active, done...) {
		if t.id != parts[3] {
			continue
		}
		// An executor id (a task id) has one run in the simulator.
		if run := parts[5]; run != "latest" && run != t.containerID {
			continue
		}
		if len(parts) == 6 {
			return t, 0, true
		}
		switch parts[6] {
		case "stdout":
			return t, stdoutFile, false
		case "stderr":
			return t, stderrFile, false
		}
		return nil, 0, false
	}
	return nil, 0, false
}
