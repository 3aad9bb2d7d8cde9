package etcd_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"theseus.dev/drivers/etcd"
	"theseus.dev/specs"
)

// TestStatusStore: statuses are written only under a fence, read back,
// listed with the undecodable ones marked, and removed.
func TestStatusStore(t *testing.T) {
	e, c := start(t, etcd.Options{})
	ctx := t.Context()
	s := c.Status()
	web, api := key(t, "web", "dev"), key(t, "api", "dev")
	if err := s.Write(ctx, etcd.Fence{}, []etcd.StatusChange{{Key: web, Status: status(specs.PhaseSynced)}}); !errors.Is(err, etcd.ErrNotLeader) {
		t.Fatalf("write without a fence: %v", err)
	}
	l, err := c.Campaign(ctx, etcd.ElectionConfig{TTL: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer resign(t, l)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	st := &specs.Status{Phase: specs.PhaseInvalid, ObservedRevision: 42, Errors: []string{"spec.mem: too small"}, UpdatedAt: now}
	if err := s.Write(ctx, l.Fence(), []etcd.StatusChange{{Key: web, Status: st}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, l.Fence(), []etcd.StatusChange{{Key: api, Status: status(specs.PhaseSynced)}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, web)
	if err != nil || got.Status.Phase != specs.PhaseInvalid || got.Status.ObservedRevision != 42 || !got.Status.UpdatedAt.Equal(now) || got.Key != web {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	if _, err := e.Client.Put(ctx, "/status/db/dev", "not json"); err != nil {
		t.Fatal(err)
	}
	all, rev, err := s.List(ctx)
	if err != nil || len(all) != 3 || rev == 0 {
		t.Fatalf("List = %+v, %d, %v", all, rev, err)
	}
	if all[0].Key != api || all[1].Key != key(t, "db", "dev") || !errors.Is(all[1].Err, etcd.ErrCorrupt) || all[2].Status == nil {
		t.Fatalf("List = %+v", all)
	}
	// GetMany leaves out the groups without a status and one that does
	// not decode.
	many, err := s.GetMany(ctx, []specs.GroupKey{web, key(t, "db", "dev"), key(t, "none", "dev")})
	if err != nil || len(many) != 1 || many[web] == nil || many[web].ObservedRevision != 42 {
		t.Fatalf("GetMany = %+v, %v", many, err)
	}
	if err := s.Write(ctx, l.Fence(), []etcd.StatusChange{{Key: web}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, web); !errors.Is(err, etcd.ErrStatusNotFound) {
		t.Fatalf("Get after delete: %v", err)
	}
}

// TestStatusWrite: changes of more statuses than one transaction takes
// are all made, removals among them; with a fence that no longer holds,
// nothing is.
func TestStatusWrite(t *testing.T) {
	_, c := start(t, etcd.Options{})
	ctx := t.Context()
	s := c.Status()
	var changes []etcd.StatusChange
	for i := range etcd.MaxTxnOps + 10 {
		changes = append(changes, etcd.StatusChange{Key: key(t, "api", fmt.Sprintf("g%d", i)), Status: status(specs.PhaseSynced)})
	}
	l, err := c.Campaign(ctx, etcd.ElectionConfig{TTL: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, l.Fence(), changes); err != nil {
		t.Fatal(err)
	}
	// The first is removed, the second changes phase.
	gone, moved := changes[0].Key, changes[1].Key
	if err := s.Write(ctx, l.Fence(), []etcd.StatusChange{{Key: gone}, {Key: moved, Status: status(specs.PhaseProgressing)}}); err != nil {
		t.Fatal(err)
	}
	all, _, err := s.List(ctx)
	if err != nil || len(all) != len(changes)-1 {
		t.Fatalf("List: %d statuses, %v; want %d", len(all), err, len(changes)-1)
	}
	if got, err := s.Get(ctx, moved); err != nil || got.Status.Phase != specs.PhaseProgressing {
		t.Fatalf("Get(%s) = %+v, %v", moved, got, err)
	}
	if _, err := s.Get(ctx, gone); !errors.Is(err, etcd.ErrStatusNotFound) {
		t.Fatalf("Get(%s) after its removal: %v", gone, err)
	}
	fence := l.Fence()
	resign(t, l)
	if err := s.Write(ctx, fence, []etcd.StatusChange{{Key: gone, Status: status(specs.PhaseSynced)}}); !errors.Is(err, etcd.ErrNotLeader) {
		t.Fatalf("write with an old fence: %v", err)
	}
	if _, err := s.Get(ctx, gone); !errors.Is(err, etcd.ErrStatusNotFound) {
		t.Fatalf("an old fence wrote: %v", err)
	}
}

// TestStatusWriteManyLargeStatuses: a transaction's worth of Invalid
// statuses, each with its hundred validation errors, is more than etcd
// takes in one request; every status is written all the same.
func TestStatusWriteManyLargeStatuses(t *testing.T) {
	_, c := start(t, etcd.Options{})
	ctx := t.Context()
	errs := make([]string, 100)
	for i := range errs {
		errs[i] = fmt.Sprintf("/desired/api/g:1: spec.env.%d-bad: %q is not a valid environment variable name (letters, digits, '_', not starting with a digit)", i, fmt.Sprint(i, "-bad"))
	}
	var changes []etcd.StatusChange
	for i := range etcd.MaxTxnOps {
		changes = append(changes, etcd.StatusChange{Key: key(t, "api", fmt.Sprintf("g%d", i)),
			Status: &specs.Status{Phase: specs.PhaseInvalid, ObservedRevision: 1, Errors: errs}})
	}
	l, err := c.Campaign(ctx, etcd.ElectionConfig{TTL: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer resign(t, l)
	if err := c.Status().Write(ctx, l.Fence(), changes); err != nil {
		t.Fatal(err)
	}
	all, _, err := c.Status().List(ctx)
	if err != nil || len(all) != len(changes) {
		t.Fatalf("List: %d statuses, %v; want %d", len(all), err, len(changes))
	}
}
