package marathon

import (
	"context"

	"theseus.dev/model"
)

// WithWriteGuard returns a context under which every write of the driver
// (each attempt of it) calls guard just before its request is sent
// (model.WithWriteGuard).
func WithWriteGuard(ctx context.Context, guard func(context.Context) error) context.Context {
	return model.WithWriteGuard(ctx, guard)
}

// checkWriteGuard runs the guard of ctx, if any.
func checkWriteGuard(ctx context.Context) error { return model.CheckWriteGuard(ctx) }
