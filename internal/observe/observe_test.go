package observe_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"theseus.dev/internal/observe"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// marathon is a Marathon whose apps the test sets; a list, or a read
// once it has taken the app, can be held until the test releases it.
type marathon struct {
	mu      sync.Mutex
	apps    map[specs.GroupKey]model.App
	gets    int
	hold    chan chan struct{}
	holdGet chan chan struct{}
}

func (m *marathon) Relist(ctx context.Context) ([]*model.App, error) {
	m.mu.Lock()
	out := make([]*model.App, 0, len(m.apps))
	for _, a := range m.apps {
		out = append(out, &a)
	}
	hold := m.hold
	m.mu.Unlock()
	if hold != nil {
		release := make(chan struct{})
		hold <- release
		<-release
	}
	return out, nil
}

func (m *marathon) Get(_ context.Context, k specs.GroupKey) (model.App, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gets++
	a, ok := m.apps[k]
	if hold := m.holdGet; hold != nil {
		m.mu.Unlock()
		release := make(chan struct{})
		hold <- release
		<-release
		m.mu.Lock()
	}
	if !ok {
		return model.App{}, fmt.Errorf("%s: %w", k, model.ErrAppNotFound)
	}
	return a, nil
}

func (m *marathon) set(k specs.GroupKey, version string, deployments ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.apps == nil {
		m.apps = map[specs.GroupKey]model.App{}
	}
	m.apps[k] = model.App{ID: "/" + k.String(), Key: k, Managed: true, Version: version, Deployments: deployments}
}

// subscriber records what it is told.
type subscriber struct {
	mu          sync.Mutex
	invalidated []specs.GroupKey
	listed      chan *observe.Listing
}

func (s *subscriber) Invalidated(k specs.GroupKey, _ uint64) {
	s.mu.Lock()
	s.invalidated = append(s.invalidated, k)
	s.mu.Unlock()
}

func (s *subscriber) Listed(l *observe.Listing) { s.listed <- l }

