package etcd

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// listAttempts is how often a listing restarts when the revision it reads
// at is compacted between two pages.
const listAttempts = 3

// rangeAll reads every key with the given prefix as one consistent
// snapshot, Options.PageSize keys per request: the first page is a
// linearizable read at the current revision, and every later page is read
// at that same revision, so that the pages fit together even while others
// write. It returns the keys in key order and the revision they were read
// at. If that revision is compacted before the last page, it starts over.
func (c *Client) rangeAll(ctx context.Context, prefix string, opts ...clientv3.OpOption) ([]*mvccpb.KeyValue, int64, error) {
	var err error
	for range listAttempts {
		var kvs []*mvccpb.KeyValue
		var rev int64
		kvs, rev, err = c.rangeAt(ctx, prefix, 0, opts)
		if err == nil {
			return kvs, rev, nil
		}
		if !errors.Is(err, rpctypes.ErrCompacted) {
			break
		}
	}
	return nil, 0, fmt.Errorf("list %s: %w", prefix, err)
}

// rangeAt reads every key with the given prefix at revision rev, or at
// the current revision if rev is 0.
func (c *Client) rangeAt(ctx context.Context, prefix string, rev int64, extra []clientv3.OpOption) ([]*mvccpb.KeyValue, int64, error) {
	end := clientv3.GetPrefixRangeEnd(prefix)
	from := prefix
	var kvs []*mvccpb.KeyValue
	for {
		opts := append([]clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(int64(c.opts.PageSize))}, extra...)
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		rctx, cancel := c.reqCtx(ctx)
		resp, err := c.cli.Get(rctx, from, opts...)
		cancel()
		if err != nil {
			return nil, 0, err
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		kvs = append(kvs, resp.Kvs...)
		if !resp.More || len(resp.Kvs) == 0 {
			return kvs, rev, nil
		}
		// The next page starts just after the last key read.
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}
