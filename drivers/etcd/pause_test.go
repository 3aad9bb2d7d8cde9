package etcd_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"theseus.dev/drivers/etcd"
	"theseus.dev/specs"
)

// TestPauseStore: pause records are written, replaced, listed and
// removed, each change saying what was there; one that does not decode
// still counts as a pause.
func TestPauseStore(t *testing.T) {
	e, c := start(t, fastOptions())
	ctx := t.Context()
	s := c.Pauses()
	web, api := key(t, "web", "dev"), key(t, "api", "dev")
	if p, err := s.Get(ctx, web); p != nil || err != nil {
		t.Fatalf("Get of no pause = %+v, %v", p, err)
	}
	first := specs.Pause{By: "alice@laptop", At: hist0, Reason: "db migration"}
	if prev, err := s.Pause(ctx, web, first); prev != nil || err != nil {
		t.Fatalf("first Pause = %+v, %v", prev, err)
	}
	second := specs.Pause{By: "bob@ops", At: hist0.Add(time.Minute)}
	if prev, err := s.Pause(ctx, web, second); err != nil || prev == nil || *prev != first {
		t.Fatalf("second Pause = %+v, %v; want the first record", prev, err)
	}
	if p, err := s.Get(ctx, web); err != nil || p == nil || *p != second {
		t.Fatalf("Get = %+v, %v", p, err)
	}
	putValue(t, e, etcd.PauseKey("", api), "not json")
	putValue(t, e, "/theseus/pause/not-a-group", "{}")
	list, rev, err := s.List(ctx)
	if err != nil || rev == 0 || len(list) != 2 || list[0].Key != api || !errors.Is(list[0].Err, etcd.ErrCorrupt) ||
		list[1].Key != web || *list[1].Pause != second {
		t.Fatalf("List = %+v, %d, %v", list, rev, err)
	}
	if _, err := s.Get(ctx, api); !errors.Is(err, etcd.ErrCorrupt) {
		t.Errorf("Get of a corrupt record: %v", err)
	}
	if prev, err := s.Resume(ctx, web); err != nil || prev == nil || *prev != second {
		t.Fatalf("Resume = %+v, %v", prev, err)
	}
	if prev, err := s.Resume(ctx, web); err != nil || prev != nil {
		t.Fatalf("second Resume = %+v, %v", prev, err)
	}
	if prev, err := s.Resume(ctx, api); err != nil || prev == nil || prev.By != "unknown" {
		t.Fatalf("Resume of a corrupt record = %+v, %v", prev, err)
	}
}

// TestConfirmUnpaused: the read before a Marathon write gives the
// /desired revision and the pause in one fenced transaction; a deposed
// leader gets ErrNotLeader.
func TestConfirmUnpaused(t *testing.T) {
	_, c := start(t, fastOptions())
	ctx := t.Context()
	web := key(t, "web", "dev")
	rev, err := c.Desired().Put(ctx, web, specJSON(web, 2), 0)
	if err != nil {
		t.Fatal(err)
	}
	l, err := c.Campaign(ctx, etcd.ElectionConfig{TTL: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	got, p, err := c.Desired().ConfirmUnpaused(ctx, l.Fence(), web)
	if err != nil || got != rev || p != nil {
		t.Fatalf("ConfirmUnpaused = %d, %+v, %v; want %d, not paused", got, p, err, rev)
	}
	if _, err := c.Pauses().Pause(ctx, web, specs.Pause{By: "alice@laptop", At: hist0}); err != nil {
		t.Fatal(err)
	}
	if got, p, err = c.Desired().ConfirmUnpaused(ctx, l.Fence(), web); err != nil || got != rev || p == nil || p.By != "alice@laptop" {
		t.Fatalf("ConfirmUnpaused of a paused group = %d, %+v, %v", got, p, err)
	}
	if got, err := c.Desired().Confirm(ctx, l.Fence(), web); err != nil || got != rev {
		t.Fatalf("Confirm = %d, %v", got, err)
	}
	fence := l.Fence()
	resign(t, l)
	if _, _, err := c.Desired().ConfirmUnpaused(ctx, fence, web); !errors.Is(err, etcd.ErrNotLeader) {
		t.Errorf("ConfirmUnpaused of a deposed leader: %v", err)
	}
}

// TestPauseWatch: the watch of the pause records says that they changed
// at its start and after each pause and resume, not after other keys.
func TestPauseWatch(t *testing.T) {
	_, c := start(t, fastOptions())
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	changed := make(chan struct{}, 16)
	done := make(chan error, 1)
	go func() { done <- c.Pauses().Watch(ctx, func() { changed <- struct{}{} }) }()
	next := func(what string) {
		t.Helper()
		select {
		case <-changed:
		case <-time.After(10 * time.Second):
			t.Fatalf("no change seen after %s", what)
		}
	}
	next("the start")
	web := key(t, "web", "dev")
	if _, err := c.Pauses().Pause(ctx, web, specs.Pause{By: "bob@ops", At: hist0}); err != nil {
		t.Fatal(err)
	}
	next("a pause")
	if _, err := c.Restarts().Put(ctx, etcd.Fence{}, "web", &specs.RestartState{}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pauses().Resume(ctx, web); err != nil {
		t.Fatal(err)
	}
	next("a resume")
	select {
	case <-changed:
		t.Error("a change of another key was seen as a change of the pauses")
	default:
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Watch ended with %v", err)
	}
}
