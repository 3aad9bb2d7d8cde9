package etcd

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/internal/backoff"
	"theseus.dev/specs"
)

// ApplyAction is what Apply did to one group.
type ApplyAction string

// The outcomes of Apply for one group.
const (
	Created   ApplyAction = "created"
	Changed   ApplyAction = "changed"
	Unchanged ApplyAction = "unchanged"
)

// ApplyResult is the outcome of Apply for one group.
type ApplyResult struct {
	Key    specs.GroupKey
	Action ApplyAction
	// Revision is the key's mod revision after Apply: the revision it
	// wrote, or the one it found for an unchanged group.
	Revision int64
}

// applyAttempts is how often Apply re-reads and retries a batch whose
// compare failed because someone else wrote one of its keys meanwhile.
const applyAttempts = 5

// Apply makes /desired hold groups: it creates the keys that are missing,
// rewrites those whose stored spec differs (or is invalid), and leaves the
// rest alone. Specs compare by StoredValue, so a change of syntax alone
// (YAML or JSON, key order) is no change.
//
// Every group must be valid and appear once; otherwise Apply returns the
// specs.ErrorList before touching etcd. Writes go in transactions of at
// most MaxTxnOps keys (half as many WithWriter) and about 1 MiB, each guarded by the mod revisions just read; a
// batch whose guard fails is re-read and retried a few times, then Apply
// gives up with an error matching ErrConflict. The results of the batches
// done so far are returned with any error, in the order of groups.
func (d *DesiredStore) Apply(ctx context.Context, groups []*specs.Group) ([]ApplyResult, error) {
	return d.applyBatches(ctx, groups, d.applyBatch)
}

// ApplyAt is Apply guarded by the mod revisions a saved plan saw: each
// group's key must still be at its revision in expected (0 or missing:
// the key must not exist), or its batch writes nothing and ApplyAt
// returns a *ConflictError naming every key that moved. Nothing is
// retried: a key that moved needs a new plan.
func (d *DesiredStore) ApplyAt(ctx context.Context, groups []*specs.Group, expected map[specs.GroupKey]int64) ([]ApplyResult, error) {
	return d.applyBatches(ctx, groups, func(ctx context.Context, keys []specs.GroupKey, values [][]byte) ([]ApplyResult, error) {
		results, ops, err := d.planBatch(ctx, keys, values)
		if err != nil {
			return nil, err
		}
		ce := &ConflictError{}
		opAt := make(map[specs.GroupKey]int64, len(ops))
		for _, op := range ops {
			opAt[op.Key] = op.ExpectedRevision
		}
		for _, r := range results {
			found := r.Revision // an unchanged key's
			if r.Action != Unchanged {
				found = opAt[r.Key]
			}
			if want := expected[r.Key]; found != want {
				ce.Conflicts = append(ce.Conflicts, Conflict{Key: specs.DesiredKey(d.c.opts.Prefix, r.Key), Expected: want, Actual: found})
			}
		}
		if len(ce.Conflicts) > 0 {
			return nil, ce
		}
		return d.commitResults(ctx, results, ops)
	})
}

// commitResults commits ops and gives each result that wrote the
// revision of the write.
func (d *DesiredStore) commitResults(ctx context.Context, results []ApplyResult, ops []Op) ([]ApplyResult, error) {
	rev, err := d.Commit(ctx, ops)
	if err != nil {
		return nil, err
	}
	for i := range results {
		if results[i].Action != Unchanged {
			results[i].Revision = rev
		}
	}
	return results, nil
}

// applyBatches validates groups and writes them with write, in batches of
// at most MaxTxnOps keys and about 1 MiB, until one fails.
func (d *DesiredStore) applyBatches(ctx context.Context, groups []*specs.Group,
	write func(context.Context, []specs.GroupKey, [][]byte) ([]ApplyResult, error)) ([]ApplyResult, error) {
	keys, err := specs.CheckGroups(groups)
	if err != nil {
		return nil, err
	}
	values := make([][]byte, len(groups))
	var tooLarge specs.ErrorList
	for i, g := range groups {
		values[i] = StoredValue(g)
		tooLarge = append(tooLarge, specs.Errors(specs.CheckStoredSize(g, values[i]))...)
	}
	if err := tooLarge.Err(); err != nil {
		return nil, err
	}
	results := make([]ApplyResult, 0, len(groups))
	for start := 0; start < len(groups); {
		end := start + batchLen(values[start:], d.maxOps())
		res, err := write(ctx, keys[start:end], values[start:end])
		results = append(results, res...)
		if err != nil {
			return results, err
		}
		start = end
	}
	return results, nil
}

// batchLen returns how many of values go in the next transaction: at
// most maxOps, and no more than maxTxnBytes together unless one alone,
// so that a transaction stays under etcd's request limit.
func batchLen(values [][]byte, maxOps int) int {
	n, size := 0, 0
	for n < len(values) && n < maxOps {
		size += len(values[n])
		if n > 0 && size > maxTxnBytes {
			break
		}
		n++
	}
	return n
}

func (d *DesiredStore) applyBatch(ctx context.Context, keys []specs.GroupKey, values [][]byte) ([]ApplyResult, error) {
	bo := backoff.New(d.c.opts.RetryMin, d.c.opts.RetryMax)
	var err error
	for attempt := 0; attempt < applyAttempts; attempt++ {
		if attempt > 0 {
			if werr := bo.Wait(ctx); werr != nil {
				return nil, werr
			}
		}
		var results []ApplyResult
		var ops []Op
		results, ops, err = d.planBatch(ctx, keys, values)
		if err != nil {
			return nil, err
		}
		if len(ops) == 0 {
			return results, nil
		}
		if d.beforeCommit != nil {
			d.beforeCommit()
		}
		results, err = d.commitResults(ctx, results, ops)
		if errors.Is(err, ErrConflict) {
			continue
		}
		return results, err
	}
	return nil, fmt.Errorf("gave up after %d attempts, others keep writing the same groups: %w", applyAttempts, err)
}

// planBatch reads the current value of every key in one transaction (one
// revision) and decides, per group, what to write.
func (d *DesiredStore) planBatch(ctx context.Context, keys []specs.GroupKey, values [][]byte) ([]ApplyResult, []Op, error) {
	gets := make([]clientv3.Op, len(keys))
	for i, k := range keys {
		gets[i] = clientv3.OpGet(specs.DesiredKey(d.c.opts.Prefix, k))
	}
	rctx, cancel := d.c.reqCtx(ctx)
	defer cancel()
	resp, err := d.c.cli.Txn(rctx).Then(gets...).Commit()
	if err != nil {
		return nil, nil, fmt.Errorf("read %d group(s) from /desired: %w", len(keys), err)
	}
	results := make([]ApplyResult, len(keys))
	var ops []Op
	for i, k := range keys {
		results[i].Key = k
		kvs := resp.Responses[i].GetResponseRange().Kvs
		if len(kvs) == 0 {
			results[i].Action = Created
			ops = append(ops, Op{Key: k, Value: values[i]})
			continue
		}
		kv := kvs[0]
		if stored, err := specs.DecodeStored(k, kv.Value); err == nil && bytes.Equal(StoredValue(stored), values[i]) {
			results[i].Action, results[i].Revision = Unchanged, kv.ModRevision
			continue
		}
		results[i].Action = Changed
		ops = append(ops, Op{Key: k, Value: values[i], ExpectedRevision: kv.ModRevision})
	}
	return results, ops, nil
}
