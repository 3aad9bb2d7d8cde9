package specs

import (
	"bytes"
	"fmt"
	"slices"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
)

// DecodeStored decodes and validates the value of the /desired key of group
// k: one manifest, JSON or YAML. Metadata that is left out is taken from the
// key; metadata that is given must match it. The error is an ErrorList whose
// entries name the key as their file, so that `etcdctl put` mistakes read
// like file mistakes.
func DecodeStored(k GroupKey, data []byte) (*Group, error) {
	name := "/desired/" + k.String()
	if g, ok := decodeStoredJSON(name, data); ok {
		if g, err := checkStored(name, k, g); err == nil {
			return g, nil
		}
		// Decoded but refused: the full parser places the errors.
	}
	groups, err := Parse(name, data)
	if errs := Errors(err); len(errs) == 1 && errs[0].Msg == noGroupMsg {
		return nil, ErrorList{{File: name, Msg: "value holds no spec"}}
	}
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
	return checkStored(name, k, groups[0])
}

// checkStored fills in metadata left out of a stored value from its key,
// validates the group and checks that it is the key's.
func checkStored(name string, k GroupKey, g *Group) (*Group, error) {
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

// decodeStoredJSON decodes, in one pass, a value that is a single JSON
// object, which is what apply and sync write and what generated spec
// files hold: the full parser reads a document three times (a YAML tree
// for positions, the schema walk, the strict decoder), and a list of
// /desired decodes every key, a sync every file. It returns
// false for anything else and for anything it would refuse, so that the
// full parser decodes those and says what is wrong and where. It must
// accept nothing that the full parser refuses; FuzzDecodeStoredJSON holds
// it to that.
func decodeStoredJSON(name string, data []byte) (*Group, bool) {
	data = bytes.TrimSpace(data)
	// A null is refused for some fields and means "unset" for others;
	// values with one are rare enough to leave to the full parser.
	if len(data) == 0 || data[0] != '{' || len(data) > MaxSpecBytes || bytes.Contains(data, []byte("null")) ||
		!yamlReadable(data) {
		return nil, false
	}
	g := new(Group)
	if err := jsonv2.Unmarshal(data, g, jsonv2.RejectUnknownMembers(true)); err != nil {
		return nil, false
	}
	g.src = &source{file: name, line: 1}
	return g, true
}

// yamlReadable reports whether the YAML reader takes every character of
// data. It refuses control characters (DEL, the C1 range, C0 but tab and
// line ends) and invalid UTF-8 anywhere, even inside a JSON string, and
// so does the full parser.
func yamlReadable(data []byte) bool {
	for i := 0; i < len(data); {
		if c := data[i]; c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			return false
		case r == 0x85, r >= 0xA0 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000:
		default:
			return false
		}
		i += n
	}
	return true
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
	c.Ports = nil
	for _, p := range s.Ports {
		p.HostPort = clonePtr(p.HostPort)
		p.Labels = cloneMap(p.Labels)
		c.Ports = append(c.Ports, p)
	}
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
			MinimumHealthCapacity:   clonePtr(s.Upgrade.MinimumHealthCapacity),
			MaximumOverCapacity:     clonePtr(s.Upgrade.MaximumOverCapacity),
			ProgressDeadlineSeconds: clonePtr(s.Upgrade.ProgressDeadlineSeconds),
			AutoRollback:            clonePtr(s.Upgrade.AutoRollback),
		}
	}
	s.cloneApp(&c)
	return c
}

// cloneApp deep-copies the app-model fields of s into c.
func (s Spec) cloneApp(c *Spec) {
	c.ForcePullImage = clonePtr(s.ForcePullImage)
	c.Privileged = clonePtr(s.Privileged)
	c.DockerParameters = slices.Clone(s.DockerParameters)
	c.GPUs = clonePtr(s.GPUs)
	c.Labels = cloneMap(s.Labels)
	c.Networks = nil
	for _, n := range s.Networks {
		n.Labels = cloneMap(n.Labels)
		c.Networks = append(c.Networks, n)
	}
	c.Volumes = nil
	for _, v := range s.Volumes {
		if p := v.Persistent; p != nil {
			np := *p
			np.MaxSize = clonePtr(p.MaxSize)
			np.Constraints = nil
			for _, con := range p.Constraints {
				np.Constraints = append(np.Constraints, slices.Clone(con))
			}
			v.Persistent = &np
		}
		if e := v.External; e != nil {
			ne := *e
			ne.Options = cloneMap(e.Options)
			ne.Size = clonePtr(e.Size)
			v.External = &ne
		}
		c.Volumes = append(c.Volumes, v)
	}
	c.Fetch = nil
	for _, f := range s.Fetch {
		f.Extract, f.Executable, f.Cache = clonePtr(f.Extract), clonePtr(f.Executable), clonePtr(f.Cache)
		c.Fetch = append(c.Fetch, f)
	}
	c.ReadinessChecks = nil
	for _, rc := range s.ReadinessChecks {
		rc.IntervalSeconds, rc.TimeoutSeconds = clonePtr(rc.IntervalSeconds), clonePtr(rc.TimeoutSeconds)
		rc.HTTPStatusCodesForReady = slices.Clone(rc.HTTPStatusCodesForReady)
		rc.PreserveLastResponse = clonePtr(rc.PreserveLastResponse)
		c.ReadinessChecks = append(c.ReadinessChecks, rc)
	}
	c.KillGracePeriodSeconds = clonePtr(s.KillGracePeriodSeconds)
	c.AcceptedResourceRoles = slices.Clone(s.AcceptedResourceRoles)
	if b := s.Backoff; b != nil {
		c.Backoff = &Backoff{Seconds: clonePtr(b.Seconds), Factor: clonePtr(b.Factor), MaxLaunchDelaySeconds: clonePtr(b.MaxLaunchDelaySeconds)}
	}
	if u := s.UnreachableStrategy; u != nil {
		c.UnreachableStrategy = &UnreachableStrategy{Disabled: u.Disabled,
			InactiveAfterSeconds: clonePtr(u.InactiveAfterSeconds), ExpungeAfterSeconds: clonePtr(u.ExpungeAfterSeconds)}
	}
	c.DependsOn = nil
	for _, d := range s.DependsOn {
		d.Labels = slices.Clone(d.Labels)
		c.DependsOn = append(c.DependsOn, d)
	}
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
