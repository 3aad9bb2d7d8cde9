package reconciler

import "theseus.dev/specs"

// The controller's own events, recorded on Metrics. Every method is safe
// on a nil *Metrics.

// Action records one action taken on Marathon (create, update, scale,
// restart, delete) or skipped.
func (m *Metrics) Action(kind string) {
	if m != nil {
		m.actions.WithLabelValues(kind).Inc()
	}
}

// PruneBlocked records a delete refused by the prune guard.
func (m *Metrics) PruneBlocked(reason string) {
	if m != nil {
		m.pruneBlocked.WithLabelValues(reason).Inc()
	}
}

// Stalled sets whether the group's deployment is past its progress
// deadline.
func (m *Metrics) Stalled(group string, stalled bool) {
	if m == nil {
		return
	}
	if stalled {
		m.stalled.WithLabelValues(group).Set(1)
		return
	}
	m.stalled.DeleteLabelValues(group)
}

// ForgetStalled drops every group's theseus_deployment_stalled: a term
// that ended reports none, its successor those it sees.
func (m *Metrics) ForgetStalled() {
	if m != nil {
		m.stalled.Reset()
	}
}

// statusPhases are the phases of /status, each a theseus_groups series.
var statusPhases = []specs.Phase{specs.PhaseSynced, specs.PhaseProgressing, specs.PhaseWaiting,
	specs.PhaseStalled, specs.PhaseInvalid, specs.PhaseDeleting,
	specs.PhaseRolledBack, specs.PhaseFailed, specs.PhasePaused, specs.PhaseDrifted}

// GroupPhases records how many groups are in each phase; nil (a term that
// ended) sets every phase to 0.
func (m *Metrics) GroupPhases(n map[specs.Phase]int) {
	if m == nil {
		return
	}
	for _, p := range statusPhases {
		m.groups.WithLabelValues(string(p)).Set(float64(n[p]))
	}
}

// DesiredRevision records the /desired revision the controller has seen.
func (m *Metrics) DesiredRevision(rev int64) {
	if m != nil {
		m.desiredRevision.Set(float64(rev))
	}
}

// Drift records a group found changed outside theseus.
func (m *Metrics) Drift() {
	if m != nil {
		m.driftDetected.Inc()
	}
}

// Resync records one full resync and how long its Marathon list took.
func (m *Metrics) Resync(seconds float64) {
	if m != nil {
		m.resyncs.Inc()
		m.resyncDuration.Observe(seconds)
	}
}

// DeploymentsInflight records how many managed apps have a deployment in
// flight, as of the last resync; 0 when the term ended.
func (m *Metrics) DeploymentsInflight(n int) {
	if m != nil {
		m.deploymentsInflight.Set(float64(n))
	}
}

// HistoryPending records how many groups have history records waiting
// to be written.
func (m *Metrics) HistoryPending(n int) {
	if m != nil {
		m.historyPending.Set(float64(n))
	}
}
