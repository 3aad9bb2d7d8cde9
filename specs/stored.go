package specs

import (
	"fmt"
	"slices"
)

// DecodeStored decodes and validates the value of the /desired key of group
// k: one manifest, JSON or YAML. Metadata that is left out is taken from the
// key; metadata that is given must match it. The error is an ErrorList whose
// entries name the key as their file, so that `etcdctl put` mistakes read
// like file mistakes.
func DecodeStored(k GroupKey, data []byte) (*Group, error) {
	name := "/desired/" + k.String()
	groups, err := Parse(name, data)
	if err != nil {
		return nil, err
	}
	switch len(groups) {
	case 0:
		return nil, ErrorList{{File: name, Msg: "value holds no spec"}}
	case 1:
	default:
		return nil, ErrorList{{File: name, Msg: fmt.Sprintf("value holds %d specs; a key holds exactly one", len(groups))}}
	}
	g := groups[0]
	if g.Metadata.Service == "" && len(g.Metadata.Labels) == 0 {
		g.Metadata.Service, g.Metadata.Labels = k.Service, k.LabelSet()
	}
	if err := Validate(g); err != nil {
		return nil, err
	}
	if got, err := g.Key(); err == nil && got != k {
		_, line := g.Source()
		return nil, ErrorList{{File: name, Line: line, Field: "metadata", Msg: fmt.Sprintf(
			"names group %s (service %q, labels %v), but the key is for group %s",
			got, g.Metadata.Service, CanonicalLabels(g.Metadata.Labels), k)}}
	}
	return g, nil
}

// Clone returns a deep copy of g, sharing nothing mutable with it.
func (g *Group) Clone() *Group {
	c := *g
	c.Metadata.Labels = slices.Clone(g.Metadata.Labels)
	c.Spec = g.Spec.clone()
	return &c
}

func (s Spec) clone() Spec {
	c := s
	c.Instances = clonePtr(s.Instances)
	c.CPUs = clonePtr(s.CPUs)
	c.Mem = clonePtr(s.Mem)
	c.Disk = clonePtr(s.Disk)
	c.Args = slices.Clone(s.Args)
	c.Env = cloneMap(s.Env)
	c.Config = cloneMap(s.Config)
	c.Ports = slices.Clone(s.Ports)
	c.Constraints = nil
	for _, con := range s.Constraints {
		c.Constraints = append(c.Constraints, slices.Clone(con))
	}
	c.HealthChecks = nil
	for _, hc := range s.HealthChecks {
		hc.PortIndex = clonePtr(hc.PortIndex)
		hc.GracePeriodSeconds = clonePtr(hc.GracePeriodSeconds)
		hc.IntervalSeconds = clonePtr(hc.IntervalSeconds)
		hc.TimeoutSeconds = clonePtr(hc.TimeoutSeconds)
		hc.MaxConsecutiveFailures = clonePtr(hc.MaxConsecutiveFailures)
		hc.DelaySeconds = clonePtr(hc.DelaySeconds)
		hc.IgnoreHTTP1xx = clonePtr(hc.IgnoreHTTP1xx)
		c.HealthChecks = append(c.HealthChecks, hc)
	}
	if s.Upgrade != nil {
		c.Upgrade = &Upgrade{
			MinimumHealthCapacity: clonePtr(s.Upgrade.MinimumHealthCapacity),
			MaximumOverCapacity:   clonePtr(s.Upgrade.MaximumOverCapacity),
		}
	}
	return c
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
