package model

import (
	"context"
	"time"

	"theseus.dev/specs"
)

// Fence is the proof of leadership that guards the leader's writes: the
// leader key and the revision that created it. A write fenced by it
// succeeds only while that very key exists, so a daemon that lost the
// leadership, even one that has not noticed yet, cannot write. The zero
// Fence fences nothing.
type Fence struct {
	Key      string
	Revision int64
}

// ElectionConfig says how a daemon campaigns for the leadership.
type ElectionConfig struct {
	// ID is what the leader key holds, naming the daemon to humans.
	// Defaults to "hostname/pid".
	ID string
	// TTL is the lifetime of the session's lease, rounded up to whole
	// seconds: how long a standby waits for a dead leader.
	TTL time.Duration
}

// Leadership is held by the one daemon that won the election. Its
// Context is the parent of all leader work and ends the moment the
// leadership does; its Fence guards the leader's writes.
type Leadership interface {
	ID() string
	Context() context.Context
	Fence() Fence
	// Resign ends the leadership at once, so that a standby takes over.
	Resign(ctx context.Context) error
}

// DesiredEntry is one key under /desired as read. An entry is either
// valid (Group set, Errors empty) or invalid (Errors set, Group nil); an
// invalid entry is still an entry: the group exists in /desired, it just
// cannot be acted on.
type DesiredEntry struct {
	// Key is the group the etcd key names; zero if the etcd key itself is
	// malformed (then Errors says why).
	Key specs.GroupKey
	// EtcdKey is the full key, prefix included.
	EtcdKey string
	// ModRevision is the revision of the last write to the key, the
	// group's generation. For a delete event, the revision of the delete.
	ModRevision int64
	// Value is the stored bytes; nil for a delete event.
	Value []byte
	// Group is the decoded, validated spec.
	Group *specs.Group
	// Errors lists why the key or value is invalid.
	Errors specs.ErrorList
}

// Valid reports whether the entry holds a usable spec.
func (e *DesiredEntry) Valid() bool { return e.Group != nil && len(e.Errors) == 0 }

// DesiredSnapshot is the whole of /desired at one revision.
type DesiredSnapshot struct {
	// Revision is the etcd revision the snapshot was read at. Watching
	// from Revision+1 misses nothing and repeats nothing.
	Revision int64
	// Entries are every key under /desired, valid or not, in key order.
	Entries []DesiredEntry
}

// Invalid returns the entries that do not hold a usable spec.
func (s *DesiredSnapshot) Invalid() []DesiredEntry {
	var out []DesiredEntry
	for _, e := range s.Entries {
		if !e.Valid() {
			out = append(out, e)
		}
	}
	return out
}

// DesiredEventType says whether a /desired key was written or deleted.
type DesiredEventType int

// The event types.
const (
	EventPut DesiredEventType = iota + 1
	EventDelete
)

func (t DesiredEventType) String() string {
	switch t {
	case EventPut:
		return "put"
	case EventDelete:
		return "delete"
	}
	return "DesiredEventType(?)"
}

// DesiredEvent is one change to a /desired key. For a put, Entry is
// decoded exactly like a listed key (valid, or invalid with its errors);
// for a delete, Entry has the key and the revision of the delete only.
type DesiredEvent struct {
	Type  DesiredEventType
	Entry DesiredEntry
}

// DesiredUpdate is one delivery of the /desired feed.
//
// When Snapshot is set, it replaces everything the consumer knew about
// /desired: keys it does not hold are gone; Events is then empty.
// Otherwise Events are changes in revision order (several may share a
// revision: one transaction). An update with neither is a progress
// report: nothing changed up to Revision. In every case the consumer has
// seen every change up to Revision.
type DesiredUpdate struct {
	Snapshot *DesiredSnapshot
	Events   []DesiredEvent
	Revision int64
}

// StatusEntry is one key under /status as read.
type StatusEntry struct {
	Key         specs.GroupKey
	EtcdKey     string
	ModRevision int64
	// Status is the decoded value; nil when Err is set.
	Status *specs.Status
	// Err says why the key or value could not be decoded.
	Err error
}

// StatusChange is one change of /status: group Key's status becomes
// Status, or is removed when Status is nil.
type StatusChange struct {
	Key    specs.GroupKey
	Status *specs.Status
}

