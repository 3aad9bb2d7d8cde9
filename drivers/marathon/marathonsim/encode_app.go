package marathonsim

// refreshJSON rebuilds the cached definition JSON of a.
func (s *Sim) refreshJSON(a *app) {
	var w jsonBuf
	writeDef(&w, a, s.gen, defAll)
	a.defJSON = w.b
}

// defParts choose the parts of a definition that an answer writes.
type defParts struct {
	// versionInfo: the app's versionInfo, which every answer but the
	// 201 of a POST to Marathon 1.10 carries.
	versionInfo bool
}

var defAll = defParts{versionInfo: true}

// writeDef writes the members of a's definition (no braces) as Marathon
// of generation gen does: the one writer of each generation, used by every
// answer that holds an app.
func writeDef(w *jsonBuf, a *app, gen Generation, parts defParts) {
	if gen == Gen14 {
		writeDef14(w, a, parts)
	} else {
		writeDef15(w, a, parts)
	}
}

// writeDef14 writes an app definition's members as Marathon 1.4 does
// (AppDefinitionWrites): unset options as null, service ports in "ports"
// next to "portDefinitions" (neither for an app with an ipAddress), Docker
// networking inside container.docker.
func writeDef14(w *jsonBuf, a *app, parts defParts) {
	d := a.def
	w.key("id")
	w.str(d.ID)
	w.key("cmd")
	w.strOrNull(d.Cmd)
	w.key("args")
	if d.Args == nil {
		w.null()
	} else {
		w.strings(d.Args)
	}
	w.key("user")
	w.strOrNull(d.User)
	w.key("env")
	writeEnv(w, d.Env)
	w.key("instances")
	w.int(d.Instances)
	w.key("cpus")
	w.num(d.CPUs)
	w.key("mem")
	w.num(d.Mem)
	w.key("disk")
	w.num(d.Disk)
	w.key("gpus")
	w.num(d.GPUs)
	w.key("executor")
	w.str(d.Executor)
	w.key("constraints")
	writeConstraints(w, d.Constraints)
	w.key("uris")
	w.arrOpen()
	for _, f := range d.Fetch {
		w.str(f.URI)
	}
	w.arrClose()
	w.key("fetch")
	writeFetch(w, d.Fetch)
	w.key("storeUrls")
	w.arrOpen()
	w.arrClose()
	writeBackoff(w, d)
	w.key("container")
	writeContainer14(w, d)
	w.key("healthChecks")
	writeHealthChecks(w, d.HealthChecks, Gen14)
	w.key("readinessChecks")
	writeReadiness(w, d.ReadinessChecks)
	w.key("dependencies")
	w.strings(d.Dependencies)
	w.key("upgradeStrategy")
	writeUpgrade(w, d.UpgradeStrategy)
	w.key("labels")
	w.stringMap(d.Labels)
	if len(d.AcceptedResourceRoles) > 0 {
		w.key("acceptedResourceRoles")
		w.strings(d.AcceptedResourceRoles)
	}
	w.key("ipAddress")
	writeIPAddress14(w, d)
	w.key("version")
	w.time(a.version)
	w.key("residency")
	if d.Residency == nil {
		w.null()
	} else {
		w.value(d.Residency)
	}
	w.key("secrets")
	w.value(d.Secrets)
	w.key("taskKillGracePeriodSeconds")
	if d.TaskKillGracePeriod == nil {
		w.null()
	} else {
		w.num(*d.TaskKillGracePeriod)
	}
	w.key("unreachableStrategy")
	w.value(d.UnreachableStrategy)
	w.key("killSelection")
	w.str(d.KillSelection)
	if parts.versionInfo {
		writeVersionInfo(w, a)
	}
	if d.networkMode() != modeContainer {
		w.key("ports")
		w.ints(d.servicePorts())
		w.key("portDefinitions")
		writePortDefinitions(w, d.PortDefinitions, Gen14)
		w.key("requirePorts")
		w.bool(d.RequirePorts)
	}
	writeExtra(w, d.Extra)
}

