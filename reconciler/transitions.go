package reconciler

import (
	"strings"

	"theseus.dev/model"
	"theseus.dev/specs"
)

// statusWritten passes on what a status just handed over for v's group
// changed: the outcomes it records to the history and, into Drifted, to
// the drift metric (once: a status rewritten in the same phase tells
// nothing).
func (c *Controller) statusWritten(v view, st *specs.Status) {
	var prev *specs.Status
	if v.hasStatus {
		p := v.status
		prev = &p
	}
	if v.desired != nil {
		c.history.facts(v.key, prev, st)
	}
	if prev != nil && prev.Phase == st.Phase {
		return
	}
	if st.Phase == specs.PhaseDrifted {
		c.metrics.Drift()
	}
}

// phaseChange is the change of phase st makes for v's group, for the
// notifier; nil when it makes none, or there is no notifier. The status
// writer tells it once st is recorded.
func (c *Controller) phaseChange(v view, st *specs.Status) *model.PhaseChange {
	if c.cfg.Notifier == nil || v.hasStatus && v.status.Phase == st.Phase {
		return nil
	}
	ch := &model.PhaseChange{Group: v.key, To: st.Phase, Revision: st.ObservedRevision, Time: st.Since, Reason: phaseReason(st)}
	if v.hasStatus {
		ch.From = v.status.Phase
	}
	if f := st.Failure; f != nil && (st.Phase == specs.PhaseRolledBack || st.Phase == specs.PhaseFailed) {
		ch.FailedRevision = f.Revision
		// A Failed group's failure keeps the revision a failed rollback
		// aimed at: nothing was rolled back to it.
		if st.Phase == specs.PhaseRolledBack {
			ch.RestoredRevision = f.RestoredRevision
		}
	}
	return ch
}

// phaseReason is why a group is in its phase, in the words of its status.
func phaseReason(st *specs.Status) string {
	switch st.Phase {
	case specs.PhaseSynced:
		return ""
	case specs.PhaseRolledBack, specs.PhaseFailed:
		if st.Failure != nil {
			return st.Failure.Reason
		}
	case specs.PhaseInvalid:
		if len(st.Errors) > 0 {
			return strings.Join(st.Errors, "; ")
		}
	case specs.PhaseStalled:
		if st.LastError != "" {
			return st.Message + "; " + st.LastError
		}
	}
	return st.Message
}
