package marathonsim

import (
	"net/http"
	"strings"
)

// listApps serves GET /v2/apps with its id, cmd and label filters and
// embed options.
func (s *Sim) listApps(r *http.Request) reply {
	q := r.URL.Query()
	e := parseEmbed(q["embed"], true)
	sel, err := parseLabelSelectors(q.Get("label"))
	if err != nil {
		return errReply(errMessage(http.StatusUnprocessableEntity, "%s", err.Error()))
	}
	// Both filters match regardless of case, as Marathon's do.
	idFilter := strings.ToLower(q.Get("id"))
	cmdFilter := strings.ToLower(q.Get("cmd"))

	s.mu.RLock()
	defer s.mu.RUnlock()
	size := 16
	for _, id := range s.appOrder {
		a := s.apps[id]
		size += len(a.defJSON) + 160
		if e.tasks {
			size += len(a.tasks) * 700
		}
	}
	w := jsonBuf{b: make([]byte, 0, size)}
	w.objOpen()
	w.key("apps")
	w.arrOpen()
	for _, id := range s.appOrder {
		a := s.apps[id]
		if idFilter != "" && !strings.Contains(strings.ToLower(id), idFilter) {
			continue
		}
		if cmdFilter != "" && (a.def.Cmd == nil || !strings.Contains(strings.ToLower(*a.def.Cmd), cmdFilter)) {
			continue
		}
		if len(sel) > 0 && !sel.matches(a.def.Labels) {
			continue
		}
		s.writeAppInfo(&w, a, e)
	}
	w.arrClose()
	w.objClose()
	return jsonReply(http.StatusOK, &w)
}

// getApp serves GET /v2/apps/{id}, and GET /v2/apps/{group}/* which lists
// the apps below a group as {"*": […]}.
func (s *Sim) getApp(r *http.Request, id string) reply {
	e := parseEmbed(r.URL.Query()["embed"], false)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if group, ok := strings.CutSuffix(id, "/*"); ok {
		var w jsonBuf
		w.objOpen()
		w.key("*")
		w.arrOpen()
		prefix := strings.TrimSuffix(group, "/") + "/"
		for _, aid := range s.appOrder {
			if strings.HasPrefix(aid, prefix) {
				s.writeAppInfo(&w, s.apps[aid], e)
			}
		}
		w.arrClose()
		w.objClose()
		return jsonReply(http.StatusOK, &w)
	}
	a := s.apps[absoluteID(id, "/")]
	if a == nil {
		return errReply(errAppNotFound(absoluteID(id, "/")))
	}
	var w jsonBuf
	w.objOpen()
	w.key("app")
	s.writeAppInfo(&w, a, e)
	w.objClose()
	return jsonReply(http.StatusOK, &w)
}

// finish completes a validated definition for storing: canonical operator
// spelling and service ports.
func (s *Sim) finish(def, prev *appDef) {
	if s.gen == Gen15 {
		upperOperators(def)
	}
	s.assignServicePorts(def, prev)
}

var errGroupClash = errNotValid([]detail{{Path: "/", Errors: []string{"Groups and Applications may not have the same identifier."}}})

// postApp serves POST /v2/apps: 201 with the new AppInfo, Location and
// Marathon-Deployment-Id.
func (s *Sim) postApp(r *http.Request) reply {
	in, e := s.readApp(r)
	if e != nil {
		return errReply(e)
	}
	if !in.has("id") {
		te := s.typeErrors()
		te.add("/id", errPathMiss)
		return errReply(s.invalidJSON(&te))
	}
	rawID := in.def.ID
	id := absoluteID(rawID, "/")
	def := s.newDef(in, id)
	if e := s.checkOne(in, def, nil, rawID); e != nil {
		return errReply(e)
	}
	s.lock()
	defer s.unlock()
	if _, ok := s.apps[id]; ok {
		return errReply(errAppExists(id))
	}
	if s.groupConflict(id) {
		return errReply(errGroupClash)
	}
	if e := s.checkLocks([]string{id}, boolParam(r, "force", false)); e != nil {
		return errReply(e)
	}
	s.finish(def, nil)
	a := s.addApp(def, nil)
	s.publishAPIPost(a, clientIP(r), r.URL.Path)
	d := s.startCreate(a)
	// The answer is the new AppInfo; 1.10 writes only its version, not
	// its versionInfo.
	var members, w jsonBuf
	writeDef(&members, a, s.gen, defParts{versionInfo: s.gen == Gen14})
	s.writeAppInfoOf(&w, a, members.b, embed{})
	rp := jsonReply(http.StatusCreated, &w)
	rp.header = map[string]string{
		"Location":               "http://" + r.Host + "/v2/apps" + id,
		"Marathon-Deployment-Id": d.id,
	}
	return rp
}

