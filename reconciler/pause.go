package reconciler

import (
	"context"
	"sync"
	"time"

	"theseus.dev/diff"
	"theseus.dev/internal/backoff"
	"theseus.dev/internal/engine"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// pauses is the controller's view of the pause records: listed at the
// start of the term and again after each change the watch reports, the
// groups whose pause changed queued at once, so that a pause shows and a
// resume acts without waiting for a resync. It is not what holds writes
// back: the read before each Marathon write (ConfirmUnpaused) is, so a
// pause holds back the very next write even before this view has it.
type pauses struct {
	c    *Controller
	wake chan struct{}

	mu sync.Mutex
	by map[specs.GroupKey]*specs.Pause
}

func newPauses(c *Controller) *pauses {
	return &pauses{c: c, wake: make(chan struct{}, 1), by: map[specs.GroupKey]*specs.Pause{}}
}

// get returns group k's pause record, nil when it is not paused.
func (p *pauses) get(k specs.GroupKey) *specs.Pause {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.by[k]
}

// found records what the read before a write found of group k's pause.
// The pauses are listed again after it: the watch may have reported a
// resume that came after that read before it was recorded here, and no
// later change would then clear the record.
func (p *pauses) found(k specs.GroupKey, pause *specs.Pause) {
	if p.c.cfg.Pauses == nil {
		return // nothing would tell of the resume: read before each write
	}
	p.mu.Lock()
	if pause == nil {
		delete(p.by, k)
	} else {
		p.by[k] = pause
	}
	p.mu.Unlock()
	wakeUp(p.wake)
}

// run follows the pause records until ctx ends.
func (p *pauses) run(ctx context.Context) {
	src := p.c.cfg.Pauses
	if src == nil {
		return
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		err := src.Watch(ctx, func() { wakeUp(p.wake) })
		if err != nil && ctx.Err() == nil {
			p.c.log.Error("watch of the pauses ended", "err", err)
		}
	})
	bo := backoff.New(100*time.Millisecond, 5*time.Second)
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		}
		for {
			entries, _, err := src.List(ctx)
			if err == nil {
				bo.Reset()
				p.replace(entries)
				break
			}
			p.c.log.Warn("cannot read the pauses; retrying", "err", err)
			if bo.Wait(ctx) != nil {
				return
			}
		}
	}
}

// replace takes a new list of the pauses and queues every group whose
// pause changed.
func (p *pauses) replace(entries []model.PauseEntry) {
	next := make(map[specs.GroupKey]*specs.Pause, len(entries))
	bad := map[specs.GroupKey]error{}
	for _, e := range entries {
		pause := e.Pause
		if pause == nil {
			pause = &specs.Pause{By: "unknown", Reason: "the pause record does not decode"}
			bad[e.Key] = e.Err
		}
		next[e.Key] = pause
	}
	var changed []specs.GroupKey
	p.mu.Lock()
	for k, old := range p.by {
		if n, ok := next[k]; !ok || *n != *old {
			changed = append(changed, k)
		}
	}
	for k := range next {
		if _, ok := p.by[k]; !ok {
			changed = append(changed, k)
		}
	}
	p.by = next
	p.mu.Unlock()
	for _, k := range changed {
		if err, ok := bad[k]; ok {
			// Logged as it shows, not on every list: the group is held
			// back as paused until the record is fixed or removed.
			p.c.log.Warn("a pause record does not decode; the group counts as paused", "group", k.String(), "err", err)
		}
		p.c.engine.Add(k)
	}
}

// pausedError is a write its guard found paused: nothing was sent.
type pausedError struct{ pause *specs.Pause }

func (e *pausedError) Error() string { return "the group is paused by " + e.pause.By }

// pausedWrite records that the read just before a write found the group
// paused, which the controller's view of the pauses had not yet: the
// write is held back like any change of a paused group.
func (c *Controller) pausedWrite(ctx context.Context, v view, act diff.Action, p *specs.Pause) (engine.Result, error) {
	c.pauses.found(v.key, p)
	v.pause = p
	act.Hold(diff.HoldPaused, pausedReason(p))
	return c.held(ctx, v, act)
}

// pausedReason is why a paused group's change is held back.
func pausedReason(p *specs.Pause) string {
	return pausedBy(p) + "; theseusd resume releases it"
}

// pausedBy says who paused a group, and why when they said.
func pausedBy(p *specs.Pause) string {
	s := "paused by " + p.By
	if p.Reason != "" {
		s += " (" + p.Reason + ")"
	}
	return s
}

// quarantinedReason is why a change of a revision whose rollout failed
// is held back.
func quarantinedReason(o specs.Outcome, reason string) string {
	s := "the rollout of this revision failed"
	if reason != "" {
		s += " (" + reason + ")"
	}
	if o == specs.OutcomeRolledBack {
		s += " and was rolled back"
	}
	return s + "; it is not tried again until /desired changes"
}

// holds holds back act for a pause, or for a failed rollout of its
// revision (failure: its outcome and reason; "" when none): the same
// holds for the controller and for a plan.
func holds(act *diff.Action, pause *specs.Pause, failure specs.Outcome, reason string) {
	switch {
	case pause != nil:
		act.Hold(diff.HoldPaused, pausedReason(pause))
	case failure == specs.OutcomeRolledBack || failure == specs.OutcomeFailed:
		act.Hold(diff.HoldQuarantined, quarantinedReason(failure, reason))
	}
}
