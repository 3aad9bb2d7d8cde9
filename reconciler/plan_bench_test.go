package reconciler_test

import (
	"fmt"
	"testing"

	"theseus.dev/model"
	"theseus.dev/reconciler"
	"theseus.dev/specs"
)

// BenchmarkDesiredSnapshot10000 turns a /desired of 10,000 decoded specs,
// each with an env, into a plan's view of it.
func BenchmarkDesiredSnapshot10000(b *testing.B) {
	const n = 10_000
	values := make([][]byte, n)
	keys := make([]specs.GroupKey, n)
	for i := range n {
		keys[i] = key(b, fmt.Sprintf("svc%03d", i/100), "bench", fmt.Sprintf("g%02d", i%100))
		values[i] = []byte(spec(keys[i], "nginx:1.27", 3, `,"env":{"REV":"0","MODE":"bench"}`))
	}
	// The view takes the specs' maps: every round gets specs of its own.
	decoded := func() *model.DesiredSnapshot {
		s := &model.DesiredSnapshot{Revision: n, Entries: make([]model.DesiredEntry, n)}
		for i, k := range keys {
			g, err := specs.DecodeStored(k, values[i])
			if err != nil {
				b.Fatal(err)
			}
			s.Entries[i] = model.DesiredEntry{Key: k, ModRevision: int64(i + 1), Group: g}
		}
		return s
	}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		s := decoded()
		b.StartTimer()
		if snap := reconciler.DesiredSnapshot(s); len(snap.Groups) != n {
			b.Fatalf("%d groups, want %d", len(snap.Groups), n)
		}
	}
}
