package marathonsim

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// wantsText reports whether the client asked for the text/plain task list
// (Accept: text/plain without application/json).
func wantsText(r *http.Request) bool {
	accept := strings.Join(r.Header.Values("Accept"), ",")
	return strings.Contains(accept, "text/plain") && !strings.Contains(accept, "application/json")
}

// writeTaskText writes the text/plain task listing: per app and service
// port, "appId servicePort host:port host:port …".
func writeTaskText(w http.ResponseWriter, apps []*app) {
	var b strings.Builder
	for _, a := range apps {
		ports := a.def.servicePorts()
		if len(ports) == 0 {
			ports = []int{0}
		}
		for i, sp := range ports {
			fmt.Fprintf(&b, "%s\t%d\t", taskIDPrefix(a.id), sp)
			for _, t := range a.tasks {
				if t.state == taskRunning && i < len(t.hostPorts) {
					fmt.Fprintf(&b, "%s:%d\t", t.agent.Hostname, t.hostPorts[i])
				}
			}
			b.WriteString("\n")
		}
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(b.String()))
}

// appTasks serves GET /v2/apps/{id}/tasks.
func (s *Sim) appTasks(w http.ResponseWriter, r *http.Request, rawID string) {
	id := absoluteID(rawID, "/")
	s.mu.RLock()
	a := s.apps[id]
	if a == nil {
		s.mu.RUnlock()
		errAppNotFound(id).write(w)
		return
	}
	if wantsText(r) {
		defer s.mu.RUnlock()
		writeTaskText(w, []*app{a})
		return
	}
	var b jsonBuf
	b.objOpen()
	b.key("tasks")
	b.arrOpen()
	for _, t := range a.tasks {
		s.writeTask(&b, t)
	}
	b.arrClose()
	b.objClose()
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, b.b)
}

// allTasks serves GET /v2/tasks, optionally filtered by status=running or
// status=staging (repeatable).
func (s *Sim) allTasks(w http.ResponseWriter, r *http.Request) {
	statuses := r.URL.Query()["status"]
	keep := func(t *task) bool {
		if len(statuses) == 0 {
			return true
		}
		for _, st := range statuses {
			switch strings.ToLower(st) {
			case "running":
				if t.state == taskRunning {
					return true
				}
			case "staging":
				if t.state == taskStaging || t.state == taskStarting {
					return true
				}
			}
		}
		return false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if wantsText(r) {
		apps := make([]*app, 0, len(s.appOrder))
		for _, id := range s.appOrder {
			apps = append(apps, s.apps[id])
		}
		writeTaskText(w, apps)
		return
	}
	b := jsonBuf{b: make([]byte, 0, 700*len(s.tasks)+16)}
	b.objOpen()
	b.key("tasks")
	b.arrOpen()
	for _, id := range s.appOrder {
		for _, t := range s.apps[id].tasks {
			if keep(t) {
				s.writeTask(&b, t)
			}
		}
	}
	b.arrClose()
	b.objClose()
	writeJSON(w, http.StatusOK, b.b)
}

// killAndScale starts a deployment that lowers the instances of the apps
// of tasks by the number killed and kills exactly those tasks. The caller
// holds the lock.
func (s *Sim) killAndScale(tasks []*task, force bool) (*deployment, *apiError) {
	byApp := map[string][]*task{}
	var ids []string
	for _, t := range tasks {
		if _, ok := byApp[t.app.id]; !ok {
			ids = append(ids, t.app.id)
		}
		byApp[t.app.id] = append(byApp[t.app.id], t)
	}
	slices.Sort(ids)
	if e := s.checkLocks(ids, force); e != nil {
		return nil, e
	}
	p := newPlan()
	p.kill = byApp
	for _, id := range ids {
		a := s.apps[id]
		p.original[id] = snapshot(a)
		def := a.def.clone()
		def.Instances = max(0, def.Instances-len(byApp[id]))
		s.setDef(a, def, true)
		p.add(actScale, a)
		p.target[id] = snapshot(a)
	}
	return s.startDeployment(p), nil
}

// killTasks kills tasks without scaling: Marathon launches replacements.
func (s *Sim) killTasksReply(tasks []*task, key string) reply {
	var w jsonBuf
	w.objOpen()
	w.key(key)
	if key == "tasks" {
		w.arrOpen()
	}
	for _, t := range tasks {
		s.killTask(t)
		s.writeTask(&w, t)
	}
	if key == "tasks" {
		w.arrClose()
	}
	w.objClose()
	return jsonReply(http.StatusOK, &w)
}

// killAppTasks serves DELETE /v2/apps/{id}/tasks?host=&scale=.
func (s *Sim) killAppTasks(r *http.Request, rawID string) reply {
	id := absoluteID(rawID, "/")
	host := r.URL.Query().Get("host")
	s.lock()
	defer s.unlock()
	a := s.apps[id]
	if a == nil {
		return errReply(errAppNotFound(id))
	}
	var victims []*task
	for _, t := range a.tasks {
		if host == "" || t.agent.Hostname == host {
			victims = append(victims, t)
		}
	}
	if boolParam(r, "scale", false) {
		d, e := s.killAndScale(victims, boolParam(r, "force", false))
		if e != nil {
			return errReply(e)
		}
		return deploymentReply(http.StatusOK, d, formatTimestamp(d.version))
	}
	return s.killTasksReply(victims, "tasks")
}

// killAppTask serves DELETE /v2/apps/{id}/tasks/{taskId}?scale=.
func (s *Sim) killAppTask(r *http.Request, rawID, taskID string) reply {
	id := absoluteID(rawID, "/")
	s.lock()
	defer s.unlock()
	a := s.apps[id]
	if a == nil {
		return errReply(errAppNotFound(id))
	}
	t := s.tasks[taskID]
	if t == nil || t.app != a {
		return errReply(errTaskNotFound(taskID))
	}
	if boolParam(r, "scale", false) {
		d, e := s.killAndScale([]*task{t}, boolParam(r, "force", false))
		if e != nil {
			return errReply(e)
		}
		return deploymentReply(http.StatusOK, d, formatTimestamp(d.version))
	}
	return s.killTasksReply([]*task{t}, "task")
}

// deleteTasks serves POST /v2/tasks/delete with {"ids": […]}. Ids that
// are not task ids are refused; ids of tasks that no longer exist are
// skipped.
func (s *Sim) deleteTasks(r *http.Request) reply {
	body, e := readBody(r)
	if e != nil {
		return errReply(e)
	}
	tree, e := parseJSON(body)
	if e != nil {
		return errReply(e)
	}
	var te typeErrors
	var ids []string
	if m, ok := te.obj(tree, ""); ok {
		if v, ok := field(m, "ids"); ok {
			ids, _ = te.strings(v, "/ids")
		} else {
			te.add("/ids", errPathMiss)
		}
	}
	if e := te.err(); e != nil {
		return errReply(e)
	}
	for _, id := range ids {
		if !strings.Contains(id, ".") {
			return errReply(errMessage(http.StatusBadRequest, "Invalid task id '%s'", id))
		}
	}
	s.lock()
	defer s.unlock()
	var tasks []*task
	for _, id := range ids {
		if t := s.tasks[id]; t != nil && !t.app.removed && !slices.Contains(tasks, t) {
			tasks = append(tasks, t)
		}
	}
	if boolParam(r, "scale", false) {
		d, e := s.killAndScale(tasks, boolParam(r, "force", false))
		if e != nil {
			return errReply(e)
		}
		return deploymentReply(http.StatusOK, d, formatTimestamp(d.version))
	}
	return s.killTasksReply(tasks, "tasks")
}
