package reconciler

import (
	"theseus.dev/diff"
	"theseus.dev/specs"
)

// recordSeen adds the entry of a revision seen, unless it has one.
func recordSeen(k specs.GroupKey, h *specs.History, op historyOp, w specs.Writer) bool {
	if h.Entry(op.rev) != nil {
		return false
	}
	if w.Kind == "" {
		w.Kind = specs.WriterUnknown
	}
	e := specs.HistoryEntry{Revision: op.rev, Time: op.at, Writer: w, Deleted: op.deleted}
	if op.value == nil {
		h.Record(e)
		return true
	}
	// It decoded and validated when the watch delivered it.
	if g, err := specs.DecodeStored(k, op.value); err == nil {
		e.SpecHash, e.Image, e.Spec = op.hash, g.Spec.Image, specs.StoredValue(g)
		if e.SpecHash == "" {
			e.SpecHash = specs.Hash(specs.Normalize(g.Spec))
		}
		if prev := previousSpec(k, h, op.rev); prev != nil {
			e.Changed = diff.SpecChanges(&prev.Spec, &g.Spec)
		}
	}
	h.Record(e)
	return true
}

// previousSpec is the spec of the newest entry before rev, if it has a
// spec kept that still decodes.
func previousSpec(k specs.GroupKey, h *specs.History, rev int64) *specs.Group {
	for i := len(h.Entries) - 1; i >= 0; i-- {
		e := &h.Entries[i]
		if e.Revision >= rev {
			continue
		}
		if len(e.Spec) == 0 {
			return nil
		}
		g, err := specs.DecodeStored(k, e.Spec)
		if err != nil {
			return nil
		}
		return g
	}
	return nil
}

// recordOutcome sets the outcome of op's revision: over none or
// Superseded (a revision Synced just as the next one came is Synced);
// RolledBack may turn Failed (its rollback failed too), and Failed
// Synced (Marathon's deployment came through after all).
func recordOutcome(h *specs.History, op historyOp) bool {
	e := h.Entry(op.rev)
	if e == nil || e.Outcome == op.outcome {
		return false
	}
	switch e.Outcome {
	case "", specs.OutcomeSuperseded:
	case specs.OutcomeRolledBack:
		if op.outcome != specs.OutcomeFailed {
			return false
		}
	case specs.OutcomeFailed:
		if op.outcome != specs.OutcomeSynced {
			return false
		}
	default:
		return false
	}
	e.Outcome, e.OutcomeAt, e.Reason = op.outcome, op.at, op.reason
	if op.outcome == specs.OutcomeSynced {
		e.AppVersion = op.appVersion
	}
	if op.restored != 0 {
		e.RestoredRevision, e.RestoredVersion = op.restored, op.restoredAt
	}
	return true
}

// rollbackTarget is the entry a failed rollout of revision rev goes
// back to: the revision the group was last Synced at before it, whose
// spec is kept; nil when there is none.
func rollbackTarget(h *specs.History, synced, rev int64) *specs.HistoryEntry {
	if e := h.Entry(synced); e != nil && synced < rev && !e.Deleted && len(e.Spec) > 0 {
		return e
	}
	for i := len(h.Entries) - 1; i >= 0; i-- {
		e := &h.Entries[i]
		if e.Revision < rev && e.Outcome == specs.OutcomeSynced && !e.Deleted && len(e.Spec) > 0 {
			return e
		}
	}
	return nil
}
