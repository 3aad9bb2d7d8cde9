package etcd

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/etcd/api/v3/mvccpb"

	"theseus.dev/internal/parallel"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// Entry is one key under /desired as read (model.DesiredEntry).
type Entry = model.DesiredEntry

// Snapshot is the whole of /desired at one revision
// (model.DesiredSnapshot).
type Snapshot = model.DesiredSnapshot

// DesiredStore reads and writes the group specs under /desired.
type DesiredStore struct {
	c *Client
	// beforeCommit, when set, runs between the read and the write of each
	// Apply batch; tests use it to provoke conflicts.
	beforeCommit func()
	// writer, when set, is the specs.Writer (JSON) recorded with every
	// write (WithWriter).
	writer []byte
}

// Desired returns the store of /desired.
func (c *Client) Desired() *DesiredStore { return &DesiredStore{c: c} }

func (d *DesiredStore) dir() string { return d.c.opts.Prefix + specs.DesiredDir }

// List reads every key under /desired as one consistent snapshot, paging
// through large sets. Every key is decoded and validated; a key or value
// that is invalid is in the snapshot with its errors. An error means the
// snapshot could not be read at all: it never means "empty".
func (d *DesiredStore) List(ctx context.Context) (*Snapshot, error) {
	kvs, rev, err := d.c.rangeAll(ctx, d.dir())
	if err != nil {
		return nil, err
	}
	snap := &Snapshot{Revision: rev, Entries: make([]Entry, len(kvs))}
	d.decodeAll(kvs, snap.Entries)
	return snap, nil
}

// decodeAll decodes kvs into out. Decoding and validation cost more than
// reading (about 10 µs per spec), so they run on every CPU.
func (d *DesiredStore) decodeAll(kvs []*mvccpb.KeyValue, out []Entry) {
	parallel.For(len(kvs), func(i int) { out[i] = d.decode(kvs[i]) })
}

// Get reads the group's key. It returns an error matching
// ErrDesiredNotFound if the key does not exist; an invalid value is an
// Entry with Errors, not an error.
func (d *DesiredStore) Get(ctx context.Context, k specs.GroupKey) (Entry, error) {
	key := specs.DesiredKey(d.c.opts.Prefix, k)
	rctx, cancel := d.c.reqCtx(ctx)
	defer cancel()
	resp, err := d.c.cli.Get(rctx, key)
	if err != nil {
		return Entry{}, fmt.Errorf("get %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return Entry{}, fmt.Errorf("%s: %w", key, ErrDesiredNotFound)
	}
	return d.decode(resp.Kvs[0]), nil
}

// decode turns a /desired key-value into an Entry. Decoded entries are
// not kept: a relist of 10,000 unchanged specs decodes them again (about
// 0.1 s), which is rarer and cheaper than keeping a copy of every spec
// for it.
func (d *DesiredStore) decode(kv *mvccpb.KeyValue) Entry {
	return decodeEntry(d.c.opts.Prefix, kv)
}

// decodeEntry turns a /desired key-value into an Entry, recording rather
// than returning every problem.
func decodeEntry(prefix string, kv *mvccpb.KeyValue) Entry {
	e := Entry{EtcdKey: string(kv.Key), ModRevision: kv.ModRevision, Value: kv.Value}
	k, err := specs.ParseDesiredKey(prefix, e.EtcdKey)
	if err != nil {
		msg := err.Error()
		if ke := (*specs.KeyError)(nil); errors.As(err, &ke) {
			msg = "names no group: " + ke.Err.Error() // File names the key
		}
		e.Errors = specs.ErrorList{{File: e.EtcdKey, Msg: msg}}
		return e
	}
	e.Key = k
	g, err := specs.DecodeStored(k, kv.Value)
	if err != nil {
		e.Errors = specs.Errors(err)
		return e
	}
	e.Group = g
	return e
}

// StoredValue returns the bytes theseus writes for g (specs.StoredValue).
func StoredValue(g *specs.Group) []byte { return specs.StoredValue(g) }

// Confirm reads, in one linearizable transaction guarded by fence, the mod
// revision of group k's /desired key (0 if absent). A controller calls it
// before each Marathon write: a daemon cut off from the etcd majority, or
// no longer the leader, gets an error instead of acting on a view that
// may be stale, and a revision other than the one it acts on says that
// its view is behind. An ended leadership is an error matching
// ErrNotLeader; the zero Fence reads unfenced.
func (d *DesiredStore) Confirm(ctx context.Context, fence Fence, k specs.GroupKey) (int64, error) {
	rev, _, err := d.confirm(ctx, fence, k, false)
	return rev, err
}
