package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"theseus.dev/drivers/etcd/etcdtest"
	"theseus.dev/sources"
)

// BenchmarkSync10000 runs `theseusd sync --dir` on 10,000 spec files:
// into an empty /desired (a fresh --prefix each time), then a no-op
// re-sync by a new process and by a --watch cycle, both of which must
// write nothing. revisions/op counts the etcd revisions written.
func BenchmarkSync10000(b *testing.B) {
	e := etcdtest.Start(b)
	dir := b.TempDir()
	writeSpecs(b, dir, 10_000)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint()}
	syncDir := func(b *testing.B, dir, prefix string) {
		var errb bytes.Buffer
		c := &cli{stdin: bytes.NewReader(nil), stdout: io.Discard, stderr: &errb, getenv: func(k string) string { return env[k] }}
		if code := run(context.Background(), []string{"sync", "--dir", dir, "--prefix", prefix}, c); code != exitOK {
			b.Fatalf("exit %d: %s", code, errb.String())
		}
	}
	sync := func(b *testing.B, prefix string) { syncDir(b, dir, prefix) }
	// fresh numbers the empty prefixes across runs, so that -count N
	// syncs into an empty /desired each time too.
	fresh := 0
	b.Run("into-empty", func(b *testing.B) {
		i, before := 0, e.Revision(b)
		for b.Loop() {
			sync(b, fmt.Sprintf("/empty%d", fresh))
			i, fresh = i+1, fresh+1
		}
		b.ReportMetric(float64(e.Revision(b)-before)/float64(i), "revisions/op")
	})
	b.Run("into-empty-json", func(b *testing.B) {
		// The same specs as one JSON object a file, as a generator
		// writes them.
		jsonDir := b.TempDir()
		writeJSONSpecs(b, dir, jsonDir)
		for b.Loop() {
			syncDir(b, jsonDir, fmt.Sprintf("/json%d", fresh))
			fresh++
		}
	})
	sync(b, "/noop")
	b.Run("no-op", func(b *testing.B) {
		before := e.Revision(b)
		for b.Loop() {
			sync(b, "/noop")
		}
		if rev := e.Revision(b); rev != before {
			b.Fatalf("a no-op sync wrote: revision %d → %d", before, rev)
		}
		b.ReportMetric(0, "revisions/op")
	})
	b.Run("no-op-watch-cycle", func(b *testing.B) {
		// The flags as the command builds them, so that every field has
		// its default.
		ef := addEtcdFlags(pflag.NewFlagSet("sync", pflag.ContinueOnError))
		ef.endpoints, ef.prefix = e.Endpoint(), "/noop"
		c := &cli{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
		s, closeEtcd, err := newSyncer(context.Background(), c, ef, &syncOptions{dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		defer closeEtcd()
		s.Cycle(context.Background()) // parse once; later cycles find the fingerprint unchanged
		before := e.Revision(b)
		for b.Loop() {
			if r := s.Cycle(context.Background()); r.Err != nil || r.Wrote {
				b.Fatalf("cycle: wrote %v, %v", r.Wrote, r.Err)
			}
		}
		if rev := e.Revision(b); rev != before {
			b.Fatalf("a no-op cycle wrote: revision %d → %d", before, rev)
		}
		b.ReportMetric(0, "revisions/op")
	})
}

// writeJSONSpecs writes each spec file of from into to as its one group's
// canonical JSON.
func writeJSONSpecs(b *testing.B, from, to string) {
	b.Helper()
	files, err := filepath.Glob(filepath.Join(from, "*.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range files {
		gs, err := sources.LoadFile(f)
		if err != nil || len(gs) != 1 {
			b.Fatalf("%s: %d groups, %v", f, len(gs), err)
		}
		name := strings.TrimSuffix(filepath.Base(f), ".yaml") + ".json"
		if err := os.WriteFile(filepath.Join(to, name), gs[0].Canonical(), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}
