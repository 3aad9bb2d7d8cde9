package diff

import (
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strconv"

	"theseus.dev/specs"
)

// field is one spec-controlled value, flattened to text for comparison and
// display.
type field struct {
	path   string
	value  string
	secret bool
	float  bool // compared with floatEq's tolerance
	// dflt is what the field is when the other side leaves it out, for
	// fields that fall back to a default: a change to it shows the
	// default, not "(none)".
	dflt *string
}

// sameSpec reports whether a desired spec d and an app's spec a, both
// normalised, agree on every field that Marathon runs (Config is not sent
// to Marathon and is left out). defaultRole is the role Marathon gives an
// app that names none ("" before Marathon 1.9). It is the fast path of the
// diff and allocates nothing.
func sameSpec(d, a *specs.Spec, defaultRole string) bool {
	return d.Image == a.Image &&
		intEq(d.Instances, a.Instances) &&
		floatEq(d.CPUs, a.CPUs) && floatEq(d.Mem, a.Mem) && floatEq(d.Disk, a.Disk) &&
		d.Cmd == a.Cmd && slices.Equal(d.Args, a.Args) &&
		envEqual(d.Env, a.Env) &&
		slices.EqualFunc(d.Ports, a.Ports, portEqual) &&
		slices.EqualFunc(d.Constraints, a.Constraints, func(x, y specs.Constraint) bool { return slices.Equal(x, y) }) &&
		slices.EqualFunc(d.HealthChecks, a.HealthChecks, healthCheckEqual) &&
		upgradeEqual(d.Upgrade, a.Upgrade) &&
		sameApp(d, a, defaultRole)
}

// onlyInstancesDiffer reports whether d and a differ in instances and
// nothing else that Marathon runs.
func onlyInstancesDiffer(d, a *specs.Spec, defaultRole string) bool {
	if intEq(d.Instances, a.Instances) {
		return false
	}
	c := *a
	c.Instances = d.Instances
	return sameSpec(d, &c, defaultRole)
}

func envEqual(a, b map[string]specs.Value) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		// The secret mark is not in Marathon; a secret source is.
		if !ok || v.Value != w.Value || v.SecretSource != w.SecretSource {
			return false
		}
	}
	return true
}

func portEqual(a, b specs.Port) bool {
	return a.Name == b.Name && a.ContainerPort == b.ContainerPort && intEq(a.HostPort, b.HostPort) &&
		a.Protocol == b.Protocol && maps.Equal(a.Labels, b.Labels)
}

func healthCheckEqual(a, b specs.HealthCheck) bool {
	return a.Protocol == b.Protocol && a.PortName == b.PortName && intEq(a.PortIndex, b.PortIndex) &&
		a.Path == b.Path && a.Command == b.Command &&
		intEq(a.GracePeriodSeconds, b.GracePeriodSeconds) && intEq(a.IntervalSeconds, b.IntervalSeconds) &&
		intEq(a.TimeoutSeconds, b.TimeoutSeconds) && intEq(a.MaxConsecutiveFailures, b.MaxConsecutiveFailures) &&
		intEq(a.DelaySeconds, b.DelaySeconds) && ptrEq(a.IgnoreHTTP1xx, b.IgnoreHTTP1xx)
}

func upgradeEqual(a, b *specs.Upgrade) bool {
	if a == nil || b == nil {
		return a == b
	}
	return floatEq(a.MinimumHealthCapacity, b.MinimumHealthCapacity) && floatEq(a.MaximumOverCapacity, b.MaximumOverCapacity)
}

func intEq(a, b *int) bool { return ptrEq(a, b) }

