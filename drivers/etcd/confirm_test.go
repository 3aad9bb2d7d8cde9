package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"theseus.dev/drivers/etcd"
	"theseus.dev/specs"
)

// confirmWant is what ConfirmUnpaused must say of one group.
type confirmWant struct {
	rev    int64
	paused bool
}

// confirmSetup puts 30 groups, pauses every third, leaves a fourth of the
// keys absent, and returns them with what each confirming read must say.
func confirmSetup(t *testing.T, c *etcd.Client) ([]specs.GroupKey, map[specs.GroupKey]confirmWant) {
	t.Helper()
	ctx := t.Context()
	var keys []specs.GroupKey
	want := map[specs.GroupKey]confirmWant{}
	for i := range 40 {
		k := key(t, "web", fmt.Sprintf("g%d", i))
		keys = append(keys, k)
		var w confirmWant
		if i%4 != 3 {
			rev, err := c.Desired().Put(ctx, k, specJSON(k, 1), 0)
			if err != nil {
				t.Fatal(err)
			}
			w.rev = rev
		}
		if i%3 == 0 {
			if _, err := c.Pauses().Pause(ctx, k, specs.Pause{By: "alice@laptop", At: hist0}); err != nil {
				t.Fatal(err)
			}
			w.paused = true
		}
		want[k] = w
	}
	return keys, want
}

// queue counts the confirming reads that start to wait.
type queue chan struct{}

func (q queue) queued() { q <- struct{}{} }

// wait waits until n more reads wait.
func (q queue) wait(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for i := range n {
		select {
		case <-q:
		case <-timeout:
			t.Fatalf("%d confirming reads queued, want %d", i, n)
		}
	}
}

// TestConfirmUnpausedTogether: confirming reads asked while one is in
// flight go together in one transaction, each still answered with its
// own group's revision and pause; reads under another fence go in a
// transaction of their own, and a deposed fence fails only its reads.
func TestConfirmUnpausedTogether(t *testing.T) {
	_, c := start(t, fastOptions())
	ctx := t.Context()
	keys, want := confirmSetup(t, c)
	l, err := c.Campaign(ctx, etcd.ElectionConfig{TTL: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	deposed := l.Fence()
	deposed.Revision-- // a term before this one

	d := c.Desired()
	var mu sync.Mutex
	var sizes []int
	q := make(queue, 64)
	release := d.HoldConfirms(q.queued, func(n int) { mu.Lock(); sizes = append(sizes, n); mu.Unlock() })
	type answer struct {
		rev   int64
		pause *specs.Pause
		err   error
	}
	got := make([]answer, len(keys))
	stale := make([]error, 3)
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Go(func() {
			rev, p, err := d.ConfirmUnpaused(ctx, l.Fence(), k)
			got[i] = answer{rev, p, err}
		})
	}
	q.wait(t, len(keys))
	for i := range stale {
		wg.Go(func() { _, _, stale[i] = d.ConfirmUnpaused(ctx, deposed, keys[i]) })
	}
	q.wait(t, len(stale))
	release()
	wg.Wait()

	for i, k := range keys {
		a, w := got[i], want[k]
		if a.err != nil || a.rev != w.rev || (a.pause != nil) != w.paused {
			t.Errorf("ConfirmUnpaused(%s) = %d, %+v, %v; want %d, paused %v", k, a.rev, a.pause, a.err, w.rev, w.paused)
		}
		if w.paused && a.pause != nil && a.pause.By != "alice@laptop" {
			t.Errorf("pause of %s = %+v", k, a.pause)
		}
	}
	for i, err := range stale {
		if !errors.Is(err, etcd.ErrNotLeader) {
			t.Errorf("ConfirmUnpaused(%s) under a deposed fence: %v, want ErrNotLeader", keys[i], err)
		}
	}
	if len(sizes) != 2 || sizes[0] != len(keys) || sizes[1] != len(stale) {
		t.Errorf("transactions of %v reads; want one of %d and one of %d", sizes, len(keys), len(stale))
	}
}

// TestConfirmUnpausedBounded: a burst larger than one transaction holds
// goes in several, none over etcd's limit of operations.
func TestConfirmUnpausedBounded(t *testing.T) {
	_, c := start(t, fastOptions())
	ctx := t.Context()
	k := key(t, "web", "dev")
	rev, err := c.Desired().Put(ctx, k, specJSON(k, 1), 0)
	if err != nil {
		t.Fatal(err)
	}
	d := c.Desired()
	var mu sync.Mutex
	var sizes []int
	q := make(queue, 200)
	release := d.HoldConfirms(q.queued, func(n int) { mu.Lock(); sizes = append(sizes, n); mu.Unlock() })
	const calls = 150
	errs := make(chan error, calls)
	var wg sync.WaitGroup
	for range calls {
		wg.Go(func() {
			got, _, err := d.ConfirmUnpaused(ctx, etcd.Fence{}, k)
			if err == nil && got != rev {
				err = fmt.Errorf("revision %d, want %d", got, rev)
			}
			errs <- err
		})
	}
	q.wait(t, calls)
	release()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for _, n := range sizes {
		if n > etcd.MaxTxnOps/2 {
			t.Errorf("a transaction of %d reads: over %d operations", n, etcd.MaxTxnOps)
		}
		total += n
	}
	if total != calls || len(sizes) != 3 {
		t.Errorf("transactions of %v reads; want %d reads in 3", sizes, calls)
	}
}

// TestConfirmUnpausedGivesUp: a caller whose context ends while its read
// waits for the one in flight gets its context's error at once, and the
// reads after it still go.
func TestConfirmUnpausedGivesUp(t *testing.T) {
	_, c := start(t, fastOptions())
	k := key(t, "web", "dev")
	d := c.Desired()
	q := make(queue, 1)
	release := d.HoldConfirms(q.queued, nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { _, _, err := d.ConfirmUnpaused(ctx, etcd.Fence{}, k); done <- err }()
	q.wait(t, 1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("ConfirmUnpaused after its context ended: %v", err)
	}
	if n := d.ConfirmsWaiting(); n != 0 {
		t.Fatalf("%d reads still queued after the only one gave up", n)
	}
	release()
	if _, _, err := d.ConfirmUnpaused(t.Context(), etcd.Fence{}, k); err != nil {
		t.Fatalf("a read after: %v", err)
	}
}