// startCreate starts the two-step deployment of a new app.
func (s *Sim) startCreate(a *app) *deployment {
	p := newPlan()
	p.group = parentGroup(a.id)
	p.original[a.id] = nil
	p.target[a.id] = snapshot(a)
	p.add(actStart, a)
	p.add(actScale, a)
	return s.startDeployment(p)
}

func deploymentReply(status int, d *deployment, version string) reply {
	var w jsonBuf
	w.objOpen()
	w.key("deploymentId")
	w.str(d.id)
	w.key("version")
	w.str(version)
	w.objClose()
	rp := jsonReply(status, &w)
	rp.header = map[string]string{"Marathon-Deployment-Id": d.id}
	return rp
}

// putApp serves PUT and PATCH /v2/apps/{id}. PUT creates a missing app
// (201); partialUpdate (default true) keeps the fields the body leaves
// out, partialUpdate=false resets them to their defaults. A change of
// instances alone scales without restarting anything; any other change is
// a rolling restart.
func (s *Sim) putApp(r *http.Request, rawID string, patch bool) reply {
	in, e := s.readApp(r)
	if e != nil {
		return errReply(e)
	}
	id := absoluteID(rawID, "/")
	force := boolParam(r, "force", false)
	partial := patch || boolParam(r, "partialUpdate", true)
	s.lock()
	defer s.unlock()
	rp, e := s.updateApp(r, in, id, rawID, force, partial, patch)
	if e != nil {
		return errReply(e)
	}
	return rp
}

// updateApp applies one app update; the caller holds the lock.
func (s *Sim) updateApp(r *http.Request, in *appInput, id, rawID string, force, partial, patch bool) (reply, *apiError) {
	a := s.apps[id]
	if in.version != nil {
		for k := range in.present {
			if k != "id" && k != "version" {
				return reply{}, versionOnlyError(s.gen)
			}
		}
	}
	if a == nil {
		if patch || in.version != nil {
			return reply{}, errAppNotFound(id)
		}
		def := s.newDef(in, id)
		if e := s.checkOne(in, def, nil, rawID); e != nil {
			return reply{}, e
		}
		if s.groupConflict(id) {
			return reply{}, errGroupClash
		}
		if e := s.checkLocks([]string{id}, force); e != nil {
			return reply{}, e
		}
		s.finish(def, nil)
		a = s.addApp(def, nil)
		s.publishAPIPost(a, clientIP(r), r.URL.Path)
		d := s.startCreate(a)
		rp := deploymentReply(http.StatusCreated, d, formatTimestamp(a.version))
		rp.header["Location"] = "http://" + r.Host + "/v2/apps" + id
		return rp, nil
	}
	var def *appDef
	switch {
	case in.version != nil:
		v := s.findVersion(a, *in.version)
		if v == nil {
			return reply{}, errMessage(http.StatusNotFound, "App '%s' does not exist in version %s", id, *in.version)
		}
		def = v.def.clone()
	case partial:
		def = mergeDef(a.def, in)
	default:
		def = s.newDef(in, id)
	}
	def.ID = id
	if e := s.checkOne(in, def, a.def, id); e != nil {
		return reply{}, e
	}
	if e := s.checkLocks([]string{id}, force); e != nil {
		return reply{}, e
	}
	s.finish(def, a.def)
	plan := newPlan()
	plan.group = parentGroup(id)
	plan.original[id] = snapshot(a)
	s.applyChange(plan, a, def)
	plan.target[id] = snapshot(a)
	s.publishAPIPost(a, clientIP(r), r.URL.Path)
	d := s.startDeployment(plan)
	return deploymentReply(http.StatusOK, d, formatTimestamp(a.version)), nil
}

// applyChange stores def as a's definition and adds the action it needs
// to plan: none, ScaleApplication or RestartApplication.
func (s *Sim) applyChange(plan *plan, a *app, def *appDef) {
	if !sameConfig(a.def, def) {
		s.setDef(a, def, false)
		plan.add(actRestart, a)
		return
	}
	if a.def.Instances != def.Instances {
		s.setDef(a, def, true)
		plan.add(actScale, a)
	}
}

