package specs

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Resource floors. Marathon refuses cpus below 0.001; Mesos will not start a
// task with less than 32 MiB of memory, so a smaller value only fails later
// and less clearly.
const (
	MinCPUs = 0.001
	MinMem  = 32
)

var (
	envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// isValueRE is Marathon's rule for the value of an IS constraint.
	isValueRE = regexp.MustCompile(`^[a-zA-Z0-9_/.-]*$`)
)

// Protocols lists the health-check protocols Marathon knows.
var Protocols = []string{"HTTP", "HTTPS", "TCP", "COMMAND", "MESOS_HTTP", "MESOS_HTTPS", "MESOS_TCP"}

// Operators lists the constraint operators Marathon knows.
var Operators = []string{"UNIQUE", "CLUSTER", "GROUP_BY", "LIKE", "UNLIKE", "MAX_PER", "IS"}

type validator struct {
	g    *Group
	errs ErrorList
}

func (v *validator) errorf(field, format string, args ...any) {
	v.errorfAt(field, field, format, args...)
}

// errorfAt reports an error of field at the line of the field at, for a
// field that is missing because of another one.
func (v *validator) errorfAt(field, at, format string, args ...any) {
	fe := &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
	if v.g.src != nil {
		fe.File, fe.Line = v.g.src.file, v.g.src.lineOf(at)
	}
	v.errs = append(v.errs, fe)
}

// Validate checks a parsed group against the rules of theseus and Marathon
// and returns every problem found, each with its field path (and file and
// line when the group was parsed from a file), or nil.
func Validate(g *Group) error {
	v := &validator{g: g}
	if g.APIVersion != APIVersion {
		v.errorf("apiVersion", "want %q, got %q", APIVersion, g.APIVersion)
	}
	if g.Kind != KindGroup {
		v.errorf("kind", "want %q, got %q", KindGroup, g.Kind)
	}
	v.metadata(&g.Metadata)
	v.spec(&g.Spec)
	v.bounds(DefaultLimits())
	return v.errs.Err()
}

func (v *validator) metadata(m *Metadata) {
	if err := ValidName(m.Service); err != nil {
		v.errorf("metadata.service", "%v", err)
	}
	if len(m.Labels) == 0 {
		v.errorf("metadata.labels", "a group needs at least one label")
	}
	seen := make(map[string]bool, len(m.Labels))
	for i, l := range m.Labels {
		f := "metadata.labels[" + strconv.Itoa(i) + "]"
		if err := ValidName(l); err != nil {
			v.errorf(f, "%v", err)
		} else if seen[l] {
			v.errorf(f, "label %q is listed twice", l)
		}
		seen[l] = true
	}
	if len(seen) > MaxLabels {
		v.errorf("metadata.labels", "%d labels, more than %d", len(seen), MaxLabels)
	}
	if len(seen) == 1 && slices.Contains(reservedSegments, m.Labels[0]) {
		v.errorf("metadata.labels", "label set [%s] is reserved by Marathon; add another label", m.Labels[0])
	}
}

func (v *validator) spec(s *Spec) {
	switch {
	case strings.TrimSpace(s.Image) == "":
		v.errorf("spec.image", "required")
	case strings.ContainsAny(s.Image, " \t\r\n"):
		v.errorf("spec.image", "%q contains white space", s.Image)
	}
	if s.Instances != nil && *s.Instances < 0 {
		v.errorf("spec.instances", "must not be negative, got %d", *s.Instances)
	}
	if s.CPUs != nil && !(*s.CPUs >= MinCPUs) {
		v.errorf("spec.cpus", "must be at least %g, got %g", MinCPUs, *s.CPUs)
	}
	if s.Mem != nil && !(*s.Mem >= MinMem) {
		v.errorf("spec.mem", "must be at least %d MiB (Mesos does not start smaller tasks), got %g", MinMem, *s.Mem)
	}
	if s.Disk != nil && !(*s.Disk >= 0) {
		v.errorf("spec.disk", "must not be negative, got %g", *s.Disk)
	}
	if s.Cmd != "" && len(s.Args) > 0 {
		v.errorf("spec.args", "give cmd or args, not both")
	}
	for _, name := range sortedKeys(s.Env) {
		if !envNameRE.MatchString(name) {
			v.errorf("spec.env."+name, "%q is not a valid environment variable name (letters, digits, '_', not starting with a digit)", name)
		}
	}
	for _, name := range sortedKeys(s.Config) {
		if name == "" || strings.ContainsAny(name, "/\x00") {
			v.errorf("spec.config."+name, "config key %q must be non-empty and contain no '/'", name)
		}
	}
	v.ports(s)
	for i, c := range s.Constraints {
		v.constraint("spec.constraints["+strconv.Itoa(i)+"]", c)
	}
	v.healthChecks(s)
	if u := s.Upgrade; u != nil {
		fraction := func(f string, p *float64) {
			if p != nil && !(*p >= 0 && *p <= 1) {
				v.errorf(f, "must be between 0 and 1, got %g", *p)
			}
		}
		fraction("spec.upgrade.minimumHealthCapacity", u.MinimumHealthCapacity)
		fraction("spec.upgrade.maximumOverCapacity", u.MaximumOverCapacity)
	}
	v.policy(s)
	v.appModel(s)
}

