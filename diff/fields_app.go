package diff

import (
	"maps"
	"slices"
	"strconv"

	"theseus.dev/specs"
)

// Fields of Marathon's app model. Normalize leaves a field at its one
// default unset on both sides, so most compare as they are; a few have a
// default that depends on the Marathon version or its settings (role,
// maxLaunchDelaySeconds, the unreachable strategy): a spec that leaves one
// unset matches any of Marathon's defaults for it.

// defaultText is how a plan shows a field that falls back to Marathon's
// default.
const defaultText = "(default)"

// sameApp reports whether the app-model fields of d and a agree.
// defaultRole is the role Marathon gives an app that names none, "" when
// it has no roles.
func sameApp(d, a *specs.Spec, defaultRole string) bool {
	return ptrEq(d.ForcePullImage, a.ForcePullImage) && ptrEq(d.Privileged, a.Privileged) &&
		slices.Equal(d.DockerParameters, a.DockerParameters) && d.User == a.User && ptrEq(d.GPUs, a.GPUs) &&
		maps.Equal(d.Labels, a.Labels) &&
		slices.EqualFunc(d.Networks, a.Networks, networkEqual) &&
		slices.EqualFunc(d.Volumes, a.Volumes, volumeEqual) &&
		slices.EqualFunc(d.Fetch, a.Fetch, fetchEqual) &&
		slices.EqualFunc(d.ReadinessChecks, a.ReadinessChecks, readinessEqual) &&
		ptrEq(d.KillGracePeriodSeconds, a.KillGracePeriodSeconds) && d.KillSelection == a.KillSelection &&
		slices.Equal(d.AcceptedResourceRoles, a.AcceptedResourceRoles) &&
		roleEqual(d.Role, a.Role, defaultRole) &&
		backoffEqual(d.Backoff, a.Backoff) &&
		unreachableEqual(d.UnreachableStrategy, a.UnreachableStrategy, specs.Resident(d)) &&
		slices.EqualFunc(d.DependsOn, a.DependsOn, dependencyEqual)
}

// roleEqual compares roles, an unset one being Marathon's default.
// Marathon before 1.9 has no roles (defaultRole ""): nothing to compare.
func roleEqual(d, a, defaultRole string) bool {
	if defaultRole == "" {
		return true
	}
	if d == "" {
		d = defaultRole
	}
	if a == "" {
		a = defaultRole
	}
	return d == a
}

func backoffEqual(d, a *specs.Backoff) bool {
	var dd, aa specs.Backoff
	if d != nil {
		dd = *d
	}
	if a != nil {
		aa = *a
	}
	maxEq := ptrEq(dd.MaxLaunchDelaySeconds, aa.MaxLaunchDelaySeconds) ||
		dd.MaxLaunchDelaySeconds == nil && specs.IsDefaultMaxLaunchDelay(*aa.MaxLaunchDelaySeconds)
	return ptrEq(dd.Seconds, aa.Seconds) && floatEq(dd.Factor, aa.Factor) && maxEq
}

func unreachableEqual(d, a *specs.UnreachableStrategy, resident bool) bool {
	if d == nil {
		return specs.IsDefaultUnreachable(a, resident)
	}
	return a != nil && d.Disabled == a.Disabled && ptrEq(d.InactiveAfterSeconds, a.InactiveAfterSeconds) &&
		ptrEq(d.ExpungeAfterSeconds, a.ExpungeAfterSeconds)
}

func networkEqual(a, b specs.Network) bool {
	return a.Mode == b.Mode && a.Name == b.Name && maps.Equal(a.Labels, b.Labels)
}

