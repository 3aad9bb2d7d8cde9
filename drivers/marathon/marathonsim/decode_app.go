package marathonsim

import (
	"maps"
	"regexp"
	"slices"
)

// readinessPortNameRE is the RAML pattern of a readiness check's portName.
var readinessPortNameRE = regexp.MustCompile(`^[a-z][-a-z0-9]*$`)

// appInput is an app body as a client sent it: the fields it contains,
// read into an appDef without defaults, which top-level keys it contains,
// and the legacy (≤1.4) fields that normalisation translates.
type appInput struct {
	def     appDef
	present map[string]bool
	// given is present as sent, before legacy fields were translated.
	given map[string]bool

	ports        []int // legacy "ports"
	uris         []string
	version      *string
	dockerNet    string        // legacy container.docker.network
	dockerPM     []portMapping // legacy container.docker.portMappings
	dockerPMSet  bool
	containerPM  bool // container.portMappings given
	ipAddressSet bool
}

// has reports whether the body contained key (non-null).
func (in *appInput) has(key string) bool { return in.present[key] }

// RAML bounds of the app fields that Marathon 1.5+ checks while reading a
// body.
var (
	minZero = fp(0)
	maxPort = fp(65535)
	minCPUs = fp(0.001)
	minOne  = fp(1)
	maxOne  = fp(1)
	minCode = fp(100)
	maxCode = fp(999)
	execRE  = regexp.MustCompile(`^(?:(//cmd)|(/?[^/]+(/[^/]+)*)|)$`)
)

// decodeApp reads an app body of a Marathon of generation gen. Type
// errors are collected into te; the result is usable only when te stays
// empty.
func decodeApp(v any, te *typeErrors, gen Generation) *appInput {
	in := &appInput{present: map[string]bool{}}
	m, ok := te.obj(v, "")
	if !ok {
		return in
	}
	d := &in.def
	for k, raw := range m {
		if raw == nil {
			continue
		}
		p := "/" + k
		in.present[k] = true
		switch k {
		case "id":
			d.ID, _ = te.str(raw, p)
			te.pattern(p, !slices.Contains(idErrors(d.ID), msgIDPattern))
		case "cmd":
			if s, ok := te.str(raw, p); ok {
				d.Cmd = &s
				if te.raml && s == "" {
					te.add(p, errMinLength)
				}
			}
		case "args":
			d.Args, _ = te.strings(raw, p)
			if d.Args == nil {
				d.Args = []string{}
			}
		case "user":
			if s, ok := te.str(raw, p); ok {
				d.User = &s
			}
		case "env":
			d.Env = decodeEnv(raw, p, te)
		case "instances":
			d.Instances, _ = te.int(raw, p)
			te.bounds(p, float64(d.Instances), minZero, nil)
		case "cpus":
			d.CPUs, _ = te.num(raw, p)
			te.bounds(p, d.CPUs, minCPUs, nil)
		case "mem":
			d.Mem, _ = te.num(raw, p)
			te.bounds(p, d.Mem, minZero, nil)
		case "disk":
			d.Disk, _ = te.num(raw, p)
		case "gpus":
			n, _ := te.int(raw, p)
			d.GPUs = float64(n)
			te.bounds(p, d.GPUs, minZero, nil)
		case "executor":
			d.Executor, _ = te.str(raw, p)
			te.pattern(p, execRE.MatchString(d.Executor))
		case "constraints":
			d.Constraints = decodeConstraints(raw, p, te)
		case "uris":
			in.uris, _ = te.strings(raw, p)
		case "fetch":
			d.Fetch = decodeFetch(raw, p, te)
		case "backoffSeconds":
			d.BackoffSeconds, _ = te.num(raw, p)
			te.bounds(p, d.BackoffSeconds, minZero, nil)
		case "backoffFactor":
			d.BackoffFactor, _ = te.num(raw, p)
			te.bounds(p, d.BackoffFactor, minOne, nil)
		case "maxLaunchDelaySeconds":
			d.MaxLaunchDelaySeconds, _ = te.num(raw, p)
			te.bounds(p, d.MaxLaunchDelaySeconds, minZero, nil)
		case "container":
			d.Container = decodeContainer(raw, p, te, in)
		case "healthChecks":
			d.HealthChecks = decodeHealthChecks(raw, p, te)
		case "readinessChecks":
			d.ReadinessChecks = decodeReadinessChecks(raw, p, te)
		case "dependencies":
			d.Dependencies, _ = te.strings(raw, p)
		case "upgradeStrategy":
			d.UpgradeStrategy = decodeUpgradeStrategy(raw, p, te)
		case "labels":
			d.Labels, _ = te.stringMap(raw, p)
		case "acceptedResourceRoles":
			d.AcceptedResourceRoles, _ = te.strings(raw, p)
		case "ipAddress":
			d.IPAddress, _ = te.obj(raw, p)
			in.ipAddressSet = true
		case "version":
			if s, ok := te.str(raw, p); ok {
				in.version = &s
			}
		case "residency":
			if _, ok := te.obj(raw, p); ok {
				d.Residency = raw
			}
		case "secrets":
			d.Secrets, _ = te.obj(raw, p)
		case "taskKillGracePeriodSeconds":
			if f, ok := te.num(raw, p); ok {
				d.TaskKillGracePeriod = &f
				te.bounds(p, f, minZero, nil)
			}
		case "unreachableStrategy":
			d.UnreachableStrategy = decodeUnreachable(raw, p, te)
		case "killSelection":
			d.KillSelection, _ = te.enum(raw, p, "YOUNGEST_FIRST", "OLDEST_FIRST")
		case "networks":
			d.Networks = decodeNetworks(raw, p, te)
		case "portDefinitions":
			d.PortDefinitions = decodePortDefinitions(raw, p, te)
			if d.PortDefinitions == nil {
				d.PortDefinitions = []portDefinition{}
			}
		case "ports":
			in.ports, _ = te.ints(raw, p)
			if in.ports == nil {
				in.ports = []int{}
			}
		case "requirePorts":
			d.RequirePorts, _ = te.bool(raw, p)
		case "tty":
			if _, ok := te.bool(raw, p); ok {
				setExtra(&d.Extra, k, raw)
			}
		case "role":
			if gen == Gen14 { // Marathon 1.4 has no app roles
				delete(in.present, k)
				continue
			}
			d.Role, _ = te.str(raw, p)
		default:
			// Marathon ignores fields it does not know, including the
			// read-only ones of an AppInfo sent back (tasks, deployments,
			// tasksRunning, versionInfo, …).
			delete(in.present, k)
		}
	}
	in.given = maps.Clone(in.present)
	return in
}

