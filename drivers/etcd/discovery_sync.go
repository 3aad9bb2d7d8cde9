package etcd

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/model"
	"theseus.dev/specs"
)

// GroupState is what a group of the tree is to hold: the target of
// SyncGroup (model.GroupState).
type GroupState = model.GroupState

// SyncResult says what SyncGroup wrote (model.SyncResult).
type SyncResult = model.SyncResult

// SyncGroup makes the group hold want, writing only the keys that differ
// from have (read by ReadTree or ReadGroup): the service and group nodes
// if missing, the config if changed, containers added, changed or
// removed, keys under the group that the layout does not name removed,
// and the revision key with the next generation. When nothing differs,
// nothing is written, the revision key included, unless the revision
// key does not decode: readers skip such a group, so it is rewritten.
//
// The write is one transaction, guarded by have: it fails with a
// *ConflictError if the revision key or any key of the group changed
// since have was read (re-read and try again), and with an error matching
// ErrNotLeader if fence no longer holds. The zero Fence writes unfenced.
//
// A change of more than MaxTxnOps-2 keys cannot be one transaction. It is
// written in several: the first also marks the revision key Pending, the
// last writes the final revision; readers skip a pending revision, so
// they still never see half of the change. Container keys are written
// without a lease (a key with one is rewritten without it), so that no
// key of the group can vanish without its revision key changing.
func (d *Discovery) SyncGroup(ctx context.Context, fence Fence, have *GroupEntry, want GroupState) (SyncResult, error) {
	k := have.Key
	if err := checkGroup(k.Service, k.Labels); err != nil {
		return SyncResult{}, err
	}
	for name := range want.Containers {
		if err := checkContainer(k.Service, k.Labels, name); err != nil {
			return SyncResult{}, err
		}
	}
	ops := d.changeOps(have, want)
	// A revision key read without a generation is one this never wrote
	// (it numbers from 1): one that did not decode is read as the zero
	// revision, and readers skip it, so it is rewritten.
	if len(ops) == 0 && have.RevisionModRev != 0 && have.Revision.Generation > 0 &&
		have.Revision.Stale == want.Stale && !have.Revision.Pending {
		return SyncResult{}, nil
	}
	rev := GroupRevision{
		Generation: have.Revision.Generation + 1,
		Containers: len(want.Containers),
		Stale:      want.Stale,
		UpdatedAt:  want.At,
	}
	if rev.UpdatedAt.IsZero() {
		rev.UpdatedAt = time.Now()
	}
	rev.UpdatedAt = rev.UpdatedAt.UTC()
	for _, c := range want.Containers {
		if c.Ready {
			rev.Ready++
		}
	}
	guards := d.guards(have)
	// Room for the revision key, and for the one write nested in the
	// service's conditional create, which etcd counts against the same
	// limit.
	const chunk = MaxTxnOps - 2
	if len(ops) <= chunk {
		r, err := d.commit(ctx, fence, have, have.RevisionModRev, guards, append(ops, d.putRevision(k, rev)))
		return SyncResult{Changed: true, Revision: r, Generation: rev.Generation, Txns: 1}, err
	}
	pending := rev
	pending.Pending = true
	res := SyncResult{Changed: true, Generation: rev.Generation + 1}
	rev.Generation++
	expected := have.RevisionModRev
	for i := 0; i < len(ops); i += chunk {
		batch := slices.Clone(ops[i:min(i+chunk, len(ops))])
		switch {
		case i == 0:
			batch = append(batch, d.putRevision(k, pending))
		case i+chunk >= len(ops):
			batch = append(batch, d.putRevision(k, rev))
		}
		r, err := d.commit(ctx, fence, have, expected, guards, batch)
		res.Txns++
		if err != nil {
			return res, err
		}
		res.Revision = r
		if i == 0 {
			// Later batches are guarded by the pending revision.
			guards = []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(d.revisionKey(k)), "=", r)}
			expected = r
		}
	}
	return res, nil
}

// SetGroupStale sets or clears the Stale flag of the group's revision,
// writing only the revision key, and reports whether it wrote. A group
// without a revision key, or whose flag is already as asked, is left
// alone. Guards and errors are those of SyncGroup.
func (d *Discovery) SetGroupStale(ctx context.Context, fence Fence, have *GroupEntry, stale bool, at time.Time) (bool, error) {
	if have.RevisionModRev == 0 || have.Revision.Stale == stale {
		return false, nil
	}
	rev := have.Revision
	rev.Generation++
	rev.Stale = stale
	rev.UpdatedAt = at.UTC()
	_, err := d.commit(ctx, fence, have, have.RevisionModRev, d.guards(have), []clientv3.Op{d.putRevision(have.Key, rev)})
	return err == nil, err
}

// DropGroup removes the group, every key under it and, if no other group
// is left in it, its service, in one transaction guarded like SyncGroup.
// It reports whether there was anything to remove.
func (d *Discovery) DropGroup(ctx context.Context, fence Fence, have *GroupEntry) (bool, error) {
	if have.MaxModRev == 0 {
		return false, nil
	}
	k := have.Key
	sdir, gkey, gdir := d.serviceDir(k.Service), d.groupKey(k.Service, k.Labels), d.groupDir(k.Service, k.Labels)
	// The service goes too when nothing else is below it. Compares are
	// evaluated before any delete, so the group's own keys are left out
	// of the ranges checked.
	empty := func(from, to string) clientv3.Cmp {
		return clientv3.Compare(clientv3.CreateRevision(from), "=", 0).WithRange(to)
	}
	ops := []clientv3.Op{
		clientv3.OpDelete(gkey),
		clientv3.OpDelete(gdir, clientv3.WithPrefix()),
		clientv3.OpTxn([]clientv3.Cmp{
			empty(sdir, gkey),
			empty(gkey+"\x00", gdir),
			empty(clientv3.GetPrefixRangeEnd(gdir), clientv3.GetPrefixRangeEnd(sdir)),
		}, []clientv3.Op{clientv3.OpDelete(d.serviceKey(k.Service))}, nil),
	}
	_, err := d.commit(ctx, fence, have, have.RevisionModRev, d.guards(have), ops)
	return err == nil, err
}

