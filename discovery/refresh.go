package discovery

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/time/rate"

	"theseus.dev/internal/engine"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// maxRefreshBackoff bounds the wait before a group whose refresh failed
// is tried again; the sweep repairs it in any case.
const maxRefreshBackoff = 30 * time.Second

// readsPerList is how many single-app reads cost Marathon about as much
// as one list of every app: rather a guess on the safe side than a
// measure, as it depends on the Marathon. Reading one app is one small
// answer; a list of 10,000 apps with their tasks is tens of megabytes.
const readsPerList = 10

// maxReads is the number of groups marked at once above which a sweep
// replaces reading each: Config.MaxReads, or the reads that cost as much
// as a list of the groups of the last sweep, whichever is more. Called
// with s.mu held.
func (s *Syncer) maxReads() int {
	return max(s.cfg.MaxReads, int(s.groups.Load())/readsPerList)
}

// reconcile refreshes group k when its turn has come: its app read
// through the view (again from Marathon if an event marked it) and the
// group written as its tasks are, or dropped if the app is gone or not
// managed. While a sweep asked for stands in for the reads, or Marathon
// cannot be listed and too many groups are marked, the group stays
// marked and waits for the next sweep.
func (s *Syncer) reconcile(ctx context.Context, k specs.GroupKey) (engine.Result, error) {
	now := time.Now()
	s.mu.Lock()
	if _, marked := s.dirty[k]; !marked || s.sweepAsked != 0 || s.failing && len(s.dirty) > s.maxReads() {
		s.mu.Unlock()
		return engine.Result{}, nil
	}
	if wait := s.turn(k, now); wait > 0 {
		s.mu.Unlock()
		return engine.Result{RequeueAfter: wait}, nil
	}
	mark := s.dirty[k]
	delete(s.dirty, k)
	lim := s.limits[k]
	if lim == nil {
		lim = rate.NewLimiter(rate.Every(s.cfg.MinInterval), s.cfg.Burst)
		s.limits[k] = lim
	}
	lim.AllowN(now, 1)
	s.rseq++
	t := touch{seq: s.rseq}
	s.mu.Unlock()

	var written, removed bool
	app, lists, read, err := s.view(ctx, k)
	var before touch
	var had bool
	if err == nil {
		// Noted before the write, which a sweep's retry must then see.
		t.lists = lists
		s.mu.Lock()
		before, had = s.touched[k]
		s.touched[k] = t
		s.mu.Unlock()
		written, removed, err = s.refresh(ctx, k, app, read)
	}
	if s.cfg.Hooks.Refresh != nil {
		s.cfg.Hooks.Refresh(RefreshStats{Duration: time.Since(now), Written: written, Removed: removed, Err: err})
	}
	if err != nil {
		s.mu.Lock()
		if _, ok := s.dirty[k]; !ok {
			s.dirty[k] = mark // left for the retry, or the next sweep
		}
		// A failed refresh leaves no newer view a sweep must leave be (a
		// write that went through unanswered is the retry's to make
		// again): a sweep that skipped the group for it would leave it
		// as it was until the retry, which backs off.
		if s.touched[k].seq == t.seq {
			if had {
				s.touched[k] = before
			} else {
				delete(s.touched, k)
			}
		}
		s.mu.Unlock()
		return engine.Result{}, fmt.Errorf("refresh group %s: %w", k, err)
	}
	return engine.Result{}, nil
}

// turn returns how long group k must wait for its next refresh. Called
// with s.mu held.
func (s *Syncer) turn(k specs.GroupKey, now time.Time) time.Duration {
	lim := s.limits[k]
	if lim == nil {
		return 0
	}
	tokens := lim.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	return max(time.Duration((1-tokens)*float64(s.cfg.MinInterval)), time.Millisecond)
}

// forgetLimits forgets the buckets that are full again of the groups not
// marked, so that quiet groups cost nothing. Called with s.mu held, after
// each sweep.
func (s *Syncer) forgetLimits(now time.Time) {
	for g, lim := range s.limits {
		if _, marked := s.dirty[g]; !marked && lim.TokensAt(now) >= float64(s.cfg.Burst) {
			delete(s.limits, g)
		}
	}
}

// view returns group k's app as a refresh is to write it (nil when
// there is none), the number of lists it is known to be no older
// than, and whether it was read from Marathon now. An app an event marked is read from Marathon, after the lists
// begun so far; otherwise the view's cached copy is taken, which may
// come from before a list in flight (the mark was cleared by another
// reader's read, or by a list) but not from before the last list handed
// over. Reading Marathon for every refresh instead would double the
// reads of an event the controller reads too.
func (s *Syncer) view(ctx context.Context, k specs.GroupKey) (*model.App, uint64, bool, error) {
	if !s.cfg.Apps.Dirty(k) {
		listed := s.listed.Load() // before the copy is taken
		app, _ := s.cfg.Apps.Get(k)
		return app, listed, false, nil
	}
	started := s.cfg.Apps.ListsStarted() // before the read
	app, err := s.cfg.Apps.Read(ctx, k)
	return app, started, true, err
}

// refresh makes the tree match group k's app as read by view: written
// as its tasks are, or dropped if the app is gone or not managed. A
// group marked stale stays so unless the app was read from Marathon
// now: the view's copy checks nothing (a config change written while
// Marathon cannot be listed).
func (s *Syncer) refresh(ctx context.Context, k specs.GroupKey, app *model.App, read bool) (written, removed bool, err error) {
	have, err := s.cfg.Store.ReadGroup(ctx, k)
	if err != nil {
		return false, false, fmt.Errorf("discovery: %w", err)
	}
	if app == nil || !app.Managed {
		removed, err = s.drop(ctx, have, nil)
		return false, removed, err
	}
	w := s.groupState(app, s.cfg.Now())
	w.Stale = !read && have.Revision.Stale
	written, err = s.write(ctx, have, w, nil)
	return written, false, err
}
