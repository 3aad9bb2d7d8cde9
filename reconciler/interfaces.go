package reconciler

import (
	"context"
	"time"

	"theseus.dev/internal/observe"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// Marathon is what the controller needs of Marathon. *marathon.Client
// implements it; errors follow package model: model.ErrAppNotFound for
// an absent app, *model.LockedError for an app locked by a deployment,
// model.ErrAppExists for a create of an id taken, model.IsPermanent for a
// definition Marathon refuses. Its list and reads go through the term's
// observer (package internal/observe), shared with the other loops.
type Marathon interface {
	observe.Marathon
	Writer
	Deployments(ctx context.Context) ([]model.Deployment, error)
}

// Writer makes the Marathon writes of a plan. Each write calls
// model.CheckWriteGuard just before it sends each attempt.
type Writer interface {
	Create(ctx context.Context, w model.Write) (model.Result, error)
	Update(ctx context.Context, w model.Write) (model.Result, error)
	Scale(ctx context.Context, key specs.GroupKey, instances int) (model.Result, error)
	Restart(ctx context.Context, key specs.GroupKey) (model.Result, error)
	Delete(ctx context.Context, key specs.GroupKey) (model.Result, error)
}

// EventSource is Marathon's event stream, used only as a trigger: the
// term's observer follows it.
type EventSource = observe.EventSource

// DesiredSource is /desired: a snapshot, then every change, never an
// unknown state read as empty; and, before each Marathon write, a fenced
// linearizable read of the group's revision (0 when absent) and of its
// pause record (nil when it is not paused), failing with
// model.ErrNotLeader once the fence no longer holds.
// *etcd.DesiredStore implements it.
type DesiredSource interface {
	Sync(ctx context.Context, fn func(model.DesiredUpdate) error) error
	ConfirmUnpaused(ctx context.Context, fence model.Fence, k specs.GroupKey) (int64, *specs.Pause, error)
}

// StatusStore is /status. Writes are fenced by the leadership.
// *etcd.StatusStore implements it.
type StatusStore interface {
	List(ctx context.Context) ([]model.StatusEntry, int64, error)
	// Write makes the changes, fenced; an error matching
	// model.ErrNotLeader says the fence no longer holds.
	Write(ctx context.Context, fence model.Fence, changes []model.StatusChange) error
}

// PruneLedger is the mass-deletion guard's record: deletions within its
// window and an operator's release. Record is fenced by the leadership
// and fails with model.ErrConflict when the record changed since prev was
// read. *etcd.PruneStore implements it.
type PruneLedger interface {
	Read(ctx context.Context) (model.PruneState, error)
	Record(ctx context.Context, fence model.Fence, prev model.PruneState, d model.PruneDeletion, since time.Time) error
}

// HistoryStore is the bounded history of each group,
// /theseus/history/{service}/{labels}. UpdateMany makes the edits of
// several groups in a few requests: each group's history is read (with
// the records of who wrote its /desired revisions, when its edit asks),
// edited, and written back fenced by the leadership and guarded by its
// own mod revision, so that a group another write changed meanwhile is
// read and edited again without holding back the others. It returns one
// error per edit, nil when written: model.ErrNotLeader when the fence no
// longer holds, model.ErrCorrupt when the history does not decode, the
// edit's own error (nothing is written for that group), or another
// error of etcd, worth trying again. *etcd.HistoryStore implements it.
type HistoryStore interface {
	HistoryReader
	UpdateMany(ctx context.Context, fence model.Fence, edits []model.HistoryEdit) []error
}

// HistoryReader reads a group's history: an empty one when there is
// none, an error matching model.ErrCorrupt when it does not decode.
type HistoryReader interface {
	Get(ctx context.Context, k specs.GroupKey) (*specs.History, error)
}

// HistoriesReader reads the histories of many groups in a few requests,
// as HistoryReader reads one: every group of keys is in the answer.
// *etcd.HistoryStore implements it.
type HistoriesReader interface {
	GetMany(ctx context.Context, keys []specs.GroupKey) (map[specs.GroupKey]*specs.History, error)
}

// PauseSource is the pause records, /theseus/pause/: List reads them
// all (an undecodable record is still a pause), Watch calls changed
// after each change (and once at its start) until ctx ends.
// *etcd.PauseStore implements it.
type PauseSource interface {
	PauseLister
	Watch(ctx context.Context, changed func()) error
}

// PauseLister reads every pause record as one snapshot.
type PauseLister interface {
	List(ctx context.Context) ([]model.PauseEntry, int64, error)
}

// Notifier is told of every change of a group's phase, in order, once
// /status records it; it must never block. Forget is called when a
// group's spec is gone. *notify.Notifier
// implements it.
type Notifier interface {
	Notify(model.PhaseChange)
	Forget(k specs.GroupKey)
}
