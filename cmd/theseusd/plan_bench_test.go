package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"theseus.dev/diff"
	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/etcd/etcdtest"
	"theseus.dev/drivers/marathon"
	"theseus.dev/drivers/marathon/marathonsim"
	"theseus.dev/reconciler"
	"theseus.dev/specs"
)

// BenchmarkPlan10000 runs `theseusd plan -o json` against 10,000 groups
// that Marathon runs as /desired says: the whole command but for the
// process's start, in sync (exit 0).
func BenchmarkPlan10000(b *testing.B) {
	const n = 10_000
	e := etcdtest.Start(b)
	clk := marathonsim.NewManualClock(time.Now())
	sim, err := marathonsim.New(marathonsim.Options{Clock: clk,
		Agents: marathonsim.UniformAgents(50, 1024, 4<<20, marathonsim.PortRange{Begin: 31000, End: 32999})})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	b.Cleanup(func() { sim.Close(); srv.CloseClientConnections(); srv.Close() })
	groups := make([]*specs.Group, n)
	for i := range groups {
		k, err := specs.NewGroupKey(fmt.Sprintf("svc%03d", i/100), []string{"bench", fmt.Sprintf("g%02d", i%100)})
		if err != nil {
			b.Fatal(err)
		}
		groups[i], err = specs.DecodeStored(k, fmt.Appendf(nil, `{"apiVersion":"theseus/v1","kind":"Group",`+
			`"spec":{"image":"registry.example/bench/app:1.0","instances":3,"cpus":0.01,"mem":32,"env":{"REV":"0"}}}`))
		if err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	ec := e.Theseus(b, etcd.Options{})
	if _, err := ec.Desired().Apply(ctx, groups); err != nil {
		b.Fatal(err)
	}
	mc, err := marathon.New(marathon.Config{URLs: []string{srv.URL}})
	if err != nil {
		b.Fatal(err)
	}
	// What the controller would do: create every app, then let them run.
	p, err := reconciler.PlanFrom(ctx, reconciler.PlanSources{Desired: ec.Desired(), Apps: mc}, diff.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var g errgroup.Group
	g.SetLimit(8)
	for _, a := range p.Actions {
		g.Go(func() error {
			_, err := reconciler.Apply(ctx, mc, a)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	clk.Advance(time.Minute)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint(), "THESEUS_MARATHON": srv.URL}
	for b.Loop() {
		var errb bytes.Buffer
		c := &cli{stdin: bytes.NewReader(nil), stdout: io.Discard, stderr: &errb, getenv: func(k string) string { return env[k] }}
		if code := run(ctx, []string{"plan", "-o", "json"}, c); code != exitOK {
			b.Fatalf("exit %d, want 0 (in sync): %s", code, errb.String())
		}
	}
}
