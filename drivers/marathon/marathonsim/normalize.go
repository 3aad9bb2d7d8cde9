package marathonsim

import (
	"strings"
)

// translateLegacy rewrites the ≤1.4 request fields of a body into the
// canonical ones, as Marathon 1.5+'s AppNormalization does (and as a 1.4
// server understands them natively): docker.network becomes networks,
// docker.portMappings container.portMappings, ports portDefinitions, uris
// fetch, a bare ipAddress a container network. A canonical field given
// next to its legacy twin wins; the validator reports the conflicts.
// "ports" only apply to host networking and are ignored otherwise, as
// Marathon does; baseMode is the networking mode when the body does not
// set one (the current app's, for an update).
func translateLegacy(in *appInput, baseMode string) {
	d := &in.def
	if len(in.uris) > 0 && !in.has("fetch") {
		d.Fetch = make([]fetchURI, len(in.uris))
		for i, u := range in.uris {
			d.Fetch[i] = fetchURI{URI: u, Extract: isArchive(u)}
		}
		in.present["fetch"] = true
	}
	if d.Container != nil {
		if in.dockerPMSet && !in.containerPM {
			d.Container.PortMappings = in.dockerPM
			in.containerPM = true
		}
		if in.dockerNet != "" && !in.has("networks") {
			switch in.dockerNet {
			case "BRIDGE":
				d.Networks = []network{{Mode: modeBridge}}
			case "HOST":
				d.Networks = []network{{Mode: modeHost}}
			case "USER", "NONE":
				d.Networks = []network{{Mode: modeContainer, Name: ipAddressNetworkName(d.IPAddress)}}
			}
			in.present["networks"] = true
		}
	}
	if in.ipAddressSet && !in.has("networks") {
		d.Networks = []network{{Mode: modeContainer, Name: ipAddressNetworkName(d.IPAddress)}}
		in.present["networks"] = true
	}
	mode := baseMode
	if in.has("networks") && len(in.def.Networks) > 0 {
		mode = in.def.Networks[0].Mode
	}
	if in.ports != nil && !in.has("portDefinitions") && mode == modeHost {
		d.PortDefinitions = make([]portDefinition, len(in.ports))
		for i, p := range in.ports {
			d.PortDefinitions[i] = portDefinition{Port: p, Protocol: "tcp"}
		}
		in.present["portDefinitions"] = true
	}
}

// defaultNetworkName names the container network of an app that asks for
// one without naming it (Marathon's --default_network_name).
const defaultNetworkName = "dcos"

func ipAddressNetworkName(ip map[string]any) string {
	if s, ok := ip["networkName"].(string); ok && s != "" {
		return s
	}
	return defaultNetworkName
}

func isArchive(uri string) bool {
	for _, ext := range []string{".tgz", ".tar.gz", ".tbz2", ".tar.bz2", ".txz", ".tar.xz", ".zip"} {
		if strings.HasSuffix(uri, ext) {
			return true
		}
	}
	return false
}

// newDef builds a full definition from a body: every absent field takes
// Marathon's default. Used for POST, for PUT that creates, and for PUT with
// partialUpdate=false.
func newDef(in *appInput, id string, gen Generation) *appDef {
	translateLegacy(in, modeHost)
	d := in.def.clone()
	d.ID = id
	if !in.has("instances") {
		d.Instances = 1
	}
	if !in.has("cpus") {
		d.CPUs = 1
	}
	if !in.has("mem") {
		d.Mem = 128
	}
	if !in.has("backoffSeconds") {
		d.BackoffSeconds = 1
	}
	if !in.has("backoffFactor") {
		d.BackoffFactor = 1.15
	}
	if !in.has("maxLaunchDelaySeconds") {
		d.MaxLaunchDelaySeconds = defaultMaxLaunchDelay(gen)
	}
	if !in.has("upgradeStrategy") {
		d.UpgradeStrategy = upgradeStrategy{MinimumHealthCapacity: 1, MaximumOverCapacity: 1}
	}
	residentDefaults(d, in)
	if gen != Gen14 {
		defaultPortMappings(d)
	}
	fillDefaults(d, in.has("portDefinitions"))
	return d
}

// defaultPortMappings gives an app off host networking whose container
// leaves portMappings out (an explicit [] is kept) the one port mapping
// Marathon 1.5+ makes up for it (AppNormalization's
// applyDefaultPortMappings): container port 0, named "default".
func defaultPortMappings(d *appDef) {
	if d.Container == nil || d.networkMode() == modeHost || d.Container.PortMappings != nil {
		return
	}
	d.Container.PortMappings = []portMapping{{Protocol: "tcp", Name: "default"}}
}

func defaultMaxLaunchDelay(gen Generation) float64 {
	if gen == Gen14 {
		return 3600
	}
	return 300
}

