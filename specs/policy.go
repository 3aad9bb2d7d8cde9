package specs

import "time"

// DriftPolicy says what theseus does when an app is changed outside
// theseus (a manual scale, a definition edited in Marathon's UI).
type DriftPolicy string

// The drift policies.
const (
	// DriftHeal writes the spec back over the change, like any other
	// difference. The default.
	DriftHeal DriftPolicy = "heal"
	// DriftReport leaves the change in place and reports it: the group's
	// phase is Drifted and plan lists the drift as pending.
	DriftReport DriftPolicy = "report"
)

// Paths of the policy fields, as validation errors and "what changed"
// name them.
const (
	FieldProgressDeadline = "spec.upgrade.progressDeadlineSeconds"
	FieldAutoRollback     = "spec.upgrade.autoRollback"
	FieldDrift            = "spec.drift"
)

// Policy is how theseus itself treats a group: how long a rollout it
// starts may take, whether a failed one is rolled back, and what happens
// to drift. It is theseus's own and never goes to Marathon: Normalize
// leaves it out, so it takes no part in the spec hash stored in
// Marathon's labels nor in the field comparison, and a change of the
// policy alone changes nothing in Marathon.
type Policy struct {
	// ProgressDeadline is spec.upgrade.progressDeadlineSeconds, or the
	// daemon's default.
	ProgressDeadline time.Duration
	// AutoRollback is spec.upgrade.autoRollback, true by default.
	AutoRollback bool
	// Drift is spec.drift, DriftHeal by default.
	Drift DriftPolicy
}

// Policy returns the policy of s, with defaultDeadline (the daemon's
// --progress-deadline) where s sets no deadline.
func (s *Spec) Policy(defaultDeadline time.Duration) Policy {
	p := Policy{ProgressDeadline: defaultDeadline, AutoRollback: true, Drift: DriftHeal}
	if u := s.Upgrade; u != nil {
		if u.ProgressDeadlineSeconds != nil {
			p.ProgressDeadline = time.Duration(*u.ProgressDeadlineSeconds) * time.Second
		}
		if u.AutoRollback != nil {
			p.AutoRollback = *u.AutoRollback
		}
	}
	if s.Drift != "" {
		p.Drift = s.Drift
	}
	return p
}

// PolicyChanges lists the paths of the policy fields that differ between
// two specs, as written: a deadline left unset and one set to the
// daemon's default differ, since the default can change.
func PolicyChanges(old, new *Spec) []string {
	var out []string
	o, n := old.Policy(0), new.Policy(0)
	if o.ProgressDeadline != n.ProgressDeadline {
		out = append(out, FieldProgressDeadline)
	}
	if o.AutoRollback != n.AutoRollback {
		out = append(out, FieldAutoRollback)
	}
	if o.Drift != n.Drift {
		out = append(out, FieldDrift)
	}
	return out
}

// policy checks the policy fields. Their upper bound is checked with
// the other limits.
func (v *validator) policy(s *Spec) {
	if u := s.Upgrade; u != nil && u.ProgressDeadlineSeconds != nil && *u.ProgressDeadlineSeconds < 1 {
		v.errorf(FieldProgressDeadline, "must be at least 1 second, got %d", *u.ProgressDeadlineSeconds)
	}
	switch s.Drift {
	case "", DriftHeal, DriftReport:
	default:
		v.errorf(FieldDrift, "want %q or %q, got %q", DriftHeal, DriftReport, s.Drift)
	}
}

// withoutPolicy returns s with the policy fields unset.
func withoutPolicy(s Spec) Spec {
	s.Drift = ""
	if s.Upgrade != nil {
		u := *s.Upgrade
		u.ProgressDeadlineSeconds, u.AutoRollback = nil, nil
		s.Upgrade = &u
	}
	return s
}
