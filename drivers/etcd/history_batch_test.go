package etcd_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/etcd/etcdtest"
	"theseus.dev/specs"
)

// batchFixture is a leader's client and the groups a batch edits.
type batchFixture struct {
	t      *testing.T
	e      *etcdtest.Etcd
	c      *etcd.Client
	l      *etcd.Leadership
	groups []specs.GroupKey
}

func newBatchFixture(t *testing.T, n int) *batchFixture {
	e, c := start(t, fastOptions())
	l, err := c.Campaign(t.Context(), etcd.ElectionConfig{TTL: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resign(t, l) })
	f := &batchFixture{t: t, e: e, c: c, l: l}
	for i := range n {
		f.groups = append(f.groups, key(t, "web", fmt.Sprintf("g%d", i)))
	}
	return f
}

// record returns edits that record e in each group's history, counting
// how often each edit runs.
func (f *batchFixture) record(e specs.HistoryEntry, runs map[specs.GroupKey]int) []etcd.HistoryEdit {
	edits := make([]etcd.HistoryEdit, len(f.groups))
	for i, k := range f.groups {
		edits[i] = etcd.HistoryEdit{Key: k, Edit: func(h *specs.History, _ func(int64) (specs.Writer, error)) error {
			runs[k]++
			h.Record(e)
			return nil
		}}
	}
	return edits
}

func (f *batchFixture) history(k specs.GroupKey) *specs.History {
	f.t.Helper()
	h, err := f.c.History().Get(f.t.Context(), k)
	if err != nil {
		f.t.Fatalf("history of %s: %v", k, err)
	}
	return h
}

// TestHistoryUpdateManyConflict: a group whose history another writer
// swapped between the batch's read and its write is read and edited
// again, alone; the others are written once.
func TestHistoryUpdateManyConflict(t *testing.T) {
	f := newBatchFixture(t, 3)
	other := f.groups[1]
	runs := map[specs.GroupKey]int{}
	edits := f.record(entry(9, "web:2"), runs)
	edit := edits[1].Edit
	edits[1].Edit = func(h *specs.History, w func(int64) (specs.Writer, error)) error {
		if runs[other] == 0 {
			// Another writer records revision 5 meanwhile.
			if _, err := f.c.History().Record(t.Context(), f.l.Fence(), other, entry(5, "web:1")); err != nil {
				t.Fatal(err)
			}
		}
		return edit(h, w)
	}
	for i, err := range f.c.History().UpdateMany(t.Context(), f.l.Fence(), edits) {
		if err != nil {
			t.Errorf("%s: %v", f.groups[i], err)
		}
	}
	for _, k := range f.groups {
		want := 1
		if k == other {
			want = 2
		}
		if runs[k] != want {
			t.Errorf("%s edited %d times, want %d", k, runs[k], want)
		}
	}
	if h := f.history(other); len(h.Entries) != 2 || h.Entry(5) == nil || h.Entry(9) == nil {
		t.Errorf("history of %s = %+v, want both writers' entries", other, h.Entries)
	}
	for _, k := range []specs.GroupKey{f.groups[0], f.groups[2]} {
		if h := f.history(k); len(h.Entries) != 1 || h.Entries[0].Image != "web:2" {
			t.Errorf("history of %s = %+v", k, h.Entries)
		}
	}
}

// TestHistoryUpdateManyCorrupt: a history that does not decode is its
// group's error, left as it was; the others are written.
func TestHistoryUpdateManyCorrupt(t *testing.T) {
	f := newBatchFixture(t, 3)
	bad := etcd.HistoryKey("", f.groups[1])
	putValue(t, f.e, bad, "not json")
	errs := f.c.History().UpdateMany(t.Context(), f.l.Fence(), f.record(entry(9, "web:2"), map[specs.GroupKey]int{}))
	if !errors.Is(errs[1], etcd.ErrCorrupt) || !strings.Contains(errs[1].Error(), bad) {
		t.Errorf("the corrupt history's error: %v", errs[1])
	}
	if errs[0] != nil || errs[2] != nil {
		t.Errorf("the others' errors: %v, %v", errs[0], errs[2])
	}
	if kv, err := f.e.Client.Get(t.Context(), bad); err != nil || string(kv.Kvs[0].Value) != "not json" {
		t.Errorf("the corrupt value became %v, %v", kv, err)
	}
	for _, k := range []specs.GroupKey{f.groups[0], f.groups[2]} {
		if h := f.history(k); h.Entry(9) == nil {
			t.Errorf("history of %s = %+v", k, h.Entries)
		}
	}
}

