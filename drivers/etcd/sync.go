package etcd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/model"
	"theseus.dev/specs"
)

// SyncOwnersDir holds one ownership record per /desired key that a sync
// source wrote (specs.SyncOwnersDir).
const SyncOwnersDir = specs.SyncOwnersDir

// SyncOwnerKey returns the etcd key of group k's ownership record.
func SyncOwnerKey(prefix string, k specs.GroupKey) string { return specs.SyncOwnerKey(prefix, k) }

// Ownership records which sync source wrote a /desired key
// (specs.Ownership).
type Ownership = specs.Ownership

// maxTxnBytes bounds the values of one transaction of Apply or a sync,
// below etcd's default request limit of 1.5 MiB. A spec is stored in at
// most specs.MaxSpecBytes (specs.CheckStoredSize), so it always fits alone.
const maxTxnBytes = 1 << 20

// SyncStore is /desired with the ownership records of the sync sources,
// as package sources reads and writes them: storage only, the policy
// (who owns what, adopting, releasing) is the sources'.
type SyncStore struct{ c *Client }

// SyncStore returns the store of /desired and its ownership records.
func (c *Client) SyncStore() *SyncStore { return &SyncStore{c: c} }

// Read reads /desired and the ownership records at one revision, paging
// through both. A record that does not decode is in the state with its
// error.
func (s *SyncStore) Read(ctx context.Context) (*model.OwnedState, error) {
	prefix := s.c.opts.Prefix
	var err error
	for range listAttempts {
		kvs, rev, rerr := s.c.rangeAll(ctx, prefix+specs.DesiredDir)
		if rerr != nil {
			return nil, rerr
		}
		okvs, _, oerr := s.c.rangeAt(ctx, prefix+SyncOwnersDir, rev, nil)
		if errors.Is(oerr, rpctypes.ErrCompacted) {
			err = oerr
			continue
		}
		if oerr != nil {
			return nil, fmt.Errorf("list %s: %w", prefix+SyncOwnersDir, oerr)
		}
		st := &model.OwnedState{Revision: rev,
			Desired: make(map[specs.GroupKey]model.StoredValue, len(kvs)),
			Owners:  make(map[specs.GroupKey]model.OwnerRecord, len(okvs))}
		for _, kv := range kvs {
			if k, err := specs.ParseDesiredKey(prefix, string(kv.Key)); err == nil {
				st.Desired[k] = model.StoredValue{Value: kv.Value, ModRevision: kv.ModRevision}
			}
		}
		for _, kv := range okvs {
			k, err := specs.ParseGroupKey(strings.TrimPrefix(string(kv.Key), prefix+SyncOwnersDir))
			if err != nil {
				continue // not a record theseus wrote
			}
			o := model.OwnerRecord{ModRevision: kv.ModRevision}
			own, err := decodeOwnership(kv.Value)
			if err != nil {
				o.Err = fmt.Errorf("ownership record %s does not decode: %w", kv.Key, err)
			}
			o.Ownership = own
			st.Owners[k] = o
		}
		return st, nil
	}
	return nil, fmt.Errorf("list %s: %w", prefix+SyncOwnersDir, err)
}

// Batch returns how many of writes, from the first, fit in one
// transaction: at most MaxTxnOps operations and about 1 MiB, at least
// one write.
func (s *SyncStore) Batch(writes []model.OwnedWrite) int {
	n, size := 0, 0
	for n < len(writes) && 2*(n+1) <= MaxTxnOps {
		size += len(writes[n].Value) + len(writes[n].Owner)
		if n > 0 && size > maxTxnBytes {
			break
		}
		n++
	}
	return n
}

// Commit makes the writes of batch in one transaction: each group's
// /desired key and ownership record together, guarded by the mod
// revisions of both as read at revision read, so a key someone else wrote
// since is never overwritten: the transaction fails with a
// *ConflictError, and nothing of it is written. It returns the
// transaction's revision.
//
// A batch that only creates, both keys of each group absent when read, is
// guarded as a whole: no key from its first to its last, in /desired and
// among the records, may have been written since read. That holds every
// key of the batch to being absent still, with two compares instead of
// two a group, which would make etcd's work on the transaction twice
// that of its puts; a key written meanwhile between them that the batch
// does not write fails it too, and the sync plans again.
func (s *SyncStore) Commit(ctx context.Context, read int64, batch []model.OwnedWrite) (int64, error) {
	prefix := s.c.opts.Prefix
	then := make([]clientv3.Op, 0, 2*len(batch))
	for _, w := range batch {
		dk, ok := specs.DesiredKey(prefix, w.Key), SyncOwnerKey(prefix, w.Key)
		switch {
		case w.Value != nil:
			then = append(then, clientv3.OpPut(dk, string(w.Value)))
		case w.DeleteDesired:
			then = append(then, clientv3.OpDelete(dk))
		}
		if w.Owner != nil {
			then = append(then, clientv3.OpPut(ok, string(w.Owner)))
		} else {
			then = append(then, clientv3.OpDelete(ok))
		}
	}
	rctx, cancel := s.c.reqCtx(ctx)
	defer cancel()
	// No else branch reading the keys back: it would make every
	// transaction of a sync half as large again, for the rare one that
	// fails, which reads them afterwards instead.
	resp, err := s.c.cli.Txn(rctx).If(s.guard(read, batch)...).Then(then...).Commit()
	if err != nil {
		return 0, fmt.Errorf("sync: commit %d group(s): %w", len(batch), err)
	}
	if resp.Succeeded {
		return resp.Header.Revision, nil
	}
	return 0, s.conflicts(ctx, batch)
}

