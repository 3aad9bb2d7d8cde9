package etcd

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// fencedSwap runs op if fence still holds and key's mod revision is still
// rev (0: key absent), in one transaction. A fence that no longer holds
// returns an error matching ErrNotLeader; a key changed since it was
// read, one matching ErrConflict.
func (c *Client) fencedSwap(ctx context.Context, fence Fence, key string, rev int64, op clientv3.Op) error {
	rctx, cancel := c.reqCtx(ctx)
	defer cancel()
	resp, err := c.cli.Txn(rctx).
		If(fenceCmp(fence), clientv3.Compare(clientv3.ModRevision(key), "=", rev)).
		Then(op).
		Else(clientv3.OpGet(fence.Key)).Commit()
	if err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	if resp.Succeeded {
		return nil
	}
	if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) == 0 || kvs[0].CreateRevision != fence.Revision {
		return fmt.Errorf("write %s: %w", key, ErrNotLeader)
	}
	return fmt.Errorf("write %s: %w", key, ErrConflict)
}
