package marathonsim

// The parts of an app definition, written the same way or nearly so in
// both generations.

func writeEnv(w *jsonBuf, env map[string]envValue) {
	w.objOpen()
	for _, k := range sortedKeys(env) {
		w.key(k)
		v := env[k]
		if v.Secret != "" {
			w.objOpen()
			w.key("secret")
			w.str(v.Secret)
			w.objClose()
		} else {
			w.str(v.Value)
		}
	}
	w.objClose()
}

func writeConstraints(w *jsonBuf, cs [][]string) {
	w.arrOpen()
	for _, c := range cs {
		w.strings(c)
	}
	w.arrClose()
}

func writeFetch(w *jsonBuf, fs []fetchURI) {
	w.arrOpen()
	for _, f := range fs {
		w.objOpen()
		w.key("uri")
		w.str(f.URI)
		w.key("extract")
		w.bool(f.Extract)
		w.key("executable")
		w.bool(f.Executable)
		w.key("cache")
		w.bool(f.Cache)
		if f.DestPath != nil {
			w.key("destPath")
			w.str(*f.DestPath)
		}
		w.objClose()
	}
	w.arrClose()
}

func writeUpgrade(w *jsonBuf, us upgradeStrategy) {
	w.objOpen()
	w.key("minimumHealthCapacity")
	w.num(us.MinimumHealthCapacity)
	w.key("maximumOverCapacity")
	w.num(us.MaximumOverCapacity)
	w.objClose()
}

// writePortDefinitions writes port definitions; 1.5+ leaves out empty
// labels (omitEmpty in its RAML).
func writePortDefinitions(w *jsonBuf, pds []portDefinition, gen Generation) {
	w.arrOpen()
	for _, p := range pds {
		w.objOpen()
		w.key("port")
		w.int(p.Port)
		w.key("protocol")
		w.str(p.Protocol)
		if p.Name != "" {
			w.key("name")
			w.str(p.Name)
		}
		if gen == Gen14 || len(p.Labels) > 0 {
			w.key("labels")
			w.stringMap(p.Labels)
		}
		w.objClose()
	}
	w.arrClose()
}

func writePortMappings(w *jsonBuf, pms []portMapping, gen Generation) {
	w.arrOpen()
	for _, p := range pms {
		w.objOpen()
		w.key("containerPort")
		w.int(p.ContainerPort)
		if p.HostPort != nil { // none on a container network without one
			w.key("hostPort")
			w.int(*p.HostPort)
		}
		w.key("servicePort")
		w.int(p.ServicePort)
		w.key("protocol")
		w.str(p.Protocol)
		if p.Name != "" {
			w.key("name")
			w.str(p.Name)
		}
		w.key("labels")
		w.stringMap(p.Labels)
		if gen == Gen15 && len(p.NetworkNames) > 0 {
			w.key("networkNames")
			w.strings(p.NetworkNames)
		}
		w.objClose()
	}
	w.arrClose()
}

// dockerNetwork14 is the 1.4 docker.network of a definition.
func dockerNetwork14(d *appDef) string {
	switch d.networkMode() {
	case modeBridge:
		return "BRIDGE"
	case modeContainer:
		return "USER"
	}
	return "HOST"
}

// writeContainer writes the container of a definition, which writeDef
// writes only when there is one. 1.4 writes the volumes first and the
// Docker network and port mappings inside container.docker; 1.5+ the
// volumes after Docker and the port mappings beside them.
func writeContainer(w *jsonBuf, d *appDef, gen Generation) {
	c := d.Container
	old := gen == Gen14
	w.objOpen()
	w.key("type")
	w.str(c.Type)
	if old {
		w.key("volumes")
		writeVolumes(w, c.Volumes)
	}
	if c.Docker != nil {
		w.key("docker")
		w.objOpen()
		w.key("image")
		w.str(c.Docker.Image)
		if old && c.Type == "DOCKER" {
			w.key("network")
			w.str(dockerNetwork14(d))
			if d.networkMode() != modeHost {
				w.key("portMappings")
				writePortMappings(w, c.PortMappings, gen)
			}
		}
		writeDockerCommon(w, c.Docker)
		w.objClose()
	}
	if !old {
		w.key("volumes")
		writeVolumes(w, c.Volumes)
		if d.networkMode() != modeHost {
			w.key("portMappings")
			writePortMappings(w, c.PortMappings, gen)
		}
	}
	writeExtra(w, c.Extra)
	w.objClose()
}

