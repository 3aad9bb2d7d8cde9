package specs

import (
	"cmp"
	"slices"
	"strings"
)

// Marathon's defaults for the fields of the app model (MARATHON.md §1.2).
// In the normalised form a field at its single, version-independent
// default is unset, so that an explicit default and an absent field are
// the same spec (and a spec that does not use a field keeps its hash).
const (
	DefaultBackoffSeconds          = 1
	DefaultBackoffFactor           = 1.15
	DefaultReadinessName           = "readinessCheck"
	DefaultReadinessProtocol       = "HTTP"
	DefaultReadinessPath           = "/"
	DefaultReadinessInterval       = 30
	DefaultReadinessTimeout        = 10
	DefaultReadinessStatusCode     = 200
	DefaultVolumeMode              = "RW"
	DefaultPersistentType          = "root"
	DefaultResidentMinimumHealth   = 0.5
	DefaultResidentMaximumOverCap  = 0.0
	defaultFetchExtract            = true
	defaultUnreachableInactiveSecs = 0
	defaultUnreachableExpungeSecs  = 0
)

// Marathon's default maxLaunchDelaySeconds changed between versions: 3600
// up to 1.9, 300 in 1.10. An unset one matches either (see
// IsDefaultMaxLaunchDelay).
var defaultMaxLaunchDelays = []int{3600, 300}

// Marathon's default unreachable strategy of a non-resident app was
// {300, 600} in 1.4.0 and {0, 0} from 1.4.x on.
var defaultUnreachables = [][2]int{{0, 0}, {300, 600}, {180, 360}}

// IsDefaultMaxLaunchDelay reports whether a maxLaunchDelaySeconds Marathon
// reports is the default of some Marathon version, which a spec without
// one matches.
func IsDefaultMaxLaunchDelay(secs int) bool { return slices.Contains(defaultMaxLaunchDelays, secs) }

// IsDefaultUnreachable reports whether an unreachable strategy Marathon
// reports for an app without one in its spec is the default of some
// Marathon version.
func IsDefaultUnreachable(u *UnreachableStrategy, resident bool) bool {
	switch {
	case u == nil:
		return true
	case u.Disabled:
		return resident
	case resident || u.InactiveAfterSeconds == nil || u.ExpungeAfterSeconds == nil:
		return false
	}
	return slices.Contains(defaultUnreachables, [2]int{*u.InactiveAfterSeconds, *u.ExpungeAfterSeconds})
}

// upgradeOf returns the upgrade strategy of s with Marathon's defaults
// filled in: {1, 1}, or {0.5, 0} for an app with persistent or external
// volumes, which must never run more tasks than asked for.
func upgradeOf(s *Spec) Upgrade {
	u := Upgrade{}
	if s.Upgrade != nil {
		u = *s.Upgrade
	}
	minHealth, maxOver := DefaultMinimumHealthCapacity, DefaultMaximumOverCapacity
	if Resident(s) || hasExternalVolumes(s) {
		minHealth, maxOver = DefaultResidentMinimumHealth, DefaultResidentMaximumOverCap
	}
	return Upgrade{
		MinimumHealthCapacity: ptr(deref(u.MinimumHealthCapacity, minHealth)),
		MaximumOverCapacity:   ptr(deref(u.MaximumOverCapacity, maxOver)),
	}
}

// normalizePorts fills in the protocol and drops a host port of 0 where
// it means "any", which is everywhere but on a container network (there
// an absent host port means none).
func normalizePorts(s *Spec) []Port {
	mode := NetworkMode(s)
	var out []Port
	for _, p := range s.Ports {
		p.Protocol = cmp.Or(p.Protocol, DefaultProtocol)
		p.Labels = cloneMap(p.Labels)
		p.HostPort = clonePtr(p.HostPort)
		if p.HostPort != nil && *p.HostPort == 0 && mode != NetworkContainer {
			p.HostPort = nil
		}
		out = append(out, p)
	}
	return out
}

// normalizeApp puts the app-model fields of s into n in canonical form.
func normalizeApp(n *Spec, s *Spec) {
	n.ForcePullImage = trueOrNil(s.ForcePullImage)
	n.Privileged = trueOrNil(s.Privileged)
	if len(s.DockerParameters) > 0 {
		n.DockerParameters = slices.Clone(s.DockerParameters)
	}
	n.User = s.User
	if deref(s.GPUs, 0) != 0 {
		n.GPUs = clonePtr(s.GPUs)
	}
	n.Labels = cloneMap(s.Labels)
	n.Networks = normalizeNetworks(s)
	for _, v := range s.Volumes {
		n.Volumes = append(n.Volumes, normalizeVolume(v))
	}
	for _, f := range s.Fetch {
		n.Fetch = append(n.Fetch, Fetch{URI: f.URI, DestPath: f.DestPath,
			Extract:    ptr(deref(f.Extract, defaultFetchExtract)),
			Executable: ptr(deref(f.Executable, false)),
			Cache:      ptr(deref(f.Cache, false))})
	}
	for _, rc := range s.ReadinessChecks {
		n.ReadinessChecks = append(n.ReadinessChecks, normalizeReadiness(rc))
	}
	n.KillGracePeriodSeconds = clonePtr(s.KillGracePeriodSeconds)
	if s.KillSelection != KillYoungestFirst {
		n.KillSelection = s.KillSelection
	}
	if len(s.AcceptedResourceRoles) > 0 {
		n.AcceptedResourceRoles = slices.Sorted(slices.Values(s.AcceptedResourceRoles))
	}
	n.Role = s.Role
	n.Backoff = normalizeBackoff(s.Backoff)
	n.UnreachableStrategy = normalizeUnreachable(s.UnreachableStrategy, Resident(s))
	for _, d := range s.DependsOn {
		n.DependsOn = append(n.DependsOn, Dependency{Service: d.Service, Labels: CanonicalLabels(d.Labels), Other: d.Other})
	}
	slices.SortFunc(n.DependsOn, func(a, b Dependency) int { return strings.Compare(a.String(), b.String()) })
}

