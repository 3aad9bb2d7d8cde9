package main

import (
	"context"
	"fmt"
	"time"

	"theseus.dev/drivers/marathon/marathonsim"
	"theseus.dev/specs"
)

// bench is one run: the cluster, the controller under test, the groups,
// and the figures measured so far.
type bench struct {
	o    options
	dir  string
	bin  string
	c    *cluster
	ctl  *controller
	keys []specs.GroupKey
	rep  *report
}

// coldStart puts every group into an empty /desired and times the
// controller's creates, the apps' start and the controller's record of
// it all (/status, /services, the history).
func (b *bench) coldStart(ctx context.Context, floor time.Duration) error {
	gs, err := groups(b.keys, b.o.instances, 0)
	if err != nil {
		return err
	}
	n := len(b.keys)
	// Profiled over the first seconds, when creates are being issued.
	stopProfile := b.ctl.profile(ctx, b.o.profileDir, "coldstart", 5*time.Second)
	start := time.Now()
	if _, err := b.c.store.Desired().Apply(ctx, gs); err != nil {
		return fmt.Errorf("put %d groups: %w", n, err)
	}
	put := time.Since(start)
	err = untilSim(ctx, b.c.sim, 10*time.Millisecond, func() bool {
		return b.c.sim.RequestCount("POST", marathonsim.RouteApps) >= n
	})
	if err != nil {
		return fmt.Errorf("creates: %w", err)
	}
	created := time.Since(start)
	if err := b.allRunning(ctx, b.o.instances); err != nil {
		return err
	}
	running := time.Since(start)
	if err := stopProfile(); err != nil {
		return fmt.Errorf("profile of the cold start: %w", err)
	}
	if err := b.settle(ctx, b.o.instances); err != nil {
		return err
	}
	settled := time.Since(start)
	b.rep.add(figure{Name: "cold start: put of all groups", Value: ms(put), Unit: "ms",
		Note: fmt.Sprintf("%d groups in transactions of up to 128 puts", n)})
	b.rep.add(ratio(figure{Name: "cold start: every create issued", Value: ms(created), Unit: "ms",
		Note: "from the first put; floor: a minimal HTTP client issuing the same creates"}, ms(floor)))
	b.rep.add(figure{Name: "cold start: every app running", Value: ms(running), Unit: "ms",
		Note: fmt.Sprintf("%d tasks, simulator at %gx", n*b.o.instances, b.o.speed)})
	b.rep.add(figure{Name: "cold start: everything recorded", Value: ms(settled), Unit: "ms",
		Note: "every group Synced in /status, every task in /services, every history written; checked every 500 ms"})
	return nil
}