func volumeEqual(a, b specs.Volume) bool {
	if a.ContainerPath != b.ContainerPath || a.HostPath != b.HostPath || a.Mode != b.Mode ||
		(a.Persistent == nil) != (b.Persistent == nil) || (a.External == nil) != (b.External == nil) {
		return false
	}
	if p, q := a.Persistent, b.Persistent; p != nil &&
		(p.Size != q.Size || p.Type != q.Type || !ptrEq(p.MaxSize, q.MaxSize) ||
			!slices.EqualFunc(p.Constraints, q.Constraints, func(x, y specs.Constraint) bool { return slices.Equal(x, y) })) {
		return false
	}
	if e, f := a.External, b.External; e != nil &&
		(e.Name != f.Name || e.Provider != f.Provider || !maps.Equal(e.Options, f.Options) || !ptrEq(e.Size, f.Size)) {
		return false
	}
	return true
}

func fetchEqual(a, b specs.Fetch) bool {
	return a.URI == b.URI && a.DestPath == b.DestPath && ptrEq(a.Extract, b.Extract) &&
		ptrEq(a.Executable, b.Executable) && ptrEq(a.Cache, b.Cache)
}

func readinessEqual(a, b specs.ReadinessCheck) bool {
	return a.Name == b.Name && a.Protocol == b.Protocol && a.Path == b.Path && a.PortName == b.PortName &&
		intEq(a.IntervalSeconds, b.IntervalSeconds) && intEq(a.TimeoutSeconds, b.TimeoutSeconds) &&
		slices.Equal(a.HTTPStatusCodesForReady, b.HTTPStatusCodesForReady) &&
		ptrEq(a.PreserveLastResponse, b.PreserveLastResponse)
}

func dependencyEqual(a, b specs.Dependency) bool {
	return a.Service == b.Service && a.Other == b.Other && slices.Equal(a.Labels, b.Labels)
}

// effectiveApp returns the app-model fields of a as a plan shows them
// against d: where d leaves a field to Marathon and a holds one of
// Marathon's defaults for it, the field is unset, so that the plan shows
// what really differs.
func effectiveApp(d, a *specs.Spec, defaultRole string) specs.Spec {
	e := *a
	if roleEqual(d.Role, a.Role, defaultRole) {
		e.Role = d.Role
	}
	if b := a.Backoff; b != nil && b.MaxLaunchDelaySeconds != nil && backoffEqual(d.Backoff, b) {
		e.Backoff = d.Backoff
	}
	if d.UnreachableStrategy == nil && unreachableEqual(nil, a.UnreachableStrategy, specs.Resident(d)) {
		e.UnreachableStrategy = nil
	}
	return e
}

