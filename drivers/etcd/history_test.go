package etcd_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"theseus.dev/drivers/etcd"
	"theseus.dev/specs"
)

var hist0 = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

func entry(rev int64, image string) specs.HistoryEntry {
	return specs.HistoryEntry{Revision: rev, Time: hist0.Add(time.Duration(rev) * time.Second), Image: image,
		Writer: specs.Writer{Kind: specs.WriterApply, By: "alice@laptop"}, Spec: json.RawMessage(`{"spec":{"image":"` + image + `"}}`)}
}

// TestHistoryStore: the leader records entries, fenced; anyone reads
// them in revision order; a deposed leader writes nothing; the history
// stays bounded.
func TestHistoryStore(t *testing.T) {
	e, c := start(t, fastOptions())
	ctx := t.Context()
	s := c.History()
	web := key(t, "web", "dev")
	if h, err := s.Get(ctx, web); err != nil || len(h.Entries) != 0 {
		t.Fatalf("Get of no history = %+v, %v", h, err)
	}
	if _, err := s.Record(ctx, etcd.Fence{}, web, entry(5, "web:1")); !errors.Is(err, etcd.ErrNotLeader) {
		t.Fatalf("write without a fence: %v", err)
	}
	l, err := c.Campaign(ctx, etcd.ElectionConfig{TTL: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range []specs.HistoryEntry{entry(5, "web:1"), entry(9, "web:2")} {
		if _, err := s.Record(ctx, l.Fence(), web, en); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Update(ctx, l.Fence(), web, func(h *specs.History) error {
		e := h.Entry(9)
		e.Outcome, e.AppVersion = specs.OutcomeSynced, "2026-11-01T10:00:09.000Z"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	h, err := s.Get(ctx, web)
	if err != nil || len(h.Entries) != 2 || h.Entries[0].Outcome != specs.OutcomeSuperseded || h.LastSynced(10).AppVersion != "2026-11-01T10:00:09.000Z" {
		t.Fatalf("Get = %+v, %v", h, err)
	}
	if string(h.Entries[1].Spec) != `{"spec":{"image":"web:2"}}` {
		t.Errorf("spec kept as %s", h.Entries[1].Spec)
	}
	boom := errors.New("boom")
	if _, err := s.Update(ctx, l.Fence(), web, func(*specs.History) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("an edit's error: %v", err)
	}

	for rev := int64(10); rev < 40; rev++ {
		if _, err := s.Record(ctx, l.Fence(), web, entry(rev, "web:3")); err != nil {
			t.Fatal(err)
		}
	}
	if h, _ := s.Get(ctx, web); len(h.Entries) != specs.MaxHistoryEntries || h.Entries[0].Revision != 20 {
		t.Errorf("after 32 revisions: %d entries from %d", len(h.Entries), h.Entries[0].Revision)
	}
	if v := e.Etcdctl(t, "get", "--print-value-only", etcd.HistoryKey("", web)); !strings.Contains(v, `"revision":39`) {
		t.Errorf("etcdctl reads %s", v)
	}

	fence := l.Fence()
	resign(t, l)
	if _, err := s.Record(ctx, fence, web, entry(50, "web:4")); !errors.Is(err, etcd.ErrNotLeader) {
		t.Errorf("a deposed leader's write: %v", err)
	}
	if h, _ := s.Get(ctx, web); h.Entry(50) != nil {
		t.Error("a deposed leader's entry was written")
	}
}

// TestHistoryConcurrentUpdates: updates that race are each read again
// and none is lost.
func TestHistoryConcurrentUpdates(t *testing.T) {
	_, c := start(t, fastOptions())
	ctx := t.Context()
	l, err := c.Campaign(ctx, etcd.ElectionConfig{TTL: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer resign(t, l)
	web := key(t, "web", "dev")
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := range 4 {
		wg.Go(func() {
			_, err := c.History().Record(ctx, l.Fence(), web, entry(int64(i+1), fmt.Sprintf("web:%d", i)))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if h, _ := c.History().Get(ctx, web); len(h.Entries) != 4 {
		t.Errorf("%d entries of 4 concurrent records", len(h.Entries))
	}
}

// TestHistoryCorrupt: a value no daemon wrote is an error that names
// the key, never an empty history; Delete clears it.
func TestHistoryCorrupt(t *testing.T) {
	e, c := start(t, fastOptions())
	ctx := t.Context()
	web := key(t, "web", "dev")
	putValue(t, e, etcd.HistoryKey("", web), `{"entries":[{"revision":3},{"revision":2}]}`)
	if _, err := c.History().Get(ctx, web); !errors.Is(err, etcd.ErrCorrupt) || !strings.Contains(err.Error(), "/theseus/history/web/dev") {
		t.Fatalf("Get of a corrupt history: %v", err)
	}
	l, err := c.Campaign(ctx, etcd.ElectionConfig{TTL: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer resign(t, l)
	if _, err := c.History().Record(ctx, l.Fence(), web, entry(5, "web:1")); !errors.Is(err, etcd.ErrCorrupt) {
		t.Fatalf("Record over a corrupt history: %v", err)
	}
	if err := c.History().Delete(ctx, l.Fence(), web); err != nil {
		t.Fatal(err)
	}
	if _, err := c.History().Record(ctx, l.Fence(), web, entry(5, "web:1")); err != nil {
		t.Fatalf("Record after Delete: %v", err)
	}
}