func writeDockerCommon(w *jsonBuf, dk *docker) {
	w.key("privileged")
	w.bool(dk.Privileged)
	w.key("parameters")
	w.arrOpen()
	for _, p := range dk.Parameters {
		w.objOpen()
		w.key("key")
		w.str(p.Key)
		w.key("value")
		w.str(p.Value)
		w.objClose()
	}
	w.arrClose()
	w.key("forcePullImage")
	w.bool(dk.ForcePullImage)
	if dk.PullConfig != nil {
		w.key("pullConfig")
		w.value(dk.PullConfig)
	}
}

// valueOrEmpty writes v when it is a T, or empty (the JSON of an empty T)
// when it is absent or of another kind.
func valueOrEmpty[T any](w *jsonBuf, v any, empty string) {
	if t, ok := v.(T); ok {
		w.value(t)
		return
	}
	w.raw([]byte(empty))
}

// writeIPAddress14 writes 1.4's ipAddress: the one given, or one derived
// from a container network, or null. 1.4's IpAddressFormat fills in what
// a given one leaves out: groups [], labels {}, discovery {ports: []},
// and labels {} on each discovery port.
func writeIPAddress14(w *jsonBuf, d *appDef) {
	ip := d.IPAddress
	if ip == nil && d.networkMode() != modeContainer {
		w.null()
		return
	}
	if ip == nil {
		ip = map[string]any{"networkName": d.Networks[0].Name}
	}
	w.objOpen()
	w.key("groups")
	valueOrEmpty[[]any](w, ip["groups"], "[]")
	w.key("labels")
	valueOrEmpty[map[string]any](w, ip["labels"], "{}")
	w.key("discovery")
	w.objOpen()
	w.key("ports")
	w.arrOpen()
	disc, _ := ip["discovery"].(map[string]any)
	ports, _ := disc["ports"].([]any)
	for _, p := range ports {
		m, _ := p.(map[string]any)
		w.objOpen()
		for _, k := range []string{"number", "name", "protocol"} {
			w.key(k)
			w.value(m[k])
		}
		w.key("labels")
		valueOrEmpty[map[string]any](w, m["labels"], "{}")
		w.objClose()
	}
	w.arrClose()
	w.objClose()
	if name, ok := ip["networkName"].(string); ok {
		w.key("networkName")
		w.str(name)
	}
	w.objClose()
}

func writeHealthChecks(w *jsonBuf, hcs []healthCheck, gen Generation) {
	w.arrOpen()
	for _, hc := range hcs {
		writeHealthCheck(w, hc, gen)
	}
	w.arrClose()
}

func writeHealthCheck(w *jsonBuf, hc healthCheck, gen Generation) {
	w.objOpen()
	w.key("protocol")
	w.str(hc.Protocol)
	if hc.Path != nil {
		w.key("path")
		w.str(*hc.Path)
	}
	if hc.PortIndex != nil {
		w.key("portIndex")
		w.int(*hc.PortIndex)
	}
	if hc.Port != nil {
		w.key("port")
		w.int(*hc.Port)
	}
	if hc.Command != nil {
		w.key("command")
		w.objOpen()
		w.key("value")
		w.str(*hc.Command)
		w.objClose()
	}
	w.key("gracePeriodSeconds")
	w.int(hc.GracePeriodSeconds)
	w.key("intervalSeconds")
	w.int(hc.IntervalSeconds)
	w.key("timeoutSeconds")
	w.int(hc.TimeoutSeconds)
	w.key("maxConsecutiveFailures")
	w.int(hc.MaxConsecutiveFailures)
	w.key("delaySeconds")
	w.int(hc.DelaySeconds)
	if hc.Protocol == "HTTP" || hc.Protocol == "HTTPS" {
		w.key("ignoreHttp1xx")
		w.bool(hc.IgnoreHTTP1xx)
	}
	if gen == Gen15 && hc.Protocol != "COMMAND" {
		w.key("ipProtocol")
		w.str(hc.IPProtocol)
	}
	w.objClose()
}

func writeReadiness(w *jsonBuf, rcs []readinessCheck) {
	w.arrOpen()
	for _, rc := range rcs {
		w.objOpen()
		w.key("name")
		w.str(rc.Name)
		w.key("protocol")
		w.str(rc.Protocol)
		w.key("path")
		w.str(rc.Path)
		w.key("portName")
		w.str(rc.PortName)
		w.key("intervalSeconds")
		w.int(rc.IntervalSeconds)
		w.key("timeoutSeconds")
		w.int(rc.TimeoutSeconds)
		w.key("httpStatusCodesForReady")
		w.ints(rc.HTTPStatusCodesForReady)
		w.key("preserveLastResponse")
		w.bool(rc.PreserveLastResponse)
		w.objClose()
	}
	w.arrClose()
}
