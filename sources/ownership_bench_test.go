package sources_test

import (
	"context"
	"fmt"
	"testing"

	"theseus.dev/drivers/etcd"
	"theseus.dev/sources"
	"theseus.dev/specs"
	"theseus.dev/specs/specstest"
)

// BenchmarkSyncSource10000 syncs 10,000 parsed groups: into an empty
// /desired (a fresh prefix each time), and again with nothing to do,
// which must write nothing. The files' parsing is not included; see
// cmd/theseusd's BenchmarkSync10000 for the whole command.
func BenchmarkSyncSource10000(b *testing.B) {
	e, _ := start(b, etcd.Options{})
	const n = 10_000
	want := make([]sources.SyncSpec, n)
	for i := range want {
		k := specs.GroupKey{Service: fmt.Sprintf("svc%05d", i), Labels: "dev.frontend"}
		g, err := specs.DecodeStored(k, []byte(specstest.Bench(i)))
		if err != nil {
			b.Fatal(err)
		}
		want[i] = sources.SyncSpec{Group: g, File: k.Service + ".yaml"}
	}
	source := func(b *testing.B, prefix string) *sources.SyncSource {
		c, err := etcd.New(e.Client, etcd.Options{Prefix: prefix})
		if err != nil {
			b.Fatal(err)
		}
		s, err := sources.NewSyncSource(c.SyncStore(), "bench", sources.SyncOptions{Prune: true})
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	i := 0 // across runs too: -count runs the sub-benchmark again on the same etcd
	b.Run("into-empty", func(b *testing.B) {
		for b.Loop() {
			p, err := source(b, fmt.Sprintf("/empty%d", i)).Sync(context.Background(), "rev", want)
			if err != nil || p.Count(sources.SyncCreated) != n {
				b.Fatalf("%v, %d created", err, p.Count(sources.SyncCreated))
			}
			i++
		}
	})
	s := source(b, "/noop")
	if _, err := s.Sync(context.Background(), "rev", want); err != nil {
		b.Fatal(err)
	}
	b.Run("no-op", func(b *testing.B) {
		before := e.Revision(b)
		for b.Loop() {
			p, err := s.Sync(context.Background(), "rev", want)
			if err != nil || p.Writes() != 0 {
				b.Fatalf("%v, %d writes", err, p.Writes())
			}
		}
		if rev := e.Revision(b); rev != before {
			b.Fatalf("a no-op sync wrote: revision %d → %d", before, rev)
		}
	})
}
