// Package observe is theseus's one view of Marathon: the Observer owns
// the list of every app, the event stream and the cache of apps, and
// hands the keys of what changed to its subscribers, the way client-go's
// shared informer does. The group controller and the /services syncer
// are two subscribers; neither knows the other, and both read the same
// copy of each app.
//
// Events are triggers only: an event about a group marks its app dirty
// (to be read again before it is trusted) and tells every subscriber;
// each decides when to read it (Fresh reads a dirty app, once for all of
// them). A full list replaces the cache every Config.Resync, after every
// re-attach of the event stream, and when a subscriber asks for one; each
// list, or failure to list, is handed to every subscriber. Apps in the
// cache are shared: nobody changes one after it is stored.
package observe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"theseus.dev/internal/backoff"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// Defaults of Config.
const (
	DefaultResync  = 30 * time.Second
	DefaultTimeout = time.Minute
)

// Marathon is what the observer reads of Marathon: every app under the
// root with its tasks and deployments in one call, or one app (an error
// matching model.ErrAppNotFound when there is none). Relist may answer
// an app that did not change since its last answer with the same
// *model.App as then: apps are shared and never changed, and a
// subscriber may take an app it has seen before as unchanged.
type Marathon interface {
	Relist(ctx context.Context) ([]*model.App, error)
	Get(ctx context.Context, key specs.GroupKey) (model.App, error)
}

// EventSource is Marathon's event stream. Events blocks until ctx ends
// and delivers model.EventResync after every (re)attach.
type EventSource interface {
	Events(ctx context.Context, fn func(model.Event)) error
}

// Subscriber is told what changed. Its methods run on the observer's
// goroutines and must not block.
type Subscriber interface {
	// Invalidated says that an event named the app of k: the cached copy
	// may be out of date until it is read again (Fresh). seq numbers the
	// event: a Listing whose Seq is not lower covers it.
	Invalidated(k specs.GroupKey, seq uint64)
	// Listed hands over each full list: the cache it made, or why it
	// failed.
	Listed(l *Listing)
}

// Listing is one full list of Marathon.
type Listing struct {
	// Gen numbers the lists of an observer from 1, in the order they
	// began.
	Gen uint64
	// Seq is the sequence number of the events as the list began: the
	// list covers every event numbered up to it.
	Seq uint64
	// Err is why the list failed; the cache is then as it was.
	Err error
	// Apps are the cache the list made, by group: what Marathon listed,
	// except for apps read again since the list began, which are newer.
	Apps map[specs.GroupKey]*model.App
	// Duration is how long Marathon took to answer.
	Duration time.Duration
}

// Latest holds the latest Listing a subscriber has not taken yet: a
// subscriber that works on lists on its own goroutine puts each list it
// is handed here, without blocking, and takes them from C.
type Latest struct{ C chan *Listing }

// NewLatest returns an empty Latest.
func NewLatest() *Latest { return &Latest{C: make(chan *Listing, 1)} }

// Put makes l the list to take, replacing one not taken; it never
// blocks, as Subscriber.Listed must not.
func (m *Latest) Put(l *Listing) {
	for {
		select {
		case m.C <- l:
			return
		default:
		}
		select {
		case <-m.C: // an older list, not taken: superseded
		default:
		}
	}
}

// Config configures an Observer.
type Config struct {
	// Marathon is listed and read; required.
	Marathon Marathon
	// Events is Marathon's event stream; nil leaves the cache to the
	// periodic lists alone.
	Events EventSource
	// Resync is the period of the full list, jittered by up to a tenth.
	// Defaults to DefaultResync.
	Resync time.Duration
	// Timeout bounds each Marathon call (a list can be large). Defaults
	// to DefaultTimeout.
	Timeout time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now tells when a read or list began (GetAt); its owner's clock,
	// so that the times compare with its own. Defaults to time.Now.
	Now func() time.Time
}

// Observer is the shared view of Marathon for one term of leadership.
// Build it with New, Subscribe the loops, then Run it.
type Observer struct {
	cfg  Config
	log  *slog.Logger
	subs []Subscriber

	resyncNow chan struct{}
	listGen   atomic.Uint64
	synced    atomic.Bool

	mu   sync.Mutex
	apps map[specs.GroupKey]entry
	// seq counts the events and reads; dirty holds, per app, the seq of
	// the event that marked it; listed is the seq at which the list in
	// the cache began.
	seq    uint64
	dirty  map[specs.GroupKey]uint64
	listed uint64
}

