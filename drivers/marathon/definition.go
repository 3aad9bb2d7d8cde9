package marathon

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"theseus.dev/specs"
)

// definitionJSON is the full app definition theseus writes. Every field
// the spec controls is always present, empty when unset, so that a field
// removed from the spec is removed from the app even by a Marathon that
// merges a PUT into the app (≤1.4, where partialUpdate does not exist);
// fields theseus does not control are left out and keep Marathon's
// defaults. The one exception is cmd: Marathon refuses an empty cmd, so
// an absent one is left out (see doc.go).
type definitionJSON struct {
	ID              string            `json:"id"`
	Cmd             *string           `json:"cmd,omitempty"`
	Args            []string          `json:"args"`
	CPUs            float64           `json:"cpus"`
	Mem             float64           `json:"mem"`
	Disk            float64           `json:"disk"`
	Instances       int               `json:"instances"`
	Env             map[string]string `json:"env"`
	Labels          map[string]string `json:"labels"`
	Constraints     [][]string        `json:"constraints"`
	Container       containerDef      `json:"container"`
	Networks        []networkJSON     `json:"networks,omitempty"`
	PortDefinitions *[]portDefJSON    `json:"portDefinitions,omitempty"`
	HealthChecks    []healthDef       `json:"healthChecks"`
	UpgradeStrategy upgradeDef        `json:"upgradeStrategy"`
}

type containerDef struct {
	Type         string       `json:"type"`
	Docker       dockerDef    `json:"docker"`
	PortMappings []mappingDef `json:"portMappings,omitempty"`
}

type dockerDef struct {
	Image        string       `json:"image"`
	Network      string       `json:"network,omitempty"`
	PortMappings []mappingDef `json:"portMappings,omitempty"`
}

// mappingDef is a port mapping: the host port is always given (0 lets
// Mesos choose), the service port never (Marathon assigns one).
type mappingDef struct {
	ContainerPort int    `json:"containerPort"`
	HostPort      int    `json:"hostPort"`
	Protocol      string `json:"protocol"`
	Name          string `json:"name,omitempty"`
}

type healthDef struct {
	Protocol               string      `json:"protocol"`
	Path                   string      `json:"path,omitempty"`
	PortIndex              *int        `json:"portIndex,omitempty"`
	Command                *commandDef `json:"command,omitempty"`
	GracePeriodSeconds     *int        `json:"gracePeriodSeconds,omitempty"`
	IntervalSeconds        *int        `json:"intervalSeconds,omitempty"`
	TimeoutSeconds         *int        `json:"timeoutSeconds,omitempty"`
	MaxConsecutiveFailures *int        `json:"maxConsecutiveFailures,omitempty"`
	DelaySeconds           *int        `json:"delaySeconds,omitempty"`
	IgnoreHTTP1xx          *bool       `json:"ignoreHttp1xx,omitempty"`
}

type commandDef struct {
	Value string `json:"value"`
}

type upgradeDef struct {
	MinimumHealthCapacity float64 `json:"minimumHealthCapacity"`
	MaximumOverCapacity   float64 `json:"maximumOverCapacity"`
}

// definition builds the app definition of w in the shape of Marathon 1.5+
// (gen15) or ≤1.4. w.Spec must be normalised (specs.Normalize); Config is
// never sent.
func definition(root string, w Write, gen15 bool) *definitionJSON {
	s := &w.Spec
	d := &definitionJSON{
		ID:              specs.AppID(root, w.Key),
		Args:            nonNil(s.Args),
		CPUs:            deref(s.CPUs, specs.DefaultCPUs),
		Mem:             deref(s.Mem, specs.DefaultMem),
		Disk:            deref(s.Disk, specs.DefaultDisk),
		Instances:       deref(s.Instances, specs.DefaultInstances),
		Env:             make(map[string]string, len(s.Env)),
		Labels:          Labels(w),
		Constraints:     make([][]string, 0, len(s.Constraints)),
		Container:       containerDef{Type: "DOCKER", Docker: dockerDef{Image: s.Image}},
		UpgradeStrategy: upgradeDef{specs.DefaultMinimumHealthCapacity, specs.DefaultMaximumOverCapacity},
	}
	if s.Cmd != "" {
		d.Cmd = &s.Cmd
	}
	for k, v := range s.Env {
		d.Env[k] = v.Value
	}
	for _, c := range s.Constraints {
		d.Constraints = append(d.Constraints, []string(c))
	}
	// Ports run in bridge mode, one mapping per port; no ports is host
	// mode without ports (not Marathon's one default port).
	var mappings []mappingDef
	for _, p := range s.Ports {
		mappings = append(mappings, mappingDef{ContainerPort: p.ContainerPort, HostPort: p.HostPort,
			Protocol: cmp.Or(p.Protocol, specs.DefaultProtocol), Name: p.Name})
	}
	none := &[]portDefJSON{}
	switch {
	case len(mappings) > 0 && gen15:
		d.Networks = []networkJSON{{Mode: modeBridge}}
		d.Container.PortMappings = mappings
	case len(mappings) > 0:
		d.Container.Docker.Network = "BRIDGE"
		d.Container.Docker.PortMappings = mappings
		d.PortDefinitions = none // a merging PUT would keep old ones
	case gen15:
		d.Networks = []networkJSON{{Mode: modeHost}}
		d.PortDefinitions = none
	default:
		d.Container.Docker.Network = "HOST"
		d.PortDefinitions = none
	}
	d.HealthChecks = make([]healthDef, 0, len(s.HealthChecks))
	for _, h := range s.HealthChecks {
		hj := healthDef{Protocol: h.Protocol, Path: h.Path, PortIndex: h.PortIndex,
			GracePeriodSeconds: h.GracePeriodSeconds, IntervalSeconds: h.IntervalSeconds,
			TimeoutSeconds: h.TimeoutSeconds, MaxConsecutiveFailures: h.MaxConsecutiveFailures,
			DelaySeconds: h.DelaySeconds}
		if h.Protocol == "HTTP" || h.Protocol == "HTTPS" {
			hj.IgnoreHTTP1xx = h.IgnoreHTTP1xx // Marathon's own HTTP checks only
		}
		if h.Command != "" {
			hj.Command = &commandDef{Value: h.Command}
		}
		d.HealthChecks = append(d.HealthChecks, hj)
	}
	if u := s.Upgrade; u != nil {
		d.UpgradeStrategy = upgradeDef{deref(u.MinimumHealthCapacity, specs.DefaultMinimumHealthCapacity),
			deref(u.MaximumOverCapacity, specs.DefaultMaximumOverCapacity)}
	}
	return d
}

// Labels are the marker labels of an app written from w: managed, its
// group, the spec hash and revision, and the names of secret env entries.
func Labels(w Write) map[string]string {
	l := map[string]string{
		LabelManaged:  "true",
		LabelGroup:    w.Key.String(),
		LabelSpecHash: w.Hash,
		LabelRevision: strconv.FormatInt(w.Revision, 10),
	}
	var secret []string
	for k, v := range w.Spec.Env {
		if v.Secret {
			secret = append(secret, k)
		}
	}
	if len(secret) > 0 {
		slices.Sort(secret)
		l[LabelSecretEnv] = strings.Join(secret, ",")
	}
	return l
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
