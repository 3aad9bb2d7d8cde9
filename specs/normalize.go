package specs

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
	"strings"
)

// Marathon's server-side defaults (AppDefinition's defaults). Marathon
// fills these in for fields a definition leaves out and echoes them back;
// Normalize applies them to a spec so that a spec compares equal to the app
// Marathon reports for it.
const (
	DefaultInstances              = 1
	DefaultCPUs                   = 1.0
	DefaultMem                    = 128.0
	DefaultDisk                   = 0.0
	DefaultProtocol               = "tcp"
	DefaultHealthProtocol         = "HTTP"
	DefaultHealthPath             = "/"
	DefaultGracePeriodSeconds     = 300
	DefaultIntervalSeconds        = 60
	DefaultTimeoutSeconds         = 20
	DefaultMaxConsecutiveFailures = 3
	DefaultDelaySeconds           = 15
	DefaultMinimumHealthCapacity  = 1.0
	DefaultMaximumOverCapacity    = 1.0
	defaultHealthPortIndex        = 0
	defaultHealthIgnoreHTTP1xx    = false
	healthProtocolCommand         = "COMMAND"
)

// Normalize returns a copy of s in canonical form: Marathon's defaults
// filled in, every pointer of the core fields set, empty maps and lists
// nil, protocol and operator names in Marathon's spelling, health-check
// ports as indices, constraints sorted (their order has no meaning), a
// constraint or health check given twice kept once, and more than four
// health checks sorted (Marathon keeps both as sets, and the order of a
// set of more than four is its own). Fields of the app model
// (normalize_app.go) at their one default are left unset instead; a
// field whose default depends on the Marathon version
// (maxLaunchDelaySeconds, role) is kept as given. theseus's own Policy is
// left out: Marathon never sees it. Two specs that Marathon would run the
// same way normalise to equal values. s must be valid.
func Normalize(s Spec) Spec {
	s.Env, s.Config = cloneMap(s.Env), cloneMap(s.Config)
	return NormalizeOwned(s)
}

// NormalizeOwned is Normalize for a caller that gives s up: the result
// shares s's env and config maps instead of copying them. A controller
// holds the normalised spec of every group and app, and the copies were a
// sixth of its memory.
func NormalizeOwned(s Spec) Spec {
	n := Spec{
		Image:     s.Image,
		Instances: ptr(deref(s.Instances, DefaultInstances)),
		CPUs:      ptr(deref(s.CPUs, DefaultCPUs)),
		Mem:       ptr(deref(s.Mem, DefaultMem)),
		Disk:      ptr(deref(s.Disk, DefaultDisk)),
		Cmd:       s.Cmd,
		Env:       nilIfEmpty(s.Env),
		Config:    nilIfEmpty(s.Config),
	}
	if len(s.Args) > 0 {
		n.Args = slices.Clone(s.Args)
	}
	n.Ports = normalizePorts(&s)
	for _, c := range s.Constraints {
		nc := Constraint{c[0], strings.ToUpper(c[1])}
		if len(c) == 3 && c[2] != "" {
			nc = append(nc, c[2])
		}
		n.Constraints = append(n.Constraints, nc)
	}
	slices.SortFunc(n.Constraints, func(a, b Constraint) int { return slices.Compare(a, b) })
	// Marathon keeps constraints and health checks as sets: one given
	// twice is there once.
	n.Constraints = slices.CompactFunc(n.Constraints, func(a, b Constraint) bool { return slices.Equal(a, b) })
	for _, hc := range s.HealthChecks {
		if nh := normalizeHealthCheck(hc, s.Ports); !hasHealthCheck(n.HealthChecks, &nh) {
			n.HealthChecks = append(n.HealthChecks, nh)
		}
	}
	if len(n.HealthChecks) > 4 {
		// A set of up to four keeps the order its checks were given in;
		// of more, Marathon answers in an order of its own.
		slices.SortFunc(n.HealthChecks, compareHealthChecks)
	}
	u := upgradeOf(&s)
	n.Upgrade = &u
	normalizeApp(&n, &s)
	return n
}

