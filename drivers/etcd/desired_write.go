package etcd

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/specs"
)

// MaxTxnOps is the most operations one transaction may hold: etcd's
// default --max-txn-ops. Batches are cut to this size so that they work
// against any cluster that keeps the default.
const MaxTxnOps = 128

// Op is one write of a batch: put Value at Key, or delete Key when Value
// is nil, provided the key's mod revision is still ExpectedRevision (0:
// the key must not exist).
type Op struct {
	Key              specs.GroupKey
	Value            []byte
	ExpectedRevision int64
}

// Put writes value as the spec of group k if the key's mod revision is
// still expected (0: the key must not exist yet), and returns the new mod
// revision. The value must decode and validate as the spec of k;
// otherwise the specs.ErrorList is returned and nothing is written. A
// failed compare returns a *ConflictError.
func (d *DesiredStore) Put(ctx context.Context, k specs.GroupKey, value []byte, expected int64) (int64, error) {
	return d.Commit(ctx, []Op{{Key: k, Value: value, ExpectedRevision: expected}})
}

// Delete removes group k's spec if its mod revision is still expected,
// and returns the revision of the delete. A failed compare returns a
// *ConflictError.
func (d *DesiredStore) Delete(ctx context.Context, k specs.GroupKey, expected int64) (int64, error) {
	if expected <= 0 {
		return 0, fmt.Errorf("delete %s: expected revision must be positive", k)
	}
	return d.Commit(ctx, []Op{{Key: k, ExpectedRevision: expected}})
}

// Remove deletes group k's spec whatever its revision, and returns the
// revision of the delete or an error matching ErrDesiredNotFound.
func (d *DesiredStore) Remove(ctx context.Context, k specs.GroupKey) (int64, error) {
	key := specs.DesiredKey(d.c.opts.Prefix, k)
	rctx, cancel := d.c.reqCtx(ctx)
	defer cancel()
	resp, err := d.c.cli.Delete(rctx, key)
	if err != nil {
		return 0, fmt.Errorf("delete %s: %w", key, err)
	}
	if resp.Deleted == 0 {
		return 0, fmt.Errorf("%s: %w", key, ErrDesiredNotFound)
	}
	return resp.Header.Revision, nil
}

// Commit applies ops in one transaction: all of them or, if any key's mod
// revision is not the expected one, none. It returns the revision of the
// transaction. At most MaxTxnOps ops (MaxTxnOps/2 for a store WithWriter),
// each key once; every put value must
// decode and validate (theseus never writes an invalid spec; etcdctl
// can). A failed compare returns a *ConflictError naming every key that
// moved.
func (d *DesiredStore) Commit(ctx context.Context, ops []Op) (int64, error) {
	if len(ops) == 0 {
		return 0, nil
	}
	if len(ops) > d.maxOps() {
		return 0, fmt.Errorf("%d operations: %w (at most %d)", len(ops), ErrTooManyOps, d.maxOps())
	}
	cmps := make([]clientv3.Cmp, 0, len(ops))
	then := make([]clientv3.Op, 0, len(ops))
	reread := make([]clientv3.Op, 0, len(ops))
	seen := make(map[specs.GroupKey]bool, len(ops))
	var invalid specs.ErrorList
	for _, op := range ops {
		if seen[op.Key] {
			return 0, fmt.Errorf("group %s appears twice in one transaction", op.Key)
		}
		seen[op.Key] = true
		key := specs.DesiredKey(d.c.opts.Prefix, op.Key)
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(key), "=", op.ExpectedRevision))
		reread = append(reread, clientv3.OpGet(key, clientv3.WithKeysOnly()))
		if wop, ok := d.writerOp(op); ok {
			then = append(then, wop)
		}
		if op.Value == nil {
			then = append(then, clientv3.OpDelete(key))
			continue
		}
		if _, err := specs.DecodeStored(op.Key, op.Value); err != nil {
			invalid = append(invalid, specs.Errors(err)...)
			continue
		}
		then = append(then, clientv3.OpPut(key, string(op.Value)))
	}
	if len(invalid) > 0 {
		return 0, invalid
	}
	rctx, cancel := d.c.reqCtx(ctx)
	defer cancel()
	// On failure the else branch reads every key back, so the error can
	// say which ones moved without another round trip.
	resp, err := d.c.cli.Txn(rctx).If(cmps...).Then(then...).Else(reread...).Commit()
	if err != nil {
		return 0, fmt.Errorf("commit %d operation(s) on /desired: %w", len(ops), err)
	}
	if resp.Succeeded {
		return resp.Header.Revision, nil
	}
	ce := &ConflictError{}
	for i, op := range ops {
		var actual int64
		if kvs := resp.Responses[i].GetResponseRange().Kvs; len(kvs) > 0 {
			actual = kvs[0].ModRevision
		}
		if actual != op.ExpectedRevision {
			ce.Conflicts = append(ce.Conflicts, Conflict{
				Key: specs.DesiredKey(d.c.opts.Prefix, op.Key), Expected: op.ExpectedRevision, Actual: actual})
		}
	}
	return 0, ce
}
