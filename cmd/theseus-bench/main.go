// Command theseus-bench measures theseus at scale on one machine: an
// embedded etcd and the Marathon simulator in this process, `theseusd run`
// built from this checkout in a process of its own. It prints a table and
// JSON of the figures, each next to its floor (the same work with nothing
// of theseus in the way) where there is one:
//
//	go run ./cmd/theseus-bench                  # 10,000 groups, 30,000 tasks
//	go run ./cmd/theseus-bench -groups 500 -json out.json
//
// docs/benchmarks.md holds a run's figures and how to read them.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// options of a run.
type options struct {
	groups, instances, sweepInstances, changes, workers int
	speed, writeQPS                                     float64
	resync, timeout                                     time.Duration
	jsonPath, theseusd, profileDir                      string
	keep                                                bool
}

func main() {
	var o options
	fs := flag.NewFlagSet("theseus-bench", flag.ExitOnError)
	fs.IntVar(&o.groups, "groups", 10_000, "managed groups")
	fs.IntVar(&o.instances, "instances", 3, "tasks per group")
	fs.IntVar(&o.sweepInstances, "sweep-instances", 5, "tasks per group for the discovery sweep (5 × 10,000 groups = 50,000 tasks)")
	fs.IntVar(&o.changes, "changes", 200, "samples of each latency: spec changes, task replacements")
	fs.IntVar(&o.workers, "workers", 8, "theseusd run --workers, and the minimal client's parallelism")
	fs.Float64Var(&o.writeQPS, "write-qps", 100000, "theseusd run --marathon-write-qps: high enough not to bound the cold start (its default of 5 would make it 2,000 s, 1000 10 s)")
	fs.Float64Var(&o.speed, "speed", 1000, "how much faster than real time the simulator runs")
	fs.DurationVar(&o.resync, "resync", 5*time.Second, "theseusd run --resync")
	fs.DurationVar(&o.timeout, "timeout", 20*time.Minute, "give up after this long")
	fs.StringVar(&o.jsonPath, "json", "", "also write the JSON report to this file")
	fs.StringVar(&o.theseusd, "theseusd", "", "theseusd binary to measure (default: built from this checkout)")
	fs.StringVar(&o.profileDir, "profile", "", "save theseusd's CPU and heap profiles of the cold start and of the steady state there")
	fs.BoolVar(&o.keep, "keep", false, "keep the working directory (etcd data, theseusd's log)")
	_ = fs.Parse(os.Args[1:])

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "theseus-bench:", err)
		os.Exit(1)
	}
}

// run measures everything in order and prints the report to out; progress
// goes to log.
func run(ctx context.Context, o options, out, log io.Writer) (err error) {
	if o.groups < 1 || o.instances < 1 || o.sweepInstances < 1 || o.changes < 1 || o.workers < 1 || o.timeout <= 0 {
		return fmt.Errorf("-groups, -instances, -sweep-instances, -changes, -workers and -timeout must be positive")
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	dir, err := mkTemp()
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Fprintln(log, "working directory:", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	defer func() {
		if err != nil {
			// A stall shows in what the controller said last.
			fmt.Fprintf(log, "the end of theseusd's log:\n%s", tail(filepath.Join(dir, "theseusd.log"), 40))
		}
	}()
	started := time.Now()
	b := &bench{o: o, dir: dir, bin: o.theseusd, rep: &report{Machine: describeMachine(), Started: started,
		Params: params{Groups: o.groups, Instances: o.instances, Changes: o.changes, Speed: o.speed,
			Workers: o.workers, WriteQPS: o.writeQPS, Resync: o.resync.String()}}}
	step := func(what string) { fmt.Fprintf(log, "%6.1fs  %s\n", time.Since(started).Seconds(), what) }

	if b.bin == "" {
		step("building theseusd")
		if b.bin, err = buildTheseusd(ctx, dir); err != nil {
			return err
		}
	}
	if b.keys, err = groupKeys(o.groups); err != nil {
		return err
	}
	step("floor: a minimal client's creates")
	coldFloor, err := coldStartFloor(ctx, o, b.keys)
	if err != nil {
		return err
	}
	if b.c, err = startCluster(ctx, dir, o); err != nil {
		return err
	}
	defer b.c.close()
	step("floor: etcd put→watch and HTTP round trips")
	fl, err := measureFloors(ctx, b.c, max(o.changes, 200))
	if err != nil {
		return err
	}
	if b.ctl, err = startController(ctx, b.bin, dir, b.c, o); err != nil {
		return err
	}
	defer func() {
		if b.ctl != nil {
			b.ctl.stop()
		}
	}()
	phases := []struct {
		what string
		do   func() error
	}{
		{"cold start", func() error { return b.coldStart(ctx, coldFloor) }},
		{"steady state", func() error { return b.steadyState(ctx) }},
		{"convergence latency", func() error { return b.convergence(ctx, fl) }},
		{"settling", func() error { return b.allRunningAndSettled(ctx, o.instances) }},
		{"discovery latency", func() error { return b.discoveryLatency(ctx) }},
		{"theseusd plan", func() error { return b.plan(ctx) }},
		{"theseusd sync", func() error { return b.sync(ctx) }},
		{fmt.Sprintf("scaling to %d tasks a group", o.sweepInstances), func() error { return b.scale(ctx, o.sweepInstances) }},
		{"discovery sweep", func() error {
			b.ctl.stop()
			b.ctl = nil
			return b.sweep(ctx)
		}},
	}
	for _, p := range phases {
		step(p.what)
		if err := p.do(); err != nil {
			return fmt.Errorf("%s: %w", p.what, err)
		}
	}
	b.rep.Duration = time.Since(started).Round(time.Second).String()
	step("done")
	if err := b.rep.writeTable(out); err != nil {
		return err
	}
	if err := b.rep.writeJSON(out); err != nil {
		return err
	}
	if o.jsonPath != "" {
		f, err := os.Create(o.jsonPath)
		if err != nil {
			return err
		}
		defer f.Close()
		return b.rep.writeJSON(f)
	}
	return nil
}

// tail returns the last n lines of the file at path, or why it cannot.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error() + "\n"
	}
	lines := strings.SplitAfter(string(b), "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "")
}

// allRunningAndSettled waits for the apps, then for /status and /services.
func (b *bench) allRunningAndSettled(ctx context.Context, instances int) error {
	if err := b.allRunning(ctx, instances); err != nil {
		return err
	}
	return b.settle(ctx, instances)
}

// scale sets every group to instances tasks in one apply and waits for it.
func (b *bench) scale(ctx context.Context, instances int) error {
	gs, err := groups(b.keys, instances, 0)
	if err != nil {
		return err
	}
	if _, err := b.c.store.Desired().Apply(ctx, gs); err != nil {
		return err
	}
	return b.allRunningAndSettled(ctx, instances)
}
