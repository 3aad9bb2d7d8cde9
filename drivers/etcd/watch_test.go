package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/drivers/etcd"
	"theseus.dev/specs"
)

// model is what a consumer of Watch knows about /desired: the mod
// revision of each key. It checks the delivery guarantees as it applies
// updates: revisions only go up, and no change arrives twice.
type model struct {
	t       testing.TB
	keys    map[string]int64
	rev     int64 // every change up to rev has been applied
	events  int
	relists int
}

func newModel(t testing.TB, rev int64) *model {
	return &model{t: t, keys: map[string]int64{}, rev: rev}
}

func (m *model) apply(u etcd.Update) {
	m.t.Helper()
	if u.Snapshot != nil {
		m.relists++
		if len(u.Events) > 0 {
			m.t.Errorf("update with both a snapshot and events")
		}
		m.keys = map[string]int64{}
		for _, en := range u.Snapshot.Entries {
			m.keys[en.EtcdKey] = en.ModRevision
		}
		m.rev = u.Snapshot.Revision
		return
	}
	prev := m.rev
	for _, ev := range u.Events {
		// Events of one transaction share a revision; otherwise each
		// is newer than everything delivered before.
		if ev.Entry.ModRevision <= m.rev || ev.Entry.ModRevision < prev {
			m.t.Errorf("event %s %s@%d repeats or reorders (seen up to %d, previous event %d)",
				ev.Type, ev.Entry.EtcdKey, ev.Entry.ModRevision, m.rev, prev)
		}
		prev = ev.Entry.ModRevision
		switch ev.Type {
		case etcd.EventPut:
			m.keys[ev.Entry.EtcdKey] = ev.Entry.ModRevision
		case etcd.EventDelete:
			delete(m.keys, ev.Entry.EtcdKey)
		}
		m.events++
	}
	if u.Revision < m.rev {
		m.t.Errorf("update revision %d went back from %d", u.Revision, m.rev)
	}
	m.rev = u.Revision
}

// matches reports whether the model equals /desired at its revision.
func (m *model) matches(ctx context.Context, cli *clientv3.Client) error {
	resp, err := cli.Get(ctx, "/desired/", clientv3.WithPrefix(), clientv3.WithRev(m.rev))
	if err != nil {
		return err
	}
	if len(resp.Kvs) != len(m.keys) {
		return fmt.Errorf("model has %d keys at %d, etcd %d", len(m.keys), m.rev, len(resp.Kvs))
	}
	for _, kv := range resp.Kvs {
		if m.keys[string(kv.Key)] != kv.ModRevision {
			return fmt.Errorf("%s: model @%d, etcd @%d", kv.Key, m.keys[string(kv.Key)], kv.ModRevision)
		}
	}
	return nil
}

// watcher runs Watch or Sync in the background and hands each update to
// the test through a channel, so the test can wait on conditions with a
// deadline instead of sleeping.
type watcher struct {
	updates chan etcd.Update
	done    chan error
	cancel  context.CancelFunc
}

func startWatch(t testing.TB, d *etcd.DesiredStore, fromRev int64, sync bool) *watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{updates: make(chan etcd.Update, 4096), done: make(chan error, 1), cancel: cancel}
	fn := func(u etcd.Update) error {
		select {
		case w.updates <- u:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	go func() {
		if sync {
			w.done <- d.Sync(ctx, fn)
		} else {
			w.done <- d.Watch(ctx, fromRev, fn)
		}
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-w.done; !errors.Is(err, context.Canceled) {
			t.Errorf("watch ended with %v, want context.Canceled", err)
		}
	})
	return w
}

// until applies updates to m until cond holds, failing the test after
// timeout.
func (w *watcher) until(t testing.TB, m *model, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for !cond() {
		select {
		case u := <-w.updates:
			m.apply(u)
		case err := <-w.done:
			t.Fatalf("watch ended: %v", err)
		case <-deadline.C:
			t.Fatalf("condition not reached after %v; model at revision %d with %d keys", timeout, m.rev, len(m.keys))
		}
	}
}

func put(t testing.TB, cli *clientv3.Client, k specs.GroupKey, instances int) int64 {
	t.Helper()
	resp, err := cli.Put(context.Background(), specs.DesiredKey("", k), string(specJSON(k, instances)))
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header.Revision
}

