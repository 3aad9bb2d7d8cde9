// Package discovery is the /services syncer: run by the leader beside
// the group controller, on the same view of Marathon (package
// internal/observe), it keeps the tree /services equal to the tasks of
// the managed apps Marathon runs. docs/design.md draws its data flow.
//
// Marathon events are only triggers: an event about a group marks it,
// and the group is refreshed (its app read again through the shared
// view, once for every loop) and written by the same engine the
// controller runs on (package internal/engine), keyed by group, Parallel
// groups at a time. A group changing again and again is refreshed at
// most once per Config.MinInterval after the first few, so a burst of
// task changes becomes a few writes; a refresh that fails is retried
// with the engine's per-group backoff. Each full list of Marathon (every
// resync of the view, after every re-attach of the event stream, and
// when more groups are marked at once than reading each is worth) is
// swept: the tree is read once (from Config.Cache, a copy kept by a
// watch, when there is one) and whatever differs is rewritten:
// containers of ended tasks and groups of deleted or unmanaged apps go,
// and nothing is written when nothing differs. Refreshes go on while a
// sweep runs; a group refreshed with a view of its app known to be no
// older than the sweep's list (read from Marathon after the list began,
// or the view's copy once the list was in) is left alone. Each group is
// written in one transaction with its revision key, so a client reloads
// once per update.
//
// Entries are not leased. When the daemon that wrote them dies they stay,
// so that a dead control plane does not take the endpoints of running
// containers away; the next leader's syncer starts with a full sweep that
// removes the entries of tasks that ended meanwhile. The bound: an entry
// of a dead task outlives the syncer that wrote it by at most the election
// TTL (how long a standby waits for the dead leader's lease), plus one
// Marathon list and the writes of one sweep, as long as some theseusd can
// lead; with none at all, entries stay as they were. While Marathon cannot
// be listed the tree is left as it is; once the failures have lasted
// Config.StaleAfter every group's revision is marked Stale (one write per
// group), cleared by the first sweep that succeeds again.
package discovery

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"theseus.dev/internal/backoff"
	"theseus.dev/internal/engine"
	"theseus.dev/internal/observe"
	"theseus.dev/specs"
)

// Syncer is the discovery syncer of one term of leadership. Build it
// with New (which subscribes it to Config.Apps) and run it with Run.
type Syncer struct {
	cfg    Config
	log    *slog.Logger
	engine *engine.Engine
	synced atomic.Bool
	groups atomic.Int64 // managed groups of the last sweep that succeeded

	listings *observe.Latest      // the latest list not yet swept
	asked    chan chan SweepStats // sweeps asked for by Sweep
	// listed is the Gen of the latest list that succeeded, handed over
	// once it is in the view's cache: a cached copy taken since is at
	// least as new as it.
	listed atomic.Uint64

	mu sync.Mutex
	// dirty holds the groups to refresh, by the view's sequence number of
	// the event that marked them: a list with a Seq not lower covers it.
	dirty map[specs.GroupKey]uint64
	// touched holds, per group, its last refresh: a sweep leaves alone a
	// group refreshed with a view known to be no older than its list.
	touched map[specs.GroupKey]touch
	rseq    uint64                           // numbers the refreshes
	limits  map[specs.GroupKey]*rate.Limiter // refreshes prompted by events
	// failing says the last list failed; sweepAsked, when not zero, is
	// the number of lists begun when the syncer asked for one because
	// too many groups were marked: until a later list is swept, marked
	// groups wait for it instead of being read one by one.
	failing    bool
	sweepAsked uint64
	// askedAt is when the last sweep was asked for, and nextAsk the
	// earliest time the next may be (askGap), by Config.Now.
	askedAt, nextAsk time.Time
	// compared holds what the sweeps found each group to hold (swept.go).
	compared map[specs.GroupKey]swept

	// Owned by Run's goroutine, which sweeps.
	failingSince time.Time // first failed list of a run of failures
	markedStale  bool
}

// touch is a refresh of a group: its number, and the number of lists
// its view of the app is known to be no older than: those begun before
// it read Marathon, or, for the view's cached copy, those in the cache
// when it took it. The cache can be older than a list in flight (the
// controller's read, or a list, cleared the event's mark before the
// list's end), so a refresh from it does not stand for that list.
type touch struct{ seq, lists uint64 }

// New returns a syncer subscribed to cfg.Apps; start it with Run.
func New(cfg Config) *Syncer {
	cfg.defaults()
	s := &Syncer{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "discovery"),
		listings: observe.NewLatest(),
		asked:    make(chan chan SweepStats),
		dirty:    map[specs.GroupKey]uint64{},
		touched:  map[specs.GroupKey]touch{},
		limits:   map[specs.GroupKey]*rate.Limiter{},
		compared: map[specs.GroupKey]swept{},
	}
	s.engine = engine.New(engine.ReconcileFunc(s.reconcile), engine.Options{
		Name: "discovery", Workers: cfg.Parallel, BaseBackoff: 2 * cfg.MinInterval, MaxBackoff: maxRefreshBackoff,
		QPS: 1e6, Burst: 1 << 20, Metrics: cfg.Metrics, Logger: s.log,
	})
	cfg.Apps.Subscribe(s)
	return s
}

// Synced reports whether the first full sweep is done: until then the
// tree may still hold what an earlier leader left.
func (s *Syncer) Synced() bool { return s.synced.Load() }

