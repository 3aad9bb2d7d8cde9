package etcd

import (
	"context"
	"encoding/json"
	"fmt"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/specs"
)

// WrittenByDir holds who last wrote each /desired key through theseusd
// apply or rollback: {prefix}/theseus/written-by/{service}/{labels}, a
// specs.Writer as JSON, written in the same transaction as the key, so
// that its mod revision is the key's exactly when it describes the
// key's current value.
const WrittenByDir = specs.TheseusDir + "written-by/"

// WrittenByKey returns the etcd key of the record of who wrote group k.
func WrittenByKey(prefix string, k specs.GroupKey) string { return prefix + WrittenByDir + k.String() }

// WithWriter returns a store whose writes to /desired (Put, Delete,
// Commit, Apply, ApplyAt) record w as their writer under WrittenByDir in
// the same transaction: a put writes the record, a delete removes it.
// Each key then takes two operations, so a transaction holds at most
// MaxTxnOps/2 keys.
func (d *DesiredStore) WithWriter(w specs.Writer) *DesiredStore {
	data, err := json.Marshal(w)
	if err != nil {
		panic("etcd: encode writer: " + err.Error()) // plain values only
	}
	c := *d
	c.writer = data
	return &c
}

// maxOps is the most /desired keys one transaction of this store holds.
func (d *DesiredStore) maxOps() int {
	if d.writer != nil {
		return MaxTxnOps / 2
	}
	return MaxTxnOps
}

// writerOp is the operation that records the writer of op, if the store
// has one.
func (d *DesiredStore) writerOp(op Op) (clientv3.Op, bool) {
	if d.writer == nil {
		return clientv3.Op{}, false
	}
	key := WrittenByKey(d.c.opts.Prefix, op.Key)
	if op.Value == nil {
		return clientv3.OpDelete(key), true
	}
	return clientv3.OpPut(key, string(d.writer)), true
}

// WriterOf says who wrote revision rev of group k's /desired key: the
// record apply or rollback wrote with it, or the ownership record sync
// wrote with it; a revision neither was written with (etcdctl put, a
// deletion, a record since replaced) is WriterUnknown. Both records are
// read in one request.
func (c *Client) WriterOf(ctx context.Context, k specs.GroupKey, rev int64) (specs.Writer, error) {
	rctx, cancel := c.reqCtx(ctx)
	defer cancel()
	ops := c.writerReads(k)
	resp, err := c.cli.Txn(rctx).Then(ops[:]...).Commit()
	if err != nil {
		return specs.Writer{}, fmt.Errorf("read who wrote %s: %w", k, err)
	}
	var rec writerRecords
	rec.set(c.opts.Prefix, k, resp.Responses[0].GetResponseRange().Kvs, resp.Responses[1].GetResponseRange().Kvs)
	return rec.writerOf(rev)
}

// writerReads are the reads of the two records that may say who wrote a
// revision of group k: the written-by record, then the ownership record.
func (c *Client) writerReads(k specs.GroupKey) [2]clientv3.Op {
	return [2]clientv3.Op{clientv3.OpGet(WrittenByKey(c.opts.Prefix, k)), clientv3.OpGet(SyncOwnerKey(c.opts.Prefix, k))}
}

// writerRecords are the records of who wrote a group's /desired key, as
// read: each describes the key's value of its own mod revision only.
type writerRecords struct {
	writtenKey, ownerKey string
	written, owner       *mvccpb.KeyValue // nil: absent
}

// set keeps the records read by writerReads.
func (r *writerRecords) set(prefix string, k specs.GroupKey, written, owner []*mvccpb.KeyValue) {
	r.writtenKey, r.ownerKey = WrittenByKey(prefix, k), SyncOwnerKey(prefix, k)
	if len(written) > 0 {
		r.written = written[0]
	}
	if len(owner) > 0 {
		r.owner = owner[0]
	}
}

// writerOf says who wrote revision rev, as WriterOf does.
func (r *writerRecords) writerOf(rev int64) (specs.Writer, error) {
	if kv := r.written; kv != nil && kv.ModRevision == rev {
		w, err := decodeWriter(kv.Value)
		if err != nil {
			return specs.Writer{}, fmt.Errorf("%s: %w", r.writtenKey, err)
		}
		return w, nil
	}
	if kv := r.owner; kv != nil && kv.ModRevision == rev {
		o, err := decodeOwnership(kv.Value)
		if err != nil {
			return specs.Writer{}, fmt.Errorf("%s: %w", r.ownerKey, err)
		}
		return specs.Writer{Kind: specs.WriterSync, Source: o.Owner, Ref: o.Source, File: o.File}, nil
	}
	return specs.Writer{Kind: specs.WriterUnknown}, nil
}

// decodeWriter decodes a record of who wrote a /desired key; one that is
// not a JSON object is an error matching ErrCorrupt.
func decodeWriter(data []byte) (specs.Writer, error) {
	var w specs.Writer
	if err := json.Unmarshal(data, &w); err != nil {
		return specs.Writer{}, fmt.Errorf("%w: writer: %w", ErrCorrupt, err)
	}
	return w, nil
}