func setExtra(m *map[string]any, k string, v any) {
	if *m == nil {
		*m = map[string]any{}
	}
	(*m)[k] = v
}

func decodeEnv(v any, path string, te *typeErrors) map[string]envValue {
	m, ok := te.obj(v, path)
	if !ok {
		return nil
	}
	out := make(map[string]envValue, len(m))
	for k, x := range m {
		p := path + "/" + k
		switch x := x.(type) {
		case string:
			out[k] = envValue{Value: x}
		case map[string]any:
			s, ok := field(x, "secret")
			if !ok {
				te.add(p+"/secret", errPathMiss)
				continue
			}
			name, _ := te.str(s, p+"/secret")
			out[k] = envValue{Secret: name}
		default:
			te.add(p, errExpString)
		}
	}
	return out
}

func decodeContainer(v any, path string, te *typeErrors, in *appInput) *container {
	m, ok := te.obj(v, path)
	if !ok {
		return nil
	}
	c := &container{Type: "DOCKER", Volumes: []volume{}}
	for k, raw := range m {
		if raw == nil {
			continue
		}
		p := path + "/" + k
		switch k {
		case "type":
			c.Type, _ = te.enum(raw, p, "DOCKER", "MESOS")
		case "docker":
			c.Docker = decodeDocker(raw, p, te, in)
		case "volumes":
			if vs := decodeVolumes(raw, p, te); vs != nil {
				c.Volumes = vs
			}
		case "portMappings":
			c.PortMappings = decodePortMappings(raw, p, te)
			if c.PortMappings == nil {
				c.PortMappings = []portMapping{}
			}
			in.containerPM = true
		default:
			setExtra(&c.Extra, k, raw)
		}
	}
	return c
}

