package etcd

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/internal/backoff"
	"theseus.dev/specs"
)

// maxTxnBytes bounds the values of one transaction of Apply or Sync,
// below etcd's default request limit of 1.5 MiB. A single spec is at most
// specs.MaxSpecBytes, so it always fits alone.
const maxTxnBytes = 1 << 20

// syncAttempts is how often Sync plans again after a transaction failed
// because someone else wrote one of its keys meanwhile.
const syncAttempts = 5

// Apply writes the plan: creates, changes and adoptions first, removals
// last, in transactions of at most MaxTxnOps operations and about 1 MiB.
// Each group's /desired key and ownership record are written together
// in one transaction, guarded by the mod revisions of both as planned, so
// a key someone else wrote since the plan is never overwritten: the
// transaction fails with a *ConflictError, and nothing of it is written.
// Items whose transaction committed are marked Written; those of earlier
// transactions stay written when a later one fails.
func (s *SyncSource) Apply(ctx context.Context, p *SyncPlan) error {
	index := make(map[specs.GroupKey]int, len(p.Items))
	for i, it := range p.Items {
		index[it.Key] = i
	}
	writes := slices.Clone(p.writes)
	slices.SortStableFunc(writes, func(a, b syncWrite) int {
		return cmp.Or(cmp.Compare(btoi(a.isDelete()), btoi(b.isDelete())), a.key.Compare(b.key))
	})
	for len(writes) > 0 {
		n, size := 0, 0
		for n < len(writes) && 2*(n+1) <= MaxTxnOps {
			size += len(writes[n].value) + len(writes[n].owner)
			if n > 0 && size > maxTxnBytes {
				break
			}
			n++
		}
		rev, err := s.commit(ctx, writes[:n])
		if err != nil {
			return err
		}
		for _, w := range writes[:n] {
			if i, ok := index[w.key]; ok {
				p.Items[i].Written = true
				switch p.Items[i].Action {
				case SyncCreated, SyncChanged, SyncRemoved:
					p.Items[i].Revision = rev
				}
			}
		}
		writes = writes[n:]
	}
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// commit writes one batch in one transaction.
func (s *SyncSource) commit(ctx context.Context, batch []syncWrite) (int64, error) {
	if s.beforeCommit != nil {
		s.beforeCommit()
	}
	prefix := s.c.opts.Prefix
	cmps := make([]clientv3.Cmp, 0, 2*len(batch))
	then := make([]clientv3.Op, 0, 2*len(batch))
	reread := make([]clientv3.Op, 0, 2*len(batch))
	for _, w := range batch {
		dk, ok := specs.DesiredKey(prefix, w.key), SyncOwnerKey(prefix, w.key)
		cmps = append(cmps,
			clientv3.Compare(clientv3.ModRevision(dk), "=", w.desiredRev),
			clientv3.Compare(clientv3.ModRevision(ok), "=", w.ownerRev))
		reread = append(reread, clientv3.OpGet(dk, clientv3.WithKeysOnly()), clientv3.OpGet(ok, clientv3.WithKeysOnly()))
		switch {
		case w.value != nil:
			then = append(then, clientv3.OpPut(dk, string(w.value)))
		case w.delDesired:
			then = append(then, clientv3.OpDelete(dk))
		}
		if w.owner != nil {
			then = append(then, clientv3.OpPut(ok, string(w.owner)))
		} else {
			then = append(then, clientv3.OpDelete(ok))
		}
	}
	rctx, cancel := s.c.reqCtx(ctx)
	defer cancel()
	resp, err := s.c.cli.Txn(rctx).If(cmps...).Then(then...).Else(reread...).Commit()
	if err != nil {
		return 0, fmt.Errorf("sync: commit %d group(s): %w", len(batch), err)
	}
	if resp.Succeeded {
		return resp.Header.Revision, nil
	}
	ce := &ConflictError{}
	for i, w := range batch {
		for j, expected := range []int64{w.desiredRev, w.ownerRev} {
			var actual int64
			if kvs := resp.Responses[2*i+j].GetResponseRange().Kvs; len(kvs) > 0 {
				actual = kvs[0].ModRevision
			}
			if actual != expected {
				key := specs.DesiredKey(prefix, w.key)
				if j == 1 {
					key = SyncOwnerKey(prefix, w.key)
				}
				ce.Conflicts = append(ce.Conflicts, Conflict{Key: key, Expected: expected, Actual: actual})
			}
		}
	}
	return 0, ce
}

// Sync plans and applies until /desired holds want, as Plan and Apply
// describe. When someone else writes a key between the plan and its
// transaction, it plans again from a fresh read (a few times, with
// backoff) and then returns an error matching ErrConflict. The plan
// returned reports every group once, with what was actually written
// across the attempts; it is returned with any error after Plan.
func (s *SyncSource) Sync(ctx context.Context, source string, want []SyncSpec) (*SyncPlan, error) {
	done := map[specs.GroupKey]SyncItem{}
	bo := backoff.New(s.c.opts.RetryMin, s.c.opts.RetryMax)
	var err error
	for attempt := 0; attempt < syncAttempts; attempt++ {
		if attempt > 0 {
			if werr := bo.Wait(ctx); werr != nil {
				return nil, werr
			}
		}
		var p *SyncPlan
		p, err = s.Plan(ctx, source, want)
		if err != nil {
			return nil, err
		}
		err = s.Apply(ctx, p)
		mergeWritten(p, done)
		if !errors.Is(err, ErrConflict) {
			return p, err
		}
		for _, it := range p.Items {
			if it.Written {
				done[it.Key] = it
			}
		}
	}
	return nil, fmt.Errorf("sync: gave up after %d attempts, others keep writing the same groups: %w", syncAttempts, err)
}

// mergeWritten puts back into p what earlier attempts wrote: such a group
// now looks unchanged, or, if removed, is not in p at all.
func mergeWritten(p *SyncPlan, done map[specs.GroupKey]SyncItem) {
	if len(done) == 0 {
		return
	}
	seen := make(map[specs.GroupKey]bool, len(p.Items))
	for i, it := range p.Items {
		seen[it.Key] = true
		if d, ok := done[it.Key]; ok && !it.Written && it.Action == SyncUnchanged {
			p.Items[i] = d
		}
	}
	for k, d := range done {
		if !seen[k] {
			p.Items = append(p.Items, d)
		}
	}
	slices.SortFunc(p.Items, func(a, b SyncItem) int { return a.Key.Compare(b.Key) })
}
