package model

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"theseus.dev/specs"
)

// ErrCorrupt: a value under /services or /status that does not decode;
// the key is named in the wrapping error.
var ErrCorrupt = errors.New("value does not decode")

// GroupRevision is the value of a group's revision key,
// /services/{service}/{labels}/revision. The key is written in the same
// transaction as every change to the group's containers or config, and
// only then, so a watcher of it reloads the group once per consistent
// update, never once per key.
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

// GroupEntry is one group of /services as read at one revision. A store
// takes it back when it writes the group, writes only what differs from
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

	// The group's keys as stored, which a store's guarded writes are
	// compared with: the group node's value, the config value (nil when
	// absent), each container's info key, keys below the group that the
	// layout does not name, and the highest mod revision under the group.
	Marker     string
	ConfigJSON *string
	// Infos holds one entry a container, sorted by name: a slice, not
	// maps, as a copy of the whole tree holds one entry a group (30,000
	// containers took 11-12 MB in two maps, 7 MB in a slice:
	// BenchmarkTreeCache30k).
	Infos     []StoredInfo
	Others    map[string]bool
	MaxModRev int64
	// InfoDigests says that Infos holds the InfoDigest of each value,
	// not the value: a copy of the tree kept only to compare with keeps
	// 16 bytes a container instead of its info (some 400 bytes; 30,000
	// containers are 12 MB).
	InfoDigests bool
}

// StoredInfo is the info key of one container of a group as stored.
type StoredInfo struct {
	Name string
	// Value is the info as stored JSON, or its InfoDigest in an entry
	// with InfoDigests.
	Value string
	// Leased says whether the key is on a lease.
	Leased bool
}

// InfoDigest is what a GroupEntry with InfoDigests holds for an info
// value v: the first 16 bytes of its SHA-256.
func InfoDigest(v string) string {
	sum := sha256.Sum256([]byte(v))
	return string(sum[:16])
}

// InfoIs reports whether the group holds v as container name's info.
func (g *GroupEntry) InfoIs(name, v string) bool {
	have, ok := g.Info(name)
	if ok && g.InfoDigests {
		return have.Value == InfoDigest(v)
	}
	return ok && have.Value == v
}

// Info returns the info key of container name, if the group has it.
func (g *GroupEntry) Info(name string) (StoredInfo, bool) {
	if i, ok := g.findInfo(name); ok {
		return g.Infos[i], true
	}
	return StoredInfo{}, false
}

// SetInfo files the info key of a container, in place of any the group
// had for the same name.
func (g *GroupEntry) SetInfo(s StoredInfo) {
	if i, ok := g.findInfo(s.Name); ok {
		g.Infos[i] = s
	} else {
		g.Infos = slices.Insert(g.Infos, i, s)
	}
}

// DeleteInfo forgets the info key of container name.
func (g *GroupEntry) DeleteInfo(name string) {
	if i, ok := g.findInfo(name); ok {
		g.Infos = slices.Delete(g.Infos, i, i+1)
	}
}

func (g *GroupEntry) findInfo(name string) (int, bool) {
	return slices.BinarySearchFunc(g.Infos, name, func(s StoredInfo, name string) int { return strings.Compare(s.Name, name) })
}

// NewGroupEntry returns the entry of a group with no keys, read at rev.
func NewGroupEntry(k specs.GroupKey, rev int64) *GroupEntry {
	return &GroupEntry{Key: k, ReadRevision: rev}
}

// ContainerNames returns the names of the group's containers, sorted.
func (g *GroupEntry) ContainerNames() []string {
	names := make([]string, len(g.Infos))
	for i, s := range g.Infos {
		names[i] = s.Name
	}
	return names
}

// Containers decodes the group's containers. An info that does not decode
// is an error matching ErrCorrupt.
func (g *GroupEntry) Containers() (map[string]specs.ContainerInfo, error) {
	if g.InfoDigests {
		return nil, fmt.Errorf("group %s: the entry holds digests of its containers' info, not the info", g.Key)
	}
	out := make(map[string]specs.ContainerInfo, len(g.Infos))
	for _, s := range g.Infos {
		info, err := DecodeContainerInfo([]byte(s.Value))
		if err != nil {
			return nil, fmt.Errorf("container %s of %s: %w", s.Name, g.Key, err)
		}
		out[s.Name] = info
	}
	return out, nil
}

// Config decodes the group's config; a group without one has an empty
// config.
func (g *GroupEntry) Config() (map[string]string, error) {
	if g.ConfigJSON == nil {
		return map[string]string{}, nil
	}
	return DecodeConfig([]byte(*g.ConfigJSON))
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
// written.
func (t *Tree) Group(k specs.GroupKey) *GroupEntry {
	if g := t.Groups[k]; g != nil {
		return g
	}
	g := NewGroupEntry(k, t.Revision)
	_, g.ServiceExists = slices.BinarySearch(t.Services, k.Service)
	return g
}

// GroupState is what a group of /services is to hold.
type GroupState struct {
	// Containers are exactly the group's containers, by name.
	Containers map[string]specs.ContainerInfo
	// Config replaces the group's config; nil keeps the stored one (an
	// empty one for a new group).
	Config map[string]string
	// Stale marks the containers as unchecked (GroupRevision.Stale).
	Stale bool
	// At is the time of the update, GroupRevision.UpdatedAt; zero means
	// now.
	At time.Time
}

// SyncResult says what a write of a GroupState wrote.
type SyncResult struct {
	// Changed is false when the group held the state already and nothing
	// was written.
	Changed bool
	// Revision is the etcd revision of the last transaction written, and
	// Generation the group's generation after it.
	Revision, Generation int64
	// Txns counts the transactions: 1, or more for a group whose change
	// does not fit in one.
	Txns int
}

// DecodeConfig decodes a group's config value: a JSON object of strings.
func DecodeConfig(data []byte) (map[string]string, error) {
	cfg := map[string]string{}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("%w: group config: %w", ErrCorrupt, err)
	}
	if cfg == nil { // the JSON literal null
		cfg = map[string]string{}
	}
	return cfg, nil
}

// DecodeContainerInfo decodes a container's info value. Unknown fields
// are accepted, so that tools writing more than theseus reads do not
// break it.
func DecodeContainerInfo(data []byte) (specs.ContainerInfo, error) {
	var info specs.ContainerInfo
	if err := json.Unmarshal(data, &info); err != nil {
		return specs.ContainerInfo{}, fmt.Errorf("%w: container info: %w", ErrCorrupt, err)
	}
	return info, nil
}

// DecodeGroupRevision decodes the value of a revision key.
func DecodeGroupRevision(data []byte) (GroupRevision, error) {
	var r GroupRevision
	if err := json.Unmarshal(data, &r); err != nil {
		return GroupRevision{}, fmt.Errorf("%w: group revision: %w", ErrCorrupt, err)
	}
	return r, nil
}
