package marathon

import (
	"slices"
	"strconv"
	"strings"

	"theseus.dev/specs"
)

// definitionJSON is the full app definition theseus writes. Every field
// the spec controls is always present, empty when unset, so that a field
// removed from the spec is removed from the app; fields theseus does not
// control are left out and keep Marathon's defaults.
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
	Networks        []networkDef      `json:"networks,omitempty"`
	PortDefinitions *[]struct{}       `json:"portDefinitions,omitempty"`
	HealthChecks    []healthJSON      `json:"healthChecks"`
	UpgradeStrategy upgradeDef        `json:"upgradeStrategy"`
}

type containerDef struct {
	Type         string        `json:"type"`
	Docker       dockerDef     `json:"docker"`
	PortMappings []mappingJSON `json:"portMappings,omitempty"`
}

type dockerDef struct {
	Image        string        `json:"image"`
	Network      string        `json:"network,omitempty"`
	PortMappings []mappingJSON `json:"portMappings,omitempty"`
}

type networkDef struct {
	Mode string `json:"mode"`
}

type upgradeDef struct {
	MinimumHealthCapacity float64 `json:"minimumHealthCapacity"`
	MaximumOverCapacity   float64 `json:"maximumOverCapacity"`
}

// definition builds the app definition of w in the shape of Marathon 1.5+
// (gen15) or ≤1.4. w.Spec must be normalised.
func definition(root string, w Write, gen15 bool) *definitionJSON {
	s := &w.Spec
	d := &definitionJSON{
		ID:          specs.AppID(root, w.Key),
		Args:        nonNil(s.Args),
		CPUs:        deref(s.CPUs),
		Mem:         deref(s.Mem),
		Disk:        deref(s.Disk),
		Instances:   deref(s.Instances),
		Env:         make(map[string]string, len(s.Env)),
		Labels:      Labels(w),
		Constraints: make([][]string, 0, len(s.Constraints)),
		Container:   containerDef{Type: "DOCKER", Docker: dockerDef{Image: s.Image}},
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
	mappings := make([]mappingJSON, 0, len(s.Ports))
	for _, p := range s.Ports {
		mappings = append(mappings, mappingJSON{ContainerPort: p.ContainerPort, HostPort: p.HostPort, Protocol: p.Protocol, Name: p.Name})
	}
	switch {
	case len(mappings) > 0 && gen15:
		d.Networks = []networkDef{{Mode: "container/bridge"}}
		d.Container.PortMappings = mappings
	case len(mappings) > 0:
		d.Container.Docker.Network = "BRIDGE"
		d.Container.Docker.PortMappings = mappings
	case gen15:
		d.Networks = []networkDef{{Mode: "host"}}
		d.PortDefinitions = &[]struct{}{} // no ports, not Marathon's one default port
	default:
		d.Container.Docker.Network = "HOST"
		d.PortDefinitions = &[]struct{}{}
	}
	d.HealthChecks = make([]healthJSON, 0, len(s.HealthChecks))
	for _, h := range s.HealthChecks {
		hj := healthJSON{Protocol: h.Protocol, Path: h.Path, PortIndex: h.PortIndex,
			GracePeriodSeconds: h.GracePeriodSeconds, IntervalSeconds: h.IntervalSeconds,
			TimeoutSeconds: h.TimeoutSeconds, MaxConsecutiveFailures: h.MaxConsecutiveFailures,
			DelaySeconds: h.DelaySeconds, IgnoreHTTP1xx: h.IgnoreHTTP1xx}
		if h.Command != "" {
			hj.Command = &struct {
				Value string `json:"value"`
			}{h.Command}
		}
		d.HealthChecks = append(d.HealthChecks, hj)
	}
	if u := s.Upgrade; u != nil {
		d.UpgradeStrategy = upgradeDef{deref(u.MinimumHealthCapacity), deref(u.MaximumOverCapacity)}
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

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