func decodeDocker(v any, path string, te *typeErrors, in *appInput) *docker {
	m, ok := te.obj(v, path)
	if !ok {
		return nil
	}
	d := &docker{Parameters: []keyValue{}}
	for k, raw := range m {
		if raw == nil {
			continue
		}
		p := path + "/" + k
		switch k {
		case "image":
			d.Image, _ = te.str(raw, p)
		case "privileged":
			d.Privileged, _ = te.bool(raw, p)
		case "forcePullImage":
			d.ForcePullImage, _ = te.bool(raw, p)
		case "parameters":
			a, ok := te.arr(raw, p)
			if !ok {
				continue
			}
			for i, x := range a {
				pp := idx(p, i)
				kv, ok := te.obj(x, pp)
				if !ok {
					continue
				}
				var pair keyValue
				if s, ok := field(kv, "key"); ok {
					pair.Key, _ = te.str(s, pp+"/key")
				}
				if s, ok := field(kv, "value"); ok {
					pair.Value, _ = te.str(s, pp+"/value")
				}
				d.Parameters = append(d.Parameters, pair)
			}
		case "network":
			in.dockerNet, _ = te.enum(raw, p, "BRIDGE", "HOST", "USER", "NONE")
		case "portMappings":
			in.dockerPM = decodePortMappings(raw, p, te)
			in.dockerPMSet = true
		case "pullConfig":
			d.PullConfig = raw
		case "credential":
			d.Credential = raw
		}
	}
	return d
}

func decodePortMappings(v any, path string, te *typeErrors) []portMapping {
	a, ok := te.arr(v, path)
	if !ok {
		return nil
	}
	out := make([]portMapping, 0, len(a))
	for i, x := range a {
		p := idx(path, i)
		m, ok := te.obj(x, p)
		if !ok {
			continue
		}
		pm := portMapping{Protocol: "tcp"}
		if n, ok := field(m, "containerPort"); ok {
			pm.ContainerPort, _ = te.int(n, p+"/containerPort")
			te.bounds(p+"/containerPort", float64(pm.ContainerPort), minZero, maxPort)
		}
		if n, ok := field(m, "hostPort"); ok {
			if hp, ok := te.int(n, p+"/hostPort"); ok {
				pm.HostPort = &hp
				te.bounds(p+"/hostPort", float64(hp), minZero, maxPort)
			}
		}
		if n, ok := field(m, "servicePort"); ok {
			pm.ServicePort, _ = te.int(n, p+"/servicePort")
			te.bounds(p+"/servicePort", float64(pm.ServicePort), minZero, maxPort)
		}
		if s, ok := field(m, "protocol"); ok {
			pm.Protocol, _ = te.enum(s, p+"/protocol", "tcp", "udp", "udp,tcp", "tcp,udp")
		}
		if s, ok := field(m, "name"); ok {
			pm.Name, _ = te.str(s, p+"/name")
		}
		if l, ok := field(m, "labels"); ok {
			pm.Labels, _ = te.stringMap(l, p+"/labels")
		}
		if l, ok := field(m, "networkNames"); ok {
			pm.NetworkNames, _ = te.strings(l, p+"/networkNames")
		}
		out = append(out, pm)
	}
	return out
}

func decodePortDefinitions(v any, path string, te *typeErrors) []portDefinition {
	a, ok := te.arr(v, path)
	if !ok {
		return nil
	}
	out := make([]portDefinition, 0, len(a))
	for i, x := range a {
		p := idx(path, i)
		m, ok := te.obj(x, p)
		if !ok {
			continue
		}
		pd := portDefinition{Protocol: "tcp"}
		if n, ok := field(m, "port"); ok {
			pd.Port, _ = te.int(n, p+"/port")
			te.bounds(p+"/port", float64(pd.Port), minZero, maxPort)
		}
		if s, ok := field(m, "protocol"); ok {
			pd.Protocol, _ = te.enum(s, p+"/protocol", "tcp", "udp", "udp,tcp", "tcp,udp")
		}
		if s, ok := field(m, "name"); ok {
			pd.Name, _ = te.str(s, p+"/name")
		}
		if l, ok := field(m, "labels"); ok {
			pd.Labels, _ = te.stringMap(l, p+"/labels")
		}
		out = append(out, pd)
	}
	return out
}

func decodeNetworks(v any, path string, te *typeErrors) []network {
	a, ok := te.arr(v, path)
	if !ok {
		return nil
	}
	out := make([]network, 0, len(a))
	for i, x := range a {
		p := idx(path, i)
		m, ok := te.obj(x, p)
		if !ok {
			continue
		}
		n := network{Mode: modeContainer}
		if s, ok := field(m, "mode"); ok {
			n.Mode, _ = te.enum(s, p+"/mode", modeHost, modeBridge, modeContainer)
		}
		if s, ok := field(m, "name"); ok {
			n.Name, _ = te.str(s, p+"/name")
		}
		if l, ok := field(m, "labels"); ok {
			n.Labels, _ = te.stringMap(l, p+"/labels")
		}
		out = append(out, n)
	}
	return out
}
