package reconciler

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/etcd/etcdtest"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// failingStatus is /status whose next writes fail, each telling on
// attempts when it is tried.
type failingStatus struct {
	StatusStore
	attempts chan []model.StatusChange

	mu   sync.Mutex
	fail int
}

func (s *failingStatus) Write(ctx context.Context, f model.Fence, changes []model.StatusChange) error {
	s.attempts <- changes
	s.mu.Lock()
	fail := s.fail > 0
	s.fail--
	s.mu.Unlock()
	if fail {
		return errors.New("etcdserver: request timed out")
	}
	return s.StatusStore.Write(ctx, f, changes)
}

// TestStatusWriter: a group's statuses handed over one after another are
// written as the latest; a write that fails is tried again, but never
// over a status handed over since; what is handed over before the writer
// closes is written. The changes of phase are told once written, each
// once and in order, those of the failed write too.
func TestStatusWriter(t *testing.T) {
	ctx := t.Context()
	store, fence := leaderStore(t)
	st := &failingStatus{StatusStore: store.Status(), attempts: make(chan []model.StatusChange, 10), fail: 1}
	told := &toldChanges{}
	c := &Controller{cfg: Config{Status: st, Notifier: told}, fence: fence, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	w := newStatusWriter(c)
	a, b := specs.GroupKey{Service: "api", Labels: "a"}, specs.GroupKey{Service: "api", Labels: "b"}
	change := func(k specs.GroupKey, from, to specs.Phase) *model.PhaseChange {
		return &model.PhaseChange{Group: k, From: from, To: to}
	}
	w.put(a, &specs.Status{Phase: specs.PhaseProgressing}, change(a, "", specs.PhaseProgressing))
	w.put(a, &specs.Status{Phase: specs.PhaseWaiting}, change(a, specs.PhaseProgressing, specs.PhaseWaiting))
	w.put(b, &specs.Status{Phase: specs.PhaseProgressing}, change(b, "", specs.PhaseProgressing))
	done := make(chan struct{})
	go func() { defer close(done); w.run(ctx) }()

	if first := <-st.attempts; len(first) != 2 || first[0].Status.Phase != specs.PhaseWaiting {
		t.Fatalf("first write %+v, want the latest status of each of two groups", first)
	}
	// The first write failed; a's status moves on before it is retried.
	w.put(a, &specs.Status{Phase: specs.PhaseSynced}, change(a, specs.PhaseWaiting, specs.PhaseSynced))
	w.close()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the writer did not end once closed")
	}
	for k, want := range map[specs.GroupKey]specs.Phase{a: specs.PhaseSynced, b: specs.PhaseProgressing} {
		got, err := store.Status().Get(ctx, k)
		if err != nil || got.Status.Phase != want {
			t.Errorf("status of %s: %+v, %v; want %s", k, got.Status, err, want)
		}
	}
	for k, want := range map[specs.GroupKey]string{a: "-Progressing Progressing-Waiting Waiting-Synced", b: "-Progressing"} {
		if got := told.of(k); got != want {
			t.Errorf("told of %s: %q, want %q", k, got, want)
		}
	}
}

// TestStatusWriterForgetsAfterTelling: a group whose spec is gone while
// the write of its change into Failed is in flight is forgotten by the
// notifier after that change is told, not before: what the notifier
// remembers of it does not outlive it.
func TestStatusWriterForgetsAfterTelling(t *testing.T) {
	store, fence := leaderStore(t)
	st := &timedStatus{StatusStore: store.Status(), writes: make(chan timedWrite, 10), proceed: make(chan struct{})}
	told := &toldChanges{}
	c := &Controller{cfg: Config{Status: st, Notifier: told}, fence: fence, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	w := newStatusWriter(c)
	done := make(chan struct{})
	go func() { defer close(done); w.run(t.Context()) }()
	k := specs.GroupKey{Service: "api", Labels: "a"}
	w.put(k, &specs.Status{Phase: specs.PhaseFailed}, &model.PhaseChange{Group: k, From: specs.PhaseProgressing, To: specs.PhaseFailed})
	<-st.writes // held
	w.put(k, nil, nil)
	close(st.proceed)
	w.close()
	<-done
	if got, want := told.of(k), "Progressing-Failed forget"; got != want {
		t.Errorf("the notifier heard of %s: %q, want %q", k, got, want)
	}
}

// toldChanges is a Notifier that keeps the changes it is told, and
// "forget" for each Forget.
type toldChanges struct {
	mu      sync.Mutex
	changes []model.PhaseChange
}

func (n *toldChanges) Notify(c model.PhaseChange) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.changes = append(n.changes, c)
}