func normalizeHealthCheck(hc HealthCheck, ports []Port) HealthCheck {
	n := HealthCheck{
		Protocol:               cmp.Or(strings.ToUpper(hc.Protocol), DefaultHealthProtocol),
		Command:                hc.Command,
		GracePeriodSeconds:     ptr(deref(hc.GracePeriodSeconds, DefaultGracePeriodSeconds)),
		IntervalSeconds:        ptr(deref(hc.IntervalSeconds, DefaultIntervalSeconds)),
		TimeoutSeconds:         ptr(deref(hc.TimeoutSeconds, DefaultTimeoutSeconds)),
		MaxConsecutiveFailures: ptr(deref(hc.MaxConsecutiveFailures, DefaultMaxConsecutiveFailures)),
		DelaySeconds:           ptr(deref(hc.DelaySeconds, DefaultDelaySeconds)),
		IgnoreHTTP1xx:          ptr(deref(hc.IgnoreHTTP1xx, defaultHealthIgnoreHTTP1xx)),
	}
	if n.Protocol == healthProtocolCommand {
		return n
	}
	idx := defaultHealthPortIndex
	switch {
	case hc.PortIndex != nil:
		idx = *hc.PortIndex
	case hc.PortName != "":
		idx = max(0, slices.IndexFunc(ports, func(p Port) bool { return p.Name == hc.PortName }))
	}
	n.PortIndex = &idx
	if takesPath(n.Protocol) {
		n.Path = cmp.Or(hc.Path, DefaultHealthPath)
	}
	return n
}

// hasHealthCheck reports whether normalised health checks hcs hold h.
func hasHealthCheck(hcs []HealthCheck, h *HealthCheck) bool {
	for i := range hcs {
		o := &hcs[i]
		if h.Protocol == o.Protocol && h.PortName == o.PortName && h.Path == o.Path && h.Command == o.Command &&
			equalPtr(h.PortIndex, o.PortIndex) && equalPtr(h.GracePeriodSeconds, o.GracePeriodSeconds) &&
			equalPtr(h.IntervalSeconds, o.IntervalSeconds) && equalPtr(h.TimeoutSeconds, o.TimeoutSeconds) &&
			equalPtr(h.MaxConsecutiveFailures, o.MaxConsecutiveFailures) && equalPtr(h.DelaySeconds, o.DelaySeconds) &&
			equalPtr(h.IgnoreHTTP1xx, o.IgnoreHTTP1xx) {
			return true
		}
	}
	return false
}

// compareHealthChecks orders normalised health checks.
func compareHealthChecks(a, b HealthCheck) int {
	return cmp.Or(cmp.Compare(a.Protocol, b.Protocol), comparePtr(a.PortIndex, b.PortIndex), cmp.Compare(a.Path, b.Path),
		cmp.Compare(a.Command, b.Command), comparePtr(a.GracePeriodSeconds, b.GracePeriodSeconds),
		comparePtr(a.IntervalSeconds, b.IntervalSeconds), comparePtr(a.TimeoutSeconds, b.TimeoutSeconds),
		comparePtr(a.MaxConsecutiveFailures, b.MaxConsecutiveFailures), comparePtr(a.DelaySeconds, b.DelaySeconds),
		cmp.Compare(boolInt(deref(a.IgnoreHTTP1xx, false)), boolInt(deref(b.IgnoreHTTP1xx, false))))
}

// comparePtr orders nil first.
func comparePtr(a, b *int) int {
	if a == nil || b == nil {
		return cmp.Compare(boolInt(a != nil), boolInt(b != nil))
	}
	return cmp.Compare(*a, *b)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func equalPtr[T comparable](a, b *T) bool { return a == b || a != nil && b != nil && *a == *b }

// Hash returns a stable hash of the normalised spec s as Marathon runs it:
// Config and the Policy, which never go to Marathon, are left out, and so
// are the values of secret env entries (their names and marks stay in),
// so that the hash, which is stored in a Marathon label, cannot be used
// to guess a secret. A change of a secret value is still seen by the
// field comparison.
func Hash(s Spec) string {
	s = withoutPolicy(s)
	s.Config = nil
	if len(s.Env) > 0 {
		env := make(map[string]Value, len(s.Env))
		for k, v := range s.Env {
			if v.Secret {
				v.Value = ""
			}
			env[k] = v
		}
		s.Env = env
	}
	b, err := json.Marshal(s)
	if err != nil {
		panic("specs: marshal spec: " + err.Error()) // plain values only; cannot fail
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

func nilIfEmpty[M ~map[K]V, K comparable, V any](m M) M {
	if len(m) == 0 {
		return nil
	}
	return m
}

func cloneMap[M ~map[K]V, K comparable, V any](m M) M {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// takesPath reports whether a health-check protocol is one of the HTTP
// kinds, the only ones with a path.
func takesPath(protocol string) bool { return strings.Contains(protocol, "HTTP") }
