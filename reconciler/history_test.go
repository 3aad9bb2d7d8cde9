package reconciler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"theseus.dev/drivers/etcd"
	"theseus.dev/model"
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

// gatedHistory is a history store whose batches each wait for a word
// from the test: nil lets it through, an error fails all its groups, as
// etcd out of reach would. A group in two batches at once is an error.
type gatedHistory struct {
	HistoryStore
	t       *testing.T
	batches chan gatedBatch

	mu       sync.Mutex
	inFlight map[specs.GroupKey]bool
}

func (g *gatedHistory) UpdateMany(ctx context.Context, f model.Fence, edits []model.HistoryEdit) []error {
	keys := make([]specs.GroupKey, len(edits))
	g.mu.Lock()
	for i, e := range edits {
		if g.inFlight[e.Key] {
			g.t.Errorf("%s is in two batches at once", e.Key)
		}
		g.inFlight[e.Key], keys[i] = true, e.Key
	}
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		for _, k := range keys {
			delete(g.inFlight, k)
		}
		g.mu.Unlock()
	}()
	word := make(chan error)
	g.batches <- gatedBatch{keys: keys, word: word}
	if err := <-word; err != nil {
		errs := make([]error, len(edits))
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	return g.HistoryStore.UpdateMany(ctx, f, edits)
}

// gatedBatch is a batch waiting for its word.
type gatedBatch struct {
	keys []specs.GroupKey
	word chan error
}

// TestHistorianBatches: the groups waiting are recorded in batches; a
// group's ops queued while its batch is in flight wait for it, and
// after a failed batch its ops are recorded again ahead of them, so a
// revision's outcome is never lost for coming before its entry; a
// corrupt history is dropped without stopping the others.
func TestHistorianBatches(t *testing.T) {
	ctx := t.Context()
	store, fence := leaderStore(t)
	a, b, c, d := specs.GroupKey{Service: "api", Labels: "a"}, specs.GroupKey{Service: "api", Labels: "b"},
		specs.GroupKey{Service: "api", Labels: "c"}, specs.GroupKey{Service: "api", Labels: "d"}
	if _, err := store.Etcd().Put(ctx, etcd.HistoryKey("", d), "not json"); err != nil {
		t.Fatal(err)
	}
	g := &gatedHistory{HistoryStore: store.History(), t: t, batches: make(chan gatedBatch),
		inFlight: map[specs.GroupKey]bool{}}
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ctl := &Controller{cfg: Config{History: g, Now: func() time.Time { return now }}, fence: fence,
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	h := newHistorian(ctl)
	h.seen(a, 5, nil, "", false)
	h.seen(b, 6, nil, "", false)
	done := make(chan struct{})
	go func() { defer close(done); h.run(ctx) }()
	batch := func() gatedBatch {
		t.Helper()
		select {
		case b := <-g.batches:
			return b
		case <-time.After(10 * time.Second):
			t.Fatal("no batch came")
			return gatedBatch{}
		}
	}

	first := batch()
	if !slices.Equal(first.keys, []specs.GroupKey{a, b}) {
		t.Fatalf("first batch %v, want a and b", first.keys)
	}
	// While it is in flight, a's revision is Synced, and c and d come:
	// the other worker takes c and d only.
	h.facts(a, nil, &specs.Status{SyncedRevision: 5, MarathonVersion: "v5"})
	h.seen(c, 7, nil, "", false)
	h.seen(d, 8, nil, "", false)
	var others []specs.GroupKey
	for len(others) < 2 {
		next := batch()
		others = append(others, next.keys...)
		next.word <- nil
	}
	if !slices.Equal(others, []specs.GroupKey{c, d}) {
		t.Errorf("the other worker took %v, want c and d", others)
	}
	first.word <- errors.New("etcd out of reach")
	again := batch()
	if !slices.Equal(again.keys, []specs.GroupKey{a, b}) {
		t.Errorf("batch after the failure %v, want a and b again", again.keys)
	}
	h.close()
	again.word <- nil
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the historian did not end once closed")
	}
	for k, want := range map[specs.GroupKey]string{a: "5:Synced", b: "6:", c: "7:"} {
		hist, err := store.History().Get(ctx, k)
		if err != nil || len(hist.Entries) != 1 || fmt.Sprintf("%d:%s", hist.Entries[0].Revision, hist.Entries[0].Outcome) != want {
			t.Errorf("history of %s: %+v, %v; want %s", k, hist, err, want)
		}
	}
	if _, err := store.History().Get(ctx, d); !errors.Is(err, etcd.ErrCorrupt) {
		t.Errorf("the corrupt history of d: %v", err)
	}
}

// TestFactsOfARevisionOverAtWrite: a revision found Synced at the write
// of a newer one is recorded with the app version that ran it, which
// the status before the write names, not the version the write made.
func TestFactsOfARevisionOverAtWrite(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	h := newHistorian(&Controller{cfg: Config{Now: func() time.Time { return now }}})
	k := specs.GroupKey{Service: "api", Labels: "a"}
	prev := &specs.Status{ObservedRevision: 5, MarathonVersion: "v5", SyncedRevision: 3}
	h.facts(k, prev, &specs.Status{ObservedRevision: 7, MarathonVersion: "v7", SyncedRevision: 5})
	h.facts(k, &specs.Status{ObservedRevision: 7, MarathonVersion: "v7", SyncedRevision: 5},
		&specs.Status{ObservedRevision: 7, MarathonVersion: "v8", SyncedRevision: 7})
	var got []string
	for _, op := range h.ops[k] {
		got = append(got, fmt.Sprintf("%d:%s@%s", op.rev, op.outcome, op.appVersion))
	}
	if want := []string{"5:Synced@v5", "7:Synced@v8"}; !slices.Equal(got, want) {
		t.Errorf("outcomes %v, want %v", got, want)
	}
}
