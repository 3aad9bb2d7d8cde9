package sources_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/etcd/etcdtest"
	"theseus.dev/model"
	"theseus.dev/sources"
	"theseus.dev/specs"
	"theseus.dev/specs/specstest"
)

// syncer is a sync source under test with shorthand for its specs.
type syncer struct {
	t     *testing.T
	e     *etcdtest.Etcd
	s     *sources.SyncSource
	store *hookStore
}

func newSyncer(t *testing.T, e *etcdtest.Etcd, c *etcd.Client, name string, opts sources.SyncOptions) *syncer {
	t.Helper()
	sy := &syncer{t: t, e: e, store: &hookStore{SyncStore: c.SyncStore()}}
	s, err := sources.NewSyncSource(sy.store, name, opts)
	if err != nil {
		t.Fatal(err)
	}
	sy.s = s
	return sy
}

// hookStore is the etcd store with a hook before each transaction, to
// provoke conflicts and failures. Transactions run a few at a time: the
// hook is called for one at a time, with the count of calls so far, and
// an error it returns fails the transaction before it reaches etcd.
type hookStore struct {
	*etcd.SyncStore
	mu     sync.Mutex
	calls  int
	before func(calls int, batch []model.OwnedWrite) error
}

func (h *hookStore) Commit(ctx context.Context, read int64, batch []model.OwnedWrite) (int64, error) {
	h.mu.Lock()
	h.calls++
	var err error
	if h.before != nil {
		err = h.before(h.calls, batch)
	}
	h.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return h.SyncStore.Commit(ctx, read, batch)
}

// holds reports whether batch writes group k.
func holds(batch []model.OwnedWrite, k specs.GroupKey) bool {
	return slices.ContainsFunc(batch, func(w model.OwnedWrite) bool { return w.Key == k })
}

// spec is one group of a source: "service/labels" with instances, in a
// file named after it unless file is set.
type spec struct {
	key       string
	instances int
	file      string
}

func (sy *syncer) specs(in []spec) []sources.SyncSpec {
	var out []sources.SyncSpec
	for _, s := range in {
		k, err := specs.ParseGroupKey(s.key)
		if err != nil {
			sy.t.Fatal(err)
		}
		file := s.file
		if file == "" {
			file = k.Service + ".yaml"
		}
		out = append(out, sources.SyncSpec{Group: group(sy.t, k, s.instances), File: file})
	}
	return out
}

// sync runs one sync and returns the action per key.
func (sy *syncer) sync(in []spec) (map[string]sources.SyncAction, *sources.SyncPlan) {
	sy.t.Helper()
	p, err := sy.s.Sync(sy.t.Context(), "test@1", sy.specs(in))
	if err != nil {
		sy.t.Fatalf("sync: %v", err)
	}
	got := map[string]sources.SyncAction{}
	for _, it := range p.Items {
		got[it.Key.String()] = it.Action
	}
	return got, p
}

// syncTree returns /desired and the ownership records as key → value and
// key → owner.
func syncTree(t *testing.T, e *etcdtest.Etcd) (desired map[string]string, owners map[string]string) {
	t.Helper()
	desired, owners = map[string]string{}, map[string]string{}
	resp, err := e.Client.Get(t.Context(), "/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range resp.Kvs {
		k := string(kv.Key)
		switch {
		case len(k) > len("/desired/") && k[:len("/desired/")] == "/desired/":
			desired[k[len("/desired/"):]] = string(kv.Value)
		case len(k) > len(etcd.SyncOwnersDir) && k[:len(etcd.SyncOwnersDir)] == etcd.SyncOwnersDir:
			var o etcd.Ownership
			if err := json.Unmarshal(kv.Value, &o); err != nil {
				t.Fatalf("%s: %v", k, err)
			}
			owners[k[len(etcd.SyncOwnersDir):]] = o.Owner
		}
	}
	return desired, owners
}

func putValue(t *testing.T, e *etcdtest.Etcd, k, v string) {
	t.Helper()
	if _, err := e.Client.Put(t.Context(), k, v); err != nil {
		t.Fatal(err)
	}
}

