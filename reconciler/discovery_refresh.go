package reconciler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"theseus.dev/drivers/marathon"
	"theseus.dev/specs"
)

// maxRefreshBackoff bounds the wait before a group whose refresh failed
// is tried again; the sweep repairs it in any case.
const maxRefreshBackoff = 30 * time.Second

// refreshDue refreshes the marked groups whose turn has come, and returns
// how long until the next marked group's turn (false: none is marked). A
// group's turn comes MinInterval after its last refresh, so the events of
// a burst are taken together; when more than MaxReads groups are due at
// once, one sweep replaces reading each.
func (s *Discovery) refreshDue(ctx context.Context) (time.Duration, bool) {
	now := time.Now()
	var due []specs.GroupKey
	s.mu.Lock()
	for k := range s.dirty {
		if !s.notBefore[k].After(now) {
			due = append(due, k)
			delete(s.dirty, k)
		}
	}
	s.mu.Unlock()
	if len(due) > s.cfg.MaxReads {
		if err := s.sweep(ctx); err != nil {
			s.remark(due)
		}
	} else if len(due) > 0 {
		s.refreshGroups(ctx, due, now)
	}
	return s.nextDue()
}

// refreshGroups reads each group from Marathon and writes it.
func (s *Discovery) refreshGroups(ctx context.Context, keys []specs.GroupKey, now time.Time) {
	st := RefreshStats{Groups: len(keys)}
	for _, k := range keys {
		written, removed, err := s.refresh(ctx, k)
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
			s.notBefore[k] = now.Add(s.cfg.MinInterval)
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
		removed, err = s.drop(ctx, have)
		return false, removed, err
	}
	written, err = s.write(ctx, have, s.groupState(&app, s.cfg.Now()))
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
// forgets the turns of groups no longer marked whose time has passed.
func (s *Discovery) nextDue() (time.Duration, bool) {
	now := time.Now()
	for k, t := range s.notBefore {
		if !t.After(now) && s.failures[k] == 0 {
			delete(s.notBefore, k)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var next time.Duration
	found := false
	for k := range s.dirty {
		d := max(s.notBefore[k].Sub(now), 0)
		if !found || d < next {
			next, found = d, true
		}
	}
	return next, found
}
