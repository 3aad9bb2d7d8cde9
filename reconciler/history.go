package reconciler

import (
	"context"
	"errors"
	"sync"
	"time"

	"theseus.dev/diff"
	"theseus.dev/internal/backoff"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// historyWorkers is how many groups' histories are written at once.
const historyWorkers = 2

// historian keeps each group's history for the controller of one term:
// an entry for every /desired revision the controller sees (who wrote
// it, its hash and image, what changed, its spec), as soon as the watch
// delivers it, and the outcome of each, from what /status records. It
// works beside the control loop, in order for each group, so that no
// reconcile waits for it; every write is fenced by the leadership.
//
// The edits are idempotent (an entry is recorded once; an outcome is
// set only over none or Superseded), so that a new leader may repeat
// what the last one did.
type historian struct {
	c *Controller

	mu     sync.Mutex
	ops    map[specs.GroupKey][]historyOp
	order  []specs.GroupKey // groups with ops and not busy, first come first
	busy   map[specs.GroupKey]bool
	closed bool
	wake   chan struct{}
}

// historyOp is one thing to record: a revision seen, or an outcome.
type historyOp struct {
	rev int64
	at  time.Time
	// A revision seen: its spec as stored (nil when invalid), or its
	// deletion. The stored bytes are kept rather than the decoded spec,
	// a few times their size: during a cold start every group's entry
	// waits here for a while.
	seen    bool
	value   []byte
	deleted bool
	// An outcome, and what goes with it.
	outcome    specs.Outcome
	reason     string
	appVersion string
	restored   int64
	restoredAt string
}

func newHistorian(c *Controller) *historian {
	return &historian{c: c, ops: map[specs.GroupKey][]historyOp{}, busy: map[specs.GroupKey]bool{},
		wake: make(chan struct{}, 1)}
}

// seen queues the record of a revision of group k's /desired key: value
// is its valid spec as stored, nil for an invalid one; deleted says it
// removed the spec. It never blocks.
func (h *historian) seen(k specs.GroupKey, rev int64, value []byte, deleted bool) {
	if h == nil {
		return
	}
	h.add(k, historyOp{rev: rev, at: h.c.cfg.Now(), seen: true, value: value, deleted: deleted})
}

// facts queues the outcomes that a status written for group k records,
// compared with the status before it (nil: none): a revision Synced, a
// rollout rolled back or failed. It never blocks.
func (h *historian) facts(k specs.GroupKey, prev *specs.Status, st *specs.Status) {
	if h == nil {
		return
	}
	now := h.c.cfg.Now()
	if st.SyncedRevision != 0 && (prev == nil || prev.SyncedRevision != st.SyncedRevision) {
		h.add(k, historyOp{rev: st.SyncedRevision, at: now, outcome: specs.OutcomeSynced, appVersion: st.MarathonVersion})
	}
	if f := st.Failure; f != nil && (prev == nil || prev.Failure == nil || *prev.Failure != *f) {
		h.add(k, historyOp{rev: f.Revision, at: f.At, outcome: f.Outcome, reason: f.Reason,
			restored: f.RestoredRevision, restoredAt: f.RestoredVersion})
	}
}

func (h *historian) add(k specs.GroupKey, op historyOp) {
	h.mu.Lock()
	if len(h.ops[k]) == 0 && !h.busy[k] {
		h.order = append(h.order, k)
	}
	h.ops[k] = append(h.ops[k], op)
	h.c.metrics.HistoryPending(len(h.ops) + len(h.busy))
	h.mu.Unlock()
	wakeUp(h.wake)
}

// close lets the workers end once everything queued is recorded.
func (h *historian) close() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	wakeUp(h.wake)
}

func (h *historian) isClosed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}

// run records until ctx ends, or until it is closed and has nothing left.
func (h *historian) run(ctx context.Context) {
	defer h.c.metrics.HistoryPending(0) // what is left is the next leader's
	var wg sync.WaitGroup
	for range historyWorkers {
		wg.Go(func() { h.work(ctx) })
	}
	wg.Wait()
}

func (h *historian) work(ctx context.Context) {
	bo := backoff.New(100*time.Millisecond, 5*time.Second)
	for {
		k, ops, ok := h.next(ctx)
		if !ok {
			return
		}
		err := h.record(ctx, k, ops)
		switch {
		case err == nil:
			bo.Reset()
			h.done(k, nil)
		case errors.Is(err, model.ErrNotLeader), ctx.Err() != nil:
			h.done(k, nil) // the term is over; the next leader goes on
		case errors.Is(err, model.ErrCorrupt):
			h.c.log.Error("cannot record the history of a group: its value does not decode; "+
				"remove it to start afresh", "group", k.String(), "err", err)
			h.done(k, nil)
		case h.isClosed():
			// The daemon is stopping: what is left is the next leader's.
			h.c.log.Warn("cannot record the history of a group", "group", k.String(), "err", err)
			h.done(k, nil)
		default:
			// The group stays busy through the backoff, so that the other
			// worker does not retry it at once.
			h.c.log.Warn("cannot record the history of a group; retrying", "group", k.String(), "err", err)
			if bo.Wait(ctx) != nil {
				h.done(k, nil) // the term is over; the next leader goes on
				return
			}
			h.done(k, ops)
		}
	}
}

