package reconciler

import (
	"encoding/json"
	"testing"
	"time"

	"theseus.dev/specs"
)

// TestRollbackTarget: a failed rollout goes back to the revision the
// status last saw Synced, else to the newest Synced one before it, and
// never to one whose spec is gone or that removed the group.
func TestRollbackTarget(t *testing.T) {
	spec := json.RawMessage(`{}`)
	entry := func(rev int64, o specs.Outcome) specs.HistoryEntry {
		return specs.HistoryEntry{Revision: rev, Outcome: o, Spec: spec}
	}
	for _, tc := range []struct {
		name    string
		entries []specs.HistoryEntry
		synced  int64
		want    int64 // 0: none
	}{
		{name: "the status's Synced revision", synced: 3,
			entries: []specs.HistoryEntry{entry(3, specs.OutcomeSynced), entry(5, specs.OutcomeSuperseded), entry(7, "")}, want: 3},
		{name: "the status lost: the newest Synced before", synced: 0,
			entries: []specs.HistoryEntry{entry(3, specs.OutcomeSynced), entry(5, specs.OutcomeSynced), entry(7, "")}, want: 5},
		{name: "its spec dropped: the one before", synced: 5,
			entries: []specs.HistoryEntry{entry(3, specs.OutcomeSynced), {Revision: 5, Outcome: specs.OutcomeSynced}, entry(7, "")}, want: 3},
		{name: "a deletion is no target", synced: 5,
			entries: []specs.HistoryEntry{entry(3, specs.OutcomeSynced), {Revision: 5, Outcome: specs.OutcomeSynced, Deleted: true, Spec: spec}, entry(7, "")}, want: 3},
		{name: "nothing after the failed revision", synced: 9,
			entries: []specs.HistoryEntry{entry(7, ""), entry(9, specs.OutcomeSynced)}, want: 0},
		{name: "a rolled back revision is no target", synced: 0,
			entries: []specs.HistoryEntry{entry(3, specs.OutcomeSynced), entry(5, specs.OutcomeRolledBack), entry(7, "")}, want: 3},
		{name: "the first revision failed: none", synced: 0,
			entries: []specs.HistoryEntry{entry(7, "")}, want: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := rollbackTarget(&specs.History{Entries: tc.entries}, tc.synced, 7)
			var got int64
			if e != nil {
				got = e.Revision
			}
			if got != tc.want {
				t.Errorf("target %d, want %d", got, tc.want)
			}
		})
	}
}

// TestRecordOutcome: an outcome is set over none or Superseded; a
// RolledBack revision may only turn Failed, a Failed one only Synced;
// anything else leaves the entry as it was.
func TestRecordOutcome(t *testing.T) {
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		was  specs.Outcome
		op   historyOp
		want specs.Outcome
		set  bool
	}{
		{name: "Synced over none", op: historyOp{rev: 7, outcome: specs.OutcomeSynced, appVersion: "v2"},
			want: specs.OutcomeSynced, set: true},
		{name: "Synced over Superseded", was: specs.OutcomeSuperseded, op: historyOp{rev: 7, outcome: specs.OutcomeSynced},
			want: specs.OutcomeSynced, set: true},
		{name: "Superseded not over Synced", was: specs.OutcomeSynced, op: historyOp{rev: 7, outcome: specs.OutcomeSuperseded},
			want: specs.OutcomeSynced},
		{name: "RolledBack turns Failed", was: specs.OutcomeRolledBack, op: historyOp{rev: 7, outcome: specs.OutcomeFailed, reason: "too"},
			want: specs.OutcomeFailed, set: true},
		{name: "RolledBack does not turn Synced", was: specs.OutcomeRolledBack, op: historyOp{rev: 7, outcome: specs.OutcomeSynced},
			want: specs.OutcomeRolledBack},
		{name: "Failed turns Synced", was: specs.OutcomeFailed, op: historyOp{rev: 7, outcome: specs.OutcomeSynced},
			want: specs.OutcomeSynced, set: true},
		{name: "Failed does not turn RolledBack", was: specs.OutcomeFailed, op: historyOp{rev: 7, outcome: specs.OutcomeRolledBack},
			want: specs.OutcomeFailed},
		{name: "the same again changes nothing", was: specs.OutcomeSynced, op: historyOp{rev: 7, outcome: specs.OutcomeSynced},
			want: specs.OutcomeSynced},
		{name: "a revision with no entry", op: historyOp{rev: 8, outcome: specs.OutcomeSynced}},
		{name: "RolledBack with what was restored", op: historyOp{rev: 7, outcome: specs.OutcomeRolledBack, reason: "exit 1",
			restored: 5, restoredAt: "v1"}, want: specs.OutcomeRolledBack, set: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.op.at = at
			h := &specs.History{Entries: []specs.HistoryEntry{{Revision: 7, Outcome: tc.was}}}
			if got := recordOutcome(h, tc.op); got != tc.set {
				t.Errorf("changed %v, want %v", got, tc.set)
			}
			e := h.Entry(7)
			if tc.op.rev != 7 {
				if e.Outcome != tc.was || !e.OutcomeAt.IsZero() {
					t.Errorf("another revision's entry changed: %+v", e)
				}
				return
			}
			if e.Outcome != tc.want {
				t.Errorf("outcome %q, want %q", e.Outcome, tc.want)
			}
			if !tc.set {
				if !e.OutcomeAt.IsZero() || e.Reason != "" {
					t.Errorf("an outcome not set changed the entry: %+v", e)
				}
				return
			}
			if !e.OutcomeAt.Equal(at) || e.Reason != tc.op.reason || e.AppVersion != tc.op.appVersion ||
				e.RestoredRevision != tc.op.restored || e.RestoredVersion != tc.op.restoredAt {
				t.Errorf("entry %+v for %+v", e, tc.op)
			}
		})
	}
}
