package specs

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

func revisions(h *History) []int64 {
	var out []int64
	for _, e := range h.Entries {
		out = append(out, e.Revision)
	}
	return out
}

// TestHistoryRecord: entries stay in revision order, one per revision;
// a newer revision supersedes older ones still in progress, never one
// that has an outcome.
func TestHistoryRecord(t *testing.T) {
	var h History
	h.Record(HistoryEntry{Revision: 5, Time: t0})
	h.Entry(5).Outcome = OutcomeSynced
	h.Record(HistoryEntry{Revision: 9, Time: t0.Add(time.Minute)})
	h.Record(HistoryEntry{Revision: 7, Time: t0.Add(2 * time.Minute)}) // seen late: a watch replayed it
	h.Record(HistoryEntry{Revision: 12, Time: t0.Add(3 * time.Minute), Image: "web:3"})
	if got := revisions(&h); !cmp.Equal(got, []int64{5, 7, 9, 12}) {
		t.Fatalf("revisions %v", got)
	}
	for rev, want := range map[int64]Outcome{5: OutcomeSynced, 7: OutcomeSuperseded, 9: OutcomeSuperseded, 12: ""} {
		if got := h.Entry(rev).Outcome; got != want {
			t.Errorf("revision %d: outcome %q, want %q", rev, got, want)
		}
	}
	h.Record(HistoryEntry{Revision: 12, Time: t0.Add(4 * time.Minute), Image: "web:3", Outcome: OutcomeRolledBack})
	if len(h.Entries) != 4 || h.Entry(12).Outcome != OutcomeRolledBack {
		t.Errorf("recording a revision again did not replace its entry: %+v", h.Entries)
	}
	if e := h.LastSynced(12); e == nil || e.Revision != 5 {
		t.Errorf("LastSynced(12) = %+v, want revision 5", e)
	}
	if e := h.LastSynced(5); e != nil {
		t.Errorf("LastSynced(5) = %+v, want none", e)
	}
}

// TestHistoryTrim: the newest entries stay; past the byte bound the specs
// of the oldest entries go first, then the oldest entries.
func TestHistoryTrim(t *testing.T) {
	spec := json.RawMessage(`{"spec":{"image":"` + strings.Repeat("x", 1000) + `"}}`)
	var h History
	for rev := int64(1); rev <= 30; rev++ {
		h.Record(HistoryEntry{Revision: rev, Time: t0, Spec: spec})
	}
	h.Trim(MaxHistoryEntries, MaxHistoryBytes)
	if got := revisions(&h); len(got) != MaxHistoryEntries || got[0] != 11 {
		t.Fatalf("kept %v, want the newest %d", got, MaxHistoryEntries)
	}
	if b := h.Trim(MaxHistoryEntries, 10_000); len(b) > 10_000 || len(h.Entries) != MaxHistoryEntries || !bytes.Equal(b, h.encode()) {
		t.Fatalf("%d bytes in %d entries", len(b), len(h.Entries))
	}
	kept := 0
	for i, e := range h.Entries {
		if len(e.Spec) > 0 {
			kept++
		} else if kept > 0 {
			t.Fatalf("entry %d lost its spec although an older one kept its own", i)
		}
	}
	if kept == 0 || h.Entries[len(h.Entries)-1].Spec == nil {
		t.Errorf("the newest specs were dropped (%d kept)", kept)
	}
	if b := h.Trim(MaxHistoryEntries, 300); len(b) > 300 || len(h.Entries) == 0 || h.Entries[len(h.Entries)-1].Revision != 30 || !bytes.Equal(b, h.encode()) {
		t.Errorf("at 300 bytes: %d bytes, revisions %v", len(b), revisions(&h))
	}
}