// PhaseChange is one change of a group's phase, as the controller tells
// it and notifications carry it.
type PhaseChange struct {
	Group specs.GroupKey
	// From is the phase before ("" when the group had no status), To the
	// phase now.
	From, To specs.Phase
	// Reason says why, in words /status may show: it must hold no secret
	// value (a spec's errors as /status records them are fine).
	Reason string
	// Revision is the /desired revision the phase is about.
	Revision int64
	// FailedRevision is, for RolledBack and Failed, the revision whose
	// rollout failed; RestoredRevision, for RolledBack, the revision
	// rolled back to.
	FailedRevision, RestoredRevision int64
	// Time is when the phase changed.
	Time time.Time
}

// PauseEntry is one pause record (/theseus/pause/{service}/{labels}) as
// listed.
type PauseEntry struct {
	Key specs.GroupKey
	// Pause is the record; nil when Err is set.
	Pause *specs.Pause
	// Err says why the value does not decode. The group counts as paused:
	// someone meant it to be.
	Err error
}

// PruneDeletion is one app the prune deleted, as the mass-deletion
// guard's window keeps it.
type PruneDeletion struct {
	// Group is the group key, "service/labels".
	Group string    `json:"group"`
	At    time.Time `json:"at"`
	// ManagedBefore is the number of managed apps just before it.
	ManagedBefore int `json:"managedBefore"`
	// ReleasedBy names who released the guard, when it let this
	// deletion through.
	ReleasedBy string `json:"releasedBy,omitempty"`
}

// PruneRelease is an operator's acknowledgement that lets deletions
// through the mass-deletion guard until it expires.
type PruneRelease struct {
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	Until  time.Time `json:"until"`
	Reason string    `json:"reason,omitempty"`
}

// PruneState is the mass-deletion guard's record: the recent deletions
// and a release, if any.
type PruneState struct {
	Deletions []PruneDeletion
	Release   *PruneRelease
	// Revision is the mod revision of the deletions as read, 0 while
	// there are none: a store records a deletion only if it is unchanged.
	Revision int64
}

// RestartEntry is the rolling restart of one service as read.
type RestartEntry struct {
	Service string
	// State is nil when the service has no restart, or its record does
	// not decode (Err).
	State       *specs.RestartState
	ModRevision int64
	// Err says why the record does not decode; it matches ErrCorrupt.
	Err error
}

// StoredValue is a value as read from etcd, with its mod revision.
type StoredValue struct {
	Value       []byte
	ModRevision int64
}

// OwnerRecord is a sync source's ownership record of a /desired key as
// read: the record, or why it does not decode.
type OwnerRecord struct {
	Ownership   specs.Ownership
	ModRevision int64
	Err         error
}

// OwnedState is /desired and the ownership records of the sync sources
// at one revision.
type OwnedState struct {
	Revision int64
	Desired  map[specs.GroupKey]StoredValue
	Owners   map[specs.GroupKey]OwnerRecord
}

// OwnedWrite changes one group's /desired key and its ownership record
// together, guarded by the mod revisions of both as read (0: absent).
type OwnedWrite struct {
	Key                            specs.GroupKey
	DesiredRevision, OwnerRevision int64
	// Value is put to /desired; nil leaves the key, unless DeleteDesired.
	Value         []byte
	DeleteDesired bool
	// Owner is put as the record; nil deletes it.
	Owner []byte
}

// IsDelete reports whether the write removes the key or its record.
func (w *OwnedWrite) IsDelete() bool { return w.DeleteDesired || w.Owner == nil }

// HistoryEdit is one group's change of its bounded history, made with
// those of other groups in a few requests (the controller's
// HistoryStore.UpdateMany).
type HistoryEdit struct {
	Key specs.GroupKey
	// Writers asks for the records of who wrote the group's /desired
	// revisions to be read with its history, for writerOf.
	Writers bool
	// Edit changes the history as read. writerOf says who wrote revision
	// rev of the group's /desired key: the record written with it, else
	// specs.WriterUnknown (always, without Writers); an error matching
	// ErrCorrupt when that record does not decode. An error from Edit is
	// the group's result, and its history is left as it was. Edit runs
	// again, on the history read again, when another write came between
	// the read and the write.
	Edit func(h *specs.History, writerOf func(rev int64) (specs.Writer, error)) error
}