// allRunning waits until every group's app runs its instances with no
// deployment left.
func (b *bench) allRunning(ctx context.Context, instances int) error {
	err := untilSim(ctx, b.c.sim, 50*time.Millisecond, func() bool {
		if len(b.c.sim.Deployments()) > 0 {
			return false
		}
		apps := b.c.sim.Apps()
		if len(apps) != len(b.keys) {
			return false
		}
		for _, a := range apps {
			if a.Instances != instances || a.TasksRunning != instances {
				return false
			}
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("waiting for %d apps of %d tasks to run: %w", len(b.keys), instances, err)
	}
	return nil
}

// settle waits until the controller has nothing left to do: every group
// Synced in /status, its rollout over (--min-healthy-time after it was
// done) and recorded in its history, and the /services tree holding
// every task.
func (b *bench) settle(ctx context.Context, instances int) error {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	want := len(b.keys) * instances
	for {
		synced, ready, pending := 0, 0, -1.0
		entries, _, err := b.c.store.Status().List(ctx)
		if err == nil {
			for _, s := range entries {
				if s.Status.Phase == specs.PhaseSynced && s.Status.Tasks.Running == instances && s.Status.Rollout == nil {
					synced++
				}
			}
			tree, err := b.c.store.Discovery().ReadTree(ctx)
			if err == nil {
				for _, g := range tree.Groups {
					ready += g.Revision.Ready
				}
			}
		}
		if synced == len(b.keys) && ready == want {
			if p, err := b.ctl.metric("theseus_history_pending"); err == nil {
				if pending = p; p == 0 {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("settling: %d of %d groups synced, %d of %d containers in /services, histories pending %g (-1: not read): %w",
				synced, len(b.keys), ready, want, pending, ctx.Err())
		case <-tick.C:
		}
	}
}

// steadyState counts what the controller does over several resyncs when
// nothing changes, and its CPU time and peak memory.
func (b *bench) steadyState(ctx context.Context) error {
	const resyncs = 4
	// Start counting right after a resync, so that the window holds whole
	// ones.
	r0, err := b.waitResyncs(ctx, 1)
	if err != nil {
		return err
	}
	b.c.sim.ResetRequests()
	rev0, err := b.c.revision(ctx)
	if err != nil {
		return err
	}
	cpu0, err := b.ctl.cpu()
	if err != nil {
		return err
	}
	stopProfile := b.ctl.profile(ctx, b.o.profileDir, "steady", time.Duration(resyncs)*b.o.resync)
	r1, err := b.waitResyncs(ctx, resyncs)
	if err != nil {
		return err
	}
	cpu1, err := b.ctl.cpu()
	if err != nil {
		return err
	}
	n := r1 - r0
	lists, other := 0, 0
	for k, c := range b.c.sim.RequestCounts() {
		switch {
		case k.Method == "GET" && k.Route == marathonsim.RouteApps:
			lists += c
		case k.Route == marathonsim.RouteEvents:
		default:
			other += c
		}
	}
	rev1, err := b.c.revision(ctx)
	if err != nil {
		return err
	}
	writes := rev1 - rev0
	if err := stopProfile(); err != nil {
		return err
	}
	rss, err := b.ctl.peakRSS()
	if err != nil {
		return err
	}
	tasks := len(b.keys) * b.o.instances
	b.rep.add(figure{Name: "steady state: Marathon list calls per resync", Value: float64(lists) / n, Unit: "calls",
		Note: fmt.Sprintf("%d lists over %g resyncs (target 1)", lists, n)})
	b.rep.add(figure{Name: "steady state: other Marathon calls per resync", Value: float64(other) / n, Unit: "calls", Note: "target 0"})
	b.rep.add(figure{Name: "steady state: etcd writes per resync", Value: float64(writes) / n, Unit: "writes", Note: "target 0"})
	b.rep.add(figure{Name: "steady state: controller CPU per resync", Value: ms(time.Duration(float64(cpu1-cpu0) / n)), Unit: "ms",
		Note: fmt.Sprintf("%d groups, %d tasks; all of the process's CPU over the window", len(b.keys), tasks)})
	b.rep.add(figure{Name: "peak RSS of the controller", Value: float64(rss) / (1 << 20), Unit: "MiB",
		Note: fmt.Sprintf("VmHWM at %d groups, %d tasks", len(b.keys), tasks)})
	return nil
}

// waitResyncs waits until the controller has finished n more resyncs and
// returns its resync count then.
func (b *bench) waitResyncs(ctx context.Context, n int) (float64, error) {
	r0, err := b.ctl.metric("theseus_resyncs_total")
	if err != nil {
		return 0, err
	}
	// Each scrape costs the controller about a millisecond of CPU: a few
	// per resync keep that out of the figures and the window's end well
	// within the next resync.
	tick := time.NewTicker(min(time.Second, b.o.resync/4))
	defer tick.Stop()
	for {
		r, err := b.ctl.metric("theseus_resyncs_total")
		if err != nil {
			return 0, err
		}
		if r >= r0+float64(n) {
			return r, nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("waiting for %d resyncs: %w", n, ctx.Err())
		case <-tick.C:
		}
	}
}
