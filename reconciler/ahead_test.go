package reconciler_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"theseus.dev/model"
	"theseus.dev/reconciler"
	"theseus.dev/specs"
)

// guardTap is /desired that reports each confirming read of one group,
// as it starts and once it has returned.
type guardTap struct {
	reconciler.DesiredSource
	key      specs.GroupKey
	started  chan struct{}
	returned chan struct{}
	reads    atomic.Int32
}

func (g *guardTap) ConfirmUnpaused(ctx context.Context, fence model.Fence, k specs.GroupKey) (int64, *specs.Pause, error) {
	if k != g.key {
		return g.DesiredSource.ConfirmUnpaused(ctx, fence, k)
	}
	g.reads.Add(1)
	signal(g.started)
	defer signal(g.returned)
	return g.DesiredSource.ConfirmUnpaused(ctx, fence, k)
}

// drain forgets the reads so far.
func (g *guardTap) drain() {
	g.reads.Store(0)
	for len(g.started) > 0 || len(g.returned) > 0 {
		select {
		case <-g.started:
		case <-g.returned:
		}
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// appReadHook is Marathon whose reads of one group's app, once armed,
// run during first before they answer.
type appReadHook struct {
	reconciler.Marathon
	key    specs.GroupKey
	armed  atomic.Bool
	during func()
	once   sync.Once
}

func (m *appReadHook) Get(ctx context.Context, k specs.GroupKey) (model.App, error) {
	if k == m.key && m.armed.Load() {
		m.once.Do(m.during)
	}
	return m.Marathon.Get(ctx, k)
}

// TestGuardReadBesideAppRead: a change planned on the cached view of an
// app reads the app again and confirms /desired for its write at the
// same time, not one after the other, and the write's guard uses that
// read rather than reading again.
func TestGuardReadBesideAppRead(t *testing.T) {
	e := newEnv(t)
	k := key(t, "web", "dev")
	guard := &guardTap{key: k, started: make(chan struct{}, 1), returned: make(chan struct{}, 1)}
	var together atomic.Bool
	hook := &appReadHook{key: k, during: func() {
		select {
		case <-guard.started:
			together.Store(true)
		case <-time.After(5 * time.Second):
		}
	}}
	// No events and no discovery: once Synced, the app is read only for
	// a write, and the change below is planned on the cache.
	e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"}, events: make(injected), noDiscovery: true,
		marathon: func(m reconciler.Marathon) reconciler.Marathon { hook.Marathon = m; return hook },
		desired:  func(d reconciler.DesiredSource) reconciler.DesiredSource { guard.DesiredSource = d; return guard }})
	e.putSpec(k, spec(k, "nginx:1.27", 1, ""))
	e.eventually(converge, "Synced", e.phaseIs(k, specs.PhaseSynced, e.modRevision(k)))
	guard.drain()
	hook.armed.Store(true)
	e.putSpec(k, spec(k, "nginx:1.28", 1, ""))
	e.eventually(converge, "the update written", func() bool { return len(e.writesTo("PUT", appPath(k))) == 1 })
	if !together.Load() {
		t.Error("the app was read before /desired was confirmed, not at the same time")
	}
	if n := guard.reads.Load(); n != 1 {
		t.Errorf("%d confirming reads for one write; want the one made beside the app's read", n)
	}
}

// TestGuardReadsAgainAfterSlowAppRead: when the app's read takes longer
// than a confirming read may be old, the write's guard reads /desired
// again: a pause written while Marathon was slow to answer holds the
// write back, though the read made beside the app's saw no pause.
func TestGuardReadsAgainAfterSlowAppRead(t *testing.T) {
	e := newEnv(t)
	k := key(t, "web", "dev")
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	guard := &guardTap{key: k, started: make(chan struct{}, 1), returned: make(chan struct{}, 1)}
	hook := &appReadHook{key: k, during: func() {
		select {
		case <-guard.returned:
		case <-time.After(5 * time.Second):
			t.Error("no confirming read during the app's read")
		}
		if _, err := e.store.Pauses().Pause(context.Background(), k, specs.Pause{By: "bob@ops", At: time.Now(), Reason: "db migration"}); err != nil {
			t.Error(err)
		}
		skew.Add(int64(time.Second)) // Marathon took a second to answer
	}}
	e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"}, noPauseWatch: true, now: now,
		events: make(injected), noDiscovery: true,
		marathon: func(m reconciler.Marathon) reconciler.Marathon { hook.Marathon = m; return hook },
		desired:  func(d reconciler.DesiredSource) reconciler.DesiredSource { guard.DesiredSource = d; return guard }})
	e.putSpec(k, spec(k, "nginx:1.27", 1, ""))
	e.eventually(converge, "Synced", e.phaseIs(k, specs.PhaseSynced, e.modRevision(k)))
	guard.drain()
	hook.armed.Store(true)
	e.putSpec(k, spec(k, "nginx:1.28", 1, ""))
	rev := e.modRevision(k)
	e.eventually(converge, "Paused", func() bool {
		st := e.status(k)
		return st != nil && st.Phase == specs.PhasePaused && st.ObservedRevision == rev
	})
	if n := len(e.writesTo("PUT", appPath(k))); n != 0 {
		t.Errorf("%d writes of a group paused while its app was read", n)
	}
}
