package reconciler

import (
	"context"
	"errors"
	"sync"
	"time"

	"theseus.dev/internal/backoff"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// statusBatch is the most statuses the writer sends in one write.
const statusBatch = 128

// statusSpacing is the least time between the starts of two writes of
// statuses, unless a full batch waits: in a burst (a cold start, a change
// to many groups) a write then carries the statuses of many groups, not
// of the two or three decided while the last write was in flight, and
// costs etcd a proposal for each batch, not for each group; /status lags
// the controller's own view by that much at most.
const statusSpacing = 10 * time.Millisecond

// statusWriter writes the statuses the controller decides behind it: a
// reconcile hands its group's new status over and goes on, and the
// writer sends every status handed over since its last write, the latest
// of each group, in one fenced write. During a cold start of thousands
// of groups that is one etcd write for a hundred statuses, none of them
// on the way of a Marathon write. The controller's own view of the
// statuses, which it decides from, changes as a status is handed over;
// /status follows within a write. What is not yet written when the term
// ends is the next leader's to decide again, as a status whose write
// failed always was.
//
// The changes of phase a status makes are told to the notifier once the
// write that records it succeeded: a leader whose term ended unknown to
// it tells nothing that the next leader, deciding again, tells too. A
// group removed is forgotten by the notifier in the same order, after
// the changes told before.
type statusWriter struct {
	c *Controller

	mu      sync.Mutex
	pending map[specs.GroupKey]*specs.Status       // nil: remove
	changes map[specs.GroupKey][]model.PhaseChange // To "": forget the group
	order   []specs.GroupKey
	closed  bool
	wake    chan struct{}
}

func newStatusWriter(c *Controller) *statusWriter {
	return &statusWriter{c: c, pending: map[specs.GroupKey]*specs.Status{},
		changes: map[specs.GroupKey][]model.PhaseChange{}, wake: make(chan struct{}, 1)}
}

// put hands over st as group k's status, or its removal when st is nil,
// with the change of phase it makes, if any, to tell once it is
// written. It never blocks.
func (w *statusWriter) put(k specs.GroupKey, st *specs.Status, ch *model.PhaseChange) {
	w.mu.Lock()
	if _, ok := w.pending[k]; !ok {
		w.order = append(w.order, k)
	}
	w.pending[k] = st
	switch {
	case st == nil: // the group is gone: what it went through is not told
		w.changes[k] = []model.PhaseChange{{Group: k}}
	case ch != nil:
		w.changes[k] = append(w.changes[k], *ch)
	}
	w.mu.Unlock()
	wakeUp(w.wake)
}

// close lets run end once everything handed over is written.
func (w *statusWriter) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	wakeUp(w.wake)
}

// run writes until ctx ends, or until it is closed and has nothing left.
func (w *statusWriter) run(ctx context.Context) {
	bo := backoff.New(100*time.Millisecond, 5*time.Second)
	var last time.Time
	for {
		batch, changes, ok := w.next(ctx, last)
		if !ok {
			return
		}
		last = time.Now()
		err := w.c.cfg.Status.Write(ctx, w.c.fence, batch)
		switch {
		case err == nil:
			bo.Reset()
			w.done(nil, nil)
			if n := w.c.cfg.Notifier; n != nil {
				for _, ch := range changes {
					if ch.To == "" {
						n.Forget(ch.Group)
					} else {
						n.Notify(ch)
					}
				}
			}
		case errors.Is(err, model.ErrNotLeader), ctx.Err() != nil:
			w.done(nil, nil) // the term is over; the next leader decides again
		case w.isClosed():
			w.c.log.Warn("cannot record statuses", "groups", len(batch), "err", err)
			w.done(nil, nil)
		default:
			w.c.log.Warn("cannot record statuses; retrying", "groups", len(batch), "err", err)
			if bo.Wait(ctx) != nil {
				w.done(nil, nil)
				return
			}
			w.done(batch, changes)
		}
	}
}

// next takes up to statusBatch of the statuses pending, first handed
// over first, once statusSpacing has passed since last (the start of
// the last write) or a batch is full, with the changes of phase they
// make; false when run is to end.
func (w *statusWriter) next(ctx context.Context, last time.Time) ([]model.StatusChange, []model.PhaseChange, bool) {
	for {
		w.mu.Lock()
		n := min(len(w.order), statusBatch)
		if wait := statusSpacing - time.Since(last); n > 0 && n < statusBatch && wait > 0 && !w.closed {
			w.mu.Unlock()
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-w.wake: // more came: is a batch full?
			case <-ctx.Done():
				last = time.Time{} // ending: no more waiting
			}
			t.Stop()
			continue
		}
		if n > 0 {
			batch := make([]model.StatusChange, n)
			var changes []model.PhaseChange
			for i, k := range w.order[:n] {
				batch[i] = model.StatusChange{Key: k, Status: w.pending[k]}
				changes = append(changes, w.changes[k]...)
				delete(w.pending, k)
				delete(w.changes, k)
			}
			w.order = w.order[n:]
			w.mu.Unlock()
			return batch, changes, true
		}
		closed := w.closed
		w.mu.Unlock()
		if closed || ctx.Err() != nil {
			return nil, nil, false
		}
		select {
		case <-w.wake:
		case <-ctx.Done():
		}
	}
}

// done ends a write; retry, the batch of a write that failed, goes back
// ahead of what was handed over since, but for the groups handed over
// again meanwhile, whose newer status stands. The changes of phase of
// the batch go back ahead of those handed over since.
func (w *statusWriter) done(retry []model.StatusChange, changes []model.PhaseChange) {
	w.mu.Lock()
	defer w.mu.Unlock()
	told := map[specs.GroupKey][]model.PhaseChange{}
	for _, ch := range changes {
		told[ch.Group] = append(told[ch.Group], ch)
	}
	for k, chs := range told {
		w.changes[k] = append(chs, w.changes[k]...)
	}
	var back []specs.GroupKey
	for _, ch := range retry {
		if _, newer := w.pending[ch.Key]; !newer {
			w.pending[ch.Key] = ch.Status
			back = append(back, ch.Key)
		}
	}
	if len(back) > 0 {
		w.order = append(back, w.order...)
	}
}

func (w *statusWriter) isClosed() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closed
}
