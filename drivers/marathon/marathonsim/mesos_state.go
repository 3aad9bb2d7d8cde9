package marathonsim

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// writeMesosTask writes a task as json(Task) in src/common/http.cpp does.
func (s *Sim) writeMesosTask(w *jsonBuf, mt *mesosTask) {
	w.objOpen()
	w.key("id")
	w.str(mt.id)
	w.key("name")
	w.str(mt.name())
	w.key("framework_id")
	w.str(s.frameworkID())
	w.key("executor_id")
	w.str("")
	w.key("slave_id")
	w.str(mt.agent.ID)
	w.key("state")
	w.str(mt.state)
	w.key("resources")
	writeResources(w, taskResources(mt))
	w.key("role")
	w.str("*")
	w.key("statuses")
	w.arrOpen()
	for _, st := range mt.statuses {
		w.objOpen()
		w.key("state")
		w.str(st.state)
		w.key("timestamp")
		w.dbl(epochSeconds(st.at))
		if st.state != "TASK_STAGING" {
			w.key("container_status")
			w.objOpen()
			w.key("container_id")
			w.objOpen()
			w.key("value")
			w.str(mt.containerID)
			w.objClose()
			if mt.ip != "" {
				w.key("network_infos")
				w.arrOpen()
				w.objOpen()
				w.key("ip_addresses")
				w.arrOpen()
				w.objOpen()
				w.key("protocol")
				w.str("IPv4")
				w.key("ip_address")
				w.str(mt.ip)
				w.objClose()
				w.arrClose()
				w.objClose()
				w.arrClose()
			}
			w.objClose()
		}
		w.objClose()
	}
	w.arrClose()
	if len(mt.labels) > 0 {
		w.key("labels")
		w.arrOpen()
		for _, k := range sortedKeys(mt.labels) {
			w.objOpen()
			w.key("key")
			w.str(k)
			w.key("value")
			w.str(mt.labels[k])
			w.objClose()
		}
		w.arrClose()
	}
	w.key("discovery")
	w.objOpen()
	w.key("visibility")
	w.str("FRAMEWORK")
	w.key("name")
	w.str(mt.name())
	w.key("ports")
	w.objOpen()
	w.key("ports")
	w.arrOpen()
	for i, p := range mt.ports {
		w.objOpen()
		w.key("number")
		w.int(p)
		if i < len(mt.portNames) && mt.portNames[i] != "" {
			w.key("name")
			w.str(mt.portNames[i])
		}
		w.key("protocol")
		w.str("tcp")
		w.objClose()
	}
	w.arrClose()
	w.objClose()
	w.objClose()
	if mt.image != "" {
		w.key("container")
		w.objOpen()
		w.key("type")
		w.str("DOCKER")
		w.key("docker")
		w.objOpen()
		w.key("image")
		w.str(mt.image)
		w.key("network")
		w.str(mt.network)
		w.key("privileged")
		w.bool(false)
		w.key("force_pull_image")
		w.bool(false)
		w.objClose()
		w.objClose()
	}
	w.objClose()
}

// writeFramework writes the simulated Marathon as FullFrameworkWriter
// does.
func (s *Sim) writeFramework(w *jsonBuf, v *mesosView, active, done []*mesosTask) {
	var used resourceSet
	for _, mt := range active {
		used.cpus += mt.cpus
		used.mem += mt.mem
		used.disk += mt.disk
		used.gpus += mt.gpus
	}
	used = resourceSet{cpus: clean(used.cpus), mem: clean(used.mem), disk: clean(used.disk), gpus: clean(used.gpus)}
	w.objOpen()
	w.key("id")
	w.str(s.frameworkID())
	w.key("name")
	w.str("marathon")
	w.key("pid")
	w.str("scheduler-" + uuidOf("scheduler/"+s.frameworkID()) + "@" + v.masterAddr)
	w.key("used_resources")
	writeResources(w, used)
	w.key("offered_resources")
	writeResources(w, resourceSet{})
	w.key("capabilities")
	w.strings([]string{"TASK_KILLING_STATE", "GPU_RESOURCES", "PARTITION_AWARE", "REGION_AWARE"})
	w.key("hostname")
	w.str("marathon-1")
	w.key("webui_url")
	w.str("http://marathon-1:8080")
	w.key("active")
	w.bool(true)
	w.key("connected")
	w.bool(true)
	w.key("recovered")
	w.bool(false)
	w.key("user")
	w.str("root")
	w.key("failover_timeout")
	w.int(604800)
	w.key("checkpoint")
	w.bool(true)
	w.key("registered_time")
	w.dbl(epochSeconds(s.rootVer))
	w.key("unregistered_time")
	w.int(0)
	w.key("resources")
	writeResources(w, used)
	w.key("role")
	w.str("*")
	w.key("tasks")
	s.writeEach(w, active, s.writeMesosTask)
	w.key("unreachable_tasks")
	w.raw([]byte("[]"))
	w.key("completed_tasks")
	s.writeEach(w, done, s.writeMesosTask)
	w.key("offers")
	w.raw([]byte("[]"))
	w.key("executors")
	w.raw([]byte("[]"))
	w.objClose()
}

