package etcd

import (
	"context"
	"fmt"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/specs"
)

// HistoryDir holds the bounded history of each group:
// {prefix}/theseus/history/{service}/{labels}, a specs.History as JSON,
// written by the leader only.
const HistoryDir = specs.TheseusDir + "history/"

// historyAttempts is how often UpdateMany reads a history again after
// another write to it came between its read and its write.
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
	return decodeHistory(key, resp.Kvs)
}

// decodeHistory decodes the history read at key, with its mod revision:
// an empty one, at 0, when there is none.
func decodeHistory(key string, kvs []*mvccpb.KeyValue) (*specs.History, int64, error) {
	if len(kvs) == 0 {
		return &specs.History{}, 0, nil
	}
	h, err := specs.DecodeHistory(kvs[0].Value)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w: %w", key, ErrCorrupt, err)
	}
	return h, kvs[0].ModRevision, nil
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
	var written *specs.History
	err := s.UpdateMany(ctx, fence, []HistoryEdit{{Key: k, Edit: func(h *specs.History, _ func(int64) (specs.Writer, error)) error {
		written = h // trimmed in place before it is written
		return edit(h)
	}}})[0]
	if err != nil {
		return nil, err
	}
	return written, nil
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