// TestHistoryUpdateManyFenceLost: a fence that no longer holds, whether
// before the batch or between its read and its write, writes nothing
// and fails every group with ErrNotLeader, not a conflict.
func TestHistoryUpdateManyFenceLost(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before bool // the leader resigns before the batch
	}{{"before", true}, {"between read and write", false}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newBatchFixture(t, 3)
			fence := f.l.Fence()
			if tc.before {
				resign(t, f.l)
			}
			edits := f.record(entry(9, "web:2"), map[specs.GroupKey]int{})
			edit := edits[0].Edit
			edits[0].Edit = func(h *specs.History, w func(int64) (specs.Writer, error)) error {
				if !tc.before {
					resign(t, f.l)
				}
				return edit(h, w)
			}
			for i, err := range f.c.History().UpdateMany(t.Context(), fence, edits) {
				if !errors.Is(err, etcd.ErrNotLeader) || errors.Is(err, etcd.ErrConflict) {
					t.Errorf("%s: %v, want ErrNotLeader", f.groups[i], err)
				}
			}
			for _, k := range f.groups {
				if h := f.history(k); len(h.Entries) != 0 {
					t.Errorf("a deposed leader wrote the history of %s: %+v", k, h.Entries)
				}
			}
		})
	}
}

// TestHistoryUpdateManyLarge: histories near specs.MaxHistoryBytes,
// more together than etcd takes in one request, are all written, in
// several requests.
func TestHistoryUpdateManyLarge(t *testing.T) {
	f := newBatchFixture(t, 5)
	sizes := []int{specs.MaxHistoryBytes - 1000, 600 << 10, 10, 600 << 10, 10}
	edits := make([]etcd.HistoryEdit, len(f.groups))
	for i, k := range f.groups {
		en := entry(9, "web:2")
		en.Spec = json.RawMessage(`{"blob":"` + strings.Repeat("x", sizes[i]) + `"}`)
		edits[i] = etcd.HistoryEdit{Key: k, Edit: func(h *specs.History, _ func(int64) (specs.Writer, error)) error {
			h.Record(en)
			return nil
		}}
	}
	for i, err := range f.c.History().UpdateMany(t.Context(), f.l.Fence(), edits) {
		if err != nil {
			t.Errorf("%s: %v", f.groups[i], err)
		}
	}
	for i, k := range f.groups {
		if h := f.history(k); len(h.Entries) != 1 || len(h.Entries[0].Spec) != sizes[i]+len(`{"blob":""}`) {
			t.Errorf("history of %s: %d entries, the spec not kept whole", k, len(h.Entries))
		}
	}
}

// TestHistoryUpdateManyWriters: a batch of more groups than one
// transaction holds reads who wrote each revision and writes every
// history; a writer record that does not decode is told to that group's
// edit alone.
func TestHistoryUpdateManyWriters(t *testing.T) {
	f := newBatchFixture(t, etcd.MaxTxnOps+2)
	ctx := t.Context()
	apply := specs.Writer{Kind: specs.WriterApply, By: "alice@laptop", At: hist0}
	groups := make([]*specs.Group, len(f.groups))
	for i, k := range f.groups {
		groups[i] = group(t, k, 1)
	}
	res, err := f.c.Desired().WithWriter(apply).Apply(ctx, groups)
	if err != nil {
		t.Fatal(err)
	}
	revs := map[specs.GroupKey]int64{}
	for _, r := range res {
		revs[r.Key] = r.Revision
	}
	bad := f.groups[0]
	putValue(t, f.e, etcd.WrittenByKey("", bad), "not json")
	kv, err := f.e.Client.Get(ctx, etcd.WrittenByKey("", bad))
	if err != nil {
		t.Fatal(err)
	}
	revs[bad] = kv.Kvs[0].ModRevision
	edits := make([]etcd.HistoryEdit, len(f.groups))
	for i, k := range f.groups {
		edits[i] = etcd.HistoryEdit{Key: k, Writers: true, Edit: func(h *specs.History, writerOf func(int64) (specs.Writer, error)) error {
			w, err := writerOf(revs[k])
			switch {
			case k == bad:
				if !errors.Is(err, etcd.ErrCorrupt) {
					t.Errorf("the writer of %s: %+v, %v; want ErrCorrupt", k, w, err)
				}
				w = specs.Writer{Kind: specs.WriterUnknown}
			case err != nil || w != apply:
				t.Errorf("the writer of %s: %+v, %v", k, w, err)
			}
			if w, _ := writerOf(revs[k] - 1); w.Kind != specs.WriterUnknown {
				t.Errorf("the writer of %s before it was written: %+v", k, w)
			}
			h.Record(specs.HistoryEntry{Revision: revs[k], Time: hist0, Writer: w})
			return nil
		}}
	}
	for i, err := range f.c.History().UpdateMany(ctx, f.l.Fence(), edits) {
		if err != nil {
			t.Errorf("%s: %v", f.groups[i], err)
		}
	}
	for _, k := range f.groups {
		if h := f.history(k); h.Entry(revs[k]) == nil {
			t.Errorf("history of %s = %+v", k, h.Entries)
		}
	}
	dup := []etcd.HistoryEdit{edits[1], edits[1]}
	if errs := f.c.History().UpdateMany(ctx, f.l.Fence(), dup); errs[0] != nil || errs[1] == nil {
		t.Errorf("a group edited twice in one batch: %v", errs)
	}
}