// next takes the ops of the first group waiting, marking it busy; false
// when the workers are to end.
func (h *historian) next(ctx context.Context) (specs.GroupKey, []historyOp, bool) {
	for {
		h.mu.Lock()
		if len(h.order) > 0 {
			k := h.order[0]
			h.order = h.order[1:]
			ops := h.ops[k]
			delete(h.ops, k)
			h.busy[k] = true
			h.mu.Unlock()
			return k, ops, true
		}
		closed := h.closed
		h.mu.Unlock()
		if closed || ctx.Err() != nil {
			h.close() // wake the other worker too
			return specs.GroupKey{}, nil, false
		}
		select {
		case <-h.wake:
		case <-ctx.Done():
		}
	}
}

// done ends the work on k; retry puts ops back ahead of those queued
// since.
func (h *historian) done(k specs.GroupKey, retry []historyOp) {
	h.mu.Lock()
	delete(h.busy, k)
	if len(retry) > 0 {
		h.ops[k] = append(retry, h.ops[k]...)
	}
	if len(h.ops[k]) > 0 {
		h.order = append(h.order, k)
	}
	h.c.metrics.HistoryPending(len(h.ops) + len(h.busy))
	h.mu.Unlock()
	wakeUp(h.wake)
}

// errUnchanged ends an edit that changes nothing: nothing is written.
var errUnchanged = errors.New("history unchanged")

// record writes ops to group k's history in one update: the writers of
// the revisions seen are read first, since the edit may be tried again.
func (h *historian) record(ctx context.Context, k specs.GroupKey, ops []historyOp) error {
	writers := make(map[int64]specs.Writer)
	for _, op := range ops {
		if !op.seen || op.deleted || h.c.cfg.Writers == nil {
			continue
		}
		w, err := h.c.cfg.Writers.WriterOf(ctx, k, op.rev)
		if err != nil {
			if !errors.Is(err, model.ErrCorrupt) {
				// Tried again with the rest: an entry is recorded once,
				// so a writer taken as unknown now would stay so.
				return err
			}
			h.c.log.Warn("cannot read who wrote a revision", "group", k.String(), "revision", op.rev, "err", err)
			w = specs.Writer{Kind: specs.WriterUnknown}
		}
		writers[op.rev] = w
	}
	_, err := h.c.cfg.History.Update(ctx, h.c.fence, k, func(hist *specs.History) error {
		changed := false
		for _, op := range ops {
			if op.seen {
				changed = recordSeen(k, hist, op, writers[op.rev]) || changed
			} else {
				changed = recordOutcome(hist, op) || changed
			}
		}
		if !changed {
			return errUnchanged
		}
		return nil
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	return err
}

// recordSeen adds the entry of a revision seen, unless it has one.
func recordSeen(k specs.GroupKey, h *specs.History, op historyOp, w specs.Writer) bool {
	if h.Entry(op.rev) != nil {
		return false
	}
	if w.Kind == "" {
		w.Kind = specs.WriterUnknown
	}
	e := specs.HistoryEntry{Revision: op.rev, Time: op.at, Writer: w, Deleted: op.deleted}
	if op.value == nil {
		h.Record(e)
		return true
	}
	// It decoded and validated when the watch delivered it.
	if g, err := specs.DecodeStored(k, op.value); err == nil {
		e.SpecHash, e.Image, e.Spec = specs.Hash(specs.Normalize(g.Spec)), g.Spec.Image, specs.StoredValue(g)
		if prev := previousSpec(k, h, op.rev); prev != nil {
			e.Changed = diff.SpecChanges(&prev.Spec, &g.Spec)
		}
	}
	h.Record(e)
	return true
}

// previousSpec is the spec of the newest entry before rev, if it has a
// spec kept that still decodes.
func previousSpec(k specs.GroupKey, h *specs.History, rev int64) *specs.Group {
	for i := len(h.Entries) - 1; i >= 0; i-- {
		e := &h.Entries[i]
		if e.Revision >= rev {
			continue
		}
		if len(e.Spec) == 0 {
			return nil
		}
		g, err := specs.DecodeStored(k, e.Spec)
		if err != nil {
			return nil
		}
		return g
	}
	return nil
}

// recordOutcome sets the outcome of op's revision: over none or
// Superseded (a revision Synced just as the next one came is Synced);
// RolledBack may turn Failed (its rollback failed too), and Failed
// Synced (Marathon's deployment came through after all).
func recordOutcome(h *specs.History, op historyOp) bool {
	e := h.Entry(op.rev)
	if e == nil || e.Outcome == op.outcome {
		return false
	}
	switch e.Outcome {
	case "", specs.OutcomeSuperseded:
	case specs.OutcomeRolledBack:
		if op.outcome != specs.OutcomeFailed {
			return false
		}
	case specs.OutcomeFailed:
		if op.outcome != specs.OutcomeSynced {
			return false
		}
	default:
		return false
	}
	e.Outcome, e.OutcomeAt, e.Reason = op.outcome, op.at, op.reason
	if op.outcome == specs.OutcomeSynced {
		e.AppVersion = op.appVersion
	}
	if op.restored != 0 {
		e.RestoredRevision, e.RestoredVersion = op.restored, op.restoredAt
	}
	return true
}

// rollbackTarget is the entry a failed rollout of revision rev goes
// back to: the revision the group was last Synced at before it, whose
// spec is kept; nil when there is none.
func rollbackTarget(h *specs.History, synced, rev int64) *specs.HistoryEntry {
	if e := h.Entry(synced); e != nil && synced < rev && !e.Deleted && len(e.Spec) > 0 {
		return e
	}
	for i := len(h.Entries) - 1; i >= 0; i-- {
		e := &h.Entries[i]
		if e.Revision < rev && e.Outcome == specs.OutcomeSynced && !e.Deleted && len(e.Spec) > 0 {
			return e
		}
	}
	return nil
}
