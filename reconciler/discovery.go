package reconciler

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"theseus.dev/drivers/marathon"
	"theseus.dev/internal/backoff"
	"theseus.dev/specs"
)

// Discovery is the discovery syncer. Run by the leader beside the
// controller, it keeps the tree /services equal to the tasks of the
// managed apps Marathon runs. Build one per term of leadership with
// NewDiscovery, run it with Run, and feed it the Marathon events with
// Notify.
//
// Marathon events are only triggers: an event about a group marks it, and
// the group is read again from Marathon (GET of its app) and written at
// once; a group changing again and again is refreshed at most once per
// DiscoveryConfig.MinInterval after the first few, so a burst of task
// changes becomes a few writes. A full sweep every DiscoveryConfig.Sweep, and
// after every re-attach of the event stream, lists Marathon once, reads
// the tree once (from DiscoveryConfig.Cache, a copy kept by a watch, when
// there is one) and rewrites what differs: containers of ended tasks and
// groups of deleted or unmanaged apps go, and nothing is written when
// nothing differs. Refreshes go on while a sweep runs; a group refreshed
// after the sweep's list began holds a newer view than the list, and the
// sweep leaves it alone. Each group is written in one transaction with its
// revision key (etcd.Discovery.SyncGroup), so a client reloads once per
// update.
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
// DiscoveryConfig.StaleAfter every group's revision is marked Stale (one
// write per group), cleared by the first sweep that succeeds again.
type Discovery struct {
	cfg    DiscoveryConfig
	log    *slog.Logger
	synced atomic.Bool
	groups atomic.Int64 // managed groups of the last sweep that succeeded
	wake   chan struct{}
	asked  chan chan SweepStats // sweeps asked for by Sweep

	mu     sync.Mutex
	dirty  map[specs.GroupKey]uint64 // event sequence that marked it
	seq    uint64
	resync bool
	// touched holds, per group, the refresh sequence number of its last
	// refresh: a sweep leaves alone a group refreshed after its list
	// began, whose tree entry is newer than the list.
	touched map[specs.GroupKey]uint64
	rseq    uint64

	// Owned by Run's goroutine.
	limits    map[specs.GroupKey]*rate.Limiter // refreshes prompted by events
	notBefore map[specs.GroupKey]time.Time     // backoff after failed refreshes
	failures  map[specs.GroupKey]int           // refreshes failed in a row

	// Owned by the sweep running (one at a time).
	failingSince time.Time // first failed list of a run of failures
	markedStale  bool
}

// NewDiscovery returns a syncer; start it with Run.
func NewDiscovery(cfg DiscoveryConfig) *Discovery {
	cfg.defaults()
	return &Discovery{
		cfg:       cfg,
		log:       cfg.Logger.With("component", "discovery"),
		wake:      make(chan struct{}, 1),
		asked:     make(chan chan SweepStats),
		dirty:     map[specs.GroupKey]uint64{},
		touched:   map[specs.GroupKey]uint64{},
		limits:    map[specs.GroupKey]*rate.Limiter{},
		notBefore: map[specs.GroupKey]time.Time{},
		failures:  map[specs.GroupKey]int{},
	}
}

// Synced reports whether the first full sweep is done: until then the
// tree may still hold what an earlier leader left.
func (s *Discovery) Synced() bool { return s.synced.Load() }

// Notify takes one Marathon event; it never blocks. An event about a group
// marks the group to be read again; EventResync asks for a sweep soon.
func (s *Discovery) Notify(ev marathon.Event) {
	s.mu.Lock()
	switch {
	case ev.Type == marathon.EventResync:
		s.resync = true
	case ev.KeyOK:
		s.seq++
		s.dirty[ev.Key] = s.seq
	default:
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	s.poke()
}

// ConfigChanged marks group k to be written again because its config
// changed; it never blocks.
func (s *Discovery) ConfigChanged(k specs.GroupKey) {
	s.Notify(marathon.Event{Key: k, KeyOK: true})
}

// Sweep asks the running syncer for a full sweep now and waits for it;
// it returns the sweep's stats, whose Err says whether it succeeded, or
// ctx's error if ctx ends first (or Run is not running).
func (s *Discovery) Sweep(ctx context.Context) (SweepStats, error) {
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

func (s *Discovery) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run syncs until ctx ends, then returns nil. The first thing it does is
// a full sweep, retried with backoff until it succeeds. Sweeps run on a
// goroutine of their own, one at a time, so that the groups events mark
// are refreshed while a long sweep runs; Run stops it before returning.
func (s *Discovery) Run(ctx context.Context) error {
	tick := s.cfg.Tick
	if tick == nil {
		t := time.NewTicker(s.cfg.Sweep)
		defer t.Stop()
		tick = t.C
	}
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	flush := time.NewTimer(time.Hour)
	flush.Stop()
	defer flush.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	if s.cfg.Cache != nil {
		wg.Go(func() { _ = s.cfg.Cache.Run(ctx) })
	}
	b := backoff.New(time.Second, min(30*time.Second, s.cfg.Sweep))
	done := make(chan SweepStats, 1)
	sweepDue, sweeping := true, false // the first thing
	failing := false                  // the last sweep failed; the next waits for retry
	// asked wait for the next sweep to start; replies for the one running.
	var asked, replies []chan SweepStats
	for {
		if ctx.Err() == nil {
			next, ok, tooMany := s.refreshDue(ctx)
			if ok {
				flush.Reset(next)
			}
			sweepDue = sweepDue || tooMany && !failing
		}
		if sweepDue && !sweeping && ctx.Err() == nil {
			sweepDue, sweeping = false, true
			replies, asked = asked, nil
			wg.Go(func() { done <- s.sweep(ctx) })
		}
		select {
		case <-ctx.Done():
			return nil
		case st := <-done:
			sweeping, failing = false, st.Err != nil
			for _, r := range replies {
				r <- st
			}
			replies = nil
			if st.Err != nil {
				if ctx.Err() != nil {
					return nil
				}
				retry.Reset(b.Next())
			} else {
				b.Reset()
				retry.Stop()
			}
		case <-tick:
			sweepDue = true
		case <-retry.C:
			sweepDue = true
		case r := <-s.asked:
			asked = append(asked, r)
			sweepDue = true
		case <-flush.C:
		case <-s.wake:
			s.mu.Lock()
			if s.resync {
				s.resync, sweepDue = false, true
			}
			s.mu.Unlock()
		}
	}
}