// writeDef15 writes an app definition's members as Marathon 1.5+ does
// (the RAML App type, 1.10): unset options and the lists and maps its
// RAML marks omitEmpty (env, constraints, fetch, health and readiness
// checks, dependencies, secrets) are left out when empty; networking is
// in "networks" and container.portMappings; role is always written.
func writeDef15(w *jsonBuf, a *app, parts defParts) {
	d := a.def
	w.key("id")
	w.str(d.ID)
	if d.Cmd != nil {
		w.key("cmd")
		w.str(*d.Cmd)
	}
	if d.Args != nil {
		w.key("args")
		w.strings(d.Args)
	}
	if d.User != nil {
		w.key("user")
		w.str(*d.User)
	}
	if len(d.Env) > 0 {
		w.key("env")
		writeEnv(w, d.Env)
	}
	w.key("instances")
	w.int(d.Instances)
	w.key("cpus")
	w.num(d.CPUs)
	w.key("mem")
	w.num(d.Mem)
	w.key("disk")
	w.num(d.Disk)
	w.key("gpus")
	w.num(d.GPUs)
	w.key("executor")
	w.str(d.Executor)
	if len(d.Constraints) > 0 {
		w.key("constraints")
		writeConstraints(w, d.Constraints)
	}
	if len(d.Fetch) > 0 {
		w.key("fetch")
		writeFetch(w, d.Fetch)
	}
	writeBackoff(w, d)
	if d.Container != nil {
		w.key("container")
		writeContainer15(w, d)
	}
	if len(d.HealthChecks) > 0 {
		w.key("healthChecks")
		writeHealthChecks(w, d.HealthChecks, Gen15)
	}
	if len(d.ReadinessChecks) > 0 {
		w.key("readinessChecks")
		writeReadiness(w, d.ReadinessChecks)
	}
	if len(d.Dependencies) > 0 {
		w.key("dependencies")
		w.strings(d.Dependencies)
	}
	w.key("upgradeStrategy")
	writeUpgrade(w, d.UpgradeStrategy)
	w.key("labels")
	w.stringMap(d.Labels)
	if d.AcceptedResourceRoles != nil {
		w.key("acceptedResourceRoles")
		w.strings(d.AcceptedResourceRoles)
	}
	w.key("version")
	w.time(a.version)
	if d.Residency != nil {
		w.key("residency")
		w.value(d.Residency)
	}
	if len(d.Secrets) > 0 {
		w.key("secrets")
		w.value(d.Secrets)
	}
	if d.TaskKillGracePeriod != nil {
		w.key("taskKillGracePeriodSeconds")
		w.num(*d.TaskKillGracePeriod)
	}
	w.key("unreachableStrategy")
	w.value(d.UnreachableStrategy)
	w.key("killSelection")
	w.str(d.KillSelection)
	w.key("role")
	w.str(d.Role)
	if parts.versionInfo {
		writeVersionInfo(w, a)
	}
	w.key("networks")
	w.arrOpen()
	for _, n := range d.Networks {
		w.objOpen()
		w.key("mode")
		w.str(n.Mode)
		if n.Name != "" {
			w.key("name")
			w.str(n.Name)
		}
		if len(n.Labels) > 0 {
			w.key("labels")
			w.stringMap(n.Labels)
		}
		w.objClose()
	}
	w.arrClose()
	if d.networkMode() == modeHost {
		w.key("portDefinitions")
		writePortDefinitions(w, d.PortDefinitions, Gen15)
	}
	w.key("requirePorts")
	w.bool(d.RequirePorts)
	writeExtra(w, d.Extra)
}

func writeExtra(w *jsonBuf, extra map[string]any) {
	for _, k := range sortedKeys(extra) {
		w.key(k)
		w.value(extra[k])
	}
}

func writeVersionInfo(w *jsonBuf, a *app) {
	w.key("versionInfo")
	w.objOpen()
	w.key("lastScalingAt")
	w.time(a.lastScalingAt)
	w.key("lastConfigChangeAt")
	w.time(a.lastConfigChangeAt)
	w.objClose()
}

func writeBackoff(w *jsonBuf, d *appDef) {
	w.key("backoffSeconds")
	w.num(d.BackoffSeconds)
	w.key("backoffFactor")
	w.num(d.BackoffFactor)
	w.key("maxLaunchDelaySeconds")
	w.num(d.MaxLaunchDelaySeconds)
}
