package etcd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/internal/backoff"
	"theseus.dev/specs"
)

// HistoryDir holds the bounded history of each group:
// {prefix}/theseus/history/{service}/{labels}, a specs.History as JSON,
// written by the leader only.
const HistoryDir = specs.TheseusDir + "history/"

// historyAttempts is how often Update reads again after another write to
// the history came between its read and its write.
const historyAttempts = 10

// HistoryStore keeps the history of each group. Only the leader writes,
// every write fenced; anyone reads.
type HistoryStore struct{ c *Client }

// History returns the store of the groups' histories.
func (c *Client) History() *HistoryStore { return &HistoryStore{c: c} }

// HistoryKey returns the etcd key of group k's history.
func HistoryKey(prefix string, k specs.GroupKey) string { return prefix + HistoryDir + k.String() }

// Get reads the history of group k: an empty one when there is none, an
// error matching ErrCorrupt when the value does not decode.
func (s *HistoryStore) Get(ctx context.Context, k specs.GroupKey) (*specs.History, error) {
	h, _, err := s.get(ctx, k)
	return h, err
}

func (s *HistoryStore) get(ctx context.Context, k specs.GroupKey) (*specs.History, int64, error) {
	key := HistoryKey(s.c.opts.Prefix, k)
	rctx, cancel := s.c.reqCtx(ctx)
	defer cancel()
	resp, err := s.c.cli.Get(rctx, key)
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return &specs.History{}, 0, nil
	}
	h, err := specs.DecodeHistory(resp.Kvs[0].Value)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w: %w", key, ErrCorrupt, err)
	}
	return h, resp.Kvs[0].ModRevision, nil
}

// Update reads group k's history, lets edit change it (Record an entry,
// set an outcome), bounds it (specs.MaxHistoryEntries,
// specs.MaxHistoryBytes) and writes it back if fence still holds and
// nobody wrote it meanwhile; a write that came between is read again, a
// few times. It returns the history as written. A fence that no longer
// holds is an error matching ErrNotLeader; a stored value that does not
// decode, one matching ErrCorrupt (Delete it to start afresh). An error
// from edit is returned as it is, and nothing is written.
func (s *HistoryStore) Update(ctx context.Context, fence Fence, k specs.GroupKey, edit func(*specs.History) error) (*specs.History, error) {
	key := HistoryKey(s.c.opts.Prefix, k)
	if fence.Key == "" || fence.Revision <= 0 {
		return nil, fmt.Errorf("write %s: no leadership fence: %w", key, ErrNotLeader)
	}
	bo := backoff.New(s.c.opts.RetryMin, s.c.opts.RetryMax)
	var err error
	for attempt := 0; attempt < historyAttempts; attempt++ {
		if attempt > 0 {
			if werr := bo.Wait(ctx); werr != nil {
				return nil, werr
			}
		}
		var h *specs.History
		var rev int64
		if h, rev, err = s.get(ctx, k); err != nil {
			return nil, err
		}
		if err := edit(h); err != nil {
			return nil, err
		}
		h.Trim(specs.MaxHistoryEntries, specs.MaxHistoryBytes)
		data, merr := json.Marshal(h)
		if merr != nil {
			return nil, fmt.Errorf("encode %s: %w", key, merr)
		}
		_, err = s.c.swap(ctx, fence, key, rev, clientv3.OpPut(key, string(data)))
		if !errors.Is(err, ErrConflict) {
			if err != nil {
				return nil, err
			}
			return h, nil
		}
	}
	return nil, fmt.Errorf("gave up after %d attempts: %w", historyAttempts, err)
}

// Record adds e to group k's history, or replaces the entry of its
// revision (see specs.History.Record), as Update does.
func (s *HistoryStore) Record(ctx context.Context, fence Fence, k specs.GroupKey, e specs.HistoryEntry) (*specs.History, error) {
	return s.Update(ctx, fence, k, func(h *specs.History) error { h.Record(e); return nil })
}

// Delete removes group k's history if fence still holds; removing an
// absent one is not an error.
func (s *HistoryStore) Delete(ctx context.Context, fence Fence, k specs.GroupKey) error {
	key := HistoryKey(s.c.opts.Prefix, k)
	_, err := s.c.fenced(ctx, fence, key, clientv3.OpDelete(key))
	return err
}
