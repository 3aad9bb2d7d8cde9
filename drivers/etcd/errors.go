package etcd

import (
	"errors"
	"fmt"
	"strings"

	"theseus.dev/model"
)

// sentinel is an error value that also matches a more general one under
// errors.Is, e.g. ErrServiceNotFound is an ErrNotFound.
type sentinel struct {
	msg    string
	parent error
}

func (e *sentinel) Error() string { return e.msg }
func (e *sentinel) Unwrap() error { return e.parent }

// General errors. The specific errors below match them under errors.Is.
var (
	// ErrNotFound: the key, service, group or container does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists: the service or group to create exists already.
	ErrExists = errors.New("already exists")
)

// Errors of the desired and status stores.
var (
	// ErrDesiredNotFound: the group has no /desired key.
	ErrDesiredNotFound error = &sentinel{"no desired spec", ErrNotFound}
	// ErrStatusNotFound: the group has no /status key.
	ErrStatusNotFound error = &sentinel{"no status", ErrNotFound}
	// ErrConflict: a compare-and-swap failed because a key changed since
	// it was read. Re-read and try again; it is not a failure to report
	// to a human unless it keeps happening. See ConflictError.
	ErrConflict = model.ErrConflict
	// ErrTooManyOps: one transaction would hold more operations than
	// etcd allows (MaxTxnOps).
	ErrTooManyOps = errors.New("too many operations for one transaction")
)

// Errors of the service-discovery driver.
var (
	ErrServiceNotFound   error = &sentinel{"service not found", ErrNotFound}
	ErrGroupNotFound     error = &sentinel{"group not found", ErrNotFound}
	ErrContainerNotFound error = &sentinel{"container not found", ErrNotFound}
	ErrServiceExists     error = &sentinel{"service already exists", ErrExists}
	ErrGroupExists       error = &sentinel{"group already exists", ErrExists}
	// ErrInvalidName: a service, label set or container name that cannot
	// be part of a key.
	ErrInvalidName = errors.New("invalid name")
	// ErrCorrupt: a value under /services or /status that does not
	// decode; the key is named in the wrapping error.
	ErrCorrupt = model.ErrCorrupt
)

// Errors of leader election and fenced writes.
var (
	// ErrNotLeader: a write fenced by a leadership that has ended, or
	// that never existed, was refused.
	ErrNotLeader = model.ErrNotLeader
	// ErrLeadershipLost is the cause of a Leadership's context when the
	// session expired or the leader key was deleted.
	ErrLeadershipLost = errors.New("leadership lost")
	// ErrResigned is the cause of a Leadership's context after Resign.
	ErrResigned = errors.New("leadership resigned")
	// ErrNoLeader: no daemon holds the leadership.
	ErrNoLeader = errors.New("no leader elected")
)

// Conflict names one key whose compare failed in a transaction.
type Conflict struct {
	Key string
	// Expected is the mod revision the write required (0: absent);
	// Actual what etcd holds now (0: absent).
	Expected, Actual int64
}

// ConflictError reports the keys that made a compare-and-swap fail. It
// matches ErrConflict under errors.Is.
type ConflictError struct {
	Conflicts []Conflict
}

func (e *ConflictError) Error() string {
	parts := make([]string, len(e.Conflicts))
	for i, c := range e.Conflicts {
		parts[i] = fmt.Sprintf("%s (expected revision %d, found %d)", c.Key, c.Expected, c.Actual)
	}
	if len(parts) == 0 {
		return ErrConflict.Error()
	}
	return ErrConflict.Error() + ": " + strings.Join(parts, ", ")
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }
