package specs

import (
	"encoding/json"
	"strings"
	"testing"
)

// BenchmarkHistoryTrim bounds and encodes a history of two revisions with
// their specs, as each history write of a rollout does.
func BenchmarkHistoryTrim(b *testing.B) {
	spec := json.RawMessage(`{"spec":{"image":"nginx:1.27","instances":3,"env":{"A":"` + strings.Repeat("x", 800) + `"}}}`)
	h := History{Entries: []HistoryEntry{
		{Revision: 7, Time: t0, Writer: Writer{Kind: WriterApply, By: "alice@laptop"}, SpecHash: strings.Repeat("a", 32),
			Image: "nginx:1.26", Outcome: OutcomeSynced, Spec: spec},
		{Revision: 9, Time: t0, Writer: Writer{Kind: WriterSync, By: "git"}, SpecHash: strings.Repeat("b", 32),
			Image: "nginx:1.27", Spec: spec},
	}}
	b.ReportAllocs()
	for b.Loop() {
		if len(h.Trim(MaxHistoryEntries, MaxHistoryBytes)) == 0 {
			b.Fatal("nothing encoded")
		}
	}
}