// masterState is GET /master/state.
func (s *Sim) masterState(v *mesosView) mesosReply {
	s.mu.RLock()
	defer s.mu.RUnlock()
	active, done := s.mesosTasksOf()
	var w jsonBuf
	w.objOpen()
	s.writeBuild(&w)
	w.key("elected_time")
	w.dbl(epochSeconds(s.rootVer))
	w.key("id")
	w.str(uuidOf("master/" + s.clusterID()))
	w.key("pid")
	w.str(v.masterPID())
	w.key("hostname")
	w.str(hostOnly(v.masterAddr))
	w.key("capabilities")
	w.strings([]string{"AGENT_UPDATE", "AGENT_DRAINING", "QUOTA_V2"})
	w.key("activated_slaves")
	w.int(len(s.agents))
	w.key("deactivated_slaves")
	w.int(0)
	w.key("unreachable_slaves")
	w.int(0)
	w.key("leader")
	w.str(v.masterPID())
	w.key("leader_info")
	w.objOpen()
	w.key("id")
	w.str(uuidOf("master/" + s.clusterID()))
	w.key("pid")
	w.str(v.masterPID())
	w.key("port")
	w.int(portOf(v.masterAddr, 5050))
	w.key("hostname")
	w.str(hostOnly(v.masterAddr))
	w.objClose()
	w.key("flags")
	w.stringMap(map[string]string{
		"authenticate_agents": "false", "authenticate_frameworks": "false", "authenticate_http_readonly": "false",
		"max_completed_tasks_per_framework": strconv.Itoa(mesosCompletedTasks), "port": strconv.Itoa(portOf(v.masterAddr, 5050)),
		"quorum": "1", "work_dir": "/var/lib/mesos/master", "zk_session_timeout": "10secs",
	})
	w.key("slaves")
	w.arrOpen()
	for _, a := range s.agents {
		s.writeSlave(&w, v, a, false)
	}
	w.arrClose()
	w.key("recovered_slaves")
	w.raw([]byte("[]"))
	w.key("frameworks")
	w.arrOpen()
	s.writeFramework(&w, v, active, done)
	w.arrClose()
	for _, k := range []string{"completed_frameworks", "orphan_tasks", "unregistered_frameworks"} {
		w.key(k)
		w.raw([]byte("[]"))
	}
	w.objClose()
	return mesosJSON(&w)
}

// writeBuild writes the build fields every state endpoint starts with.
func (s *Sim) writeBuild(w *jsonBuf) {
	w.key("version")
	w.str(MesosVersion)
	w.key("git_sha")
	w.str("e0e6d3ec2fd7e1e4fe5a5ab07e2ecf7d70bb4ca4")
	w.key("git_branch")
	w.str("refs/heads/" + MesosVersion)
	w.key("git_tag")
	w.str(MesosVersion)
	w.key("build_date")
	w.str("2020-05-20 16:53:24")
	w.key("build_time")
	w.int(1589993604)
	w.key("build_user")
	w.str("root")
	w.key("start_time")
	w.dbl(epochSeconds(s.rootVer))
}

// masterTasks is GET /master/tasks: every task, sorted by its first
// status, newest first unless order=asc; limit (default 100), offset,
// task_id and framework_id select.
func (s *Sim) masterTasks(r *http.Request) mesosReply {
	q := r.URL.Query()
	limit, offset := 100, 0
	for name, dst := range map[string]*int{"limit": &limit, "offset": &offset} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return mesosText(http.StatusBadRequest, "Failed to parse query parameter "+name+": '"+v+"'")
			}
			*dst = n
		}
	}
	order := q.Get("order")
	if order != "" && order != "asc" && order != "desc" {
		return mesosText(http.StatusBadRequest, "Failed to parse query parameter order: '"+order+"' is neither 'asc' nor 'desc'")
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	active, done := s.mesosTasksOf()
	all := append(slices.Clone(active), done...)
	all = slices.DeleteFunc(all, func(mt *mesosTask) bool {
		return (q.Has("task_id") && mt.id != q.Get("task_id")) || (q.Has("framework_id") && s.frameworkID() != q.Get("framework_id"))
	})
	slices.SortStableFunc(all, func(a, b *mesosTask) int {
		c := a.statuses[0].at.Compare(b.statuses[0].at)
		if c == 0 {
			c = strings.Compare(a.id, b.id)
		}
		if order != "asc" {
			c = -c
		}
		return c
	})
	all = all[min(offset, len(all)):]
	all = all[:min(limit, len(all))]
	var w jsonBuf
	w.objOpen()
	w.key("tasks")
	s.writeEach(&w, all, s.writeMesosTask)
	w.objClose()
	return mesosJSON(&w)
}

// writeEach writes an array of what write writes of each task.
func (s *Sim) writeEach(w *jsonBuf, tasks []*mesosTask, write func(*jsonBuf, *mesosTask)) {
	w.arrOpen()
	for _, mt := range tasks {
		write(w, mt)
	}
	w.arrClose()
}