func start(t *testing.T, m *marathon) (*observe.Observer, *subscriber, *subscriber) {
	t.Helper()
	o := observe.New(observe.Config{Marathon: m, Resync: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	a, b := &subscriber{listed: make(chan *observe.Listing, 10)}, &subscriber{listed: make(chan *observe.Listing, 10)}
	o.Subscribe(a)
	o.Subscribe(b)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = o.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return o, a, b
}

func listed(t *testing.T, s *subscriber) *observe.Listing {
	t.Helper()
	select {
	case l := <-s.listed:
		return l
	case <-time.After(10 * time.Second):
		t.Fatal("no list")
	}
	return nil
}

// TestObserverShares: every subscriber gets each list and each event,
// and reads the same copy of each app; an event marks the app dirty
// until a read that began after it.
func TestObserverShares(t *testing.T) {
	web, api := specs.GroupKey{Service: "web", Labels: "dev"}, specs.GroupKey{Service: "api", Labels: "dev"}
	m := &marathon{}
	m.set(web, "v1")
	m.set(api, "v1", "d1")
	o, a, b := start(t, m)
	la, lb := listed(t, a), listed(t, b)
	if la != lb || len(la.Apps) != 2 || !o.Synced() {
		t.Fatalf("lists %+v, %+v", la, lb)
	}
	if got, _ := o.Get(web); got != la.Apps[web] {
		t.Error("the cache and the list hold different copies of an app")
	}

	m.set(web, "v2")
	o.Notify(model.Event{Type: "status_update_event", Key: web, KeyOK: true})
	if !o.Dirty(web) {
		t.Fatal("an event did not mark its app")
	}
	if got, _ := o.Get(web); got.Version != "v1" {
		t.Fatalf("the cache changed without a read: %s", got.Version)
	}
	got, err := o.Fresh(t.Context(), web)
	if err != nil || got.Version != "v2" || o.Dirty(web) {
		t.Fatalf("fresh read: %+v %v, dirty %v", got, err, o.Dirty(web))
	}
	if again, _ := o.Fresh(t.Context(), web); again != got || m.gets != 1 {
		t.Errorf("a clean app was read again (%d reads)", m.gets)
	}

	// A deployment event naming no single app marks those deploying.
	o.Notify(model.Event{Type: "deployment_step_success", DeploymentID: "d1"})
	if !o.Dirty(api) || o.Dirty(web) {
		t.Errorf("dirty after a deployment event: api %v web %v", o.Dirty(api), o.Dirty(web))
	}
	for _, s := range []*subscriber{a, b} {
		s.mu.Lock()
		if len(s.invalidated) != 2 || s.invalidated[0] != web || s.invalidated[1] != api {
			t.Errorf("invalidated %v", s.invalidated)
		}
		s.mu.Unlock()
	}

	// A deleted app goes from the cache when read.
	m.mu.Lock()
	delete(m.apps, api)
	m.mu.Unlock()
	if gone, err := o.Fresh(t.Context(), api); err != nil || gone != nil {
		t.Errorf("deleted app: %+v %v", gone, err)
	}
	if _, ok := o.Get(api); ok {
		t.Error("a deleted app stayed in the cache")
	}
}

// TestObserverListKeepsNewerReads: a list that began before a read is
// older than it: the cache keeps the read, and so does the listing the
// subscribers get; an event after the list began keeps its mark.
func TestObserverListKeepsNewerReads(t *testing.T) {
	web, api := specs.GroupKey{Service: "web", Labels: "dev"}, specs.GroupKey{Service: "api", Labels: "dev"}
	m := &marathon{}
	m.set(web, "v1")
	m.set(api, "v1")
	o, a, _ := start(t, m)
	listed(t, a)
	hold := make(chan chan struct{})
	m.mu.Lock()
	m.hold = hold
	m.mu.Unlock()
	o.Resync()
	release := <-hold // the list has taken web at v1
	m.mu.Lock()
	m.hold = nil
	m.mu.Unlock()
	m.set(web, "v2")
	if got, err := o.Read(t.Context(), web); err != nil || got.Version != "v2" {
		t.Fatalf("read %+v %v", got, err)
	}
	o.Notify(model.Event{Type: "status_update_event", Key: api, KeyOK: true})
	close(release)
	l := listed(t, a)
	if l.Apps[web].Version != "v2" {
		t.Errorf("the older list replaced a newer read: %s", l.Apps[web].Version)
	}
	if got, _ := o.Get(web); got.Version != "v2" {
		t.Errorf("cache holds %s", got.Version)
	}
	if !o.Dirty(api) {
		t.Error("an event after the list began lost its mark")
	}
	if l.Gen != 2 || o.ListsStarted() != 2 {
		t.Errorf("list %d, %d begun", l.Gen, o.ListsStarted())
	}
}

// TestObserverReadKeepsNewerList: a read that began before a list and
// ends after it does not put its older copy over the list's: the cache,
// which refreshes of discovery write from, holds what the list saw.
func TestObserverReadKeepsNewerList(t *testing.T) {
	web := specs.GroupKey{Service: "web", Labels: "dev"}
	m := &marathon{}
	m.set(web, "v1")
	o, a, _ := start(t, m)
	listed(t, a)
	holdGet := make(chan chan struct{})
	m.mu.Lock()
	m.holdGet = holdGet
	m.mu.Unlock()
	read := make(chan *model.App)
	go func() {
		got, err := o.Read(t.Context(), web)
		if err != nil {
			t.Error(err)
		}
		read <- got
	}()
	release := <-holdGet // the read has taken web at v1
	m.mu.Lock()
	m.holdGet = nil
	m.mu.Unlock()
	m.set(web, "v2")
	o.Resync()
	if l := listed(t, a); l.Apps[web].Version != "v2" {
		t.Fatalf("list %+v", l.Apps[web])
	}
	close(release)
	if got := <-read; got.Version != "v1" {
		t.Errorf("the read returned %s, what it read", got.Version)
	}
	if got, _ := o.Get(web); got.Version != "v2" {
		t.Errorf("the older read replaced the newer list: cache holds %s", got.Version)
	}
}

// TestObserverGetAt: the cache tells when the read or list that each app
// comes from began: a list's start for the apps it brought, a read's for
// the app it read, and no time for an app its writer assumed.
func TestObserverGetAt(t *testing.T) {
	web, api, db := specs.GroupKey{Service: "web", Labels: "dev"}, specs.GroupKey{Service: "api", Labels: "dev"}, specs.GroupKey{Service: "db", Labels: "dev"}
	m := &marathon{}
	m.set(web, "v1")
	m.set(api, "v1")
	before := time.Now()
	o, a, _ := start(t, m)
	listed(t, a)
	afterList := time.Now()
	if _, at, ok := o.GetAt(web); !ok || at.Before(before) || at.After(afterList) {
		t.Errorf("listed app at %v, want within the list (%v to %v)", at, before, afterList)
	}
	if _, err := o.Read(t.Context(), api); err != nil {
		t.Fatal(err)
	}
	if _, at, ok := o.GetAt(api); !ok || !at.After(afterList) {
		t.Errorf("read app at %v, want after %v", at, afterList)
	}
	o.Assume(&model.App{ID: "/db/dev", Key: db, Managed: true})
	if _, at, ok := o.GetAt(db); !ok || !at.IsZero() {
		t.Errorf("assumed app: at %v, in the cache %v; want no time", at, ok)
	}
}

// TestObserverGetAtOwnersClock: the times GetAt tells are on the clock of
// Config.Now, which its owner compares them with (a rollout's healthy
// time), not on the wall clock.
func TestObserverGetAtOwnersClock(t *testing.T) {
	web := specs.GroupKey{Service: "web", Labels: "dev"}
	m := &marathon{}
	m.set(web, "v1")
	clock := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	o := observe.New(observe.Config{Marathon: m, Resync: time.Hour, Logger: slog.New(slog.DiscardHandler),
		Now: func() time.Time { return clock }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = o.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	if _, err := o.Read(t.Context(), web); err != nil {
		t.Fatal(err)
	}
	if _, at, ok := o.GetAt(web); !ok || !at.Equal(clock) {
		t.Errorf("read app at %v, want the owner's %v", at, clock)
	}
}
