package etcd_test

import (
	"strings"
	"testing"

	"theseus.dev/drivers/etcd"
)

// TestEtcdctlPutIsReadBack writes specs with the real etcdctl, as a user
// would, and reads them back through the desired store: the minimal JSON
// of docs/design.md is a valid group, a malformed value is reported invalid for
// its key, and neither hides the other.
func TestEtcdctlPutIsReadBack(t *testing.T) {
	e, c := start(t, etcd.Options{})
	e.Etcdctl(t, "put", "/desired/web/dev", minimalJSON)
	e.Etcdctl(t, "put", "/desired/web/prod", `{"apiVersion":"theseus/v1","kind":"Group","spec":{"image":"nginx","instances":"two"}}`)

	snap, err := c.Desired().List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Entries) != 2 {
		t.Fatalf("%d entries, want 2", len(snap.Entries))
	}
	dev, prod := snap.Entries[0], snap.Entries[1]
	if !dev.Valid() || dev.Key != key(t, "web", "dev") {
		t.Fatalf("web/dev: %+v", dev)
	}
	g := dev.Group
	if g.Spec.Image != "nginx:1.27" || *g.Spec.Instances != 2 || *g.Spec.CPUs != 0.1 || *g.Spec.Mem != 64 {
		t.Errorf("decoded spec %+v", g.Spec)
	}
	if prod.Valid() || prod.Key != key(t, "web", "prod") || prod.ModRevision == 0 {
		t.Fatalf("web/prod: %+v", prod)
	}
	msg := prod.Errors.Error()
	if !strings.Contains(msg, "/desired/web/prod") || !strings.Contains(msg, "spec.instances") {
		t.Errorf("errors do not name the key and field: %s", msg)
	}

	// And the other way: what theseus writes, etcdctl reads.
	k := key(t, "api", "dev")
	if _, err := c.Desired().Put(t.Context(), k, specJSON(k, 3), 0); err != nil {
		t.Fatal(err)
	}
	if out := e.Etcdctl(t, "get", "--print-value-only", "/desired/api/dev"); !strings.Contains(out, `"instances":3`) {
		t.Errorf("etcdctl get: %s", out)
	}
}
