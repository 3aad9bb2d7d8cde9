package sources

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"theseus.dev/internal/parallel"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// wantedSpec is one group of the source, ready to compare.
type wantedSpec struct {
	file  string
	value []byte // StoredValue
	sum   string // sha256Hex(value)
}

// Plan decides what Sync would write to make /desired hold want, the
// complete contents of the source at revision source. It writes nothing.
//
// A group's key is created when absent and rewritten when this source
// owns it and its value differs byte for byte from the source's
// StoredValue. A key written by hand (no ownership record, or a value
// changed since this source wrote it) is adopted when it holds the same
// spec, overwritten with SyncOptions.Adopt, and a conflict otherwise. A
// key of another source is always a conflict. Keys this source owns whose
// groups are gone are removed with SyncOptions.Prune, unless changed by
// hand since (then released), and orphaned without it.
//
// Every group must be valid and appear once; otherwise Plan returns the
// specs.ErrorList. A source without groups that would prune keys returns
// an error matching ErrEmptySource unless SyncOptions.AllowEmpty.
func (s *SyncSource) Plan(ctx context.Context, source string, want []SyncSpec) (*SyncPlan, error) {
	// /desired is read while the source is checked and encoded: the
	// read does not depend on it, and is wasted only when it is invalid.
	var st *model.OwnedState
	read := make(chan error, 1)
	go func() {
		var err error
		st, err = s.store.Read(ctx)
		read <- err
	}()
	wanted, err := prepareSync(want)
	if rerr := <-read; err == nil {
		err = rerr
	}
	if err != nil {
		return nil, err
	}
	p := &SyncPlan{Source: source, ReadRevision: st.Revision}
	keys := slices.Collect(maps.Keys(wanted))
	items := make([]SyncItem, len(keys))
	writes := make([]*model.OwnedWrite, len(keys))
	parallel.For(len(keys), func(i int) {
		items[i], writes[i] = s.planWanted(source, st, keys[i], wanted[keys[i]])
	})
	p.Items = items
	for _, w := range writes {
		if w != nil {
			p.writes = append(p.writes, *w)
		}
	}
	for k, o := range st.Owners {
		if _, ok := wanted[k]; !ok && o.Err == nil && o.Ownership.Owner == s.name {
			s.planGone(p, st, k, o)
		}
	}
	slices.SortFunc(p.Items, func(a, b SyncItem) int { return a.Key.Compare(b.Key) })
	if n := p.Count(SyncRemoved); len(want) == 0 && n > 0 && !s.opts.AllowEmpty {
		return nil, fmt.Errorf("%w: pruning would remove all %d key(s) that source %q wrote; refused, as an empty checkout or a wrong directory looks the same (allow it explicitly to remove them)",
			ErrEmptySource, n, s.name)
	}
	return p, nil
}

// prepareSync validates want and computes each group's stored value, on
// every CPU.
func prepareSync(want []SyncSpec) (map[specs.GroupKey]wantedSpec, error) {
	groups := make([]*specs.Group, len(want))
	for i, w := range want {
		groups[i] = w.Group
	}
	keys := make([]specs.GroupKey, len(want))
	errs := make([]error, len(want))
	prepared := make([]wantedSpec, len(want))
	parallel.For(len(want), func(i int) {
		if want[i].validated {
			keys[i], errs[i] = groups[i].Key()
		} else {
			keys[i], errs[i] = specs.CheckGroup(groups[i])
		}
		if errs[i] != nil {
			return
		}
		file := want[i].File
		if file == "" {
			file, _ = groups[i].Source()
		}
		v := specs.StoredValue(groups[i])
		if errs[i] = specs.CheckStoredSize(groups[i], v); errs[i] != nil {
			return
		}
		prepared[i] = wantedSpec{file: file, value: v, sum: sha256Hex(v)}
	})
	keys, err := specs.CheckedGroups(groups, keys, errs)
	if err != nil {
		return nil, err
	}
	out := make(map[specs.GroupKey]wantedSpec, len(want))
	for i, k := range keys {
		out[k] = prepared[i]
	}
	return out, nil
}

func (s *SyncSource) record(source, file, sum string) []byte {
	return encodeOwnership(specs.Ownership{Owner: s.name, Source: source, File: file, SHA256: sum})
}

func encodeOwnership(o specs.Ownership) []byte {
	b, err := json.Marshal(o)
	if err != nil {
		panic(err) // a struct of strings always encodes
	}
	return b
}