// putApps serves PUT and PATCH /v2/apps: a list of (partial) apps changed
// in one deployment.
func (s *Sim) putApps(r *http.Request, patch bool) reply {
	body, e := readBody(r)
	if e != nil {
		return errReply(e)
	}
	tree, e := parseJSON(body)
	if e != nil {
		return errReply(e)
	}
	te := s.typeErrors()
	list, ok := te.arr(tree, "")
	if !ok {
		return errReply(s.invalidJSON(&te))
	}
	inputs := make([]*appInput, len(list))
	for i, x := range list {
		sub := s.typeErrors()
		inputs[i] = decodeApp(x, &sub, s.gen)
		for _, d := range sub.details {
			for _, msg := range d.Errors {
				te.add(idx("", i)+d.Path, msg)
			}
		}
		if !inputs[i].has("id") {
			te.add(idx("", i)+"/id", errPathMiss)
		}
	}
	if e := s.invalidJSON(&te); e != nil {
		return errReply(e)
	}
	force := boolParam(r, "force", false)
	partial := patch || boolParam(r, "partialUpdate", true)
	s.lock()
	defer s.unlock()
	ids := make([]string, len(inputs))
	defs := make([]*appDef, len(inputs))
	var p problems
	for i, in := range inputs {
		ids[i] = absoluteID(in.def.ID, "/")
		a := s.apps[ids[i]]
		switch {
		case a == nil && patch:
			return errReply(errAppNotFound(ids[i]))
		case a == nil || !partial:
			defs[i] = s.newDef(in, ids[i])
		default:
			defs[i] = mergeDef(a.def, in)
		}
		s.check(&p, idx("", i), in, defs[i], appDefOf(a), in.def.ID)
	}
	if e := p.err(); e != nil {
		return errReply(e)
	}
	if e := s.checkLocks(ids, force); e != nil {
		return errReply(e)
	}
	plan := newPlan()
	for i, def := range defs {
		a := s.apps[ids[i]]
		plan.original[ids[i]] = snapshot(a)
		s.finish(def, appDefOf(a))
		if a == nil {
			if s.groupConflict(ids[i]) {
				return errReply(errGroupClash)
			}
			a = s.addApp(def, nil)
			plan.add(actStart, a)
			plan.add(actScale, a)
		} else {
			s.applyChange(plan, a, def)
		}
		plan.target[ids[i]] = snapshot(a)
		s.publishAPIPost(a, clientIP(r), r.URL.Path)
	}
	d := s.startDeployment(plan)
	return deploymentReply(http.StatusOK, d, formatTimestamp(d.version))
}

func appDefOf(a *app) *appDef {
	if a == nil {
		return nil
	}
	return a.def
}

// deleteAppHandler serves DELETE /v2/apps/{id}. force defaults to true
// here: deleting cancels a deployment holding the app.
func (s *Sim) deleteAppHandler(r *http.Request, rawID string) reply {
	id := absoluteID(rawID, "/")
	s.lock()
	defer s.unlock()
	a := s.apps[id]
	if a == nil {
		return errReply(errAppNotFound(id))
	}
	if e := s.checkLocks([]string{id}, boolParam(r, "force", true)); e != nil {
		return errReply(e)
	}
	p := newPlan()
	p.group = parentGroup(id)
	p.original[id] = snapshot(a)
	p.target[id] = nil
	s.deleteApp(a)
	p.add(actStop, a)
	d := s.startDeployment(p)
	return deploymentReply(http.StatusOK, d, formatTimestamp(d.version))
}

// restartApp serves POST /v2/apps/{id}/restart: a new version of the same
// definition, deployed as a rolling restart.
func (s *Sim) restartApp(r *http.Request, rawID string) reply {
	id := absoluteID(rawID, "/")
	s.lock()
	defer s.unlock()
	a := s.apps[id]
	if a == nil {
		return errReply(errAppNotFound(id))
	}
	if e := s.checkLocks([]string{id}, boolParam(r, "force", false)); e != nil {
		return errReply(e)
	}
	p := newPlan()
	p.group = parentGroup(id)
	p.original[id] = snapshot(a)
	s.setDef(a, a.def, false)
	p.add(actRestart, a)
	p.target[id] = snapshot(a)
	d := s.startDeployment(p)
	return deploymentReply(http.StatusOK, d, formatTimestamp(a.version))
}
