package specs

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Outcome is what became of one /desired revision of a group.
type Outcome string

// The outcomes of a revision. An entry without one is still in progress.
const (
	// OutcomeSynced: Marathon ran the revision, settled and healthy.
	OutcomeSynced Outcome = "Synced"
	// OutcomeRolledBack: the rollout failed and the app was rolled back to
	// an earlier revision; this one is quarantined until /desired changes.
	OutcomeRolledBack Outcome = "RolledBack"
	// OutcomeSuperseded: a newer revision came before this one settled.
	OutcomeSuperseded Outcome = "Superseded"
	// OutcomeFailed: the rollout failed and could not be rolled back.
	OutcomeFailed Outcome = "Failed"
)

// WriterKind says what wrote a /desired revision.
type WriterKind string

// The writers of a revision.
const (
	WriterApply    WriterKind = "apply"    // theseusd apply
	WriterRollback WriterKind = "rollback" // theseusd rollback
	WriterSync     WriterKind = "sync"     // theseusd sync, from a directory or git
	WriterUnknown  WriterKind = "unknown"  // etcdctl put, or anything else
)

// Writer says who wrote a /desired revision. `theseusd apply` and
// `theseusd rollback` record one under /theseus/written-by/ in the
// transaction of their write; `theseusd sync` records its ownership of
// the key (/theseus/sync/owners/) in the same way. A revision whose
// record was not written with it was written by someone unknown.
type Writer struct {
	Kind WriterKind `json:"kind"`
	// By is who ran the command, user@host (apply, rollback).
	By string `json:"by,omitempty"`
	// At is when the command wrote (apply, rollback).
	At time.Time `json:"at,omitzero"`
	// Source names the sync source (sync).
	Source string `json:"source,omitempty"`
	// Ref is the revision of the source, e.g. "git:main@1a2b3c4d5e6f"
	// (sync).
	Ref string `json:"ref,omitempty"`
	// File defines the group, relative to the source's root (sync).
	File string `json:"file,omitempty"`
	// RestoredFrom is the revision whose spec a rollback wrote back.
	RestoredFrom int64 `json:"restoredFrom,omitempty"`
}

// String names the writer in a sentence: "apply by alice@laptop",
// "sync git:main@1a2b3c (specs/web.yaml)", "rollback to 12 by ...".
func (w Writer) String() string {
	s := string(w.Kind)
	switch w.Kind {
	case "":
		return string(WriterUnknown)
	case WriterSync:
		s += " " + w.Source
		if w.Ref != "" && w.Ref != w.Source {
			s += " " + w.Ref
		}
	case WriterRollback:
		if w.RestoredFrom > 0 {
			s += fmt.Sprintf(" to %d", w.RestoredFrom)
		}
	}
	if w.By != "" {
		s += " by " + w.By
	}
	return s
}

// HistoryEntry is one /desired revision of a group and what became of it.
type HistoryEntry struct {
	// Revision is the mod revision of the /desired key.
	Revision int64 `json:"revision"`
	// Time is when the controller first saw the revision.
	Time time.Time `json:"time"`
	// Writer is who wrote it.
	Writer Writer `json:"writer"`
	// Deleted: the revision removed the group's spec.
	Deleted bool `json:"deleted,omitempty"`
	// SpecHash and Image are those of the spec (none for a deletion or
	// an invalid spec).
	SpecHash string `json:"specHash,omitempty"`
	Image    string `json:"image,omitempty"`
	// Changed lists the paths of the fields that changed since the
	// previous entry (diff.SpecChanges); empty for the first.
	Changed []string `json:"changed,omitempty"`
	// Outcome is what became of it; "" while in progress.
	Outcome   Outcome   `json:"outcome,omitempty"`
	OutcomeAt time.Time `json:"outcomeAt,omitzero"`
	// Reason says why it RolledBack or Failed: the task failure Marathon
	// reported, or the deadline that passed.
	Reason string `json:"reason,omitempty"`
	// AppVersion is the Marathon app version that ran this revision when
	// it was Synced: what a rollback to it restores.
	AppVersion string `json:"appVersion,omitempty"`
	// RestoredRevision and RestoredVersion are, for a revision rolled
	// back, the revision and the Marathon app version restored.
	RestoredRevision int64  `json:"restoredRevision,omitempty"`
	RestoredVersion  string `json:"restoredVersion,omitempty"`
	// Spec is the /desired value of the revision, kept so that
	// `theseusd rollback` can write it back after etcd has compacted the
	// revision away. It holds secret values as /desired does. The specs
	// of the oldest entries are dropped first when the history grows
	// past MaxHistoryBytes.
	Spec json.RawMessage `json:"spec,omitempty"`
}

// History is the bounded history of a group, oldest entry first, one
// entry per revision: the value of /theseus/history/{service}/{labels}.
type History struct {
	Entries []HistoryEntry `json:"entries"`
}

