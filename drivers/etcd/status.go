package etcd

import (
	"context"
	"encoding/json"
	"fmt"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/model"
	"theseus.dev/specs"
)

// Fence is the proof of leadership that guards the leader's writes
// (model.Fence).
type Fence = model.Fence

// fenceCmp is the transaction compare that holds while the fence is
// valid.
func fenceCmp(f Fence) clientv3.Cmp {
	return clientv3.Compare(clientv3.CreateRevision(f.Key), "=", f.Revision)
}

// StatusEntry is one key under /status as read; its Err matches
// ErrCorrupt.
type StatusEntry = model.StatusEntry

// StatusStore reads and writes /status/{service}/{labels}. Only the
// leader writes; every write is fenced.
type StatusStore struct {
	c *Client
}

// Status returns the store of /status.
func (c *Client) Status() *StatusStore { return &StatusStore{c: c} }

// StatusChange is one change of /status (model.StatusChange).
type StatusChange = model.StatusChange

// Write makes changes, in transactions of at most MaxTxnOps and about
// 1 MiB, each fenced: statuses written together cost etcd one write, not
// one each. A fence that no longer holds returns an error matching
// ErrNotLeader; the transactions committed before it stand.
func (s *StatusStore) Write(ctx context.Context, fence Fence, changes []StatusChange) error {
	if fence.Key == "" || fence.Revision <= 0 {
		return fmt.Errorf("write /status: no leadership fence: %w", ErrNotLeader)
	}
	values := make([][]byte, len(changes)) // nil: delete
	for i, ch := range changes {
		if ch.Status != nil {
			data, err := json.Marshal(ch.Status)
			if err != nil {
				return fmt.Errorf("encode status of %s: %w", ch.Key, err)
			}
			values[i] = data
		}
	}
	// A status too big to share a transaction with those before it goes
	// in the next one (batchLen): one request over etcd's limit would
	// hold back every status in it.
	ops := make([]clientv3.Op, 0, min(len(changes), MaxTxnOps))
	for start := 0; start < len(changes); {
		end := start + batchLen(values[start:], MaxTxnOps)
		ops = ops[:0]
		for i := start; i < end; i++ {
			key := specs.StatusKey(s.c.opts.Prefix, changes[i].Key)
			if values[i] == nil {
				ops = append(ops, clientv3.OpDelete(key))
			} else {
				ops = append(ops, clientv3.OpPut(key, string(values[i])))
			}
		}
		if err := s.commit(ctx, fence, ops); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// commit runs ops in one transaction fenced by fence.
func (s *StatusStore) commit(ctx context.Context, fence Fence, ops []clientv3.Op) error {
	rctx, cancel := s.c.reqCtx(ctx)
	defer cancel()
	resp, err := s.c.cli.Txn(rctx).If(fenceCmp(fence)).Then(ops...).Commit()
	switch {
	case err != nil:
		return fmt.Errorf("write /status: %w", err)
	case !resp.Succeeded:
		return fmt.Errorf("write /status: %w", ErrNotLeader)
	}
	return nil
}

// Get reads the status of group k; an absent one is an error matching
// ErrStatusNotFound, an undecodable one an entry with Err.
func (s *StatusStore) Get(ctx context.Context, k specs.GroupKey) (StatusEntry, error) {
	key := specs.StatusKey(s.c.opts.Prefix, k)
	rctx, cancel := s.c.reqCtx(ctx)
	defer cancel()
	resp, err := s.c.cli.Get(rctx, key)
	if err != nil {
		return StatusEntry{}, fmt.Errorf("get %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return StatusEntry{}, fmt.Errorf("%s: %w", key, ErrStatusNotFound)
	}
	return s.decode(resp.Kvs[0]), nil
}

// List reads every status as one snapshot and returns it in key order
// with the revision it was read at.
func (s *StatusStore) List(ctx context.Context) ([]StatusEntry, int64, error) {
	kvs, rev, err := s.c.rangeAll(ctx, s.c.opts.Prefix+specs.StatusDir)
	if err != nil {
		return nil, 0, err
	}
	out := make([]StatusEntry, len(kvs))
	for i, kv := range kvs {
		out[i] = s.decode(kv)
	}
	return out, rev, nil
}

func (s *StatusStore) decode(kv *mvccpb.KeyValue) StatusEntry {
	e := StatusEntry{EtcdKey: string(kv.Key), ModRevision: kv.ModRevision}
	k, err := specs.ParseStatusKey(s.c.opts.Prefix, e.EtcdKey)
	if err != nil {
		e.Err = fmt.Errorf("%w: %w", ErrCorrupt, err)
		return e
	}
	e.Key = k
	st, err := decodeStatus(kv.Value)
	if err != nil {
		e.Err = fmt.Errorf("%s: %w", e.EtcdKey, err)
		return e
	}
	e.Status = st
	return e
}

// decodeStatus decodes a status value. Unknown fields are accepted so
// that an older viewer can read what a newer daemon wrote.
func decodeStatus(data []byte) (*specs.Status, error) {
	var st specs.Status
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("%w: status: %w", ErrCorrupt, err)
	}
	return &st, nil
}
