package etcd

import (
	"context"
	"fmt"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/specs"
)

// confirmBatch is the most groups one confirming transaction reads: two
// reads each, within etcd's default limit of 128 operations.
const confirmBatch = MaxTxnOps / 2

// confirmer sends the confirming reads that callers ask for at the same
// time in one fenced transaction, as a database commits a group of
// transactions: while one read is in flight, the calls that arrive wait
// for it and then go together in the next. A lone caller waits for
// nothing; a controller issuing a burst of writes (a cold start, a
// change to many groups) makes one etcd read for many writes instead of
// one each, and etcd's work per write, not its latency, is what bounds
// such a burst.
type confirmer struct {
	mu      sync.Mutex
	busy    bool // a transaction is in flight
	waiting []*confirmCall
	// Tests' hooks: queued is called as a call starts to wait, sent with
	// the size of each transaction sent.
	queued func()
	sent   func(calls int)
}

// confirmCall is one caller's read and, once done is closed, its
// outcome. A call that is handed the lead (lead closed) sends the next
// transaction itself.
type confirmCall struct {
	fence Fence
	key   specs.GroupKey
	done  chan struct{}
	lead  chan struct{}
	rev   int64
	pause *specs.Pause
	err   error
}

// confirm reads group k's /desired mod revision and pause record as
// ConfirmUnpaused says, together with the other calls waiting.
func (b *confirmer) confirm(ctx context.Context, d *DesiredStore, fence Fence, k specs.GroupKey) (int64, *specs.Pause, error) {
	call := &confirmCall{fence: fence, key: k, done: make(chan struct{}), lead: make(chan struct{})}
	b.mu.Lock()
	if b.busy {
		b.waiting = append(b.waiting, call)
		queued := b.queued
		b.mu.Unlock()
		if queued != nil {
			queued()
		}
		select {
		case <-call.done:
			return call.rev, call.pause, call.err
		case <-call.lead:
		case <-ctx.Done():
			if b.withdraw(call) {
				return 0, nil, fmt.Errorf("confirm %s: %w", k, ctx.Err())
			}
			// Already taken into a transaction, or handed the lead: see
			// it through, which the request timeout bounds.
			select {
			case <-call.done:
				return call.rev, call.pause, call.err
			case <-call.lead:
			}
		}
	} else {
		b.busy = true
		b.mu.Unlock()
	}
	// This call leads: it sends the transaction for itself and those
	// waiting with the same fence, then hands the lead to the next call
	// left waiting, if any. The transaction does not end with this
	// caller's context, which would fail the others' reads with it; the
	// request timeout still bounds it.
	batch := b.take(call)
	if b.sent != nil {
		b.sent(len(batch))
	}
	d.confirmAll(context.WithoutCancel(ctx), fence, batch)
	b.handOver()
	for _, c := range batch[1:] {
		close(c.done)
	}
	if err := ctx.Err(); err != nil && call.err == nil {
		return 0, nil, fmt.Errorf("confirm %s: %w", k, err)
	}
	return call.rev, call.pause, call.err
}

// take removes from the queue the calls that go with lead: those with
// its fence, up to confirmBatch in all, first come first.
func (b *confirmer) take(lead *confirmCall) []*confirmCall {
	b.mu.Lock()
	defer b.mu.Unlock()
	batch := []*confirmCall{lead}
	rest := b.waiting[:0]
	for _, c := range b.waiting {
		if len(batch) < confirmBatch && c.fence == lead.fence {
			batch = append(batch, c)
		} else {
			rest = append(rest, c)
		}
	}
	clear(b.waiting[len(rest):])
	b.waiting = rest
	return batch
}

// withdraw takes call out of the queue; false when it has left it
// already.
func (b *confirmer) withdraw(call *confirmCall) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, c := range b.waiting {
		if c == call {
			b.waiting = append(b.waiting[:i], b.waiting[i+1:]...)
			return true
		}
	}
	return false
}

// handOver passes the lead to the first call waiting, or marks the
// confirmer idle.
func (b *confirmer) handOver() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.waiting) == 0 {
		b.busy = false
		return
	}
	next := b.waiting[0]
	b.waiting = b.waiting[1:]
	close(next.lead)
}

// confirmAll makes the reads of calls, all under fence, in one
// transaction, and sets each call's outcome.
func (d *DesiredStore) confirmAll(ctx context.Context, fence Fence, calls []*confirmCall) {
	ops := make([]clientv3.Op, 0, 2*len(calls))
	for _, c := range calls {
		ops = append(ops, clientv3.OpGet(specs.DesiredKey(d.c.opts.Prefix, c.key), clientv3.WithKeysOnly()),
			clientv3.OpGet(PauseKey(d.c.opts.Prefix, c.key)))
	}
	rctx, cancel := d.c.reqCtx(ctx)
	defer cancel()
	txn := d.c.cli.Txn(rctx)
	if fence.Key != "" {
		txn = txn.If(fenceCmp(fence))
	}
	resp, err := txn.Then(ops...).Commit()
	for i, c := range calls {
		key := specs.DesiredKey(d.c.opts.Prefix, c.key)
		switch {
		case err != nil:
			c.err = fmt.Errorf("confirm %s: %w", key, err)
		case !resp.Succeeded:
			c.err = fmt.Errorf("confirm %s: %w", key, ErrNotLeader)
		default:
			if kvs := resp.Responses[2*i].GetResponseRange().Kvs; len(kvs) > 0 {
				c.rev = kvs[0].ModRevision
			}
			if kvs := resp.Responses[2*i+1].GetResponseRange().Kvs; len(kvs) > 0 {
				c.pause = prevPause(kvs[0])
			}
		}
	}
}
