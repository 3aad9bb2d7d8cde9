package etcd

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/specs"
)

// RevisionKeyName is the last segment of a group's revision key,
// /services/{service}/{labels}/revision.
const RevisionKeyName = "revision"

// GroupRevision is the value of a group's revision key. The key is written
// in the same transaction as every change to the group's containers or
// config, and only then, so a watcher of it reloads the group once per
// consistent update, never once per key.
type GroupRevision struct {
	// Generation counts the updates of the group: 1 for the first write.
	Generation int64 `json:"generation"`
	// Containers and Ready count the group's containers, and those ready,
	// as of this update.
	Containers int `json:"containers"`
	Ready      int `json:"ready"`
	// Stale is set when the writer could not read Marathon for a while:
	// the containers are the last known ones, unchecked since.
	Stale bool `json:"stale,omitempty"`
	// Pending is set while an update too large for one transaction is
	// written in several; readers keep what they had until a revision
	// without Pending follows.
	Pending bool `json:"pending,omitempty"`
	// UpdatedAt is when the writer made the update.
	UpdatedAt time.Time `json:"updated_at"`
}

// GroupEntry is one group of the tree as read at one revision. SyncGroup,
// SetGroupStale and DropGroup take it back, write only what differs from
// it, and only if the group has not changed since it was read.
type GroupEntry struct {
	Key specs.GroupKey
	// Exists and ServiceExists say whether the group's and the service's
	// nodes exist. A group can have keys without its node (left behind by
	// hand); it is listed so that it can be dropped.
	Exists, ServiceExists bool
	// Revision is the decoded revision key and RevisionModRev its mod
	// revision: 0 when the key is absent.
	Revision       GroupRevision
	RevisionModRev int64
	// ReadRevision is the etcd revision the entry was read at.
	ReadRevision int64

	marker    string            // the group node's value
	config    *string           // the config value; nil when absent
	infos     map[string]string // container name → stored info JSON
	leased    map[string]bool   // containers whose info key has a lease
	others    map[string]bool   // keys below the group that the layout does not name
	maxModRev int64             // highest mod revision under the group
}

// ContainerNames returns the names of the group's containers, sorted.
func (g *GroupEntry) ContainerNames() []string { return slices.Sorted(maps.Keys(g.infos)) }

// Containers decodes the group's containers. An info that does not decode
// is an error matching ErrCorrupt.
func (g *GroupEntry) Containers() (map[string]specs.ContainerInfo, error) {
	out := make(map[string]specs.ContainerInfo, len(g.infos))
	for name, raw := range g.infos {
		info, err := decodeContainerInfo([]byte(raw))
		if err != nil {
			return nil, fmt.Errorf("container %s of %s: %w", name, g.Key, err)
		}
		out[name] = info
	}
	return out, nil
}

// Config decodes the group's config; a group without one has an empty
// config.
func (g *GroupEntry) Config() (map[string]string, error) {
	if g.config == nil {
		return map[string]string{}, nil
	}
	return decodeConfig([]byte(*g.config))
}

// Tree is the whole of /services at one revision.
type Tree struct {
	// Revision is the etcd revision the tree was read at.
	Revision int64
	// Services are the service nodes, sorted.
	Services []string
	// Groups holds every group with any key in the tree.
	Groups map[specs.GroupKey]*GroupEntry
}

// Group returns the tree's entry of group k, or an empty entry (Exists
// false) read at the tree's revision when the tree has none, ready to be
// given to SyncGroup.
func (t *Tree) Group(k specs.GroupKey) *GroupEntry {
	if g := t.Groups[k]; g != nil {
		return g
	}
	g := newEntry(k, t.Revision)
	_, g.ServiceExists = slices.BinarySearch(t.Services, k.Service)
	return g
}

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
			g = newEntry(k, rev)
			t.Groups[k] = g
		}
		g.add(seg, kv)
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
	g := newEntry(k, resp.Header.Revision)
	g.ServiceExists = resp.Responses[0].GetResponseRange().Count > 0
	for _, r := range resp.Responses[1:] {
		for _, kv := range r.GetResponseRange().Kvs {
			g.add(d.splitTreeKey(string(kv.Key)), kv)
		}
	}
	return g, nil
}

func newEntry(k specs.GroupKey, rev int64) *GroupEntry {
	return &GroupEntry{Key: k, ReadRevision: rev, infos: map[string]string{}, leased: map[string]bool{}}
}

// add files one key of the group, given its segments below /services.
func (g *GroupEntry) add(seg []string, kv *mvccpb.KeyValue) {
	g.maxModRev = max(g.maxModRev, kv.ModRevision)
	switch {
	case len(seg) == 2:
		g.Exists, g.marker = true, string(kv.Value)
	case len(seg) == 3 && seg[2] == "config":
		v := string(kv.Value)
		g.config = &v
	case len(seg) == 3 && seg[2] == RevisionKeyName:
		g.RevisionModRev = kv.ModRevision
		// An undecodable revision is rewritten by the next update. A
		// fresh value, as json keeps what the text leaves out.
		var r GroupRevision
		_ = json.Unmarshal(kv.Value, &r)
		g.Revision = r
	case len(seg) == 5 && seg[2] == "containers" && seg[4] == "info":
		g.infos[seg[3]] = string(kv.Value)
		g.leased[seg[3]] = kv.Lease != 0
	default:
		if g.others == nil {
			g.others = map[string]bool{}
		}
		g.others[string(kv.Key)] = true
	}
}