func (d *Discovery) revisionKey(k specs.GroupKey) string {
	return d.groupDir(k.Service, k.Labels) + RevisionKeyName
}

func (d *Discovery) putRevision(k specs.GroupKey, rev GroupRevision) clientv3.Op {
	return clientv3.OpPut(d.revisionKey(k), mustJSON(rev))
}

// guards are the compares of a write based on have: the revision key
// unchanged, and no key under the group or its node written since.
func (d *Discovery) guards(have *GroupEntry) []clientv3.Cmp {
	return []clientv3.Cmp{
		clientv3.Compare(clientv3.ModRevision(d.groupKey(have.Key.Service, have.Key.Labels)), "<", have.ReadRevision+1),
		clientv3.Compare(clientv3.ModRevision(d.revisionKey(have.Key)), "=", have.RevisionModRev),
		clientv3.Compare(clientv3.ModRevision(d.groupDir(have.Key.Service, have.Key.Labels)), "<", have.ReadRevision+1).WithPrefix(),
	}
}

// commit runs one transaction guarded by fence and cmps, which expect the
// revision key at mod revision expected, and returns its revision. On a failed guard it tells a lost fence from a group that
// changed.
func (d *Discovery) commit(ctx context.Context, fence Fence, have *GroupEntry, expected int64, cmps []clientv3.Cmp, ops []clientv3.Op) (int64, error) {
	k := have.Key
	rkey := d.revisionKey(k)
	orElse := []clientv3.Op{clientv3.OpGet(rkey, clientv3.WithKeysOnly())}
	if fence.Key != "" {
		cmps = append([]clientv3.Cmp{fenceCmp(fence)}, cmps...)
		orElse = append(orElse, clientv3.OpGet(fence.Key, clientv3.WithKeysOnly()))
	}
	rctx, cancel := d.c.reqCtx(ctx)
	defer cancel()
	resp, err := d.c.cli.Txn(rctx).If(cmps...).Then(ops...).Else(orElse...).Commit()
	if err != nil {
		return 0, fmt.Errorf("write group %s: %w", k, err)
	}
	if resp.Succeeded {
		return resp.Header.Revision, nil
	}
	if fence.Key != "" {
		kvs := resp.Responses[1].GetResponseRange().Kvs
		if len(kvs) == 0 || kvs[0].CreateRevision != fence.Revision {
			return 0, fmt.Errorf("write group %s: %w", k, ErrNotLeader)
		}
	}
	var actual int64
	if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
		actual = kvs[0].ModRevision
	}
	return 0, &ConflictError{Conflicts: []Conflict{{Key: rkey, Expected: expected, Actual: actual}}}
}

// changeOps are the writes that make have hold want, except the revision
// key: nodes, config and containers, and the removal of keys the layout
// does not name (a containers/{a}/{b}/info would look like a container
// to a reader that matches less strictly).
func (d *Discovery) changeOps(have *GroupEntry, want GroupState) []clientv3.Op {
	k := have.Key
	var ops []clientv3.Op
	if !have.ServiceExists {
		skey := d.serviceKey(k.Service)
		ops = append(ops, clientv3.OpTxn([]clientv3.Cmp{missing(skey)},
			[]clientv3.Op{clientv3.OpPut(skey, mustJSON(serviceMarker{Service: k.Service}))}, nil))
	}
	if marker := mustJSON(groupMarker{Service: k.Service, Labels: k.LabelSet()}); !have.Exists || have.Marker != marker {
		ops = append(ops, clientv3.OpPut(d.groupKey(k.Service, k.Labels), marker))
	}
	switch {
	case want.Config != nil:
		if cfg := mustJSON(want.Config); have.ConfigJSON == nil || *have.ConfigJSON != cfg {
			ops = append(ops, clientv3.OpPut(d.configKey(k.Service, k.Labels), cfg))
		}
	case have.ConfigJSON == nil:
		ops = append(ops, clientv3.OpPut(d.configKey(k.Service, k.Labels), "{}"))
	}
	for _, s := range have.Infos {
		if _, ok := want.Containers[s.Name]; !ok {
			ops = append(ops, clientv3.OpDelete(d.infoKey(k.Service, k.Labels, s.Name)))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(want.Containers)) {
		v := mustJSON(want.Containers[name])
		if s, _ := have.Info(name); !have.InfoIs(name, v) || s.Leased {
			ops = append(ops, clientv3.OpPut(d.infoKey(k.Service, k.Labels, name), v))
		}
	}
	if len(have.Others) > 0 { // almost never: no sort for the rest
		for _, key := range slices.Sorted(maps.Keys(have.Others)) {
			ops = append(ops, clientv3.OpDelete(key))
		}
	}
	return ops
}

// DecodeGroupRevision decodes the value of a revision key.
func DecodeGroupRevision(data []byte) (GroupRevision, error) { return model.DecodeGroupRevision(data) }
