package etcd_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"theseus.dev/drivers/etcd"
	"theseus.dev/specs"
)

// TestRevisionsAndGroupConfigs: the batched reads of the plan of many
// groups, across more than one transaction, leave out what is absent.
func TestRevisionsAndGroupConfigs(t *testing.T) {
	e, c := start(t, etcd.Options{})
	var keys []specs.GroupKey
	for i := range etcd.MaxTxnOps + 5 {
		keys = append(keys, key(t, fmt.Sprintf("svc%03d", i), "dev"))
	}
	// Every third group has a spec; every fifth a config in /services.
	want := map[specs.GroupKey]int64{}
	for i, k := range keys {
		if i%3 == 0 {
			rev, err := c.Desired().Put(t.Context(), k, specJSON(k, 1), 0)
			if err != nil {
				t.Fatal(err)
			}
			want[k] = rev
		}
		if i%5 == 0 {
			syncGroup(t, c.Discovery(), k, etcd.GroupState{Config: map[string]string{"n": fmt.Sprint(i)}, At: time.Now()})
		}
	}
	revs, at, err := c.Desired().Revisions(t.Context(), keys)
	if err != nil || at == 0 {
		t.Fatalf("Revisions: %v at %d", err, at)
	}
	if len(revs) != len(want) {
		t.Errorf("%d revisions, want %d", len(revs), len(want))
	}
	for k, r := range want {
		if revs[k] != r {
			t.Errorf("%s: revision %d, want %d", k, revs[k], r)
		}
	}
	cfgs, err := c.Discovery().GroupConfigs(t.Context(), keys)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		cfg, ok := cfgs[k]
		if ok != (i%5 == 0) || ok && cfg["n"] != fmt.Sprint(i) {
			t.Errorf("%s: config %v (found %v)", k, cfg, ok)
		}
	}
	e.Etcdctl(t, "put", "/services/svc000/dev/config", "not json")
	if _, err := c.Discovery().GroupConfigs(t.Context(), keys[:1]); !errors.Is(err, etcd.ErrCorrupt) {
		t.Errorf("a corrupt config: %v, want ErrCorrupt", err)
	}
}

// TestHistoryGetMany: GetMany reads, across transactions, what Get reads
// of each group, an empty history where there is none, and fails on a
// history that does not decode.
func TestHistoryGetMany(t *testing.T) {
	e, c := start(t, etcd.Options{})
	ctx := t.Context()
	var keys []specs.GroupKey
	for i := range etcd.MaxTxnOps + 5 {
		k := key(t, fmt.Sprintf("svc%03d", i), "dev")
		keys = append(keys, k)
		if i%4 == 0 {
			v, err := json.Marshal(specs.History{Entries: []specs.HistoryEntry{entry(int64(i+1), fmt.Sprintf("web:%d", i))}})
			if err != nil {
				t.Fatal(err)
			}
			putValue(t, e, etcd.HistoryKey("", k), string(v))
		}
	}
	got, err := c.History().GetMany(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(keys) {
		t.Errorf("%d histories, want %d", len(got), len(keys))
	}
	for i, k := range keys {
		want, err := c.History().Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if h := got[k]; h == nil || len(h.Entries) != len(want.Entries) || i%4 == 0 && h.Entry(int64(i+1)).Image != fmt.Sprintf("web:%d", i) {
			t.Errorf("%s: %+v, want %+v", k, h, want)
		}
	}
	putValue(t, e, etcd.HistoryKey("", keys[7]), `{"entries":[{"revision":3},{"revision":2}]}`)
	if _, err := c.History().GetMany(ctx, keys); !errors.Is(err, etcd.ErrCorrupt) || !strings.Contains(err.Error(), "/theseus/history/svc007/dev") {
		t.Errorf("GetMany with a corrupt history: %v", err)
	}
}