// TestSyncLifecycle: created, unchanged with nothing written, changed,
// added, orphaned without prune and removed with it.
func TestSyncLifecycle(t *testing.T) {
	e, c := start(t, fastOptions())
	sy := newSyncer(t, e, c, "specs", sources.SyncOptions{})
	pruner := newSyncer(t, e, c, "specs", sources.SyncOptions{Prune: true})
	base := []spec{{"web/dev", 1, ""}, {"api/dev", 1, ""}, {"db/prod", 3, ""}}
	steps := []struct {
		name string
		s    *syncer
		in   []spec
		want map[string]sources.SyncAction
	}{
		{"create", sy, base, map[string]sources.SyncAction{"web/dev": "created", "api/dev": "created", "db/prod": "created"}},
		{"no-op", sy, base, map[string]sources.SyncAction{"web/dev": "unchanged", "api/dev": "unchanged", "db/prod": "unchanged"}},
		{"edit, add, delete without prune", sy, []spec{{"web/dev", 2, ""}, {"api/dev", 1, ""}, {"cache/dev", 1, ""}},
			map[string]sources.SyncAction{"web/dev": "changed", "api/dev": "unchanged", "cache/dev": "created", "db/prod": "orphaned"}},
		{"prune", pruner, []spec{{"web/dev", 2, ""}, {"api/dev", 1, ""}, {"cache/dev", 1, ""}},
			map[string]sources.SyncAction{"web/dev": "unchanged", "api/dev": "unchanged", "cache/dev": "unchanged", "db/prod": "removed"}},
	}
	for _, st := range steps {
		before := e.Revision(t)
		got, p := st.s.sync(st.in)
		if !maps.Equal(got, st.want) {
			t.Errorf("%s: got %v, want %v", st.name, got, st.want)
		}
		if st.name == "no-op" && (p.Writes() != 0 || e.Revision(t) != before) {
			t.Errorf("no-op sync wrote: %d writes, revision %d → %d", p.Writes(), before, e.Revision(t))
		}
	}
	desired, owners := syncTree(t, e)
	if keys := slices.Sorted(maps.Keys(desired)); !slices.Equal(keys, []string{"api/dev", "cache/dev", "web/dev"}) {
		t.Errorf("/desired holds %v", keys)
	}
	if len(owners) != 3 || owners["web/dev"] != "specs" {
		t.Errorf("owners %v", owners)
	}
	if desired["web/dev"] != string(etcd.StoredValue(group(t, key(t, "web", "dev"), 2))) {
		t.Errorf("web/dev = %s", desired["web/dev"])
	}
}

// TestSyncOwnership: keys written by hand are adopted when they hold the
// source's spec, conflicts otherwise (overwritten only with Adopt), and
// never pruned; another source's keys are conflicts and never pruned.
func TestSyncOwnership(t *testing.T) {
	e, c := start(t, fastOptions())
	other := newSyncer(t, e, c, "other", sources.SyncOptions{})
	other.sync([]spec{{"theirs/dev", 1, ""}})
	putValue(t, e, "/desired/same/dev", string(specJSON(key(t, "same", "dev"), 1))) // the same spec, spelled otherwise
	putValue(t, e, "/desired/hand/dev", string(specJSON(key(t, "hand", "dev"), 5)))
	putValue(t, e, "/desired/kept/dev", string(specJSON(key(t, "kept", "dev"), 1)))

	sy := newSyncer(t, e, c, "specs", sources.SyncOptions{Prune: true})
	in := []spec{{"same/dev", 1, ""}, {"hand/dev", 1, ""}, {"theirs/dev", 2, ""}, {"mine/dev", 1, ""}}
	got, p := sy.sync(in)
	want := map[string]sources.SyncAction{"same/dev": "adopted", "hand/dev": "conflict", "theirs/dev": "conflict", "mine/dev": "created"}
	if !maps.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for _, it := range p.Items {
		if it.Key.String() == "theirs/dev" && it.Reason != `owned by sync source "other" (test@1, file theirs.yaml): not overwritten` {
			t.Errorf("reason %q", it.Reason)
		}
	}
	desired, owners := syncTree(t, e)
	if desired["hand/dev"] != string(specJSON(key(t, "hand", "dev"), 5)) || owners["theirs/dev"] != "other" || owners["same/dev"] != "specs" {
		t.Errorf("conflicts were overwritten: %v %v", desired, owners)
	}
	if _, ok := desired["kept/dev"]; !ok {
		t.Error("a key written by hand was pruned")
	}

	// An owned key edited by hand is a conflict while its file wants
	// another spec, and released, not pruned, once the file is gone.
	putValue(t, e, "/desired/mine/dev", string(specJSON(key(t, "mine", "dev"), 9)))
	if got, _ := sy.sync(in); got["mine/dev"] != "conflict" {
		t.Errorf("edited by hand: %v", got["mine/dev"])
	}
	if got, _ := sy.sync(in[:3]); got["mine/dev"] != "released" {
		t.Errorf("edited by hand, file gone: %v", got["mine/dev"])
	}
	desired, owners = syncTree(t, e)
	if _, ok := desired["mine/dev"]; !ok || owners["mine/dev"] != "" {
		t.Errorf("released key: desired %v, owner %q", ok, owners["mine/dev"])
	}

	// Adopt overwrites keys written by hand, never another source's.
	adopter := newSyncer(t, e, c, "specs", sources.SyncOptions{Adopt: true})
	got, _ = adopter.sync(in[:3])
	if got["hand/dev"] != "changed" || got["theirs/dev"] != "conflict" {
		t.Errorf("with Adopt: %v", got)
	}
}