// planWanted decides for a group of the source: what the sync does to it,
// and the write that does it, if any. It only reads, so that the groups
// are decided on every CPU.
func (s *SyncSource) planWanted(source string, st *model.OwnedState, k specs.GroupKey, w wantedSpec) (item SyncItem, write *model.OwnedWrite) {
	kv, exists := st.Desired[k]
	o, hasOwner := st.Owners[k]
	item = SyncItem{Key: k, File: w.file, Revision: kv.ModRevision}
	put := func() *model.OwnedWrite {
		return &model.OwnedWrite{Key: k, DesiredRevision: kv.ModRevision, OwnerRevision: o.ModRevision, Value: w.value, Owner: s.record(source, w.file, w.sum)}
	}
	ours := hasOwner && o.Err == nil && o.Ownership.Owner == s.name
	switch {
	case !exists:
		// A record left for a key that no longer exists guards nothing.
		item.Action = SyncCreated
		write = put()
	case hasOwner && !ours:
		item.Action = SyncConflict
		if o.Err != nil {
			item.Reason = o.Err.Error() + ": not overwritten"
		} else {
			item.Reason = fmt.Sprintf("owned by sync source %q (%s, file %s): not overwritten", o.Ownership.Owner, o.Ownership.Source, o.Ownership.File)
		}
	case ours && sha256Hex(kv.Value) == o.Ownership.SHA256:
		if !sameSpec(k, kv.Value, w.value) {
			item.Action = SyncChanged
			write = put()
			break
		}
		item.Action = SyncUnchanged
		if o.Ownership.File != w.file {
			// The file was renamed: only the record says so.
			rec := o.Ownership
			rec.File = w.file
			write = &model.OwnedWrite{Key: k, DesiredRevision: kv.ModRevision, OwnerRevision: o.ModRevision, Owner: encodeOwnership(rec)}
		}
	default:
		who := "written by hand (etcdctl or theseusd apply), not by a sync source"
		if ours {
			who = fmt.Sprintf("changed outside sync since source %q wrote it (%s)", s.name, o.Ownership.Source)
		}
		switch {
		case sameSpec(k, kv.Value, w.value):
			item.Action, item.Reason = SyncAdopted, who+", with the same spec"
			write = &model.OwnedWrite{Key: k, DesiredRevision: kv.ModRevision, OwnerRevision: o.ModRevision,
				Owner: s.record(source, w.file, sha256Hex(kv.Value))}
		case s.opts.Adopt:
			item.Action, item.Reason = SyncChanged, who+"; --adopt takes it over"
			write = put()
		default:
			item.Action, item.Reason = SyncConflict, who+", and differs from "+w.file+": not overwritten (sync --adopt overwrites it)"
		}
	}
	return item, write
}

// planGone decides for a key the source owns whose group it no longer
// holds.
func (s *SyncSource) planGone(p *SyncPlan, st *model.OwnedState, k specs.GroupKey, o model.OwnerRecord) {
	kv, exists := st.Desired[k]
	drop := model.OwnedWrite{Key: k, DesiredRevision: kv.ModRevision, OwnerRevision: o.ModRevision}
	item := SyncItem{Key: k, File: o.Ownership.File, Revision: kv.ModRevision}
	changed := exists && sha256Hex(kv.Value) != o.Ownership.SHA256
	switch {
	case !exists:
		// Deleted by hand: drop the record that guards nothing now.
		p.writes = append(p.writes, drop)
		return
	case changed && s.opts.Prune:
		item.Action, item.Reason = SyncReleased, "gone from the source, but changed outside sync since it was written: the key stays, its ownership record goes"
		p.writes = append(p.writes, drop)
	case changed:
		item.Action, item.Reason = SyncOrphaned, "gone from the source, and changed outside sync since it was written: pruning would release it, not remove it"
	case s.opts.Prune:
		item.Action = SyncRemoved
		drop.DeleteDesired = true
		p.writes = append(p.writes, drop)
	default:
		item.Action, item.Reason = SyncOrphaned, "gone from the source: pruning would remove it"
	}
	p.Items = append(p.Items, item)
}

// sameSpec reports whether the stored value holds the spec want, the
// source's StoredValue: byte for byte, or, for values written by hand in
// another spelling, once decoded.
func sameSpec(k specs.GroupKey, stored, want []byte) bool {
	if bytes.Equal(stored, want) {
		return true
	}
	g, err := specs.DecodeStored(k, stored)
	return err == nil && bytes.Equal(specs.StoredValue(g), want)
}
