package etcd

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/model"
	"theseus.dev/specs"
)

// PauseDir holds one record per paused group:
// {prefix}/theseus/pause/{service}/{labels}, a specs.Pause as JSON,
// written and removed by `theseusd pause` and `theseusd resume`.
const PauseDir = specs.TheseusDir + "pause/"

// PauseKey returns the etcd key of group k's pause record.
func PauseKey(prefix string, k specs.GroupKey) string { return prefix + PauseDir + k.String() }

// PauseStore keeps the pause records.
type PauseStore struct{ c *Client }

// Pauses returns the store of the pause records.
func (c *Client) Pauses() *PauseStore { return &PauseStore{c: c} }

// Pause records p for group k, replacing any earlier record, and returns
// the earlier one (nil when the group was not paused).
func (s *PauseStore) Pause(ctx context.Context, k specs.GroupKey, p specs.Pause) (*specs.Pause, error) {
	data, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	key := PauseKey(s.c.opts.Prefix, k)
	rctx, cancel := s.c.reqCtx(ctx)
	defer cancel()
	resp, err := s.c.cli.Put(rctx, key, string(data), clientv3.WithPrevKV())
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", key, err)
	}
	return prevPause(resp.PrevKv), nil
}

// Resume removes group k's pause record and returns it (nil when the
// group was not paused).
func (s *PauseStore) Resume(ctx context.Context, k specs.GroupKey) (*specs.Pause, error) {
	key := PauseKey(s.c.opts.Prefix, k)
	rctx, cancel := s.c.reqCtx(ctx)
	defer cancel()
	resp, err := s.c.cli.Delete(rctx, key, clientv3.WithPrevKV())
	if err != nil {
		return nil, fmt.Errorf("delete %s: %w", key, err)
	}
	if len(resp.PrevKvs) == 0 {
		return nil, nil
	}
	return prevPause(resp.PrevKvs[0]), nil
}

// prevPause decodes a record being replaced or removed; one that does
// not decode is still a pause, of unknown origin.
func prevPause(kv *mvccpb.KeyValue) *specs.Pause {
	if kv == nil {
		return nil
	}
	p, err := decodePause(kv.Value)
	if err != nil {
		return &specs.Pause{By: "unknown", Reason: "(the record does not decode)"}
	}
	return p
}

// Get returns group k's pause record, nil when the group is not paused.
// A record that does not decode is an error matching ErrCorrupt: the
// group counts as paused, since someone meant it to be.
func (s *PauseStore) Get(ctx context.Context, k specs.GroupKey) (*specs.Pause, error) {
	key := PauseKey(s.c.opts.Prefix, k)
	rctx, cancel := s.c.reqCtx(ctx)
	defer cancel()
	resp, err := s.c.cli.Get(rctx, key)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, nil
	}
	p, err := decodePause(resp.Kvs[0].Value)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return p, nil
}

// PauseEntry is one pause record as listed; Err, when set, matches
// ErrCorrupt.
type PauseEntry = model.PauseEntry

// List reads every pause record as one snapshot, in key order, with the
// revision it was read at. A key that names no group is left out.
func (s *PauseStore) List(ctx context.Context) ([]PauseEntry, int64, error) {
	dir := s.c.opts.Prefix + PauseDir
	kvs, rev, err := s.c.rangeAll(ctx, dir)
	if err != nil {
		return nil, 0, err
	}
	var out []PauseEntry
	for _, kv := range kvs {
		k, err := specs.ParseGroupKey(strings.TrimPrefix(string(kv.Key), dir))
		if err != nil {
			continue
		}
		p, err := decodePause(kv.Value)
		if err != nil {
			err = fmt.Errorf("%s: %w", kv.Key, err)
		}
		out = append(out, PauseEntry{Key: k, Pause: p, Err: err})
	}
	return out, rev, nil
}

// Watch calls changed after each change of the pause records (and once
// when it starts, and after a gap it cannot account for), until ctx
// ends; it then returns ctx's error. A reader lists them again.
func (s *PauseStore) Watch(ctx context.Context, changed func()) error {
	return s.c.watchChanges(ctx, s.c.opts.Prefix+PauseDir, changed)
}

func decodePause(data []byte) (*specs.Pause, error) {
	var p specs.Pause
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("%w: pause: %w", ErrCorrupt, err)
	}
	return &p, nil
}

// ConfirmUnpaused is Confirm that also reads group k's pause record in
// the same fenced transaction: the read a controller makes before each
// Marathon write, so that a pause written a moment before holds that
// write back. It returns the /desired mod revision (0 if absent) and the
// pause record, nil when the group is not paused (a record that does not
// decode counts as a pause, with By "unknown").
func (d *DesiredStore) ConfirmUnpaused(ctx context.Context, fence Fence, k specs.GroupKey) (int64, *specs.Pause, error) {
	return d.confirm(ctx, fence, k, true)
}

// confirm reads the mod revision of group k's /desired key and, with
// pause, its pause record, in one transaction guarded by fence (unless
// it is the zero Fence).
func (d *DesiredStore) confirm(ctx context.Context, fence Fence, k specs.GroupKey, pause bool) (int64, *specs.Pause, error) {
	key := specs.DesiredKey(d.c.opts.Prefix, k)
	rctx, cancel := d.c.reqCtx(ctx)
	defer cancel()
	txn := d.c.cli.Txn(rctx)
	if fence.Key != "" {
		txn = txn.If(fenceCmp(fence))
	}
	ops := []clientv3.Op{clientv3.OpGet(key, clientv3.WithKeysOnly())}
	if pause {
		ops = append(ops, clientv3.OpGet(PauseKey(d.c.opts.Prefix, k)))
	}
	resp, err := txn.Then(ops...).Commit()
	if err != nil {
		return 0, nil, fmt.Errorf("confirm %s: %w", key, err)
	}
	if !resp.Succeeded {
		return 0, nil, fmt.Errorf("confirm %s: %w", key, ErrNotLeader)
	}
	var rev int64
	if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
		rev = kvs[0].ModRevision
	}
	var p *specs.Pause
	if pause {
		if kvs := resp.Responses[1].GetResponseRange().Kvs; len(kvs) > 0 {
			p = prevPause(kvs[0])
		}
	}
	return rev, p, nil
}