// entry is one cached app, and the seq and time at which its read or
// list began (a zero time for an app assumed, not read).
type entry struct {
	app *model.App
	seq uint64
	at  time.Time
}

// New returns an observer; start it with Run.
func New(cfg Config) *Observer {
	if cfg.Resync <= 0 {
		cfg.Resync = DefaultResync
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Observer{cfg: cfg, log: cfg.Logger, resyncNow: make(chan struct{}, 1),
		apps: map[specs.GroupKey]entry{}, dirty: map[specs.GroupKey]uint64{}}
}

// Subscribe adds s to those told of changes. Call it before Run.
func (o *Observer) Subscribe(s Subscriber) { o.subs = append(o.subs, s) }

// Run lists Marathon every Config.Resync and on demand, and follows the
// event stream, until ctx ends; then it returns nil.
func (o *Observer) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	if o.cfg.Events != nil {
		wg.Go(func() {
			err := o.cfg.Events.Events(ctx, o.Notify)
			if err != nil && ctx.Err() == nil {
				o.log.Error("Marathon event stream ended", "err", err)
			}
		})
	}
	b := backoff.New(500*time.Millisecond, 30*time.Second)
	for {
		wait := o.cfg.Resync + time.Duration(rand.Int64N(int64(o.cfg.Resync)/10+1))
		if l := o.list(ctx); l.Err != nil {
			if ctx.Err() != nil {
				return nil
			}
			o.log.Warn("Marathon list failed; keeping the last view", "err", l.Err)
			wait = b.Next()
		} else {
			b.Reset()
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		case <-o.resyncNow:
			t.Stop()
		}
	}
}

// Resync asks for a full list soon; it never blocks.
func (o *Observer) Resync() {
	select {
	case o.resyncNow <- struct{}{}:
	default:
	}
}

// ListsStarted is the number of lists begun so far: a list whose Gen is
// greater began after the call.
func (o *Observer) ListsStarted() uint64 { return o.listGen.Load() }

// Synced reports whether the first list is in.
func (o *Observer) Synced() bool { return o.synced.Load() }

// list lists Marathon, replaces the cache and tells the subscribers.
func (o *Observer) list(ctx context.Context) *Listing {
	l := &Listing{Gen: o.listGen.Add(1)}
	o.mu.Lock()
	seq := o.seq
	o.mu.Unlock()
	l.Seq = seq
	start, began := o.cfg.Now(), time.Now() // began times Marathon's answer
	lctx, cancel := context.WithTimeout(ctx, o.cfg.Timeout)
	apps, err := o.cfg.Marathon.Relist(lctx)
	cancel()
	l.Duration = time.Since(began)
	if err != nil {
		l.Err = fmt.Errorf("list Marathon: %w", err)
		if ctx.Err() == nil {
			o.tell(func(s Subscriber) { s.Listed(l) })
		}
		return l
	}
	next := make(map[specs.GroupKey]entry, len(apps))
	for _, a := range apps {
		next[a.Key] = entry{app: a, seq: seq, at: start}
	}
	o.mu.Lock()
	for k, e := range o.apps {
		// An app read again after the list began is newer than the list
		// (a deleted one is kept out of the cache by the read itself).
		if e.seq > seq {
			next[k] = e
		}
	}
	for k, s := range o.dirty {
		if s <= seq {
			delete(o.dirty, k) // the list is newer than the event
			continue
		}
		// The list may predate a create or an event: keep what was seen
		// of the app until it is read again.
		if _, listed := next[k]; !listed {
			if e, ok := o.apps[k]; ok {
				next[k] = e
			}
		}
	}
	o.apps, o.listed = next, seq
	l.Apps = make(map[specs.GroupKey]*model.App, len(next))
	for k, e := range next {
		l.Apps[k] = e.app
	}
	o.mu.Unlock()
	o.synced.Store(true)
	o.tell(func(s Subscriber) { s.Listed(l) })
	return l
}

func (o *Observer) tell(f func(Subscriber)) {
	for _, s := range o.subs {
		f(s)
	}
}

