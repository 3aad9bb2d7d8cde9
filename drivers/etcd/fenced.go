package etcd

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// fenced runs op if fence still holds, and returns the revision it
// wrote. The zero Fence, or one that no longer holds, is an error
// matching ErrNotLeader.
func (c *Client) fenced(ctx context.Context, fence Fence, key string, op clientv3.Op) (int64, error) {
	if fence.Key == "" || fence.Revision <= 0 {
		return 0, fmt.Errorf("write %s: no leadership fence: %w", key, ErrNotLeader)
	}
	rctx, cancel := c.reqCtx(ctx)
	defer cancel()
	resp, err := c.cli.Txn(rctx).If(fenceCmp(fence)).Then(op).Commit()
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", key, err)
	}
	if !resp.Succeeded {
		return 0, fmt.Errorf("write %s: %w", key, ErrNotLeader)
	}
	return resp.Header.Revision, nil
}

// swap runs op if key's mod revision is still rev (0: key absent) and,
// unless fence is the zero Fence, fence still holds, in one transaction,
// and returns the revision it wrote. A key changed since it was read is
// a *ConflictError (matching ErrConflict); a key as read under a fence
// that no longer holds, an error matching ErrNotLeader.
func (c *Client) swap(ctx context.Context, fence Fence, key string, rev int64, op clientv3.Op) (int64, error) {
	cmps := []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(key), "=", rev)}
	if fence.Key != "" {
		cmps = append(cmps, fenceCmp(fence))
	}
	rctx, cancel := c.reqCtx(ctx)
	defer cancel()
	resp, err := c.cli.Txn(rctx).If(cmps...).Then(op).Else(clientv3.OpGet(key, clientv3.WithKeysOnly())).Commit()
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", key, err)
	}
	if resp.Succeeded {
		return resp.Header.Revision, nil
	}
	var actual int64
	if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
		actual = kvs[0].ModRevision
	}
	if actual == rev {
		return 0, fmt.Errorf("write %s: %w", key, ErrNotLeader)
	}
	return 0, &ConflictError{Conflicts: []Conflict{{Key: key, Expected: rev, Actual: actual}}}
}