// TestDecodeHistory: a daemon's history decodes, unknown fields
// included; what no daemon writes is refused with the reason.
func TestDecodeHistory(t *testing.T) {
	h := History{Entries: []HistoryEntry{
		{Revision: 3, Time: t0, Writer: Writer{Kind: WriterApply, By: "alice@laptop"}, Image: "web:1", Outcome: OutcomeSynced,
			AppVersion: "2026-11-01T10:00:00.000Z", Spec: json.RawMessage(`{"spec":{"image":"web:1"}}`)},
		{Revision: 8, Time: t0, Writer: Writer{Kind: WriterSync, Source: "git:/srv/specs", Ref: "git:main@1a2b"},
			Image: "web:2", Changed: []string{"spec.image"}, Outcome: OutcomeRolledBack, Reason: "Command exited with status 1",
			RestoredRevision: 3, RestoredVersion: "2026-11-01T10:00:00.000Z"},
	}}
	data, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeHistory(data)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(&h, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	if _, err := DecodeHistory([]byte(`{"entries":[{"revision":1,"time":"2026-11-01T10:00:00Z","future":true}],"more":1}`)); err != nil {
		t.Errorf("unknown fields refused: %v", err)
	}
	for _, tt := range []struct{ data, want string }{
		{`[]`, "cannot unmarshal array"},
		{`{"entries":[{"revision":0}]}`, "revision 0 is not positive"},
		{`{"entries":[{"revision":4},{"revision":4}]}`, "revision 4 does not follow 4"},
		{`{"entries":[{"revision":4,"spec":"x"}]}`, "spec is not a JSON object"},
		{`{"entries":[{"revision":4,"time":"yesterday"}]}`, "history"},
	} {
		if _, err := DecodeHistory([]byte(tt.data)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one with %q", tt.data, err, tt.want)
		}
	}
}

func TestWriterString(t *testing.T) {
	for _, tt := range []struct {
		w    Writer
		want string
	}{
		{Writer{}, "unknown"},
		{Writer{Kind: WriterUnknown}, "unknown"},
		{Writer{Kind: WriterApply, By: "alice@laptop"}, "apply by alice@laptop"},
		{Writer{Kind: WriterSync, Source: "git:/srv/specs", Ref: "git:main@1a2b"}, "sync git:/srv/specs git:main@1a2b"},
		{Writer{Kind: WriterSync, Source: "specs", Ref: "specs"}, "sync specs"},
		{Writer{Kind: WriterRollback, RestoredFrom: 12, By: "bob@ops"}, "rollback to 12 by bob@ops"},
	} {
		if got := tt.w.String(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.w, got, tt.want)
		}
	}
}

// FuzzDecodeHistory: no stored value makes the decoder panic, and what
// it accepts encodes and decodes to the same history.
func FuzzDecodeHistory(f *testing.F) {
	f.Add([]byte(`{"entries":[{"revision":3,"time":"2026-11-01T10:00:00Z","writer":{"kind":"apply"},"spec":{"a":1}},{"revision":9,"outcome":"Synced"}]}`))
	f.Add([]byte(`{"entries":[]}`))
	f.Add([]byte(`{"entries":[{"revision":1,"spec":" {}"}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := DecodeHistory(data)
		if err != nil {
			return
		}
		again, err := json.Marshal(h)
		if err != nil {
			t.Fatalf("accepted history does not encode: %v", err)
		}
		h2, err := DecodeHistory(again)
		if err != nil {
			t.Fatalf("re-encoded history refused: %v\n%s", err, again)
		}
		if len(h2.Entries) != len(h.Entries) {
			t.Fatalf("%d entries became %d", len(h.Entries), len(h2.Entries))
		}
	})
}

// TestTrimKeepsLastSyncedSpec: a history over MaxHistoryBytes drops the
// specs of other revisions before the one of the last Synced revision,
// which a failed rollout of the current revision is rolled back to
// (reconciler.rollbackTarget) and `theseusd rollback` writes by default,
// and before the current revision's.
func TestTrimKeepsLastSyncedSpec(t *testing.T) {
	big := func(image string) json.RawMessage { // a valid size: < MaxSpecBytes
		return json.RawMessage(`{"spec":{"image":"` + image + `","env":{"BLOB":"` + strings.Repeat("x", 400<<10) + `"}}}`)
	}
	var h History
	h.Record(HistoryEntry{Revision: 10, Time: t0, Spec: big("web:1")})
	h.Entry(10).Outcome = OutcomeSynced
	h.Record(HistoryEntry{Revision: 11, Time: t0, Spec: big("web:bad")})
	h.Entry(11).Outcome = OutcomeRolledBack
	h.Record(HistoryEntry{Revision: 12, Time: t0, Spec: big("web:2")}) // current, rolling out

	b := h.Trim(MaxHistoryEntries, MaxHistoryBytes)
	if len(b) > MaxHistoryBytes {
		t.Fatalf("%d bytes", len(b))
	}
	if e := h.Entry(12); e == nil || len(e.Spec) == 0 {
		t.Errorf("the current revision's spec was dropped")
	}
	if e := h.LastSynced(12); e == nil || e.Revision != 10 || len(e.Spec) == 0 {
		t.Errorf("the last Synced revision before the current one lost its spec (entry %v), "+
			"although dropping revision 11's spec alone fits the bound: nothing left to roll back to", e != nil)
	}
}
