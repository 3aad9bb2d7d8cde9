package reconciler

import (
	"bytes"
	"context"
	"slices"

	"theseus.dev/diff"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// StoredReader reads the values of groups' /desired keys, with the
// revision they were read at; an absent key is left out.
// *etcd.DesiredStore implements it.
type StoredReader interface {
	Stored(ctx context.Context, keys []specs.GroupKey) (map[specs.GroupKey]model.StoredValue, int64, error)
}

// LocalSpecs are spec files planned in place of /desired: the valid
// groups, and the errors of the invalid ones.
type LocalSpecs struct {
	Groups  []*specs.Group
	Invalid map[specs.GroupKey]specs.ErrorList
}

// Local is LocalSpecs set against /desired, for PlanSources.
type Local struct {
	// Snapshot is the files in diff's form, each group with the mod
	// revision of its /desired key (0 when absent).
	Snapshot diff.Snapshot
	// Scope is every group of the files with that revision, sorted.
	Scope []diff.Scoped
	// NewRevisions are the groups whose /desired key writing the files
	// would change, as an apply tells a group unchanged.
	NewRevisions map[specs.GroupKey]bool
}

// ReadLocal reads the /desired keys of the files' groups and returns the
// files as a plan of them takes them.
func ReadLocal(ctx context.Context, stored StoredReader, files LocalSpecs) (*Local, error) {
	keys := make([]specs.GroupKey, 0, len(files.Groups)+len(files.Invalid))
	for _, g := range files.Groups {
		k, _ := g.Key()
		keys = append(keys, k)
	}
	for k := range files.Invalid {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, specs.GroupKey.Compare)
	values, at, err := stored.Stored(ctx, keys)
	if err != nil {
		return nil, err
	}
	l := &Local{Snapshot: diff.Snapshot{Revision: at}, Scope: make([]diff.Scoped, len(keys)), NewRevisions: map[specs.GroupKey]bool{}}
	for i, k := range keys {
		l.Scope[i] = diff.Scoped{Key: k, Revision: values[k].ModRevision}
	}
	for _, g := range files.Groups {
		k, _ := g.Key()
		v, ok := values[k]
		d, err := diff.NewDesired(g, v.ModRevision)
		if err != nil {
			return nil, err
		}
		l.Snapshot.Groups = append(l.Snapshot.Groups, d)
		// As Apply tells a group unchanged: the stored spec, encoded again.
		if !ok {
			l.NewRevisions[k] = true
		} else if was, err := specs.DecodeStored(k, v.Value); err != nil || !bytes.Equal(specs.StoredValue(was), specs.StoredValue(g)) {
			l.NewRevisions[k] = true
		}
	}
	for k, errs := range files.Invalid {
		l.Snapshot.Groups = append(l.Snapshot.Groups, diff.InvalidDesired(k, values[k].ModRevision, errs))
	}
	return l, nil
}