// Notify takes one Marathon event; it never blocks. An event that names
// a group marks its app dirty; one about a deployment that names no
// single app marks every app with a deployment in flight; EventResync
// asks for a list.
func (o *Observer) Notify(ev model.Event) {
	type mark struct {
		k   specs.GroupKey
		seq uint64
	}
	var marks []mark
	o.mu.Lock()
	switch {
	case ev.Type == model.EventResync:
		o.mu.Unlock()
		o.Resync()
		return
	case ev.KeyOK:
		o.seq++
		o.dirty[ev.Key] = o.seq
		marks = []mark{{ev.Key, o.seq}}
	case ev.DeploymentID != "":
		for k, e := range o.apps {
			if len(e.app.Deployments) > 0 {
				o.seq++
				o.dirty[k] = o.seq
				marks = append(marks, mark{k, o.seq})
			}
		}
	}
	o.mu.Unlock()
	for _, m := range marks {
		o.tell(func(s Subscriber) { s.Invalidated(m.k, m.seq) })
	}
}

// Get returns the cached app of k, shared: the caller must not change it.
func (o *Observer) Get(k specs.GroupKey) (*model.App, bool) {
	a, _, ok := o.GetAt(k)
	return a, ok
}

// GetAt is Get, with when the read or list that the cached app comes from
// began: Marathon ran it so then, or later (zero for an app its writer
// put in the cache, not yet read).
func (o *Observer) GetAt(k specs.GroupKey) (*model.App, time.Time, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if e, ok := o.apps[k]; ok {
		return e.app, e.at, true
	}
	return nil, time.Time{}, false
}

// Dirty reports whether an event marked the app of k since it was last
// read or listed.
func (o *Observer) Dirty(k specs.GroupKey) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, ok := o.dirty[k]
	return ok
}

// Fresh returns the app of k, read from Marathon first if an event
// marked it since it was last read; nil when there is none.
func (o *Observer) Fresh(ctx context.Context, k specs.GroupKey) (*model.App, error) {
	if o.Dirty(k) {
		return o.Read(ctx, k)
	}
	a, _ := o.Get(k)
	return a, nil
}

// Read reads the app of k from Marathon now and puts it in the cache;
// nil when Marathon has none.
func (o *Observer) Read(ctx context.Context, k specs.GroupKey) (*model.App, error) {
	return o.read(ctx, k)
}

func (o *Observer) read(ctx context.Context, k specs.GroupKey) (*model.App, error) {
	o.mu.Lock()
	o.seq++
	seq := o.seq
	o.mu.Unlock()
	start := o.cfg.Now()
	rctx, cancel := context.WithTimeout(ctx, o.cfg.Timeout)
	a, err := o.cfg.Marathon.Get(rctx, k)
	cancel()
	var app *model.App
	switch {
	case errors.Is(err, model.ErrAppNotFound):
	case err != nil:
		return nil, fmt.Errorf("read app of %s: %w", k, err)
	default:
		app = &a
	}
	o.mu.Lock()
	// A list or a read begun after this read, and in the cache already,
	// saw the app later than it did.
	if e, ok := o.apps[k]; seq > o.listed && (!ok || e.seq < seq) {
		if app != nil {
			o.apps[k] = entry{app: app, seq: seq, at: start}
		} else {
			delete(o.apps, k)
		}
	}
	if s, ok := o.dirty[k]; ok && s < seq {
		delete(o.dirty, k)
	}
	o.mu.Unlock()
	return app, nil
}

// Invalidate marks the app of k to be read again before it is trusted,
// as an event would, without telling the subscribers: its owner has
// just written it.
func (o *Observer) Invalidate(k specs.GroupKey) {
	o.mu.Lock()
	o.seq++
	o.dirty[k] = o.seq
	o.mu.Unlock()
}

// Assume puts a into the cache as its writer just made it, unless the
// cache has the app already, and marks it to be read again: until then
// those who count from the cache (the prune guard) do not miss it.
func (o *Observer) Assume(a *model.App) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seq++
	if _, ok := o.apps[a.Key]; !ok {
		o.apps[a.Key] = entry{app: a, seq: o.seq}
	}
	o.dirty[a.Key] = o.seq
}

// Range calls fn for each cached app, under the cache's lock: fn must
// be quick and must not call the observer.
func (o *Observer) Range(fn func(k specs.GroupKey, a *model.App) bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for k, e := range o.apps {
		if !fn(k, e.app) {
			return
		}
	}
}

// Len is the number of apps cached.
func (o *Observer) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.apps)
}
