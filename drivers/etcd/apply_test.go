package etcd_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/drivers/etcd"
	"theseus.dev/specs"
)

func actions(results []etcd.ApplyResult) map[string]etcd.ApplyAction {
	out := map[string]etcd.ApplyAction{}
	for _, r := range results {
		out[r.Key.String()] = r.Action
	}
	return out
}

func TestApplyCreatedChangedUnchanged(t *testing.T) {
	e, c := start(t, etcd.Options{})
	ctx := t.Context()
	d := c.Desired()
	web, api := key(t, "web", "dev"), key(t, "api", "dev")
	res, err := d.Apply(ctx, []*specs.Group{group(t, web, 1), group(t, api, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if a := actions(res); a["web/dev"] != etcd.Created || a["api/dev"] != etcd.Created {
		t.Fatalf("first apply: %v", a)
	}
	rev := res[0].Revision
	res, err = d.Apply(ctx, []*specs.Group{group(t, web, 2), group(t, api, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if a := actions(res); a["web/dev"] != etcd.Changed || a["api/dev"] != etcd.Unchanged {
		t.Fatalf("second apply: %v", a)
	}
	if res[1].Revision != rev {
		t.Errorf("unchanged group reports revision %d, want its mod revision %d", res[1].Revision, rev)
	}
	// The stored value is the canonical JSON.
	got, err := e.Client.Get(ctx, "/desired/web/dev")
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Kvs[0].Value) != string(etcd.StoredValue(group(t, web, 2))) {
		t.Errorf("stored %s", got.Kvs[0].Value)
	}
}

// TestApplySameSpecOtherSyntaxUnchanged stores a group as YAML with its
// labels in another order, as a user with etcdctl might, and checks that
// applying the same group as JSON changes nothing.
func TestApplySameSpecOtherSyntaxUnchanged(t *testing.T) {
	e, c := start(t, etcd.Options{})
	ctx := t.Context()
	yaml := "apiVersion: theseus/v1\nkind: Group\nmetadata: {service: web, labels: [frontend, dev]}\n" +
		"spec:\n  mem: 64\n  cpus: 0.1\n  instances: 1\n  image: \"nginx:1.27\"\n"
	if _, err := e.Client.Put(ctx, "/desired/web/dev.frontend", yaml); err != nil {
		t.Fatal(err)
	}
	res, err := c.Desired().Apply(ctx, []*specs.Group{group(t, key(t, "web", "dev", "frontend"), 1)})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Action != etcd.Unchanged {
		t.Fatalf("action %s, want unchanged", res[0].Action)
	}
}

// TestApplyReplacesInvalidStoredValue checks that a key holding garbage is
// "changed", not an error.
func TestApplyReplacesInvalidStoredValue(t *testing.T) {
	e, c := start(t, etcd.Options{})
	ctx := t.Context()
	if _, err := e.Client.Put(ctx, "/desired/web/dev", "{garbage"); err != nil {
		t.Fatal(err)
	}
	res, err := c.Desired().Apply(ctx, []*specs.Group{group(t, key(t, "web", "dev"), 1)})
	if err != nil || res[0].Action != etcd.Changed {
		t.Fatalf("apply over garbage: %+v, %v", res, err)
	}
}

// TestApplyInvalidWritesNothing gives Apply one invalid group and one
// duplicate among valid ones: nothing may be written.
func TestApplyInvalidWritesNothing(t *testing.T) {
	e, c := start(t, etcd.Options{})
	ctx := t.Context()
	web := key(t, "web", "dev")
	bad := group(t, key(t, "api", "dev"), 1)
	bad.Spec.Image = ""
	_, err := c.Desired().Apply(ctx, []*specs.Group{group(t, web, 1), bad, group(t, web, 2)})
	var el specs.ErrorList
	if !errors.As(err, &el) || len(el) != 2 {
		t.Fatalf("want an ErrorList of 2 (invalid image, duplicate), got %v", err)
	}
	resp, err := e.Client.Get(ctx, "/desired/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil || resp.Count != 0 {
		t.Fatalf("%d keys written, %v", resp.Count, err)
	}
}

// TestApplyTooLargeToStoreWritesNothing: a group whose stored value is
// over specs.MaxSpecBytes would be refused by every reader of /desired
// (each < is stored as six bytes, so 200,000 of them are 1.1 MiB), so
// Apply writes nothing of the groups it was given, not even the others.
func TestApplyTooLargeToStoreWritesNothing(t *testing.T) {
	e, c := start(t, etcd.Options{})
	ctx := t.Context()
	big := group(t, key(t, "api", "dev"), 1)
	big.Spec.Env = map[string]specs.Value{"PAGE": {Value: strings.Repeat("<", 200_000)}}
	_, err := c.Desired().Apply(ctx, []*specs.Group{group(t, key(t, "web", "dev"), 1), big})
	var el specs.ErrorList
	if !errors.As(err, &el) || len(el) != 1 || !strings.Contains(el[0].Msg, "larger than the 1 MiB limit") {
		t.Fatalf("want one error naming the limit, got %v", err)
	}
	resp, err := e.Client.Get(ctx, "/desired/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil || resp.Count != 0 {
		t.Fatalf("%d keys written, %v", resp.Count, err)
	}
}

// TestApplyManyBatches applies more groups than one transaction holds.
func TestApplyManyBatches(t *testing.T) {
	e, c := start(t, etcd.Options{})
	ctx := t.Context()
	var groups []*specs.Group
	for i := range 3*etcd.MaxTxnOps + 5 {
		groups = append(groups, group(t, key(t, fmt.Sprintf("s%03d", i), "dev"), 1))
	}
	before := e.Revision(t)
	res, err := c.Desired().Apply(ctx, groups)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(groups) {
		t.Fatalf("%d results for %d groups", len(res), len(groups))
	}
	for i, r := range res {
		if want := key(t, fmt.Sprintf("s%03d", i), "dev"); r.Action != etcd.Created || r.Key != want {
			t.Fatalf("result %d: %+v", i, r)
		}
	}
	if txns := e.Revision(t) - before; txns != 4 {
		t.Errorf("%d transactions, want 4", txns)
	}
}

// TestApplyLargeSpecsSplit: three specs of 600 KiB together are over
// etcd's 1.5 MiB request limit; Apply writes them in several transactions
// instead of failing.
func TestApplyLargeSpecsSplit(t *testing.T) {
	e, c := start(t, etcd.Options{})
	var groups []*specs.Group
	for i := range 3 {
		g := group(t, key(t, fmt.Sprintf("big%d", i), "dev"), 1)
		g.Spec.Config = map[string]specs.Value{"blob": {Value: strings.Repeat("x", 600<<10)}}
		groups = append(groups, g)
	}
	before := e.Revision(t)
	res, err := c.Desired().Apply(t.Context(), groups)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Action != etcd.Created {
			t.Errorf("%s: %s, want created", r.Key, r.Action)
		}
	}
	if txns := e.Revision(t) - before; txns < 2 {
		t.Errorf("%d transaction(s) for 1.8 MiB of specs, want at least 2", txns)
	}
}

// TestApplyRetriesAfterConflict has another writer change a key between
// Apply's read and its write, once: Apply must re-read and succeed, and
// the other writer's value must not survive.
func TestApplyRetriesAfterConflict(t *testing.T) {
	e, c := start(t, fastOptions())
	ctx := t.Context()
	d := c.Desired()
	web := key(t, "web", "dev")
	if _, err := d.Apply(ctx, []*specs.Group{group(t, web, 1)}); err != nil {
		t.Fatal(err)
	}
	interfered := 0
	d.SetBeforeCommit(func() {
		if interfered == 0 {
			put(t, e.Client, web, 7)
		}
		interfered++
	})
	res, err := d.Apply(ctx, []*specs.Group{group(t, web, 2)})
	if err != nil {
		t.Fatal(err)
	}
	if interfered != 2 || res[0].Action != etcd.Changed {
		t.Fatalf("attempts %d, result %+v", interfered, res)
	}
	en, err := d.Get(ctx, web)
	if err != nil || *en.Group.Spec.Instances != 2 || en.ModRevision != res[0].Revision {
		t.Fatalf("stored %+v, %v", en, err)
	}
}

// TestApplyGivesUpOnPersistentConflict has another writer win every race:
// Apply must give up with ErrConflict rather than loop forever.
func TestApplyGivesUpOnPersistentConflict(t *testing.T) {
	e, c := start(t, fastOptions())
	ctx := t.Context()
	d := c.Desired()
	web := key(t, "web", "dev")
	n := 0
	d.SetBeforeCommit(func() { n++; put(t, e.Client, web, 100+n) })
	_, err := d.Apply(ctx, []*specs.Group{group(t, web, 2)})
	if !errors.Is(err, etcd.ErrConflict) {
		t.Fatalf("want ErrConflict, got %v", err)
	}
	if n < 2 {
		t.Fatalf("gave up after %d attempts", n)
	}
}

// TestApplyAt: the write of a saved plan happens only while every key is
// at the revision the plan saw, unchanged keys included.
func TestApplyAt(t *testing.T) {
	_, c := start(t, etcd.Options{})
	ctx := t.Context()
	d := c.Desired()
	web, api, db := key(t, "web", "dev"), key(t, "api", "dev"), key(t, "db", "dev")
	res, err := d.Apply(ctx, []*specs.Group{group(t, web, 1), group(t, api, 1)})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[specs.GroupKey]int64{web: res[0].Revision, api: res[1].Revision}
	moved, err := d.Put(ctx, api, specJSON(api, 3), seen[api])
	if err != nil {
		t.Fatal(err)
	}
	want := []*specs.Group{group(t, web, 2), group(t, api, 3), group(t, db, 1)}
	_, err = d.ApplyAt(ctx, want, seen)
	var ce *etcd.ConflictError
	if !errors.As(err, &ce) || len(ce.Conflicts) != 1 || ce.Conflicts[0].Actual != moved {
		t.Fatalf("ApplyAt over a moved key: %v", err)
	}
	if e, _ := d.Get(ctx, web); e.ModRevision != seen[web] {
		t.Fatalf("web/dev written although the batch conflicted")
	}
	seen[api] = moved
	res, err = d.ApplyAt(ctx, want, seen)
	if err != nil {
		t.Fatal(err)
	}
	if a := actions(res); a["web/dev"] != etcd.Changed || a["api/dev"] != etcd.Unchanged || a["db/dev"] != etcd.Created {
		t.Fatalf("ApplyAt: %v", a)
	}
}