// flattenApp appends the app-model fields of s to fs.
func flattenApp(fs []field, s *specs.Spec) []field {
	add := func(path, value string) { fs = append(fs, field{path: path, value: value}) }
	withDefault := func(path, value, dflt string) { fs = append(fs, field{path: path, value: value, dflt: &dflt}) }
	if s.ForcePullImage != nil {
		withDefault("spec.forcePullImage", strconv.FormatBool(*s.ForcePullImage), "false")
	}
	if s.Privileged != nil {
		withDefault("spec.privileged", strconv.FormatBool(*s.Privileged), "false")
	}
	if len(s.DockerParameters) > 0 {
		add("spec.dockerParameters", jsonText(s.DockerParameters))
	}
	if s.User != "" {
		withDefault("spec.user", s.User, defaultText)
	}
	if s.GPUs != nil {
		withDefault("spec.gpus", strconv.Itoa(*s.GPUs), "0")
	}
	for _, k := range sortedKeys(s.Labels) {
		add("spec.labels."+k, s.Labels[k])
	}
	for i, n := range s.Networks {
		pre := "spec.networks[" + strconv.Itoa(i) + "]."
		add(pre+"mode", n.Mode)
		if n.Name != "" {
			add(pre+"name", n.Name)
		}
		for _, k := range sortedKeys(n.Labels) {
			add(pre+"labels."+k, n.Labels[k])
		}
	}
	for i, v := range s.Volumes {
		fs = flattenVolume(fs, "spec.volumes["+strconv.Itoa(i)+"].", v)
	}
	for i, f := range s.Fetch {
		pre := "spec.fetch[" + strconv.Itoa(i) + "]."
		add(pre+"uri", f.URI)
		addBool(add, pre+"extract", f.Extract)
		addBool(add, pre+"executable", f.Executable)
		addBool(add, pre+"cache", f.Cache)
		if f.DestPath != "" {
			add(pre+"destPath", f.DestPath)
		}
	}
	for i, rc := range s.ReadinessChecks {
		pre := "spec.readinessChecks[" + strconv.Itoa(i) + "]."
		add(pre+"name", rc.Name)
		add(pre+"protocol", rc.Protocol)
		add(pre+"path", rc.Path)
		add(pre+"portName", rc.PortName)
		addInt(add, pre+"intervalSeconds", rc.IntervalSeconds)
		addInt(add, pre+"timeoutSeconds", rc.TimeoutSeconds)
		add(pre+"httpStatusCodesForReady", jsonText(rc.HTTPStatusCodesForReady))
		addBool(add, pre+"preserveLastResponse", rc.PreserveLastResponse)
	}
	if s.KillGracePeriodSeconds != nil {
		withDefault("spec.killGracePeriodSeconds", strconv.Itoa(*s.KillGracePeriodSeconds), defaultText)
	}
	if s.KillSelection != "" {
		withDefault("spec.killSelection", s.KillSelection, specs.KillYoungestFirst)
	}
	if len(s.AcceptedResourceRoles) > 0 {
		add("spec.acceptedResourceRoles", jsonText(s.AcceptedResourceRoles))
	}
	if s.Role != "" {
		withDefault("spec.role", s.Role, defaultText)
	}
	if b := s.Backoff; b != nil {
		if b.Seconds != nil {
			withDefault("spec.backoff.seconds", strconv.Itoa(*b.Seconds), strconv.Itoa(specs.DefaultBackoffSeconds))
		}
		if b.Factor != nil {
			fs = append(fs, field{path: "spec.backoff.factor", value: strconv.FormatFloat(*b.Factor, 'g', -1, 64), float: true,
				dflt: ptr(strconv.FormatFloat(specs.DefaultBackoffFactor, 'g', -1, 64))})
		}
		if b.MaxLaunchDelaySeconds != nil {
			withDefault("spec.backoff.maxLaunchDelaySeconds", strconv.Itoa(*b.MaxLaunchDelaySeconds), defaultText)
		}
	}
	if u := s.UnreachableStrategy; u != nil {
		withDefault("spec.unreachableStrategy", jsonText(u), defaultText)
	}
	if len(s.DependsOn) > 0 {
		deps := make([]string, len(s.DependsOn))
		for i, d := range s.DependsOn {
			deps[i] = d.String()
		}
		add("spec.dependsOn", jsonText(deps))
	}
	return fs
}

func flattenVolume(fs []field, pre string, v specs.Volume) []field {
	add := func(path, value string) { fs = append(fs, field{path: path, value: value}) }
	add(pre+"containerPath", v.ContainerPath)
	if v.HostPath != "" {
		add(pre+"hostPath", v.HostPath)
	}
	add(pre+"mode", v.Mode)
	if p := v.Persistent; p != nil {
		add(pre+"persistent.size", strconv.Itoa(p.Size))
		add(pre+"persistent.type", p.Type)
		addInt(add, pre+"persistent.maxSize", p.MaxSize)
		if len(p.Constraints) > 0 {
			add(pre+"persistent.constraints", jsonText(p.Constraints))
		}
	}
	if e := v.External; e != nil {
		add(pre+"external.name", e.Name)
		add(pre+"external.provider", e.Provider)
		for _, k := range sortedKeys(e.Options) {
			add(pre+"external.options."+k, e.Options[k])
		}
		addInt(add, pre+"external.size", e.Size)
	}
	return fs
}

func addBool(add func(string, string), path string, p *bool) {
	if p != nil {
		add(path, strconv.FormatBool(*p))
	}
}

func ptr[T any](v T) *T { return &v }
