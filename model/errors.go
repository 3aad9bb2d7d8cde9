package model

import (
	"errors"
	"fmt"
	"strings"
)

// Errors of Marathon writes and reads, as every Marathon driver reports
// them. Match them with errors.Is and errors.As.
var (
	// ErrAppNotFound: Marathon has no such app.
	ErrAppNotFound = errors.New("not found in Marathon")
	// ErrAppExists: a create found an app at the group's id.
	ErrAppExists = errors.New("an app exists at the id")
)

// LockedError is Marathon's 409 "App is locked by one or more
// deployments": a wait, not a failure. The app is looked at again when
// the deployments end.
type LockedError struct {
	AppID       string
	Deployments []string
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("app %s is locked by deployment(s) %s", e.AppID, strings.Join(e.Deployments, ", "))
}

// IsPermanent reports whether err is, or wraps, an error that sending
// the same request again cannot fix (one whose Permanent method says so):
// Marathon refused the request as malformed or invalid.
func IsPermanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}

// Errors of etcd's guarded writes.
var (
	// ErrNotLeader: a write fenced by a leadership that has ended, or
	// that never existed, was refused.
	ErrNotLeader = errors.New("not the leader: write refused by the leadership fence")
	// ErrConflict: a compare-and-swap failed because a key changed since
	// it was read. Read again and try again.
	ErrConflict = errors.New("conflict: changed since read")
)
