package specs

import (
	"bytes"
	"fmt"
)

// SyncOwnersDir holds one ownership record per /desired key that a sync
// source wrote: {prefix}/theseus/sync/owners/{service}/{labels}, an
// Ownership as JSON, always written in the same transaction as the
// /desired key it describes.
const SyncOwnersDir = TheseusDir + "sync/owners/"

// SyncOwnerKey returns the etcd key of group k's ownership record.
func SyncOwnerKey(prefix string, k GroupKey) string { return prefix + SyncOwnersDir + k.String() }

// Ownership records which sync source wrote a /desired key, so that the
// source prunes only its own keys and never overwrites another's.
type Ownership struct {
	// Owner is the name of the sync source (`theseusd sync --source`).
	Owner string `json:"owner"`
	// Source is the revision of the source that wrote the value, e.g.
	// "git:main@1a2b3c4d5e6f" or "dir:/srv/specs".
	Source string `json:"source,omitempty"`
	// File defines the group, relative to the root of the source.
	File string `json:"file,omitempty"`
	// SHA256 is the hex SHA-256 of the /desired value the source wrote
	// or adopted. A value that no longer has it was changed by someone
	// else since, and is treated as written by hand.
	SHA256 string `json:"sha256"`
}

// StoredValue returns the bytes theseus writes to /desired for g: its
// canonical JSON, with the labels in canonical order, so that two
// spellings of the same group are stored identically and compare equal.
func StoredValue(g *Group) []byte {
	// A shallow copy: only the labels are replaced, and encoding reads
	// the rest without changing it.
	c := *g
	c.Metadata.Labels = CanonicalLabels(g.Metadata.Labels)
	return c.Canonical()
}

// CheckStoredSize refuses a group whose stored value v (StoredValue(g))
// is larger than MaxSpecBytes, which DecodeStored, and so every reader of
// /desired, refuses. The value can be several times the document it
// came from: JSON writes each of < > & and the control characters as
// six bytes.
func CheckStoredSize(g *Group, v []byte) error {
	if len(v) <= MaxSpecBytes {
		return nil
	}
	file, line := g.Source()
	return ErrorList{{File: file, Line: line, Msg: fmt.Sprintf(
		"stored as %.1f MiB of JSON, larger than the %d MiB limit for one spec (each of < > & and the control characters takes six bytes)",
		float64(len(v))/(1<<20), MaxSpecBytes>>20)}}
}

// maxUncheckedDoc is the largest document whose stored value cannot
// exceed MaxSpecBytes unless it holds a YAML alias: JSON writes no
// character of it in more than six bytes.
const maxUncheckedDoc = MaxSpecBytes / 8

// storedFits is CheckStoredSize for a group parsed from data, encoding
// it only when data is large or may hold an alias (which YAML expands).
func storedFits(g *Group, data []byte) error {
	if len(data) <= maxUncheckedDoc && !bytes.Contains(data, []byte("*")) {
		return nil
	}
	return CheckStoredSize(g, StoredValue(g))
}

// CheckGroups validates groups and returns their keys, or an ErrorList
// of every invalid group and every group defined twice.
func CheckGroups(groups []*Group) ([]GroupKey, error) {
	keys := make([]GroupKey, len(groups))
	errs := make([]error, len(groups))
	for i, g := range groups {
		keys[i], errs[i] = CheckGroup(g)
	}
	return CheckedGroups(groups, keys, errs)
}

// CheckGroup validates g and returns its key: CheckGroups for one group,
// for a caller that checks thousands on every CPU and hands what it
// returned for each to CheckedGroups.
func CheckGroup(g *Group) (GroupKey, error) {
	if err := Validate(g); err != nil {
		return GroupKey{}, err
	}
	return g.Key()
}

// CheckedGroups returns what CheckGroups does, given the keys and errors
// CheckGroup returned for each of groups.
func CheckedGroups(groups []*Group, keys []GroupKey, errs []error) ([]GroupKey, error) {
	var all ErrorList
	first := make(map[GroupKey]*Group, len(groups))
	for i, g := range groups {
		if errs[i] != nil {
			all = append(all, Errors(errs[i])...)
			continue
		}
		k := keys[i]
		if prev, dup := first[k]; dup {
			file, line := g.Source()
			pfile, pline := prev.Source()
			all = append(all, &FieldError{File: file, Line: line, Field: "metadata",
				Msg: fmt.Sprintf("group %s is also defined at %s:%d", k, pfile, pline)})
			continue
		}
		first[k] = g
	}
	return keys, all.Err()
}
