package specs

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Limits bound every number of a spec to what a real cluster can mean:
// instances: 1000000000 or cpus: 1e308 is a typo or an attack, and
// Marathon would try to carry it out and starve every other group.
// Validate checks DefaultLimits; a daemon may check lower ones with
// CheckLimits. A new numeric field gets its bound here.
type Limits struct {
	// Instances bounds spec.instances, and the integer values of the
	// GROUP_BY and MAX_PER constraints.
	Instances int
	// CPUs bounds spec.cpus, per task.
	CPUs float64
	// MemMiB and DiskMiB bound spec.mem and spec.disk, per task, in MiB.
	MemMiB, DiskMiB float64
	// Seconds bounds the durations of a health check (grace period,
	// interval, timeout, delay) and the progress deadline of a rollout.
	Seconds int
	// Failures bounds a health check's maxConsecutiveFailures.
	Failures int
}

// DefaultLimits are the bounds Validate checks: 10,000 instances; 1,024
// CPUs, 4 TiB of memory and 64 TiB of disk per task; a day for a health
// check's durations and a rollout's progress deadline; 10,000
// consecutive failures. Ports are bounded by
// their range, 65,535.
func DefaultLimits() Limits {
	return Limits{Instances: 10_000, CPUs: 1024, MemMiB: 4 << 20, DiskMiB: 64 << 20, Seconds: 86_400, Failures: 10_000}
}

// Lower returns d with each field of l that is set (not zero) in its
// place, and an error naming each field that is negative or above d: a
// limit can only be lowered.
func (l Limits) Lower(d Limits) (Limits, error) {
	var errs []error
	out := d
	lowerInt := func(name string, v int, dst *int) {
		switch {
		case v < 0 || v > *dst:
			errs = append(errs, fmt.Errorf("%s %d: must be between 1 and %d", name, v, *dst))
		case v > 0:
			*dst = v
		}
	}
	lowerFloat := func(name string, v float64, dst *float64) {
		switch {
		case !(v >= 0) || v > *dst:
			errs = append(errs, fmt.Errorf("%s %g: must be above 0 and at most %g", name, v, *dst))
		case v > 0:
			*dst = v
		}
	}
	lowerInt("max instances", l.Instances, &out.Instances)
	lowerFloat("max cpus", l.CPUs, &out.CPUs)
	lowerFloat("max mem", l.MemMiB, &out.MemMiB)
	lowerFloat("max disk", l.DiskMiB, &out.DiskMiB)
	lowerInt("max seconds", l.Seconds, &out.Seconds)
	lowerInt("max failures", l.Failures, &out.Failures)
	return out, errors.Join(errs...)
}

// CheckLimits returns every number of g above l, each as a FieldError
// that names the field and the bound, or nil.
func CheckLimits(g *Group, l Limits) error {
	v := &validator{g: g}
	v.bounds(l)
	return v.errs.Err()
}

// bounds checks the numbers of the spec against l.
func (v *validator) bounds(l Limits) {
	s := &v.g.Spec
	if s.Instances != nil && *s.Instances > l.Instances {
		v.errorf("spec.instances", "%d is more than the limit of %d instances", *s.Instances, l.Instances)
	}
	maxFloat := func(field string, p *float64, limit float64, unit string) {
		if p != nil && *p > limit {
			v.errorf(field, "%g is more than the limit of %g%s", *p, limit, unit)
		}
	}
	maxFloat("spec.cpus", s.CPUs, l.CPUs, " CPUs")
	maxFloat("spec.mem", s.Mem, l.MemMiB, " MiB")
	maxFloat("spec.disk", s.Disk, l.DiskMiB, " MiB")
	for i, c := range s.Constraints {
		if len(c) == 3 && (strings.EqualFold(c[1], "GROUP_BY") || strings.EqualFold(c[1], "MAX_PER")) {
			if n, err := strconv.ParseInt(c[2], 10, 64); err == nil && (n < 0 || n > int64(l.Instances)) {
				v.errorf("spec.constraints["+strconv.Itoa(i)+"]", "%s value %d must be between 0 and the limit of %d instances",
					strings.ToUpper(c[1]), n, l.Instances)
			}
		}
	}
	if u := s.Upgrade; u != nil && u.ProgressDeadlineSeconds != nil && *u.ProgressDeadlineSeconds > l.Seconds {
		v.errorf("spec.upgrade.progressDeadlineSeconds", "%d is more than the limit of %d seconds", *u.ProgressDeadlineSeconds, l.Seconds)
	}
	for i, hc := range s.HealthChecks {
		f := "spec.healthChecks[" + strconv.Itoa(i) + "]."
		for _, d := range []struct {
			name  string
			p     *int
			limit int
			unit  string
		}{
			{"gracePeriodSeconds", hc.GracePeriodSeconds, l.Seconds, " seconds"},
			{"intervalSeconds", hc.IntervalSeconds, l.Seconds, " seconds"},
			{"timeoutSeconds", hc.TimeoutSeconds, l.Seconds, " seconds"},
			{"delaySeconds", hc.DelaySeconds, l.Seconds, " seconds"},
			{"maxConsecutiveFailures", hc.MaxConsecutiveFailures, l.Failures, ""},
		} {
			if d.p != nil && *d.p > d.limit {
				v.errorf(f+d.name, "%d is more than the limit of %d%s", *d.p, d.limit, d.unit)
			}
		}
	}
}