// Bounds of a stored history. MaxHistoryBytes keeps one value well below
// etcd's default request limit of 1.5 MiB.
const (
	MaxHistoryEntries = 20
	MaxHistoryBytes   = 1 << 20
	// maxDecodedEntries refuses a value no daemon wrote.
	maxDecodedEntries = 1000
)

// Entry returns the entry of revision rev, or nil.
func (h *History) Entry(rev int64) *HistoryEntry {
	for i := range h.Entries {
		if h.Entries[i].Revision == rev {
			return &h.Entries[i]
		}
	}
	return nil
}

// Record adds e, or replaces the entry of its revision, keeping the
// entries in revision order. Older entries still in progress become
// Superseded at e's time: a newer revision took their place.
func (h *History) Record(e HistoryEntry) {
	for i := range h.Entries {
		old := &h.Entries[i]
		if old.Revision < e.Revision && old.Outcome == "" {
			old.Outcome, old.OutcomeAt = OutcomeSuperseded, e.Time
		}
	}
	if cur := h.Entry(e.Revision); cur != nil {
		*cur = e
		return
	}
	i, _ := slices.BinarySearchFunc(h.Entries, e.Revision, func(x HistoryEntry, rev int64) int {
		return cmp.Compare(x.Revision, rev)
	})
	h.Entries = slices.Insert(h.Entries, i, e)
}

// LastSynced returns the newest entry before revision before whose
// outcome is Synced, or nil: the definition a failed rollout goes back
// to.
func (h *History) LastSynced(before int64) *HistoryEntry {
	for i := len(h.Entries) - 1; i >= 0; i-- {
		if e := &h.Entries[i]; e.Revision < before && e.Outcome == OutcomeSynced {
			return e
		}
	}
	return nil
}

// Trim bounds the history: at most maxEntries entries (the newest), and
// at most maxBytes as JSON, reached by dropping the specs of the oldest
// entries first, then the oldest entries. The spec of the newest Synced
// revision and of the newest entry go last: they are what a failed
// rollout of the current revision is rolled back to, and the current
// revision's own. It returns the JSON of the history as trimmed, to be
// stored: a history under its bounds, as most are, is encoded once.
func (h *History) Trim(maxEntries, maxBytes int) []byte {
	if n := len(h.Entries) - maxEntries; n > 0 {
		h.Entries = slices.Delete(h.Entries, 0, n)
	}
	b := h.encode()
	if len(b) <= maxBytes {
		return b
	}
	newest, synced := len(h.Entries)-1, -1
	for i := newest; i >= 0 && synced < 0; i-- {
		if h.Entries[i].Outcome == OutcomeSynced {
			synced = i
		}
	}
	for _, last := range []bool{false, true} {
		for i := 0; i < len(h.Entries) && len(b) > maxBytes; i++ {
			if (i == newest || i == synced) == last && h.Entries[i].Spec != nil {
				h.Entries[i].Spec = nil
				b = h.encode()
			}
		}
	}
	for len(h.Entries) > 0 && len(b) > maxBytes {
		h.Entries = h.Entries[1:]
		b = h.encode()
	}
	return b
}

func (h *History) encode() []byte {
	b, err := json.Marshal(h)
	if err != nil {
		panic("specs: marshal history: " + err.Error()) // plain values only
	}
	return b
}

// DecodeHistory decodes a stored history. Unknown fields are accepted,
// so that an older command reads what a newer daemon wrote; anything a
// daemon cannot have written (revisions out of order or not positive, a
// spec that is not a JSON object, more than a thousand entries) is an
// error.
func DecodeHistory(data []byte) (*History, error) {
	var h History
	if err := json.Unmarshal(data, &h); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	if len(h.Entries) > maxDecodedEntries {
		return nil, fmt.Errorf("history: %d entries, more than %d", len(h.Entries), maxDecodedEntries)
	}
	for i, e := range h.Entries {
		switch {
		case e.Revision <= 0:
			return nil, fmt.Errorf("history: entry %d: revision %d is not positive", i, e.Revision)
		case i > 0 && e.Revision <= h.Entries[i-1].Revision:
			return nil, fmt.Errorf("history: entry %d: revision %d does not follow %d", i, e.Revision, h.Entries[i-1].Revision)
		case len(e.Spec) > 0 && !bytes.HasPrefix(bytes.TrimSpace(e.Spec), []byte("{")):
			return nil, fmt.Errorf("history: entry %d (revision %d): spec is not a JSON object", i, e.Revision)
		}
	}
	return &h, nil
}

// Pause is the value of /theseus/pause/{service}/{labels}: while it
// exists the controller makes no Marathon writes for the group.
type Pause struct {
	// By is who paused it, user@host.
	By string `json:"by"`
	// At is when.
	At time.Time `json:"at"`
	// Reason is why, as given.
	Reason string `json:"reason,omitempty"`
}