func trueOrNil(p *bool) *bool {
	if deref(p, false) {
		return ptr(true)
	}
	return nil
}

// normalizeNetworks drops a network that is the one a group gets without
// any: bridge for a group with ports, host for one without.
func normalizeNetworks(s *Spec) []Network {
	var out []Network
	for _, nw := range s.Networks {
		out = append(out, Network{Mode: nw.Mode, Name: nw.Name, Labels: cloneMap(nw.Labels)})
	}
	implicit := NetworkHost
	if len(s.Ports) > 0 {
		implicit = NetworkBridge
	}
	if len(out) == 1 && out[0].Mode == implicit && out[0].Name == "" && len(out[0].Labels) == 0 {
		return nil
	}
	return out
}

func normalizeVolume(v Volume) Volume {
	n := Volume{ContainerPath: v.ContainerPath, HostPath: v.HostPath, Mode: cmp.Or(v.Mode, DefaultVolumeMode)}
	if p := v.Persistent; p != nil {
		np := &PersistentVolume{Size: p.Size, Type: cmp.Or(p.Type, DefaultPersistentType), MaxSize: clonePtr(p.MaxSize)}
		for _, c := range p.Constraints {
			np.Constraints = append(np.Constraints, slices.Clone(c))
		}
		slices.SortFunc(np.Constraints, func(a, b Constraint) int { return slices.Compare(a, b) })
		// A set in Marathon: one given twice is there once.
		np.Constraints = slices.CompactFunc(np.Constraints, func(a, b Constraint) bool { return slices.Equal(a, b) })
		n.Persistent = np
	}
	if e := v.External; e != nil {
		n.External = &ExternalVolume{Name: e.Name, Provider: e.Provider, Options: cloneMap(e.Options), Size: clonePtr(e.Size)}
	}
	return n
}

func normalizeReadiness(rc ReadinessCheck) ReadinessCheck {
	n := ReadinessCheck{
		Name:                 cmp.Or(rc.Name, DefaultReadinessName),
		Protocol:             cmp.Or(rc.Protocol, DefaultReadinessProtocol),
		Path:                 cmp.Or(rc.Path, DefaultReadinessPath),
		PortName:             rc.PortName,
		IntervalSeconds:      ptr(deref(rc.IntervalSeconds, DefaultReadinessInterval)),
		TimeoutSeconds:       ptr(deref(rc.TimeoutSeconds, DefaultReadinessTimeout)),
		PreserveLastResponse: ptr(deref(rc.PreserveLastResponse, false)),
	}
	// A set in Marathon: its order is not kept.
	n.HTTPStatusCodesForReady = slices.Sorted(slices.Values(rc.HTTPStatusCodesForReady))
	n.HTTPStatusCodesForReady = slices.Compact(n.HTTPStatusCodesForReady)
	if len(n.HTTPStatusCodesForReady) == 0 {
		n.HTTPStatusCodesForReady = []int{DefaultReadinessStatusCode}
	}
	return n
}

func normalizeBackoff(b *Backoff) *Backoff {
	if b == nil {
		return nil
	}
	n := Backoff{MaxLaunchDelaySeconds: clonePtr(b.MaxLaunchDelaySeconds)}
	if deref(b.Seconds, DefaultBackoffSeconds) != DefaultBackoffSeconds {
		n.Seconds = clonePtr(b.Seconds)
	}
	if deref(b.Factor, DefaultBackoffFactor) != DefaultBackoffFactor {
		n.Factor = clonePtr(b.Factor)
	}
	if n == (Backoff{}) {
		return nil
	}
	return &n
}

// normalizeUnreachable drops the strategy Marathon gives an app by
// itself: "disabled" for a resident one, {0, 0} for any other.
func normalizeUnreachable(u *UnreachableStrategy, resident bool) *UnreachableStrategy {
	switch {
	case u == nil:
		return nil
	case u.Disabled && resident:
		return nil
	case u.Disabled:
		return &UnreachableStrategy{Disabled: true}
	case !resident && deref(u.InactiveAfterSeconds, -1) == defaultUnreachableInactiveSecs &&
		deref(u.ExpungeAfterSeconds, -1) == defaultUnreachableExpungeSecs:
		return nil
	}
	return &UnreachableStrategy{InactiveAfterSeconds: clonePtr(u.InactiveAfterSeconds), ExpungeAfterSeconds: clonePtr(u.ExpungeAfterSeconds)}
}
