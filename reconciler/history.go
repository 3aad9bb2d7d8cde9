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

// historyWorkers is how many batches of histories are written at once:
// one is read while another is written.
const historyWorkers = 2

// historyBatch is the most groups whose histories one batch records:
// each takes up to three reads (its history and the two records of who
// wrote its revisions), so a batch is read in a transaction or two of
// etcd's 128 operations and written in one, while few enough histories
// (each up to specs.MaxHistoryBytes, most a few KiB) are held at once.
const historyBatch = 64

// historian keeps each group's history for the controller of one term:
// an entry for every /desired revision the controller sees (who wrote
// it, its hash and image, what changed, its spec), as soon as the watch
// delivers it, and the outcome of each, from what /status records. It
// works beside the control loop, in order for each group, so that no
// reconcile waits for it; every write is fenced by the leadership. The
// groups waiting are recorded in batches, a few etcd requests a batch
// (HistoryStore.UpdateMany), so that the history keeps up with a cold
// start of thousands of groups.
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
	hash    string // value's spec hash, when the cache had it
	deleted bool
	// An outcome, and what goes with it.
	outcome    specs.Outcome
	reason     string
	appVersion string
	restored   int64
	restoredAt string
}

// historyGroup is a group's ops that a worker took, in order.
type historyGroup struct {
	key specs.GroupKey
	ops []historyOp
}

func newHistorian(c *Controller) *historian {
	return &historian{c: c, ops: map[specs.GroupKey][]historyOp{}, busy: map[specs.GroupKey]bool{},
		wake: make(chan struct{}, 1)}
}

// seen queues the record of a revision of group k's /desired key: value
// is its valid spec as stored, nil for an invalid one, and hash that
// spec's hash if known; deleted says it removed the spec. It never
// blocks.
func (h *historian) seen(k specs.GroupKey, rev int64, value []byte, hash string, deleted bool) {
	if h == nil {
		return
	}
	h.add(k, historyOp{rev: rev, at: h.c.cfg.Now(), seen: true, value: value, hash: hash, deleted: deleted})
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
		version := st.MarathonVersion
		if prev != nil && st.SyncedRevision != st.ObservedRevision && prev.ObservedRevision == st.SyncedRevision {
			// Found over at the write of a newer revision (overAtWrite):
			// the app ran it as the status before says.
			version = prev.MarathonVersion
		}
		h.add(k, historyOp{rev: st.SyncedRevision, at: now, outcome: specs.OutcomeSynced, appVersion: version})
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
		batch, ok := h.next(ctx)
		if !ok {
			return
		}
		errs := h.record(ctx, batch)
		var finished, retry []historyGroup
		var retryErr error
		for i, g := range batch {
			err := errs[i]
			switch {
			case err == nil, errors.Is(err, model.ErrNotLeader), ctx.Err() != nil:
				// Recorded, or the term is over: the next leader goes on.
				finished = append(finished, g)
			case errors.Is(err, model.ErrCorrupt):
				h.c.log.Error("cannot record the history of a group: its value does not decode; "+
					"remove it to start afresh", "group", g.key.String(), "err", err)
				finished = append(finished, g)
			default:
				if len(retry) == 0 {
					retryErr = err
				}
				retry = append(retry, g)
			}
		}
		h.done(finished, false)
		switch {
		case len(retry) == 0:
			bo.Reset()
		case h.isClosed():
			// The daemon is stopping: what is left is the next leader's.
			h.c.log.Warn("cannot record the histories of groups", "groups", len(retry),
				"first", retry[0].key.String(), "err", retryErr)
			h.done(retry, false)
		default:
			// The groups stay busy through the backoff, so that the
			// other worker does not retry them at once.
			h.c.log.Warn("cannot record the histories of groups; retrying", "groups", len(retry),
				"first", retry[0].key.String(), "err", retryErr)
			if bo.Wait(ctx) != nil {
				h.done(retry, false) // the term is over; the next leader goes on
				return
			}
			h.done(retry, true)
		}
	}
}

// next takes the ops of up to historyBatch groups waiting, first come
// first, marking them busy; false when the workers are to end.
func (h *historian) next(ctx context.Context) ([]historyGroup, bool) {
	for {
		h.mu.Lock()
		if n := min(len(h.order), historyBatch); n > 0 {
			batch := make([]historyGroup, n)
			for i, k := range h.order[:n] {
				batch[i] = historyGroup{key: k, ops: h.ops[k]}
				delete(h.ops, k)
				h.busy[k] = true
			}
			h.order = h.order[n:]
			more := len(h.order) > 0
			h.mu.Unlock()
			if more {
				wakeUp(h.wake) // for the other worker
			}
			return batch, true
		}
		closed := h.closed
		h.mu.Unlock()
		if closed || ctx.Err() != nil {
			h.close() // wake the other worker too
			return nil, false
		}
		select {
		case <-h.wake:
		case <-ctx.Done():
		}
	}
}

// done ends the work on gs; with retry, their ops go back ahead of those
// queued since.
func (h *historian) done(gs []historyGroup, retry bool) {
	if len(gs) == 0 {
		return
	}
	h.mu.Lock()
	for _, g := range gs {
		delete(h.busy, g.key)
		if retry {
			h.ops[g.key] = append(g.ops, h.ops[g.key]...)
		}
		if len(h.ops[g.key]) > 0 {
			h.order = append(h.order, g.key)
		}
	}
	h.c.metrics.HistoryPending(len(h.ops) + len(h.busy))
	h.mu.Unlock()
	wakeUp(h.wake)
}

// errUnchanged ends an edit that changes nothing: nothing is written.
var errUnchanged = errors.New("history unchanged")

// record writes the ops of each group of batch to its history, in one
// UpdateMany, and returns the result of each.
func (h *historian) record(ctx context.Context, batch []historyGroup) []error {
	edits := make([]model.HistoryEdit, len(batch))
	for i, g := range batch {
		edits[i] = h.edit(g.key, g.ops)
	}
	errs := h.c.cfg.History.UpdateMany(ctx, h.c.fence, edits)
	for i, err := range errs {
		if errors.Is(err, errUnchanged) {
			errs[i] = nil
		}
	}
	return errs
}

// edit is the change ops make to group k's history. Who wrote each
// revision is read in the same request as the history, so that when etcd
// does not answer the group is tried again: an entry is recorded once,
// and a writer taken as unknown would stay so. Only a record that does
// not decode makes it unknown.
func (h *historian) edit(k specs.GroupKey, ops []historyOp) model.HistoryEdit {
	e := model.HistoryEdit{Key: k}
	for _, op := range ops {
		e.Writers = e.Writers || op.seen && !op.deleted
	}
	e.Edit = func(hist *specs.History, writerOf func(int64) (specs.Writer, error)) error {
		changed := false
		for _, op := range ops {
			if !op.seen {
				changed = recordOutcome(hist, op) || changed
				continue
			}
			var w specs.Writer
			if !op.deleted && hist.Entry(op.rev) == nil {
				var err error
				if w, err = writerOf(op.rev); err != nil {
					h.c.log.Warn("cannot read who wrote a revision", "group", k.String(), "revision", op.rev, "err", err)
					w = specs.Writer{Kind: specs.WriterUnknown}
				}
			}
			changed = recordSeen(k, hist, op, w) || changed
		}
		if !changed {
			return errUnchanged
		}
		return nil
	}
	return e
}