// Ready returns nil once the first full sweep is done.
func (s *Syncer) Ready() error {
	if !s.Synced() {
		return errors.New("the first discovery sweep is not done")
	}
	return nil
}

// Invalidated marks group k to be refreshed: an event named its app. It
// never blocks.
func (s *Syncer) Invalidated(k specs.GroupKey, seq uint64) {
	now := time.Now()
	s.mu.Lock()
	s.dirty[k] = seq
	at := s.cfg.Now()
	ask := len(s.dirty) > s.maxReads() && !s.failing && s.sweepAsked == 0 && !at.Before(s.nextAsk)
	if ask {
		s.sweepAsked = s.cfg.Apps.ListsStarted()
		s.askedAt = at
	}
	wait := s.turn(k, now)
	s.mu.Unlock()
	if ask {
		s.cfg.Apps.Resync()
	}
	s.engine.AddAfter(k, wait)
}

// configMark marks a group whose config changed: no list covers it, as
// a sweep may have taken the config before the change; the refresh reads
// it.
const configMark = ^uint64(0)

// ConfigChanged marks group k to be written again because its config
// (Config.Configs) changed, so that /services follows at once rather
// than at the next sweep; the app is taken from the view as it is,
// Marathon is not read. A group whose app the view does not hold is left
// to the refresh or sweep that writes it first, which takes its config
// then. It never blocks.
func (s *Syncer) ConfigChanged(k specs.GroupKey) {
	if _, ok := s.cfg.Apps.Get(k); !ok {
		return
	}
	now := time.Now()
	s.mu.Lock()
	s.dirty[k] = configMark
	wait := s.turn(k, now)
	s.mu.Unlock()
	s.engine.AddAfter(k, wait)
}

// Listed takes a full list of Marathon to sweep; it never blocks. Only
// the latest list waiting is swept.
func (s *Syncer) Listed(l *observe.Listing) {
	if l.Err == nil {
		s.listed.Store(l.Gen) // the view lists one at a time, in order
	}
	s.listings.Put(l)
}

// Sweep asks the running syncer for a full sweep of a list begun after
// the call and waits for it; it returns the sweep's stats, whose Err
// says whether it succeeded, or ctx's error if ctx ends first (or Run is
// not running).
func (s *Syncer) Sweep(ctx context.Context) (SweepStats, error) {
	reply := make(chan SweepStats, 1)
	select {
	case s.asked <- reply:
	case <-ctx.Done():
		return SweepStats{}, ctx.Err()
	}
	select {
	case st := <-reply:
		return st, nil
	case <-ctx.Done():
		return SweepStats{}, ctx.Err()
	}
}

// Run syncs until ctx ends, then returns nil: it refreshes the groups
// events mark on the engine's workers and sweeps each list the view
// hands over, one at a time. A sweep that fails for any reason but the
// list (which the view retries by itself) asks for another list after a
// backoff.
func (s *Syncer) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	if s.cfg.Cache != nil {
		wg.Go(func() { _ = s.cfg.Cache.Run(ctx) })
	}
	wg.Go(func() { s.engine.Run(ctx) })
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	b := backoff.New(time.Second, 30*time.Second)
	type ask struct {
		reply chan SweepStats
		after uint64 // lists begun at the ask
	}
	var asked []ask
	for {
		select {
		case <-ctx.Done():
			return nil
		case r := <-s.asked:
			asked = append(asked, ask{r, s.cfg.Apps.ListsStarted()})
			s.cfg.Apps.Resync()
		case <-retry.C:
			s.cfg.Apps.Resync()
		case l := <-s.listings.C:
			st := s.sweep(ctx, l)
			if ctx.Err() != nil {
				return nil
			}
			kept := asked[:0]
			for _, a := range asked {
				if l.Gen > a.after {
					a.reply <- st
				} else {
					kept = append(kept, a)
				}
			}
			asked = kept
			switch {
			case st.Err != nil && l.Err == nil:
				retry.Reset(b.Next())
			case st.Err == nil:
				b.Reset()
			}
			s.swept(l, st.Err == nil)
		}
	}
}

// swept ends the wait of marked groups for list l: those the list does
// not cover go back to the engine.
func (s *Syncer) swept(l *observe.Listing, ok bool) {
	s.mu.Lock()
	s.failing = l.Err != nil
	var again []specs.GroupKey
	now := time.Now()
	if s.sweepAsked != 0 && l.Gen > s.sweepAsked {
		s.sweepAsked = 0
		at := s.cfg.Now()
		s.nextAsk = at.Add(askGap(at.Sub(s.askedAt)))
	}
	s.forgetLimits(now)
	if ok || s.sweepAsked == 0 {
		for k := range s.dirty {
			again = append(again, k)
		}
	}
	s.mu.Unlock()
	for _, k := range again {
		s.engine.Add(k)
	}
}

// askGap is how long after a sweep it asked for, which took `took` from
// the ask to its end, the syncer goes on reading marked groups one by
// one before it asks for another: lists asked back to back, while a cold
// start or a mass change marks groups faster than a list of a growing
// Marathon is made, cost Marathon and both loops far more than the
// reads they stood in for.
func askGap(took time.Duration) time.Duration {
	return max(minAskGap, askGapFactor*took)
}

// An asked sweep takes at most about a tenth of the time, and they come
// at most once a second.
const (
	minAskGap    = time.Second
	askGapFactor = 9
)
