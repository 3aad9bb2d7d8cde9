package etcd

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/model"
	"theseus.dev/specs"
)

// PruneDeletion is one app the prune deleted (model.PruneDeletion).
type PruneDeletion = model.PruneDeletion

// PruneRelease is an operator's release of the mass-deletion guard
// (model.PruneRelease).
type PruneRelease = model.PruneRelease

// PruneState is the mass-deletion guard's record under /theseus/prune/
// (model.PruneState).
type PruneState = model.PruneState

// PruneStore keeps the mass-deletion guard's record: the deletions the
// leader makes (fenced) and the release an operator writes.
type PruneStore struct{ c *Client }

// Prune returns the store of the mass-deletion guard's record.
func (c *Client) Prune() *PruneStore { return &PruneStore{c: c} }

func (s *PruneStore) dir() string          { return s.c.opts.Prefix + specs.TheseusDir + "prune/" }
func (s *PruneStore) deletionsKey() string { return s.dir() + "deletions" }
func (s *PruneStore) releaseKey() string   { return s.dir() + "release" }

// Read reads the record in one linearizable request.
func (s *PruneStore) Read(ctx context.Context) (PruneState, error) {
	rctx, cancel := s.c.reqCtx(ctx)
	defer cancel()
	resp, err := s.c.cli.Get(rctx, s.dir(), clientv3.WithPrefix())
	if err != nil {
		return PruneState{}, fmt.Errorf("read %s: %w", s.dir(), err)
	}
	var st PruneState
	for _, kv := range resp.Kvs {
		switch string(kv.Key) {
		case s.deletionsKey():
			if err := json.Unmarshal(kv.Value, &st.Deletions); err != nil {
				return PruneState{}, fmt.Errorf("%s: %w: %w", kv.Key, ErrCorrupt, err)
			}
			st.Revision = kv.ModRevision
		case s.releaseKey():
			var r PruneRelease
			if err := json.Unmarshal(kv.Value, &r); err != nil {
				return PruneState{}, fmt.Errorf("%s: %w: %w", kv.Key, ErrCorrupt, err)
			}
			st.Release = &r
		}
	}
	return st, nil
}

// Record adds d to the deletions of prev, dropping those before since,
// if fence still holds and the deletions are still as read in prev. A
// fence that no longer holds returns an error matching ErrNotLeader; a
// record changed since prev was read, one matching ErrConflict.
func (s *PruneStore) Record(ctx context.Context, fence Fence, prev PruneState, d PruneDeletion, since time.Time) error {
	var keep []PruneDeletion
	for _, old := range prev.Deletions {
		if !old.At.Before(since) {
			keep = append(keep, old)
		}
	}
	data, err := json.Marshal(append(keep, d))
	if err != nil {
		return fmt.Errorf("encode %s: %w", s.deletionsKey(), err)
	}
	key := s.deletionsKey()
	_, err = s.c.swap(ctx, fence, key, prev.Revision, clientv3.OpPut(key, string(data)))
	return err
}

// Release writes r, replacing any earlier release.
func (s *PruneStore) Release(ctx context.Context, r PruneRelease) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	rctx, cancel := s.c.reqCtx(ctx)
	defer cancel()
	if _, err := s.c.cli.Put(rctx, s.releaseKey(), string(data)); err != nil {
		return fmt.Errorf("write %s: %w", s.releaseKey(), err)
	}
	return nil
}

// Revoke removes the release, if any.
func (s *PruneStore) Revoke(ctx context.Context) error {
	rctx, cancel := s.c.reqCtx(ctx)
	defer cancel()
	if _, err := s.c.cli.Delete(rctx, s.releaseKey()); err != nil {
		return fmt.Errorf("delete %s: %w", s.releaseKey(), err)
	}
	return nil
}
