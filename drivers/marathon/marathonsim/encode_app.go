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
// of generation gen does: the one writer of both generations, used by
// every answer that holds an app. Where the generations differ it says
// so member by member: Marathon 1.4 (AppDefinitionWrites) writes unset
// options as null and empty lists and maps as they are, keeps service
// ports in "ports" next to "portDefinitions" (neither for an app with an
// ipAddress) and Docker networking inside container.docker; 1.5+ (the
// RAML App type, 1.10) leaves out unset options and the lists and maps
// its RAML marks omitEmpty (env, constraints, fetch, health and readiness
// checks, dependencies, secrets), has networking in "networks" and
// container.portMappings, and always writes the role.
func writeDef(w *jsonBuf, a *app, gen Generation, parts defParts) {
	d := a.def
	o := defWriter{w: w, old: gen == Gen14}
	w.key("id")
	w.str(d.ID)
	o.opt("cmd", d.Cmd != nil, func() { w.str(*d.Cmd) })
	o.opt("args", d.Args != nil, func() { w.strings(d.Args) })
	o.opt("user", d.User != nil, func() { w.str(*d.User) })
	o.list("env", len(d.Env) > 0, func() { writeEnv(w, d.Env) })
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
	o.list("constraints", len(d.Constraints) > 0, func() { writeConstraints(w, d.Constraints) })
	if o.old {
		w.key("uris")
		w.arrOpen()
		for _, f := range d.Fetch {
			w.str(f.URI)
		}
		w.arrClose()
	}
	o.list("fetch", len(d.Fetch) > 0, func() { writeFetch(w, d.Fetch) })
	if o.old {
		w.key("storeUrls")
		w.arrOpen()
		w.arrClose()
	}
	writeBackoff(w, d)
	o.opt("container", d.Container != nil, func() { writeContainer(w, d, gen) })
	o.list("healthChecks", len(d.HealthChecks) > 0, func() { writeHealthChecks(w, d.HealthChecks, gen) })
	o.list("readinessChecks", len(d.ReadinessChecks) > 0, func() { writeReadiness(w, d.ReadinessChecks) })
	o.list("dependencies", len(d.Dependencies) > 0, func() { w.strings(d.Dependencies) })
	w.key("upgradeStrategy")
	writeUpgrade(w, d.UpgradeStrategy)
	w.key("labels")
	w.stringMap(d.Labels)
	// 1.4 leaves out an empty list of roles too; 1.5+ only an unset one.
	if o.old && len(d.AcceptedResourceRoles) > 0 || !o.old && d.AcceptedResourceRoles != nil {
		w.key("acceptedResourceRoles")
		w.strings(d.AcceptedResourceRoles)
	}
	if o.old {
		w.key("ipAddress")
		writeIPAddress14(w, d)
	}
	w.key("version")
	w.time(a.version)
	o.opt("residency", d.Residency != nil, func() { w.value(d.Residency) })
	o.list("secrets", len(d.Secrets) > 0, func() { w.value(d.Secrets) })
	o.opt("taskKillGracePeriodSeconds", d.TaskKillGracePeriod != nil, func() { w.num(*d.TaskKillGracePeriod) })
	w.key("unreachableStrategy")
	w.value(d.UnreachableStrategy)
	w.key("killSelection")
	w.str(d.KillSelection)
	if !o.old {
		w.key("role")
		w.str(d.Role)
	}
	if parts.versionInfo {
		writeVersionInfo(w, a)
	}
	if o.old {
		if d.networkMode() != modeContainer {
			w.key("ports")
			w.ints(d.servicePorts())
			w.key("portDefinitions")
			writePortDefinitions(w, d.PortDefinitions, gen)
			w.key("requirePorts")
			w.bool(d.RequirePorts)
		}
	} else {
		w.key("networks")
		writeNetworks(w, d.Networks)
		if d.networkMode() == modeHost {
			w.key("portDefinitions")
			writePortDefinitions(w, d.PortDefinitions, gen)
		}
		w.key("requirePorts")
		w.bool(d.RequirePorts)
	}
	writeExtra(w, d.Extra)
}

// defWriter writes the members whose form differs between the
// generations.
type defWriter struct {
	w   *jsonBuf
	old bool // Marathon 1.4 and older
}

// opt writes an option: its value when set; when unset, null on 1.4 and
// nothing on 1.5+.
func (o defWriter) opt(key string, set bool, write func()) {
	switch {
	case set:
		o.w.key(key)
		write()
	case o.old:
		o.w.key(key)
		o.w.null()
	}
}

// list writes a list or map that 1.5+ leaves out when empty (omitEmpty)
// and 1.4 always writes.
func (o defWriter) list(key string, nonEmpty bool, write func()) {
	if nonEmpty || o.old {
		o.w.key(key)
		write()
	}
}

func writeNetworks(w *jsonBuf, ns []network) {
	w.arrOpen()
	for _, n := range ns {
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
