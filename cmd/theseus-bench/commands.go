package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/discovery"
	"theseus.dev/drivers/etcd"
	"theseus.dev/internal/observe"
	"theseus.dev/specs"
)

// runs is how many times a command is timed; the median is reported.
const runs = 3

// plan times `theseusd plan -o json` against the running installation.
// Its floor is reading the same two lists in this process: Marathon's
// apps with their tasks, and /desired, decoded.
func (b *bench) plan(ctx context.Context) error {
	var wall, floor []time.Duration
	for range runs {
		start := time.Now()
		// Exit 0 is in sync, 2 changes pending; both are a plan.
		if err := b.theseusd(ctx, "plan", "-o", "json"); err != nil && exitCode(err) != 2 {
			return err
		}
		wall = append(wall, time.Since(start))

		start = time.Now()
		if _, err := b.c.mc.List(ctx); err != nil {
			return err
		}
		if _, err := b.c.store.Desired().List(ctx); err != nil {
			return err
		}
		floor = append(floor, time.Since(start))
	}
	b.rep.add(ratio(figure{Name: "theseusd plan", Value: ms(median(wall)), Unit: "ms",
		Note: fmt.Sprintf("%d groups, the whole command; floor: the Marathon list and the etcd list, decoded", len(b.keys))},
		ms(median(floor))))
	return nil
}

// sync times `theseusd sync --dir` of one file per group into an empty
// /desired (of an installation of its own, under another prefix) and
// again once it is in sync. The floor of the first is a minimal client
// writing the same keys and values into an empty prefix, in
// transactions of as many puts as etcd takes in one, one after another
// as sync writes them.
func (b *bench) sync(ctx context.Context) error {
	dir := filepath.Join(b.dir, "specs")
	if err := writeSpecDir(dir, b.keys, b.o.instances); err != nil {
		return err
	}
	floor, err := b.syncFloor(ctx, "/bench-sync-floor")
	if err != nil {
		return err
	}
	for i, what := range []string{"into an empty /desired", "into an in-sync /desired"} {
		start := time.Now()
		if err := b.theseusd(ctx, "sync", "--dir", dir, "--prefix", "/bench-sync"); err != nil {
			return err
		}
		f := figure{Name: "theseusd sync " + what, Value: ms(time.Since(start)), Unit: "ms",
			Note: fmt.Sprintf("%d files", len(b.keys))}
		if i == 0 {
			f.Note += "; floor: a minimal client putting the same keys in transactions of 128"
			f = ratio(f, ms(floor))
		}
		b.rep.add(f)
	}
	return nil
}

// syncFloor puts every group's manifest under prefix's /desired, in
// transactions of etcd.MaxTxnOps puts, and returns how long it took.
func (b *bench) syncFloor(ctx context.Context, prefix string) (time.Duration, error) {
	cli := b.c.store.Etcd()
	ops := make([]clientv3.Op, 0, etcd.MaxTxnOps)
	start := time.Now()
	for i, k := range b.keys {
		ops = append(ops, clientv3.OpPut(specs.DesiredKey(prefix, k), string(specJSON(k, b.o.instances, 0))))
		if len(ops) == etcd.MaxTxnOps || i == len(b.keys)-1 {
			if _, err := cli.Txn(ctx).Then(ops...).Commit(); err != nil {
				return 0, fmt.Errorf("sync floor: %w", err)
			}
			ops = ops[:0]
		}
	}
	return time.Since(start), nil
}

// theseusd runs a command of the binary under test against the cluster.
func (b *bench) theseusd(ctx context.Context, args ...string) error {
	args = append(args, "--etcd", b.c.etcdSrv.Endpoint())
	if args[0] != "sync" {
		args = append(args, "--marathon", b.c.simURL)
	}
	cmd := exec.CommandContext(ctx, b.bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("theseusd %s: %w: %s", args[0], err, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// sweep times the discovery syncer's full sweep: one Marathon list of
// every task, the tree from the syncer's watched copy of it, the
// comparison, and no write when the tree is right. The controller is
// stopped first so that the sweep runs alone.
func (b *bench) sweep(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	apps := observe.New(observe.Config{Marathon: b.c.mc, Resync: time.Hour, Timeout: 10 * time.Minute})
	d := discovery.New(discovery.Config{Apps: apps, Store: b.c.store.Discovery(), Cache: b.c.store.Discovery().NewTreeCache()})
	done := make(chan error, 2)
	go func() { done <- d.Run(ctx) }()
	go func() { done <- apps.Run(ctx) }()
	defer func() { cancel(); <-done; <-done }()
	var times []time.Duration
	var last discovery.SweepStats
	for range runs + 1 { // the first warms the caches up and is not counted
		st, err := d.Sweep(ctx)
		if err != nil {
			return err
		}
		if st.Err != nil {
			return fmt.Errorf("sweep: %w", st.Err)
		}
		times, last = append(times, st.Duration), st
	}
	b.rep.add(figure{Name: "discovery: full sweep", Value: ms(median(times[1:])), Unit: "ms",
		Note: fmt.Sprintf("%d groups, %d containers, tree in sync (%d groups written)", last.Groups, last.Containers, last.Written)})
	return nil
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