// TestWatchRapidPutsInOrder puts one key 1,000 times as fast as possible
// and checks that the watch delivers the changes in revision order, none
// twice, ending with the last one.
func TestWatchRapidPutsInOrder(t *testing.T) {
	e, c := start(t, etcd.Options{})
	k := key(t, "web", "dev")
	from := e.Revision(t) + 1
	w := startWatch(t, c.Desired(), from, false)
	var last int64
	for i := range 1000 {
		last = put(t, e.Client, k, i)
	}
	var revs []int64
	var lastInstances int
	deadline := time.After(30 * time.Second)
	for len(revs) == 0 || revs[len(revs)-1] < last {
		select {
		case u := <-w.updates:
			for _, ev := range u.Events {
				revs = append(revs, ev.Entry.ModRevision)
				lastInstances = *ev.Entry.Group.Spec.Instances
			}
		case <-deadline:
			t.Fatalf("saw %d of 1000 changes", len(revs))
		}
	}
	for i := 1; i < len(revs); i++ {
		if revs[i] <= revs[i-1] {
			t.Fatalf("change %d at revision %d after %d: reordered or repeated", i, revs[i], revs[i-1])
		}
	}
	if revs[0] < from || lastInstances != 999 {
		t.Fatalf("first revision %d (from %d), last value %d", revs[0], from, lastInstances)
	}
	if len(revs) != 1000 {
		t.Logf("%d changes coalesced", 1000-len(revs))
	}
}

// TestWatchResumesAcrossDroppedConnections cuts the client's connections
// repeatedly while keys change, and checks that every change arrives once.
func TestWatchResumesAcrossDroppedConnections(t *testing.T) {
	e, c := start(t, fastOptions())
	direct := e.NewDirectClient(t)
	m := newModel(t, e.Revision(t))
	w := startWatch(t, c.Desired(), m.rev+1, false)
	var last int64
	for round := range 5 {
		for i := range 10 {
			last = put(t, direct, key(t, fmt.Sprintf("s%d", i), "dev"), round)
		}
		if _, err := direct.Delete(t.Context(), specs.DesiredKey("", key(t, fmt.Sprintf("s%d", round), "dev"))); err != nil {
			t.Fatal(err)
		}
		e.DropConnections()
		last++
	}
	w.until(t, m, 30*time.Second, func() bool { return m.rev >= last })
	if err := m.matches(t.Context(), direct); err != nil {
		t.Fatal(err)
	}
	if m.relists != 0 {
		t.Errorf("%d relists; a dropped connection needs none", m.relists)
	}
}

// TestWatchRelistsAfterCompaction cuts the watch off (blackhole), makes
// changes including deletes, compacts past them and lets the watch back:
// it must relist, deliver the snapshot, and go on with later changes,
// with nothing missed and nothing repeated.
func TestWatchRelistsAfterCompaction(t *testing.T) {
	var hooks counter
	opts := fastOptions()
	opts.Hooks = hooks.hooks()
	e, c := start(t, opts)
	direct := e.NewDirectClient(t)
	for i := range 10 {
		put(t, direct, key(t, fmt.Sprintf("s%d", i), "dev"), 1)
	}
	m := newModel(t, 0)
	w := startWatch(t, c.Desired(), 0, true)
	first := e.Revision(t)
	w.until(t, m, 10*time.Second, func() bool { return m.rev >= first })

	e.Blackhole()
	for i := range 5 {
		put(t, direct, key(t, fmt.Sprintf("s%d", i), "dev"), 2)
		if _, err := direct.Delete(t.Context(), specs.DesiredKey("", key(t, fmt.Sprintf("s%d", i+5), "dev"))); err != nil {
			t.Fatal(err)
		}
	}
	compacted := e.Revision(t)
	e.Compact(t, compacted)
	e.Unblackhole()
	e.DropConnections() // the blackholed stream is garbage now

	w.until(t, m, 30*time.Second, func() bool { return m.rev >= compacted })
	if err := m.matches(t.Context(), direct); err != nil {
		t.Fatal(err)
	}
	after := put(t, direct, key(t, "late", "dev"), 1)
	w.until(t, m, 10*time.Second, func() bool { return m.rev >= after })
	if err := m.matches(t.Context(), direct); err != nil {
		t.Fatal(err)
	}
	if m.relists != 2 || hooks.get("relist") != 1 || hooks.get("restart:compacted") != 1 {
		t.Errorf("snapshots %d (want the initial one and one relist), relist hook %d, compacted restarts %d",
			m.relists, hooks.get("relist"), hooks.get("restart:compacted"))
	}
}

// TestWatchFromCompactedRevision starts a watch at a revision that is
// already compacted: the first update must be a full snapshot.
func TestWatchFromCompactedRevision(t *testing.T) {
	e, c := start(t, fastOptions())
	for i := range 5 {
		put(t, e.Client, key(t, fmt.Sprintf("s%d", i), "dev"), i)
	}
	rev := e.Revision(t)
	e.Compact(t, rev)
	m := newModel(t, 1)
	w := startWatch(t, c.Desired(), 2, false)
	w.until(t, m, 10*time.Second, func() bool { return m.relists == 1 })
	if err := m.matches(t.Context(), e.Client); err != nil || len(m.keys) != 5 {
		t.Fatalf("after relist: %d keys, %v", len(m.keys), err)
	}
}