func (v *validator) constraint(f string, c Constraint) {
	if len(c) < 2 || len(c) > 3 {
		v.errorf(f, "want [field, OPERATOR] or [field, OPERATOR, value], got %d elements", len(c))
		return
	}
	if c[0] == "" {
		v.errorf(f, "the field (e.g. hostname) is empty")
	}
	op, value := strings.ToUpper(c[1]), ""
	if len(c) == 3 {
		value = c[2]
	}
	switch op {
	case "UNIQUE":
		if value != "" {
			v.errorf(f, "UNIQUE does not accept a value")
		}
	case "CLUSTER":
	case "GROUP_BY":
		if value != "" {
			if _, err := strconv.Atoi(value); err != nil {
				v.errorf(f, "GROUP_BY takes an integer value, got %q", value)
			}
		}
	case "LIKE", "UNLIKE":
		if value == "" {
			v.errorf(f, "%s requires a regular expression", op)
		} else if _, err := regexp.Compile(value); err != nil {
			v.errorf(f, "%s value %q is not a valid regular expression: %v", op, value, err)
		}
	case "MAX_PER":
		if _, err := strconv.Atoi(value); err != nil {
			v.errorf(f, "MAX_PER requires an integer value, got %q", value)
		}
	case "IS":
		if !isValueRE.MatchString(value) {
			v.errorf(f, "IS value %q may only hold letters, digits and _/.-", value)
		}
	default:
		v.errorf(f, "operator %q must be one of %s", c[1], strings.Join(Operators, ", "))
	}
}

func (v *validator) healthChecks(s *Spec) {
	mesosChecks := 0
	for i, hc := range s.HealthChecks {
		f := "spec.healthChecks[" + strconv.Itoa(i) + "]"
		proto := hc.Protocol
		if proto == "" {
			proto = "HTTP"
		}
		if !slices.Contains(Protocols, proto) {
			v.errorf(f+".protocol", "must be one of %s, got %q", strings.Join(Protocols, ", "), hc.Protocol)
			continue
		}
		if strings.HasPrefix(proto, "MESOS_") {
			mesosChecks++
		}
		if proto == "COMMAND" {
			if hc.Command == "" {
				v.errorf(f+".command", "required for a COMMAND check")
			}
			if hc.PortName != "" || hc.PortIndex != nil || hc.Path != "" {
				v.errorf(f, "a COMMAND check takes no port or path")
			}
		} else {
			if hc.Command != "" {
				v.errorf(f+".command", "only a COMMAND check runs a command")
			}
			v.healthCheckPort(f, proto, hc, s.Ports)
			if hc.Path != "" && !takesPath(proto) {
				v.errorf(f+".path", "only HTTP checks take a path")
			}
		}
		if marathonRunsCheck(proto) && hc.DelaySeconds != nil && *hc.DelaySeconds != DefaultDelaySeconds {
			// Marathon keeps delaySeconds for the checks Mesos runs only,
			// and reports its default for its own: the group would differ
			// for ever.
			v.errorf(f+".delaySeconds", "Marathon runs %s checks itself and ignores delaySeconds for them; leave it out or use MESOS_%s", proto, proto)
		}
		if deref(hc.IgnoreHTTP1xx, false) && proto != "HTTP" && proto != "HTTPS" {
			// Marathon keeps it for the checks it runs itself only: on any
			// other it is dropped, and the group would differ for ever.
			v.errorf(f+".ignoreHttp1xx", "only HTTP and HTTPS checks (run by Marathon) take ignoreHttp1xx, not %s", proto)
		}
		for _, d := range []struct {
			name string
			p    *int
		}{
			{"gracePeriodSeconds", hc.GracePeriodSeconds}, {"intervalSeconds", hc.IntervalSeconds},
			{"timeoutSeconds", hc.TimeoutSeconds}, {"maxConsecutiveFailures", hc.MaxConsecutiveFailures},
			{"delaySeconds", hc.DelaySeconds},
		} {
			if d.p != nil && *d.p < 0 {
				v.errorf(f+"."+d.name, "must not be negative, got %d", *d.p)
			}
		}
	}
	if mesosChecks > 1 {
		v.errorf("spec.healthChecks", "Marathon allows at most one MESOS_* health check per app, got %d", mesosChecks)
	}
}

// marathonRunsCheck reports whether Marathon itself, not Mesos, runs
// health checks of the protocol.
func marathonRunsCheck(proto string) bool {
	return proto == "HTTP" || proto == "HTTPS" || proto == "TCP"
}

func (v *validator) healthCheckPort(f, proto string, hc HealthCheck, ports []Port) {
	switch {
	case hc.PortName != "" && hc.PortIndex != nil:
		v.errorf(f, "give portName or portIndex, not both")
	case hc.PortName != "":
		if !slices.ContainsFunc(ports, func(p Port) bool { return p.Name == hc.PortName }) {
			v.errorf(f+".portName", "no port is named %q", hc.PortName)
		}
	case hc.PortIndex != nil:
		if *hc.PortIndex < 0 || *hc.PortIndex >= len(ports) {
			v.errorf(f+".portIndex", "%d does not address one of the %d ports", *hc.PortIndex, len(ports))
		}
	case len(ports) == 0:
		v.errorf(f, "a %s check needs a port; declare one under spec.ports", proto)
	}
}
