//go:build !unix

package gitsrc

import "context"

// lockCache does nothing where flock is missing: two processes must not
// share a cache directory there (give each its own --git-cache).
func lockCache(context.Context, string) (*cacheLock, error) { return &cacheLock{}, nil }

// cacheLock stands for a lock that is not taken.
type cacheLock struct{}

func (*cacheLock) release() {}
