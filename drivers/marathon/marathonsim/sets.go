package marathonsim

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
)

// dedupeSets drops the repeats of the lists Marathon keeps as sets
// (AppDefinition's constraints, healthChecks, dependencies and
// acceptedResourceRoles, and a persistent volume's constraints, are
// Scala Sets in 1.4 and 1.10): an app written with the same constraint
// or health check twice answers with it once.
// The first of equal elements stays where it was, as a Scala set of up
// to four elements keeps the order they were added in; of more, a hash
// set keeps an order of its own, which for health checks (the one set a
// client may hold more than four of in an order that matters to it) the
// simulator models by a hash of each. Constraint operators are compared
// regardless of case, which Marathon does not keep. Health checks are
// compared with their defaults filled in.
func dedupeSets(d *appDef) {
	d.Constraints = dedupe(d.Constraints, sameConstraint)
	d.HealthChecks = dedupe(d.HealthChecks, sameHealthCheck)
	if len(d.HealthChecks) > 4 {
		slices.SortStableFunc(d.HealthChecks, func(a, b healthCheck) int { return cmp.Compare(a.hash(), b.hash()) })
	}
	d.Dependencies = dedupe(d.Dependencies, func(a, b string) bool { return a == b })
	d.AcceptedResourceRoles = dedupe(d.AcceptedResourceRoles, func(a, b string) bool { return a == b })
	if c := d.Container; c != nil {
		for i, v := range c.Volumes {
			// A persistent volume's constraints are a set too. The volume
			// may be shared with the definition before: copied, not changed.
			if p := v.Persistent; p != nil && len(p.Constraints) > 1 {
				if cs := dedupe(p.Constraints, sameConstraint); len(cs) < len(p.Constraints) {
					np := *p
					np.Constraints = cs
					c.Volumes[i].Persistent = &np
				}
			}
		}
	}
}

// dedupe keeps the first of the elements eq calls equal, in order; nil
// stays nil.
func dedupe[T any](s []T, eq func(a, b T) bool) []T {
	if len(s) < 2 {
		return s
	}
	out := make([]T, 0, len(s))
	for _, x := range s {
		if !slices.ContainsFunc(out, func(y T) bool { return eq(x, y) }) {
			out = append(out, x)
		}
	}
	return out
}

func sameConstraint(a, b []string) bool {
	if len(a) != len(b) || len(a) < 2 {
		return slices.Equal(a, b)
	}
	return a[0] == b[0] && strings.EqualFold(a[1], b[1]) && slices.Equal(a[2:], b[2:])
}

func sameHealthCheck(a, b healthCheck) bool {
	same := func(x, y *string) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	sameInt := func(x, y *int) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return a.Protocol == b.Protocol && same(a.Path, b.Path) && sameInt(a.PortIndex, b.PortIndex) &&
		sameInt(a.Port, b.Port) && same(a.Command, b.Command) && a.GracePeriodSeconds == b.GracePeriodSeconds &&
		a.IntervalSeconds == b.IntervalSeconds && a.TimeoutSeconds == b.TimeoutSeconds &&
		a.MaxConsecutiveFailures == b.MaxConsecutiveFailures && a.DelaySeconds == b.DelaySeconds &&
		a.IgnoreHTTP1xx == b.IgnoreHTTP1xx && a.IPProtocol == b.IPProtocol
}

// hash places a health check in a set of more than four.
func (hc healthCheck) hash() uint64 {
	str := func(p *string) string {
		if p == nil {
			return "-"
		}
		return *p
	}
	num := func(p *int) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprint(*p)
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%s|%s|%s|%s|%s|%d|%d|%d|%d|%d|%v|%s", hc.Protocol, str(hc.Path), num(hc.PortIndex), num(hc.Port),
		str(hc.Command), hc.GracePeriodSeconds, hc.IntervalSeconds, hc.TimeoutSeconds, hc.MaxConsecutiveFailures,
		hc.DelaySeconds, hc.IgnoreHTTP1xx, hc.IPProtocol)
	return h.Sum64()
}
