package marathonsim

import (
	"maps"
	"slices"
)

// appDef is an app definition in canonical (Marathon 1.5+) form: legacy
// request fields are translated and every default is filled in. It is
// immutable once stored in an app; changes make a new one.
type appDef struct {
	ID          string
	Cmd         *string
	Args        []string // nil: not set
	User        *string
	Env         map[string]envValue
	Instances   int
	CPUs        float64
	Mem         float64
	Disk        float64
	GPUs        float64
	Executor    string
	Constraints [][]string
	Fetch       []fetchURI
	// Backoff strategy.
	BackoffSeconds        float64
	BackoffFactor         float64
	MaxLaunchDelaySeconds float64
	Container             *container
	HealthChecks          []healthCheck
	ReadinessChecks       []readinessCheck
	Dependencies          []string
	UpgradeStrategy       upgradeStrategy
	Labels                map[string]string
	AcceptedResourceRoles []string // nil: not set
	Residency             any      // free-form, echoed
	Secrets               map[string]any
	TaskKillGracePeriod   *float64
	UnreachableStrategy   any // "disabled" or {inactiveAfterSeconds, expungeAfterSeconds}
	KillSelection         string
	// Role is the Mesos role of the app (1.9+); Marathon's --mesos_role
	// when the definition names none.
	Role            string
	Networks        []network
	PortDefinitions []portDefinition // host networking only
	RequirePorts    bool
	// IPAddress keeps a legacy (≤1.4) ipAddress object for echoing in the
	// 1.4 shape; the canonical form is a container network.
	IPAddress map[string]any
	// Extra keeps fields the simulator does not interpret but Marathon
	// echoes (tty, …).
	Extra map[string]any
}

type envValue struct {
	Value  string
	Secret string // non-empty: {"secret": name}
}

type fetchURI struct {
	URI        string
	Extract    bool
	Executable bool
	Cache      bool
	DestPath   *string
}

type container struct {
	Type         string // DOCKER or MESOS
	Docker       *docker
	Volumes      []volume
	PortMappings []portMapping
	// Extra keeps unknown container fields (appc, linuxInfo, …).
	Extra map[string]any
}

type docker struct {
	Image          string
	Privileged     bool
	Parameters     []keyValue
	ForcePullImage bool
	PullConfig     any
	Credential     any
}

type keyValue struct{ Key, Value string }

type portMapping struct {
	ContainerPort int
	HostPort      *int // nil: no host port (container networks only)
	ServicePort   int
	Protocol      string
	Name          string
	Labels        map[string]string
	NetworkNames  []string
}

type portDefinition struct {
	Port     int
	Protocol string
	Name     string
	Labels   map[string]string
}

type network struct {
	Mode   string // host, container/bridge, container
	Name   string
	Labels map[string]string
}

type healthCheck struct {
	Protocol               string
	Path                   *string
	PortIndex              *int
	Port                   *int
	Command                *string
	GracePeriodSeconds     int
	IntervalSeconds        int
	TimeoutSeconds         int
	MaxConsecutiveFailures int
	DelaySeconds           int
	IgnoreHTTP1xx          bool
	IPProtocol             string
}

type readinessCheck struct {
	Name                    string
	Protocol                string
	Path                    string
	PortName                string
	IntervalSeconds         int
	TimeoutSeconds          int
	HTTPStatusCodesForReady []int
	PreserveLastResponse    bool
}

type upgradeStrategy struct {
	MinimumHealthCapacity float64
	MaximumOverCapacity   float64
}

// Network modes.
const (
	modeHost      = "host"
	modeBridge    = "container/bridge"
	modeContainer = "container"
)

// networkMode returns the app's networking mode (host when unset).
func (d *appDef) networkMode() string {
	if len(d.Networks) == 0 {
		return modeHost
	}
	return d.Networks[0].Mode
}

// image returns the docker image, or "".
func (d *appDef) image() string {
	if d.Container != nil && d.Container.Docker != nil {
		return d.Container.Docker.Image
	}
	return ""
}

// portMappings returns the container port mappings, or nil.
func (d *appDef) portMappings() []portMapping {
	if d.Container == nil {
		return nil
	}
	return d.Container.PortMappings
}

// portCount is the number of ports health checks may address by index:
// port mappings when there are any, else port definitions.
func (d *appDef) portCount() int {
	if pm := d.portMappings(); len(pm) > 0 {
		return len(pm)
	}
	return len(d.PortDefinitions)
}

// servicePorts lists the service ports, one per port definition or
// mapping.
func (d *appDef) servicePorts() []int {
	if d.networkMode() == modeHost {
		out := make([]int, len(d.PortDefinitions))
		for i, p := range d.PortDefinitions {
			out[i] = p.Port
		}
		return out
	}
	pm := d.portMappings()
	out := make([]int, len(pm))
	for i, p := range pm {
		out[i] = p.ServicePort
	}
	return out
}

// clone returns a deep enough copy of d that changing any field of the
// copy (including slices and maps it owns) leaves d alone. Free-form
// values (any) are never mutated, so they are shared.
func (d *appDef) clone() *appDef {
	c := *d
	c.Args = slices.Clone(d.Args)
	c.Env = maps.Clone(d.Env)
	c.Constraints = make([][]string, len(d.Constraints))
	for i, cs := range d.Constraints {
		c.Constraints[i] = slices.Clone(cs)
	}
	c.Fetch = slices.Clone(d.Fetch)
	if d.Container != nil {
		ct := *d.Container
		if ct.Docker != nil {
			dk := *ct.Docker
			dk.Parameters = slices.Clone(dk.Parameters)
			ct.Docker = &dk
		}
		ct.Volumes = slices.Clone(ct.Volumes)
		ct.PortMappings = slices.Clone(ct.PortMappings)
		ct.Extra = maps.Clone(ct.Extra)
		c.Container = &ct
	}
	c.HealthChecks = slices.Clone(d.HealthChecks)
	c.ReadinessChecks = slices.Clone(d.ReadinessChecks)
	c.Dependencies = slices.Clone(d.Dependencies)
	c.Labels = maps.Clone(d.Labels)
	c.AcceptedResourceRoles = slices.Clone(d.AcceptedResourceRoles)
	c.Secrets = maps.Clone(d.Secrets)
	c.Networks = slices.Clone(d.Networks)
	c.PortDefinitions = slices.Clone(d.PortDefinitions)
	c.IPAddress = maps.Clone(d.IPAddress)
	c.Extra = maps.Clone(d.Extra)
	return &c
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
