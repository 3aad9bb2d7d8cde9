package reconciler

import (
	"context"
	"time"

	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/marathon"
	"theseus.dev/specs"
)

// Marathon is what the controller needs of Marathon. *marathon.Client
// implements it; errors follow that package: marathon.ErrNotFound for an
// absent app, *marathon.LockedError for an app locked by a deployment,
// marathon.IsPermanent for a definition Marathon refuses.
type Marathon interface {
	// List returns every app under the driver's root, with tasks and
	// deployments, in one call.
	List(ctx context.Context) ([]marathon.App, error)
	Get(ctx context.Context, key specs.GroupKey) (marathon.App, error)
	Create(ctx context.Context, w marathon.Write) (marathon.Result, error)
	Update(ctx context.Context, w marathon.Write) (marathon.Result, error)
	Scale(ctx context.Context, key specs.GroupKey, instances int) (marathon.Result, error)
	Restart(ctx context.Context, key specs.GroupKey) (marathon.Result, error)
	Delete(ctx context.Context, key specs.GroupKey) (marathon.Result, error)
	Deployments(ctx context.Context) ([]marathon.Deployment, error)
}

// EventSource is Marathon's event stream, used only as a trigger. Events
// blocks until ctx ends and delivers marathon.EventResync after every
// (re)attach.
type EventSource interface {
	Events(ctx context.Context, fn func(marathon.Event)) error
}

// DesiredSource is /desired: a snapshot, then every change, never an
// unknown state read as empty; and, before each Marathon write, a fenced
// linearizable read of the group's revision (0 when absent), failing
// with etcd.ErrNotLeader once the fence no longer holds.
// *etcd.DesiredStore implements it.
type DesiredSource interface {
	Sync(ctx context.Context, fn func(etcd.Update) error) error
	Confirm(ctx context.Context, fence etcd.Fence, k specs.GroupKey) (int64, error)
}

// StatusStore is /status. Writes are fenced by the leadership.
// *etcd.StatusStore implements it.
type StatusStore interface {
	List(ctx context.Context) ([]etcd.StatusEntry, int64, error)
	Put(ctx context.Context, fence etcd.Fence, k specs.GroupKey, st *specs.Status) (int64, error)
	Delete(ctx context.Context, fence etcd.Fence, k specs.GroupKey) error
}

// RestartSource says which restart requests are pending. Nil means none.
type RestartSource interface {
	// Pending returns the token of the restart requested for k, or "".
	Pending(k specs.GroupKey) string
}

// PruneLedger is the mass-deletion guard's record: deletions within its
// window and an operator's release. Record is fenced by the leadership
// and fails with etcd.ErrConflict when the record changed since prev was
// read. *etcd.PruneStore implements it.
type PruneLedger interface {
	Read(ctx context.Context) (etcd.PruneState, error)
	Record(ctx context.Context, fence etcd.Fence, prev etcd.PruneState, d etcd.PruneDeletion, since time.Time) error
}
