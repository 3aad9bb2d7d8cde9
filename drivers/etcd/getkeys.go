package etcd

import (
	"context"
	"fmt"
	"sync"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/model"
	"theseus.dev/specs"
)

// getKeysParallel is how many transactions of getKeys run at once after
// the first.
const getKeysParallel = 4

// getKeys reads the etcd keys that name gives for keys, MaxTxnOps to a
// transaction, the first at the current revision and the rest, a few at
// a time, at that same revision, and calls found (one call at a time) for
// each key that exists. It returns the revision read at.
func (c *Client) getKeys(ctx context.Context, keys []specs.GroupKey, name func(specs.GroupKey) string,
	found func(specs.GroupKey, *mvccpb.KeyValue) error) (int64, error) {
	var mu sync.Mutex
	batch := func(batch []specs.GroupKey, rev int64) (int64, error) {
		var opts []clientv3.OpOption
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		gets := make([]clientv3.Op, len(batch))
		for i, k := range batch {
			gets[i] = clientv3.OpGet(name(k), opts...)
		}
		rctx, cancel := c.reqCtx(ctx)
		resp, err := c.cli.Txn(rctx).Then(gets...).Commit()
		cancel()
		if err != nil {
			return 0, fmt.Errorf("read %d key(s): %w", len(batch), err)
		}
		mu.Lock()
		defer mu.Unlock()
		for i, k := range batch {
			if kvs := resp.Responses[i].GetResponseRange().Kvs; len(kvs) > 0 {
				if err := found(k, kvs[0]); err != nil {
					return 0, err
				}
			}
		}
		return resp.Header.Revision, nil
	}
	first := keys[:min(MaxTxnOps, len(keys))]
	rev, err := batch(first, 0)
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	sem := make(chan struct{}, getKeysParallel)
	for start := len(first); start < len(keys); start += MaxTxnOps {
		sem <- struct{}{}
		b := keys[start:min(start+MaxTxnOps, len(keys))]
		wg.Go(func() {
			defer func() { <-sem }()
			if _, err := batch(b, rev); err != nil {
				select {
				case errs <- err:
				default:
				}
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errs:
		return 0, err
	default:
		return rev, nil
	}
}

// Revisions returns the mod revision of the /desired key of each of keys
// (absent keys are left out, as a key of revision 0 would be), read at one
// revision, which it returns too.
func (d *DesiredStore) Revisions(ctx context.Context, keys []specs.GroupKey) (map[specs.GroupKey]int64, int64, error) {
	stored, rev, err := d.Stored(ctx, keys)
	if err != nil {
		return nil, 0, err
	}
	out := make(map[specs.GroupKey]int64, len(stored))
	for k, s := range stored {
		out[k] = s.ModRevision
	}
	return out, rev, nil
}

// Stored is Revisions with the values: whether an Apply would rewrite a
// group is told by comparing its StoredValue with the value.
func (d *DesiredStore) Stored(ctx context.Context, keys []specs.GroupKey) (map[specs.GroupKey]model.StoredValue, int64, error) {
	out := make(map[specs.GroupKey]model.StoredValue, len(keys))
	rev, err := d.c.getKeys(ctx, keys, func(k specs.GroupKey) string { return specs.DesiredKey(d.c.opts.Prefix, k) },
		func(k specs.GroupKey, kv *mvccpb.KeyValue) error {
			out[k] = model.StoredValue{Value: kv.Value, ModRevision: kv.ModRevision}
			return nil
		})
	if err != nil {
		return nil, 0, fmt.Errorf("/desired: %w", err)
	}
	return out, rev, nil
}

// GroupConfigs returns the config /services holds for each of keys that
// has one, read at one revision. A group without a config key (or not in
// the tree at all) is left out; a config that does not decode is an error
// matching ErrCorrupt.
func (d *Discovery) GroupConfigs(ctx context.Context, keys []specs.GroupKey) (map[specs.GroupKey]map[string]string, error) {
	out := make(map[specs.GroupKey]map[string]string, len(keys))
	_, err := d.c.getKeys(ctx, keys, func(k specs.GroupKey) string { return d.configKey(k.Service, k.Labels) },
		func(k specs.GroupKey, kv *mvccpb.KeyValue) error {
			cfg, err := decodeConfig(kv.Value)
			if err != nil {
				return fmt.Errorf("%s: %w", kv.Key, err)
			}
			out[k] = cfg
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("/services: %w", err)
	}
	return out, nil
}

// GetMany reads the status of each of keys that has one, read at one
// revision; one that does not decode is left out, as if absent.
func (s *StatusStore) GetMany(ctx context.Context, keys []specs.GroupKey) (map[specs.GroupKey]*specs.Status, error) {
	out := make(map[specs.GroupKey]*specs.Status, len(keys))
	_, err := s.c.getKeys(ctx, keys, func(k specs.GroupKey) string { return specs.StatusKey(s.c.opts.Prefix, k) },
		func(k specs.GroupKey, kv *mvccpb.KeyValue) error {
			if st, err := decodeStatus(kv.Value); err == nil {
				out[k] = st
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.c.opts.Prefix+specs.StatusDir, err)
	}
	return out, nil
}

// GetMany reads the history of each of keys, as Get reads one, in a few
// transactions read at one revision: an empty history for a group that
// has none. A history that does not decode is an error matching
// ErrCorrupt.
func (s *HistoryStore) GetMany(ctx context.Context, keys []specs.GroupKey) (map[specs.GroupKey]*specs.History, error) {
	out := make(map[specs.GroupKey]*specs.History, len(keys))
	_, err := s.c.getKeys(ctx, keys, func(k specs.GroupKey) string { return HistoryKey(s.c.opts.Prefix, k) },
		func(k specs.GroupKey, kv *mvccpb.KeyValue) error {
			h, _, err := decodeHistory(string(kv.Key), []*mvccpb.KeyValue{kv})
			out[k] = h
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.c.opts.Prefix+HistoryDir, err)
	}
	for _, k := range keys {
		if out[k] == nil {
			out[k] = &specs.History{}
		}
	}
	return out, nil
}
