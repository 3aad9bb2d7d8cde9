package etcd

import (
	"context"

	"theseus.dev/specs"
)

// SetBeforeCommit installs a function that runs between the read and the
// write of every Apply batch, to provoke conflicts in tests.
func (d *DesiredStore) SetBeforeCommit(f func()) { d.beforeCommit = f }

// EntryView is what a GroupEntry holds, but for the revision it was read
// at, which a cache and a read of etcd may name differently.
type EntryView struct {
	Exists, ServiceExists bool
	Revision              GroupRevision
	RevisionModRev        int64
	Marker                string
	Config                *string
	Infos                 map[string]string
	Leased, Others        map[string]bool
	HasKeys               bool
}

// View returns the entries of a tree, to compare two trees: the
// containers' info as digests, as a cache keeps them.
func TreeView(t *Tree) map[specs.GroupKey]EntryView {
	out := map[specs.GroupKey]EntryView{}
	for k, g := range t.Groups {
		g = digested(g)
		v := EntryView{Exists: g.Exists, ServiceExists: g.ServiceExists, Revision: g.Revision,
			RevisionModRev: g.RevisionModRev, Marker: g.Marker, Config: g.ConfigJSON,
			Infos: map[string]string{}, Leased: map[string]bool{}, Others: g.Others, HasKeys: g.MaxModRev != 0}
		for _, s := range g.Infos {
			v.Infos[s.Name], v.Leased[s.Name] = s.Value, s.Leased
		}
		out[k] = v
	}
	return out
}

// WaitLive waits until the cache's watch runs and ReadTree answers from
// the cache.
func (c *TreeCache) WaitLive(ctx context.Context) error {
	for {
		c.mu.Lock()
		live, moved := c.live, c.moved
		c.mu.Unlock()
		if live {
			return nil
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Fallbacks is the number of reads of etcd made because the watch did
// not catch up in time.
func (c *TreeCache) Fallbacks() int64 { return c.fallbacks.Load() }