// TestWatchSurvivesServerRestart restarts etcd under a running watch and
// checks that the watch carries on.
func TestWatchSurvivesServerRestart(t *testing.T) {
	e, c := start(t, fastOptions())
	m := newModel(t, e.Revision(t))
	w := startWatch(t, c.Desired(), m.rev+1, false)
	before := put(t, e.Client, key(t, "a", "dev"), 1)
	w.until(t, m, 10*time.Second, func() bool { return m.rev >= before })
	e.Restart(t)
	after := put(t, e.Client, key(t, "b", "dev"), 1)
	w.until(t, m, 30*time.Second, func() bool { return m.rev >= after })
	if err := m.matches(t.Context(), e.Client); err != nil {
		t.Fatal(err)
	}
}

// TestSyncNeverDeliversEmptyWhileDown starts Sync with etcd down: nothing
// may be delivered (in particular not an empty snapshot) until etcd is
// back, and then the real content.
func TestSyncNeverDeliversEmptyWhileDown(t *testing.T) {
	e, c := start(t, fastOptions())
	put(t, e.Client, key(t, "web", "dev"), 1)
	e.Stop()
	m := newModel(t, 0)
	w := startWatch(t, c.Desired(), 0, true)
	select {
	case u := <-w.updates:
		t.Fatalf("update while etcd is down: %+v", u)
	case <-time.After(300 * time.Millisecond):
	}
	e.Restart(t)
	w.until(t, m, 30*time.Second, func() bool { return m.relists == 1 })
	if len(m.keys) != 1 {
		t.Fatalf("snapshot has %d keys, want 1", len(m.keys))
	}
}

// TestWatchRestartsWhenStalled blackholes the connection so the watch
// hears nothing: after the stall timeout it must restart (reason
// "closed"), and resume once traffic flows.
func TestWatchRestartsWhenStalled(t *testing.T) {
	var hooks counter
	opts := fastOptions()
	opts.StallTimeout = 100 * time.Millisecond
	opts.Hooks = hooks.hooks()
	e, c := start(t, opts)
	direct := e.NewDirectClient(t)
	m := newModel(t, e.Revision(t))
	w := startWatch(t, c.Desired(), m.rev+1, false)
	e.Blackhole()
	rev := put(t, direct, key(t, "web", "dev"), 1)
	deadline := time.After(10 * time.Second)
	for hooks.get("restart:closed") == 0 {
		select {
		case <-deadline:
			t.Fatal("stalled watch never restarted")
		case u := <-w.updates:
			m.apply(u)
		case <-time.After(10 * time.Millisecond):
		}
	}
	e.Unblackhole()
	e.DropConnections()
	w.until(t, m, 30*time.Second, func() bool { return m.rev >= rev })
	if err := m.matches(t.Context(), direct); err != nil {
		t.Fatal(err)
	}
}

// TestWatchHandlerErrorStops checks that an error from the handler ends
// Watch with that error.
func TestWatchHandlerErrorStops(t *testing.T) {
	e, c := start(t, etcd.Options{})
	boom := errors.New("boom")
	done := make(chan error, 1)
	from := e.Revision(t) + 1
	go func() {
		done <- c.Desired().Watch(t.Context(), from, func(etcd.Update) error { return boom })
	}()
	put(t, e.Client, key(t, "web", "dev"), 1)
	select {
	case err := <-done:
		if !errors.Is(err, boom) {
			t.Fatalf("Watch returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Watch did not return")
	}
}

// TestWatchEventsDecoded checks that put events carry decoded specs or
// their errors, and deletes the key.
func TestWatchEventsDecoded(t *testing.T) {
	e, c := start(t, etcd.Options{})
	w := startWatch(t, c.Desired(), e.Revision(t)+1, false)
	ctx := t.Context()
	e.Client.Put(ctx, "/desired/web/dev", minimalJSON)
	e.Client.Put(ctx, "/desired/web/dev", "{not json")
	e.Client.Delete(ctx, "/desired/web/dev")
	var evs []etcd.Event
	deadline := time.After(10 * time.Second)
	for len(evs) < 3 {
		select {
		case u := <-w.updates:
			evs = append(evs, u.Events...)
		case <-deadline:
			t.Fatalf("got %d events", len(evs))
		}
	}
	if evs[0].Type != etcd.EventPut || !evs[0].Entry.Valid() ||
		evs[1].Type != etcd.EventPut || evs[1].Entry.Valid() || len(evs[1].Entry.Errors) == 0 ||
		evs[2].Type != etcd.EventDelete || evs[2].Entry.Key != key(t, "web", "dev") {
		t.Fatalf("events %+v", evs)
	}
}