func (n *toldChanges) Forget(k specs.GroupKey) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.changes = append(n.changes, model.PhaseChange{Group: k})
}

// of lists the changes of k told, "from-to" each.
func (n *toldChanges) of(k specs.GroupKey) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var s []string
	for _, c := range n.changes {
		if c.Group == k {
			if c.To == "" {
				s = append(s, "forget")
				continue
			}
			s = append(s, string(c.From)+"-"+string(c.To))
		}
	}
	return strings.Join(s, " ")
}

// leaderStore is a client of a new etcd that won the leadership, and
// the fence of its writes.
func leaderStore(t *testing.T) (*etcd.Client, model.Fence) {
	t.Helper()
	store, err := etcd.New(etcdtest.Start(t).NewClient(t), etcd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lead, err := store.Campaign(t.Context(), etcd.ElectionConfig{TTL: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return store, lead.Fence()
}

// timedStatus is /status that tells when each write begins and what it
// holds, and holds the first write until proceed is closed.
type timedStatus struct {
	StatusStore
	writes  chan timedWrite
	proceed chan struct{}
	held    bool
}

type timedWrite struct {
	at time.Time
	n  int
}

func (s *timedStatus) Write(ctx context.Context, f model.Fence, changes []model.StatusChange) error {
	s.writes <- timedWrite{time.Now(), len(changes)}
	if !s.held { // one writer goroutine: no lock needed
		s.held = true
		<-s.proceed
	}
	return s.StatusStore.Write(ctx, f, changes)
}

// TestStatusWriterSpacesWrites: statuses handed over while a write is in
// flight wait for the next, which begins no sooner than statusSpacing
// after it and carries them all; a lone status after a quiet spell is
// written at once.
func TestStatusWriterSpacesWrites(t *testing.T) {
	store, fence := leaderStore(t)
	st := &timedStatus{StatusStore: store.Status(), writes: make(chan timedWrite, 10), proceed: make(chan struct{})}
	c := &Controller{cfg: Config{Status: st}, fence: fence, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	w := newStatusWriter(c)
	go w.run(t.Context())
	defer w.close()
	g := func(i int) specs.GroupKey { return specs.GroupKey{Service: "api", Labels: string(rune('a' + i))} }

	start := time.Now()
	w.put(g(0), &specs.Status{Phase: specs.PhaseProgressing}, nil)
	first := <-st.writes
	if first.n != 1 {
		t.Fatalf("first write of %d statuses, want 1", first.n)
	}
	for i := 1; i <= 5; i++ {
		w.put(g(i), &specs.Status{Phase: specs.PhaseProgressing}, nil)
	}
	close(st.proceed) // the first write ends once the five wait
	second := <-st.writes
	if second.n != 5 {
		t.Errorf("second write of %d statuses, want the 5 handed over during the first", second.n)
	}
	if gap := second.at.Sub(first.at); gap < statusSpacing-time.Millisecond {
		t.Errorf("second write %v after the first, want at least %v", gap, statusSpacing)
	}
	if first.at.Sub(start) > time.Second {
		t.Errorf("a lone status waited %v for its write", first.at.Sub(start))
	}
}
