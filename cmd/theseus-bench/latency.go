package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/specs"
)

// convergence changes one group at a time, each a different group, and
// times each etcd put until the controller's write reaches Marathon.
func (b *bench) convergence(ctx context.Context, floor *floors) error {
	cli := b.c.store.Etcd()
	lat := make([]time.Duration, 0, b.o.changes)
	for i := range b.o.changes {
		k := b.keys[(i*7919+1)%len(b.keys)]
		path := "/v2/apps" + specs.AppID("", k)
		b.c.writes.forget(path)
		start := time.Now()
		if _, err := cli.Put(ctx, specs.DesiredKey("", k), string(specJSON(k, b.o.instances, i+1))); err != nil {
			return fmt.Errorf("put %s: %w", k, err)
		}
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		at, err := b.c.writes.wait(wctx, path)
		cancel()
		if err != nil {
			return fmt.Errorf("change %d of %s: %w", i, k, err)
		}
		lat = append(lat, at.Sub(start))
	}
	q := quantiles(lat)
	note := fmt.Sprintf("%d changes among %d managed groups; floor: etcd put→watch + one HTTP round trip to the simulator", len(lat), len(b.keys))
	for _, p := range []int{50, 95, 99} {
		b.rep.add(ratio(figure{Name: fmt.Sprintf("convergence: put → Marathon write, p%d", p), Value: ms(q[p]), Unit: "ms", Note: note},
			ms(floor.watch[p]+floor.rtt[p])))
	}
	return nil
}

// discoveryLatency kills one task at a time, each of a different group,
// and times its replacement's start in the simulator until /services
// lists it as running.
func (b *bench) discoveryLatency(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	seen := newFirstSeen()
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel, which ends the watch
	defer cancel()
	rev, err := b.c.revision(ctx)
	if err != nil {
		return err
	}
	wch := b.c.store.Etcd().Watch(ctx, specs.ServicesDir, clientv3.WithPrefix(), clientv3.WithRev(rev+1))
	wg.Go(func() { followRegistered(seen, wch) })

	lat := make([]time.Duration, 0, b.o.changes)
	for i := range b.o.changes {
		k := b.keys[(i*104729+7)%len(b.keys)]
		started, id, err := b.replaceTask(ctx, specs.AppID("", k))
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		wctx, wcancel := context.WithTimeout(ctx, time.Minute)
		at, err := seen.wait(wctx, id)
		wcancel()
		if err != nil {
			return fmt.Errorf("task %s of %s never listed running in /services: %w", id, k, err)
		}
		lat = append(lat, max(at.Sub(started), 0))
	}
	q := quantiles(lat)
	for _, p := range []int{50, 99} {
		b.rep.add(figure{Name: fmt.Sprintf("discovery: task running → /services, p%d", p), Value: ms(q[p]), Unit: "ms",
			Note: fmt.Sprintf("%d task replacements, through the event stream", len(lat))})
	}
	return nil
}

// replaceTask kills a task of app and returns when and which task
// Marathon started in its place.
func (b *bench) replaceTask(ctx context.Context, app string) (time.Time, string, error) {
	before := map[string]bool{}
	tasks := b.c.sim.Tasks(app)
	if len(tasks) == 0 {
		return time.Time{}, "", fmt.Errorf("no tasks")
	}
	for _, t := range tasks {
		before[t.ID] = true
	}
	if err := b.c.sim.KillTask(tasks[0].ID); err != nil {
		return time.Time{}, "", err
	}
	for {
		ch := b.c.sim.Changed()
		for _, t := range b.c.sim.Tasks(app) {
			if !before[t.ID] && t.State == "TASK_RUNNING" {
				return time.Now(), t.ID, nil
			}
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return time.Time{}, "", ctx.Err()
		}
	}
}

// followRegistered notes in seen when /services first lists each
// container running, by task id.
func followRegistered(seen *firstSeen, wch clientv3.WatchChan) {
	for wr := range wch {
		now := time.Now()
		for _, ev := range wr.Events {
			var info specs.ContainerInfo
			if ev.Type == clientv3.EventTypePut && json.Unmarshal(ev.Kv.Value, &info) == nil && info.State == "TASK_RUNNING" {
				seen.note(info.InstanceName, now)
			}
		}
	}
}
