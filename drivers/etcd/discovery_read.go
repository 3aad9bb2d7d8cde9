package etcd

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/model"
	"theseus.dev/specs"
)

// RevisionKeyName is the last segment of a group's revision key,
// /services/{service}/{labels}/revision.
const RevisionKeyName = "revision"

// GroupRevision is the value of a group's revision key
// (model.GroupRevision).
type GroupRevision = model.GroupRevision

// GroupEntry is one group of the tree as read at one revision
// (model.GroupEntry). SyncGroup, SetGroupStale and DropGroup take it
// back, write only what differs from it, and only if the group has not
// changed since it was read.
type GroupEntry = model.GroupEntry

// Tree is the whole of /services at one revision (model.Tree).
type Tree = model.Tree

// ReadTree reads all of /services as one snapshot, paging through large
// trees at one revision. Keys that do not fit the layout (names that are
// not a service or a label set) are skipped: theseus did not write them.
func (d *Discovery) ReadTree(ctx context.Context) (*Tree, error) {
	kvs, rev, err := d.c.rangeAll(ctx, d.root())
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", d.root(), err)
	}
	t := &Tree{Revision: rev, Groups: map[specs.GroupKey]*GroupEntry{}}
	services := map[string]bool{}
	for _, kv := range kvs {
		seg := d.splitTreeKey(string(kv.Key))
		if len(seg) == 1 {
			if checkService(seg[0]) == nil {
				services[seg[0]] = true
			}
			continue
		}
		if checkGroup(seg[0], seg[1]) != nil {
			continue
		}
		k := specs.GroupKey{Service: seg[0], Labels: seg[1]}
		g := t.Groups[k]
		if g == nil {
			g = model.NewGroupEntry(k, rev)
			t.Groups[k] = g
		}
		addKey(g, seg, kv)
	}
	t.Services = slices.Sorted(maps.Keys(services))
	for k, g := range t.Groups {
		g.ServiceExists = services[k.Service]
	}
	return t, nil
}

// ReadGroup reads one group at one revision. An absent group is an entry
// with Exists false, not an error.
func (d *Discovery) ReadGroup(ctx context.Context, k specs.GroupKey) (*GroupEntry, error) {
	if err := checkGroup(k.Service, k.Labels); err != nil {
		return nil, err
	}
	rctx, cancel := d.c.reqCtx(ctx)
	defer cancel()
	resp, err := d.c.cli.Txn(rctx).Then(
		clientv3.OpGet(d.serviceKey(k.Service), clientv3.WithCountOnly()),
		clientv3.OpGet(d.groupKey(k.Service, k.Labels)),
		clientv3.OpGet(d.groupDir(k.Service, k.Labels), clientv3.WithPrefix()),
	).Commit()
	if err != nil {
		return nil, fmt.Errorf("read group %s: %w", k, err)
	}
	g := model.NewGroupEntry(k, resp.Header.Revision)
	g.ServiceExists = resp.Responses[0].GetResponseRange().Count > 0
	for _, r := range resp.Responses[1:] {
		for _, kv := range r.GetResponseRange().Kvs {
			addKey(g, d.splitTreeKey(string(kv.Key)), kv)
		}
	}
	return g, nil
}

// isInfoKey reports whether seg, a key's segments below /services, name
// a container's info key; seg[3] is then the container.
func isInfoKey(seg []string) bool {
	return len(seg) == 5 && seg[2] == "containers" && seg[4] == "info"
}

// add files one key of the group, given its segments below /services.
func addKey(g *GroupEntry, seg []string, kv *mvccpb.KeyValue) {
	g.MaxModRev = max(g.MaxModRev, kv.ModRevision)
	switch {
	case len(seg) == 2:
		g.Exists, g.Marker = true, string(kv.Value)
	case len(seg) == 3 && seg[2] == "config":
		v := string(kv.Value)
		g.ConfigJSON = &v
	case len(seg) == 3 && seg[2] == RevisionKeyName:
		g.RevisionModRev = kv.ModRevision
		// One that does not decode is read as the zero revision, whole
		// (json fills what it can before an error), which SyncGroup
		// rewrites: it never writes a generation 0.
		g.Revision, _ = model.DecodeGroupRevision(kv.Value)
	case isInfoKey(seg):
		v := string(kv.Value)
		if g.InfoDigests {
			v = model.InfoDigest(v)
		}
		// The name is copied: as a slice of the key it would keep the
		// whole key alive in a cache of the tree.
		g.SetInfo(model.StoredInfo{Name: strings.Clone(seg[3]), Value: v, Leased: kv.Lease != 0})
	default:
		if g.Others == nil {
			g.Others = map[string]bool{}
		}
		g.Others[string(kv.Key)] = true
	}
}

// PendingGroups returns the groups of service (as service/labels) whose
// revision is marked pending: an update written in several
// transactions that its writer has not finished. A client waiting for
// such a group can say which one it waits for.
func (d *Discovery) PendingGroups(ctx context.Context, service string) ([]string, error) {
	dir := d.serviceDir(service)
	rctx, cancel := d.c.reqCtx(ctx)
	defer cancel()
	resp, err := d.c.cli.Get(rctx, dir, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	var out []string
	for _, kv := range resp.Kvs {
		labels, ok := strings.CutSuffix(strings.TrimPrefix(string(kv.Key), dir), "/"+RevisionKeyName)
		if !ok || strings.Contains(labels, "/") {
			continue
		}
		if r, err := model.DecodeGroupRevision(kv.Value); err == nil && r.Pending {
			out = append(out, service+"/"+labels)
		}
	}
	return out, nil
}