func ptrEq[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// floatEq compares resources with a tolerance: Marathon stores them as
// doubles and may print 0.1 as 0.1000000000000001 after arithmetic.
func floatEq(a, b *float64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return math.Abs(*a-*b) <= 1e-9*math.Max(1, math.Max(math.Abs(*a), math.Abs(*b)))
}

// flatten lists the Marathon-run fields of a normalised spec in a fixed
// order. secretEnv names env entries to redact in addition to those marked
// secret in the spec itself.
func flatten(s *specs.Spec, secretEnv []string) []field {
	fs := make([]field, 0, 16+len(s.Env)+4*len(s.Ports)+8*len(s.HealthChecks))
	add := func(path, value string) { fs = append(fs, field{path: path, value: value}) }
	add("spec.image", s.Image)
	addInt(add, "spec.instances", s.Instances)
	addFloat(&fs, "spec.cpus", s.CPUs)
	addFloat(&fs, "spec.mem", s.Mem)
	addFloat(&fs, "spec.disk", s.Disk)
	if s.Cmd != "" {
		add("spec.cmd", s.Cmd)
	}
	if len(s.Args) > 0 {
		add("spec.args", jsonText(s.Args))
	}
	for _, k := range sortedKeys(s.Env) {
		v := s.Env[k]
		if v.SecretSource != "" {
			add("spec.env."+k, v.String()) // a reference, not a secret
			continue
		}
		fs = append(fs, field{path: "spec.env." + k, value: v.Value, secret: v.Secret || slices.Contains(secretEnv, k)})
	}
	for i, p := range s.Ports {
		pre := "spec.ports[" + strconv.Itoa(i) + "]."
		if p.Name != "" {
			add(pre+"name", p.Name)
		}
		if p.ContainerPort != 0 {
			add(pre+"containerPort", strconv.Itoa(p.ContainerPort))
		}
		addInt(add, pre+"hostPort", p.HostPort)
		add(pre+"protocol", p.Protocol)
		for _, k := range sortedKeys(p.Labels) {
			add(pre+"labels."+k, p.Labels[k])
		}
	}
	if len(s.Constraints) > 0 {
		add("spec.constraints", jsonText(s.Constraints))
	}
	for i, hc := range s.HealthChecks {
		pre := "spec.healthChecks[" + strconv.Itoa(i) + "]."
		add(pre+"protocol", hc.Protocol)
		addInt(add, pre+"portIndex", hc.PortIndex)
		if hc.Path != "" {
			add(pre+"path", hc.Path)
		}
		if hc.Command != "" {
			add(pre+"command", hc.Command)
		}
		addInt(add, pre+"gracePeriodSeconds", hc.GracePeriodSeconds)
		addInt(add, pre+"intervalSeconds", hc.IntervalSeconds)
		addInt(add, pre+"timeoutSeconds", hc.TimeoutSeconds)
		addInt(add, pre+"maxConsecutiveFailures", hc.MaxConsecutiveFailures)
		addInt(add, pre+"delaySeconds", hc.DelaySeconds)
		if hc.IgnoreHTTP1xx != nil {
			add(pre+"ignoreHttp1xx", strconv.FormatBool(*hc.IgnoreHTTP1xx))
		}
	}
	if u := s.Upgrade; u != nil {
		addFloat(&fs, "spec.upgrade.minimumHealthCapacity", u.MinimumHealthCapacity)
		addFloat(&fs, "spec.upgrade.maximumOverCapacity", u.MaximumOverCapacity)
	}
	return flattenApp(fs, s)
}

// summaryFields is the brief description of an app that a delete shows.
func summaryFields(s *specs.Spec) []field {
	fs := []field{{path: "spec.image", value: s.Image}}
	if s.Instances != nil {
		fs = append(fs, field{path: "spec.instances", value: strconv.Itoa(*s.Instances)})
	}
	return fs
}

func addInt(add func(string, string), path string, p *int) {
	if p != nil {
		add(path, strconv.Itoa(*p))
	}
}

func addFloat(fs *[]field, path string, p *float64) {
	if p != nil {
		*fs = append(*fs, field{path: path, value: strconv.FormatFloat(*p, 'g', -1, 64), float: true})
	}
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "<unprintable>"
	}
	return string(b)
}

// changes compares two flattened field lists and returns the differences:
// fields of new in their order, then fields only in old. Either side may be
// nil (a create shows every field as added). A field secret on either side
// is redacted on both.
func changes(old, new []field) []Change {
	oldAt := make(map[string]int, len(old))
	for i, f := range old {
		oldAt[f.path] = i
	}
	seen := make([]bool, len(old))
	var out []Change
	for _, n := range new {
		i, ok := oldAt[n.path]
		if !ok {
			out = append(out, Change{Path: n.path, Old: n.dflt, New: show(n, false)})
			continue
		}
		seen[i] = true
		o := old[i]
		if o.value == n.value || (n.float && !floatTextDiffers(o.value, n.value)) {
			continue
		}
		secret := o.secret || n.secret
		o.secret, n.secret = secret, secret
		out = append(out, Change{Path: n.path, Old: show(o, false), New: show(n, secret)})
	}
	for i, o := range old {
		if !seen[i] {
			out = append(out, Change{Path: o.path, Old: show(o, false), New: o.dflt})
		}
	}
	return out
}

// floatTextDiffers is false for two texts of floats that floatEq calls
// equal, so that tolerance-equal resources never show as a change.
func floatTextDiffers(a, b string) bool {
	x, err1 := strconv.ParseFloat(a, 64)
	y, err2 := strconv.ParseFloat(b, 64)
	if err1 != nil || err2 != nil {
		return a != b
	}
	return !floatEq(&x, &y)
}

// redactedChanged marks a secret value that differs from the old one, so the
// plan says a secret changed without showing either value.
const redactedChanged = specs.Redacted + " (changed)"

func show(f field, changed bool) *string {
	v := f.value
	switch {
	case f.secret && changed:
		v = redactedChanged
	case f.secret:
		v = specs.Redacted
	}
	return &v
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