// TestSyncEmptySource: a source that suddenly holds nothing is refused
// for pruning unless AllowEmpty.
func TestSyncEmptySource(t *testing.T) {
	e, c := start(t, fastOptions())
	newSyncer(t, e, c, "specs", sources.SyncOptions{}).sync([]spec{{"web/dev", 1, ""}, {"api/dev", 1, ""}})
	s := newSyncer(t, e, c, "specs", sources.SyncOptions{Prune: true})
	if _, err := s.s.Sync(t.Context(), "empty", nil); !errors.Is(err, sources.ErrEmptySource) {
		t.Fatalf("empty source with prune: %v", err)
	}
	if desired, _ := syncTree(t, e); len(desired) != 2 {
		t.Fatalf("refused sync removed keys: %v", desired)
	}
	got, _ := newSyncer(t, e, c, "specs", sources.SyncOptions{Prune: true, AllowEmpty: true}).sync(nil)
	if got["web/dev"] != "removed" || got["api/dev"] != "removed" {
		t.Errorf("with AllowEmpty: %v", got)
	}
	if desired, owners := syncTree(t, e); len(desired)+len(owners) != 0 {
		t.Errorf("left %v %v", desired, owners)
	}
}

// TestSyncBookkeeping: a key deleted by hand comes back while its file
// exists, its record goes once the file is gone, and a renamed file only
// updates the record.
func TestSyncBookkeeping(t *testing.T) {
	e, c := start(t, fastOptions())
	sy := newSyncer(t, e, c, "specs", sources.SyncOptions{})
	sy.sync([]spec{{"web/dev", 1, ""}, {"api/dev", 1, ""}})
	if _, err := e.Client.Delete(t.Context(), "/desired/web/dev"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Client.Delete(t.Context(), "/desired/api/dev"); err != nil {
		t.Fatal(err)
	}
	got, _ := sy.sync([]spec{{"web/dev", 1, "renamed.yaml"}})
	if !maps.Equal(got, map[string]sources.SyncAction{"web/dev": "created"}) {
		t.Errorf("got %v", got)
	}
	_, owners := syncTree(t, e)
	if _, ok := owners["api/dev"]; ok {
		t.Error("the record of a key deleted by hand whose file is gone stayed")
	}
	o, ok, err := c.SyncOwner(t.Context(), key(t, "web", "dev"))
	if err != nil || !ok || o.File != "renamed.yaml" || o.Owner != "specs" || o.Source != "test@1" {
		t.Errorf("owner %+v %v %v", o, ok, err)
	}
	sy.sync([]spec{{"web/dev", 1, "again.yaml"}})
	if o, _, _ := c.SyncOwner(t.Context(), key(t, "web", "dev")); o.File != "again.yaml" {
		t.Errorf("after a rename the record says %q", o.File)
	}
}

// TestSyncRetriesConflicts: a key written by someone else between the
// plan and its transaction makes Sync plan again; what the first attempt
// wrote is still reported as written.
func TestSyncRetriesConflicts(t *testing.T) {
	e, c := start(t, fastOptions())
	sy := newSyncer(t, e, c, "specs", sources.SyncOptions{})
	in := hundredGroups()
	k := key(t, "svcdv", "dev") // in the second batch of 64 groups
	put := false
	sy.store.before = func(_ int, batch []model.OwnedWrite) error {
		if !holds(batch, k) || put {
			return nil
		}
		put = true
		// Not putValue: this runs on the goroutine of a transaction.
		_, err := e.Client.Put(context.Background(), "/desired/svcdv/dev", string(specJSON(k, 1)))
		return err
	}
	got, _ := sy.sync(in)
	counts := map[sources.SyncAction]int{}
	for _, a := range got {
		counts[a]++
	}
	if n := sy.store.calls; counts["created"] != 99 || counts["adopted"] != 1 || n != 3 {
		t.Errorf("counts %v after %d transactions, want 3 (64 groups, a conflict, 36 again)", counts, n)
	}
	if desired, owners := syncTree(t, e); len(desired) != 100 || len(owners) != 100 {
		t.Errorf("%d keys, %d records", len(desired), len(owners))
	}
}

func TestSyncRefusesInvalid(t *testing.T) {
	e, c := start(t, fastOptions())
	sy := newSyncer(t, e, c, "specs", sources.SyncOptions{})
	bad := group(t, key(t, "web", "dev"), 1)
	bad.Spec.Instances = ptr(-1)
	in := append(sy.specs([]spec{{"api/dev", 1, ""}, {"api/dev", 2, "copy.yaml"}}), sources.SyncSpec{Group: bad})
	_, err := sy.s.Sync(t.Context(), "x", in)
	if errs := specs.Errors(err); len(errs) != 2 {
		t.Errorf("errors %v", err)
	}
	if desired, owners := syncTree(t, e); len(desired)+len(owners) != 0 {
		t.Errorf("wrote %v %v", desired, owners)
	}
	if _, err := sources.NewSyncSource(c.SyncStore(), "", sources.SyncOptions{}); err == nil {
		t.Error("an empty source name was accepted")
	}
}

// TestSyncRefusesValueTooLargeToStore: a group whose stored value is over
// specs.MaxSpecBytes (each < is stored as six bytes) would be refused by
// every reader of /desired; Sync writes nothing of the source.
func TestSyncRefusesValueTooLargeToStore(t *testing.T) {
	e, c := start(t, fastOptions())
	sy := newSyncer(t, e, c, "specs", sources.SyncOptions{})
	big := group(t, key(t, "web", "dev"), 1)
	big.Spec.Env = map[string]specs.Value{"PAGE": {Value: strings.Repeat("<", 200_000)}}
	in := append(sy.specs([]spec{{"api/dev", 1, ""}}), sources.SyncSpec{Group: big, File: "web.yaml"})
	_, err := sy.s.Sync(t.Context(), "x", in)
	if errs := specs.Errors(err); len(errs) != 1 || !strings.Contains(errs[0].Msg, "larger than the 1 MiB limit") {
		t.Errorf("errors %v", err)
	}
	if desired, owners := syncTree(t, e); len(desired)+len(owners) != 0 {
		t.Errorf("wrote %d keys and %d records", len(desired), len(owners))
	}
}

// TestSyncGivingUpReportsWhatWasWritten: when others keep writing one of
// the source's keys and Sync gives up, the plan it returns with the error
// still reports the groups the attempts before wrote, so that the
// operator is told what is now in /desired.
func TestSyncGivingUpReportsWhatWasWritten(t *testing.T) {
	e, c := start(t, fastOptions())
	sy := newSyncer(t, e, c, "specs", sources.SyncOptions{})
	in := hundredGroups()
	k := key(t, "svcdv", "dev") // in the second transaction of 64 groups
	sy.store.before = func(_ int, batch []model.OwnedWrite) error {
		if !holds(batch, k) {
			return nil
		}
		// Rewritten, with the same spec, between every plan and its
		// transaction.
		_, err := e.Client.Put(context.Background(), "/desired/svcdv/dev", string(specJSON(k, 1)))
		return err
	}
	p, err := sy.s.Sync(t.Context(), "test@1", sy.specs(in))
	if !errors.Is(err, model.ErrConflict) {
		t.Fatalf("want a conflict after the attempts, got %v", err)
	}
	desired, _ := syncTree(t, e)
	if p == nil {
		t.Fatalf("no plan returned; /desired holds %d keys", len(desired))
	}
	written := 0
	for _, it := range p.Items {
		if it.Written {
			written++
		}
	}
	// svcdv/dev is the other writer's.
	if written == 0 || written != len(desired)-1 {
		t.Errorf("the plan reports %d groups written; /desired holds %d keys", written, len(desired))
	}
}

func ptr[T any](v T) *T { return &v }

// hundredGroups are the specs of 100 groups, svcaa/dev to svcdv/dev, in
// key order: two transactions of a sync, the second from svccm/dev on.
func hundredGroups() []spec {
	var in []spec
	for i := range 100 {
		in = append(in, spec{key: "svc" + string(rune('a'+i/26)) + string(rune('a'+i%26)) + "/dev", instances: 1})
	}
	return in
}

// TestSyncCutShort: when a transaction fails for another reason than a
// conflict, the plan returned with the error says which groups were
// written: exactly those of the transactions that committed.
func TestSyncCutShort(t *testing.T) {
	e, c := start(t, fastOptions())
	sy := newSyncer(t, e, c, "specs", sources.SyncOptions{})
	var in []spec
	for i := range 200 {
		in = append(in, spec{key: fmt.Sprintf("svc%03d/dev", i), instances: 1})
	}
	lost := errors.New("etcd went away")
	failing := key(t, "svc100", "dev") // in the second of four batches
	sy.store.before = func(_ int, batch []model.OwnedWrite) error {
		if holds(batch, failing) {
			return lost
		}
		return nil
	}
	p, err := sy.s.Sync(t.Context(), "x", sy.specs(in))
	if !errors.Is(err, lost) || p == nil {
		t.Fatalf("err %v, plan %v", err, p)
	}
	desired, _ := syncTree(t, e)
	written := 0
	for _, it := range p.Items {
		if _, ok := desired[it.Key.String()]; ok != it.Written {
			t.Errorf("%s: written %v, in etcd %v", it.Key, it.Written, ok)
		}
		if it.Written {
			written++
		}
	}
	if _, ok := desired[failing.String()]; ok || written < 64 || written > 200-64 || p.Count(sources.SyncCreated) != 200 {
		t.Errorf("%d written of %d created; want the failed transaction's not, the first one's", written, p.Count(sources.SyncCreated))
	}
}

// start returns an embedded etcd and a theseus client for it, with the
// short retry periods of the driver's own tests.
func start(t testing.TB, opts etcd.Options) (*etcdtest.Etcd, *etcd.Client) {
	t.Helper()
	e := etcdtest.Start(t)
	return e, e.Theseus(t, opts)
}

func fastOptions() etcd.Options {
	return etcd.Options{RetryMin: 5 * time.Millisecond, RetryMax: 50 * time.Millisecond}
}

var (
	key      = specstest.Key
	specJSON = specstest.JSON
	group    = specstest.Group
)

// dirSyncer is a Syncer of a directory holding the files of
// hundredGroups, writing to store, and what it prints.
func dirSyncer(t *testing.T, store sources.Store) (syncer *sources.Syncer, out, errb *bytes.Buffer) {
	t.Helper()
	dir := t.TempDir()
	for _, s := range hundredGroups() {
		k := strings.TrimSuffix(s.key, "/dev")
		if err := os.WriteFile(filepath.Join(dir, k+".yaml"), []byte(specYAML(k)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tree, name, err := sources.OpenTree(sources.TreeConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	src, err := sources.NewSyncSource(store, name, sources.SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out, errb = &bytes.Buffer{}, &bytes.Buffer{}
	return &sources.Syncer{Tree: tree, Source: src, Stdout: out, Stderr: errb}, out, errb
}

// TestSyncReportCutShortCountsWhatWasWritten: when etcd fails partway
// through a sync, the count line says how many groups were written and
// how many were not, not the plan's counts as though all were, and a
// line of a group not written does not begin "created" as the lines of
// those created do.
func TestSyncReportCutShortCountsWhatWasWritten(t *testing.T) {
	e, c := start(t, fastOptions())
	store := &hookStore{SyncStore: c.SyncStore()}
	syncer, out, _ := dirSyncer(t, store)
	lost := errors.New("etcd went away")
	store.before = func(_ int, batch []model.OwnedWrite) error {
		if holds(batch, key(t, "svcdv", "dev")) { // the second of two transactions
			return lost
		}
		return nil
	}
	if err := syncer.Once(t.Context()); !errors.Is(err, lost) {
		t.Fatalf("sync: %v", err)
	}
	desired, _ := syncTree(t, e)
	want := fmt.Sprintf(": %d created, 0 changed, 0 unchanged, 0 removed, %d not written\n", len(desired), 100-len(desired))
	if len(desired) == 0 || len(desired) == 100 || !strings.Contains(out.String(), want) {
		t.Errorf("/desired holds %d of 100 groups; want the count line to end %q:\n%s", len(desired), want, out.String())
	}
	if created := strings.Count(out.String(), "\ncreated ") + btoi(strings.HasPrefix(out.String(), "created ")); created != len(desired) {
		t.Errorf("/desired holds %d of 100 groups, %d lines say created:\n%s", len(desired), created, out.String())
	}
	if !strings.Contains(out.String(), "\nnot written: would create svcdv/dev (svcdv.yaml)\n") {
		t.Errorf("svcdv/dev, not written, is not said so:\n%s", out.String())
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestSyncWatchStoppedMidWriteSaysWhatItWrote: a --watch loop stopped
// (SIGTERM, Ctrl-C) while a cycle writes still prints what that cycle
// wrote before it returns, so the operator knows what /desired now holds.
func TestSyncWatchStoppedMidWriteSaysWhatItWrote(t *testing.T) {
	e, c := start(t, fastOptions())
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	store := &stopStore{SyncStore: c.SyncStore(), first: make(chan struct{}), stop: stop,
		firstKey: key(t, "svcaa", "dev"), secondKey: key(t, "svcdv", "dev")}
	syncer, out, _ := dirSyncer(t, store)
	if err := syncer.Loop(ctx, nil, nil); err != nil {
		t.Fatalf("loop: %v", err)
	}
	desired, _ := syncTree(t, e)
	if len(desired) == 0 || len(desired) == 100 {
		t.Fatalf("/desired holds %d of 100 groups, want the first transaction's", len(desired))
	}
	want := fmt.Sprintf(": %d created, 0 changed, 0 unchanged, 0 removed, %d not written\n", len(desired), 100-len(desired))
	mustSay := []string{"created svcaa/dev (svcaa.yaml)\n", want}
	for _, w := range mustSay {
		if !strings.Contains(out.String(), w) {
			t.Errorf("/desired holds %d of 100 groups; the loop did not say %q:\n%s", len(desired), w, out.String())
		}
	}
}

// stopStore is the etcd store, stopping the sync's context once the
// transaction of firstKey committed and before that of secondKey.
type stopStore struct {
	*etcd.SyncStore
	first               chan struct{}
	stop                func()
	firstKey, secondKey specs.GroupKey
}

func (s *stopStore) Commit(ctx context.Context, read int64, batch []model.OwnedWrite) (int64, error) {
	if holds(batch, s.secondKey) {
		<-s.first
		s.stop()
	}
	rev, err := s.SyncStore.Commit(ctx, read, batch)
	if holds(batch, s.firstKey) {
		close(s.first)
	}
	return rev, err
}

// TestSyncAmbiguousCommitReportsWhatIsWritten: a transaction that etcd
// committed but whose answer was lost (a timeout, the connection cut, the
// sync stopped by a signal while waiting) fails the sync, yet its groups
// are in /desired: the plan says they are written, as etcd holds them,
// not as "not written".
func TestSyncAmbiguousCommitReportsWhatIsWritten(t *testing.T) {
	e, c := start(t, fastOptions())
	lost := errors.New("etcdserver: request timed out")
	store := &ambiguousStore{SyncStore: c.SyncStore(), lost: lost, key: key(t, "svcdv", "dev")}
	sy := &syncer{t: t, e: e}
	s, err := sources.NewSyncSource(store, "specs", sources.SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Sync(t.Context(), "x", sy.specs(hundredGroups()))
	if !errors.Is(err, lost) || p == nil {
		t.Fatalf("err %v, plan %v", err, p)
	}
	desired, _ := syncTree(t, e)
	for _, it := range p.Items {
		if _, ok := desired[it.Key.String()]; ok != it.Written {
			t.Errorf("%s: written %v, in etcd %v", it.Key, it.Written, ok)
		}
	}
	if len(desired) != 100 {
		t.Errorf("/desired holds %d of 100 groups", len(desired))
	}
}

// ambiguousStore is the etcd store; the transaction that writes key
// commits, and then fails with lost as though its answer never came.
type ambiguousStore struct {
	*etcd.SyncStore
	lost error
	key  specs.GroupKey
}

func (s *ambiguousStore) Commit(ctx context.Context, read int64, batch []model.OwnedWrite) (int64, error) {
	rev, err := s.SyncStore.Commit(ctx, read, batch)
	if err == nil && holds(batch, s.key) {
		return 0, s.lost
	}
	return rev, err
}
