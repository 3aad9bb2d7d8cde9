package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sync/errgroup"

	"theseus.dev/discovery"
	"theseus.dev/drivers/etcd"
	"theseus.dev/internal/observe"
	"theseus.dev/sources"
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
// again once it is in sync, each the median of runs. The floor of the
// first is a minimal client putting the keys and values a sync writes
// (each group's spec and its ownership record, read back from a first
// sync into a prefix of its own, not timed) into an empty prefix; each
// floor is measured just before a sync, so that both meet etcd alike.
func (b *bench) sync(ctx context.Context) error {
	dir := filepath.Join(b.dir, "specs")
	if err := writeSpecDir(dir, b.keys, b.o.instances); err != nil {
		return err
	}
	if err := b.theseusd(ctx, "sync", "--dir", dir, "--prefix", "/bench-sync-written"); err != nil {
		return err
	}
	timed := func(prefix string) (time.Duration, error) {
		start := time.Now()
		err := b.theseusd(ctx, "sync", "--dir", dir, "--prefix", prefix)
		return time.Since(start), err
	}
	var empty, inSync, floor []time.Duration
	keys := 0
	for i := range runs {
		f, n, err := b.syncFloor(ctx, "/bench-sync-written", fmt.Sprintf("/bench-sync-floor%d", i))
		if err != nil {
			return err
		}
		d, err := timed(fmt.Sprintf("/bench-sync%d", i))
		if err != nil {
			return err
		}
		floor, empty, keys = append(floor, f), append(empty, d), n
	}
	for range runs {
		d, err := timed("/bench-sync0")
		if err != nil {
			return err
		}
		inSync = append(inSync, d)
	}
	b.rep.add(ratio(figure{Name: "theseusd sync into an empty /desired", Value: ms(median(empty)), Unit: "ms",
		Note: fmt.Sprintf("%d files, median of %d; floor: a minimal client putting the same %d keys and values in transactions of %d, %d at once",
			len(b.keys), runs, keys, etcd.MaxTxnOps, sources.CommitsInFlight)},
		ms(median(floor))))
	b.rep.add(figure{Name: "theseusd sync into an in-sync /desired", Value: ms(median(inSync)), Unit: "ms",
		Note: fmt.Sprintf("%d files, median of %d", len(b.keys), runs)})
	return nil
}

// syncFloor reads back every key a sync wrote under from and times
// putting the same keys, moved under to, with the same values, as a sync
// writes them: in transactions of etcd.MaxTxnOps puts,
// sources.CommitsInFlight at once. It returns the time and the number of
// keys.
func (b *bench) syncFloor(ctx context.Context, from, to string) (time.Duration, int, error) {
	cli := b.c.store.Etcd()
	resp, err := cli.Get(ctx, from+"/", clientv3.WithPrefix())
	if err != nil {
		return 0, 0, fmt.Errorf("sync floor: read back %s: %w", from, err)
	}
	if len(resp.Kvs) < len(b.keys) {
		return 0, 0, fmt.Errorf("sync floor: %s holds %d keys, fewer than the %d groups synced", from, len(resp.Kvs), len(b.keys))
	}
	puts := make([]clientv3.Op, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		puts[i] = clientv3.OpPut(to+strings.TrimPrefix(string(kv.Key), from), string(kv.Value))
	}
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(sources.CommitsInFlight)
	for ops := range slices.Chunk(puts, etcd.MaxTxnOps) {
		g.Go(func() error {
			_, err := cli.Txn(gctx).Then(ops...).Commit()
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return 0, 0, fmt.Errorf("sync floor: %w", err)
	}
	return time.Since(start), len(puts), nil
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
