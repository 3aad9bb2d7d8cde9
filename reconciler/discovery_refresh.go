package reconciler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/time/rate"

	"theseus.dev/drivers/marathon"
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

// maxReads is the number of groups due at once above which a sweep
// replaces reading each: DiscoveryConfig.MaxReads, or the reads that cost
// as much as a list of the groups of the last sweep, whichever is more.
func (s *Discovery) maxReads() int {
	return max(s.cfg.MaxReads, int(s.groups.Load())/readsPerList)
}

// refreshDue refreshes the marked groups whose turn has come, and returns
// how long until the next marked group's turn (ok false: none is marked).
// Each group has a bucket of DiscoveryConfig.Burst refreshes refilled one
// per MinInterval, so a few changes in a row are written at once and the
// events of a long burst are taken together. When more than maxReads
// groups are due at once, it reads none of them and asks for a sweep
// instead (tooMany): one list then replaces reading each.
func (s *Discovery) refreshDue(ctx context.Context) (next time.Duration, ok, tooMany bool) {
	now := time.Now()
	// Called on every event: the scan stops, and allocates no more, once
	// it knows there are too many.
	limit := s.maxReads()
	due := make([]specs.GroupKey, 0, min(limit+1, 64))
	s.mu.Lock()
	for k := range s.dirty {
		if s.turn(k, now) > 0 {
			continue
		}
		if due = append(due, k); len(due) > limit {
			// Left marked: a sweep clears the marks its list covers.
			s.mu.Unlock()
			return 0, false, true
		}
	}
	for _, k := range due {
		delete(s.dirty, k)
	}
	s.mu.Unlock()
	if len(due) > 0 {
		s.refreshGroups(ctx, due, now)
	}
	next, ok = s.nextDue()
	return next, ok, false
}

// turn returns how long group k must wait for its next refresh.
func (s *Discovery) turn(k specs.GroupKey, now time.Time) time.Duration {
	if t := s.notBefore[k]; t.After(now) {
		return t.Sub(now) // backing off after failures
	}
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

// refreshGroups reads each group from Marathon and writes it, Parallel
// groups at a time.
func (s *Discovery) refreshGroups(ctx context.Context, keys []specs.GroupKey, now time.Time) {
	st := RefreshStats{Groups: len(keys)}
	type outcome struct {
		written, removed bool
		err              error
	}
	out := make([]outcome, len(keys))
	par := newBounded(s.cfg.Parallel)
	for i, k := range keys {
		lim := s.limits[k]
		if lim == nil {
			lim = rate.NewLimiter(rate.Every(s.cfg.MinInterval), s.cfg.Burst)
			s.limits[k] = lim
		}
		lim.AllowN(now, 1)
		par.Go(func() {
			o := &out[i]
			o.written, o.removed, o.err = s.refresh(ctx, k)
		})
	}
	par.Wait()
	for i, k := range keys {
		written, removed, err := out[i].written, out[i].removed, out[i].err
		switch {
		case err != nil:
			st.Failed++
			s.failures[k]++
			wait := min(s.cfg.MinInterval<<min(s.failures[k], 16), maxRefreshBackoff)
			s.notBefore[k] = now.Add(wait)
			if ctx.Err() == nil {
				s.log.Warn("cannot refresh group; retrying", "group", k, "in", wait, "err", err)
				s.remark([]specs.GroupKey{k})
			}
		default:
			delete(s.failures, k)
			delete(s.notBefore, k)
			if written {
				st.Written++
			}
			if removed {
				st.Removed++
			}
		}
	}
	st.Duration = time.Since(now)
	if s.cfg.Hooks.Refresh != nil {
		s.cfg.Hooks.Refresh(st)
	}
}

// refresh reads group k's app and makes the tree match it: written as
// its tasks are, or dropped if the app is gone or not managed.
func (s *Discovery) refresh(ctx context.Context, k specs.GroupKey) (written, removed bool, err error) {
	s.mu.Lock()
	s.rseq++
	s.touched[k] = s.rseq // before the read: from here on, a sweep's list is older
	s.mu.Unlock()
	gctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	app, err := s.cfg.Marathon.Get(gctx, k)
	cancel()
	gone := errors.Is(err, marathon.ErrNotFound)
	if err != nil && !gone {
		return false, false, fmt.Errorf("read app of %s: %w", k, err)
	}
	gone = gone || !app.Managed
	have, err := s.cfg.Store.ReadGroup(ctx, k)
	if err != nil {
		return false, false, fmt.Errorf("discovery: %w", err)
	}
	if gone {
		removed, err = s.drop(ctx, have, nil)
		return false, removed, err
	}
	written, err = s.write(ctx, have, s.groupState(&app, s.cfg.Now()), nil)
	return written, false, err
}

// remark marks groups again after a refresh that did not happen.
func (s *Discovery) remark(keys []specs.GroupKey) {
	s.mu.Lock()
	for _, k := range keys {
		if _, ok := s.dirty[k]; !ok {
			s.seq++
			s.dirty[k] = s.seq
		}
	}
	s.mu.Unlock()
}

// nextDue returns the wait until the earliest marked group's turn, and
// forgets the buckets of groups not marked whose bucket is full again.
func (s *Discovery) nextDue() (time.Duration, bool) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, lim := range s.limits {
		if _, marked := s.dirty[k]; !marked && s.failures[k] == 0 && lim.TokensAt(now) >= float64(s.cfg.Burst) {
			delete(s.limits, k)
		}
	}
	var next time.Duration
	found := false
	for k := range s.dirty {
		if d := s.turn(k, now); !found || d < next {
			next, found = d, true
		}
	}
	return next, found
}