// guard returns the compares of a batch read at revision read: per key,
// or for a batch that only creates, over the span of its keys.
func (s *SyncStore) guard(read int64, batch []model.OwnedWrite) []clientv3.Cmp {
	prefix := s.c.opts.Prefix
	creates := read > 0
	for _, w := range batch {
		creates = creates && w.DesiredRevision == 0 && w.OwnerRevision == 0
	}
	if creates {
		first, last := batch[0].Key, batch[0].Key
		for _, w := range batch[1:] {
			if w.Key.CompareNames(first) < 0 {
				first = w.Key
			}
			if w.Key.CompareNames(last) > 0 {
				last = w.Key
			}
		}
		// The end of a range is exclusive: last itself is in.
		return []clientv3.Cmp{
			clientv3.Compare(clientv3.ModRevision(specs.DesiredKey(prefix, first)), "<", read+1).
				WithRange(specs.DesiredKey(prefix, last) + "\x00"),
			clientv3.Compare(clientv3.ModRevision(SyncOwnerKey(prefix, first)), "<", read+1).
				WithRange(SyncOwnerKey(prefix, last) + "\x00"),
		}
	}
	cmps := make([]clientv3.Cmp, 0, 2*len(batch))
	for _, w := range batch {
		cmps = append(cmps,
			clientv3.Compare(clientv3.ModRevision(specs.DesiredKey(prefix, w.Key)), "=", w.DesiredRevision),
			clientv3.Compare(clientv3.ModRevision(SyncOwnerKey(prefix, w.Key)), "=", w.OwnerRevision))
	}
	return cmps
}

// conflicts reads back the keys of a batch whose transaction failed and
// names those whose mod revisions are not the ones expected. A key that
// moved and came back to absent by then is not named; the error matches
// ErrConflict all the same.
func (s *SyncStore) conflicts(ctx context.Context, batch []model.OwnedWrite) error {
	prefix := s.c.opts.Prefix
	gets := make([]clientv3.Op, 0, 2*len(batch))
	for _, w := range batch {
		gets = append(gets, clientv3.OpGet(specs.DesiredKey(prefix, w.Key), clientv3.WithKeysOnly()),
			clientv3.OpGet(SyncOwnerKey(prefix, w.Key), clientv3.WithKeysOnly()))
	}
	rctx, cancel := s.c.reqCtx(ctx)
	defer cancel()
	resp, err := s.c.cli.Txn(rctx).Then(gets...).Commit()
	if err != nil {
		return fmt.Errorf("sync: %w; reading back its keys: %w", ErrConflict, err)
	}
	ce := &ConflictError{}
	for i, w := range batch {
		for j, expected := range []int64{w.DesiredRevision, w.OwnerRevision} {
			var actual int64
			if kvs := resp.Responses[2*i+j].GetResponseRange().Kvs; len(kvs) > 0 {
				actual = kvs[0].ModRevision
			}
			if actual != expected {
				key := specs.DesiredKey(prefix, w.Key)
				if j == 1 {
					key = SyncOwnerKey(prefix, w.Key)
				}
				ce.Conflicts = append(ce.Conflicts, Conflict{Key: key, Expected: expected, Actual: actual})
			}
		}
	}
	return ce
}

// SyncOwner returns the ownership record of group k, and whether there
// is one.
func (c *Client) SyncOwner(ctx context.Context, k specs.GroupKey) (Ownership, bool, error) {
	key := SyncOwnerKey(c.opts.Prefix, k)
	rctx, cancel := c.reqCtx(ctx)
	defer cancel()
	resp, err := c.cli.Get(rctx, key)
	if err != nil {
		return Ownership{}, false, fmt.Errorf("get %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return Ownership{}, false, nil
	}
	o, err := decodeOwnership(resp.Kvs[0].Value)
	if err != nil {
		return Ownership{}, false, fmt.Errorf("%s: %w", key, err)
	}
	return o, true, nil
}

// decodeOwnership decodes an ownership record; one that is not JSON or
// names no owner is an error matching ErrCorrupt, as every reader of the
// records (sync, delete, rollback, WriterOf) must see it alike.
func decodeOwnership(data []byte) (Ownership, error) {
	var o Ownership
	if err := json.Unmarshal(data, &o); err != nil {
		return Ownership{}, fmt.Errorf("%w: ownership: %w", ErrCorrupt, err)
	}
	if o.Owner == "" {
		return Ownership{}, fmt.Errorf("%w: ownership: no owner", ErrCorrupt)
	}
	return o, nil
}
