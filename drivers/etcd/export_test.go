package etcd

import "theseus.dev/specs"

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

// View returns the entries of a tree, to compare two trees.
func (t *Tree) View() map[specs.GroupKey]EntryView {
	out := map[specs.GroupKey]EntryView{}
	for k, g := range t.Groups {
		out[k] = EntryView{Exists: g.Exists, ServiceExists: g.ServiceExists, Revision: g.Revision,
			RevisionModRev: g.RevisionModRev, Marker: g.marker, Config: g.config, Infos: g.infos,
			Leased: g.leased, Others: g.others, HasKeys: g.maxModRev != 0}
	}
	return out
}