// mergeDef applies a partial update (PUT partialUpdate=true, PATCH) to
// base: every top-level field the body contains replaces the current one,
// every other keeps its value. A change of networking mode drops the port
// declarations of the old mode unless the body gives new ones.
func mergeDef(base *appDef, in *appInput) *appDef {
	translateLegacy(in, base.networkMode())
	u := &in.def
	d := base.clone()
	for k := range in.present {
		switch k {
		case "cmd":
			d.Cmd = u.Cmd
		case "args":
			d.Args = u.Args
		case "user":
			d.User = u.User
		case "env":
			d.Env = u.Env
		case "instances":
			d.Instances = u.Instances
		case "cpus":
			d.CPUs = u.CPUs
		case "mem":
			d.Mem = u.Mem
		case "disk":
			d.Disk = u.Disk
		case "gpus":
			d.GPUs = u.GPUs
		case "executor":
			d.Executor = u.Executor
		case "constraints":
			d.Constraints = u.Constraints
		case "fetch":
			d.Fetch = u.Fetch
		case "backoffSeconds":
			d.BackoffSeconds = u.BackoffSeconds
		case "backoffFactor":
			d.BackoffFactor = u.BackoffFactor
		case "maxLaunchDelaySeconds":
			d.MaxLaunchDelaySeconds = u.MaxLaunchDelaySeconds
		case "container":
			d.Container = u.Container
		case "healthChecks":
			d.HealthChecks = u.HealthChecks
		case "readinessChecks":
			d.ReadinessChecks = u.ReadinessChecks
		case "dependencies":
			d.Dependencies = u.Dependencies
		case "upgradeStrategy":
			d.UpgradeStrategy = u.UpgradeStrategy
		case "labels":
			d.Labels = u.Labels
		case "acceptedResourceRoles":
			d.AcceptedResourceRoles = u.AcceptedResourceRoles
		case "ipAddress":
			d.IPAddress = u.IPAddress
		case "residency":
			d.Residency = u.Residency
		case "secrets":
			d.Secrets = u.Secrets
		case "taskKillGracePeriodSeconds":
			d.TaskKillGracePeriod = u.TaskKillGracePeriod
		case "unreachableStrategy":
			d.UnreachableStrategy = u.UnreachableStrategy
		case "killSelection":
			d.KillSelection = u.KillSelection
		case "networks":
			d.Networks = u.Networks
		case "portDefinitions":
			d.PortDefinitions = u.PortDefinitions
		case "requirePorts":
			d.RequirePorts = u.RequirePorts
		case "role":
			d.Role = u.Role
		case "tty":
			setExtra(&d.Extra, k, u.Extra[k])
		}
	}
	if in.has("networks") && !in.has("portDefinitions") && d.networkMode() != modeHost {
		d.PortDefinitions = nil
	}
	if in.has("networks") && !in.has("container") && d.networkMode() == modeHost && d.Container != nil {
		d.Container.PortMappings = nil
	}
	if !in.has("ipAddress") && in.has("networks") {
		d.IPAddress = nil
	}
	hostDefault := base.networkMode() != modeHost && d.networkMode() == modeHost && !in.has("portDefinitions")
	fillDefaults(d, !hostDefault)
	return d
}

// fillDefaults completes the collection fields and networking defaults of
// d, and drops the repeats of its sets (dedupeSets). portsGiven tells
// whether portDefinitions were explicitly given (an explicit [] means "no
// ports").
func fillDefaults(d *appDef, portsGiven bool) {
	if d.Env == nil {
		d.Env = map[string]envValue{}
	}
	if d.Labels == nil {
		d.Labels = map[string]string{}
	}
	if d.Constraints == nil {
		d.Constraints = [][]string{}
	}
	if d.Fetch == nil {
		d.Fetch = []fetchURI{}
	}
	if d.HealthChecks == nil {
		d.HealthChecks = []healthCheck{}
	}
	if d.ReadinessChecks == nil {
		d.ReadinessChecks = []readinessCheck{}
	}
	if d.Dependencies == nil {
		d.Dependencies = []string{}
	}
	if d.Secrets == nil {
		d.Secrets = map[string]any{}
	}
	if d.KillSelection == "" {
		d.KillSelection = "YOUNGEST_FIRST"
	}
	if d.UnreachableStrategy == nil {
		d.UnreachableStrategy = map[string]any{"inactiveAfterSeconds": 0, "expungeAfterSeconds": 0}
	}
	if len(d.Networks) == 0 {
		d.Networks = []network{{Mode: modeHost}}
	}
	mode := d.networkMode()
	if mode == modeHost {
		if d.PortDefinitions == nil && !portsGiven {
			d.PortDefinitions = []portDefinition{{Port: 0, Protocol: "tcp", Name: "default"}}
		}
		if d.PortDefinitions == nil {
			d.PortDefinitions = []portDefinition{}
		}
	} else if d.PortDefinitions != nil && len(d.PortDefinitions) == 0 {
		d.PortDefinitions = nil
	}
	if d.Container != nil && mode == modeBridge {
		for i := range d.Container.PortMappings {
			if d.Container.PortMappings[i].HostPort == nil {
				zero := 0
				d.Container.PortMappings[i].HostPort = &zero
			}
		}
	}
	dedupeSets(d)
}

// upperOperators stores constraint operators upper case: 1.5+ reads them
// case-insensitively and answers with the canonical spelling.
func upperOperators(d *appDef) {
	for i := range d.Constraints {
		if len(d.Constraints[i]) >= 2 {
			d.Constraints[i][1] = strings.ToUpper(d.Constraints[i][1])
		}
	}
}
