package marathon

import "context"

type writeGuardKey struct{}

// WithWriteGuard returns a context under which every write of the driver
// (each attempt of it) calls guard just before its request is sent: a
// guard error ends the write with nothing sent, wrapping that error.
// Marathon has no conditional write; this is how a caller fences one,
// checking its right to write (a leadership, a revision) as late as the
// driver can, after anything that may have held the caller up.
func WithWriteGuard(ctx context.Context, guard func(context.Context) error) context.Context {
	return context.WithValue(ctx, writeGuardKey{}, guard)
}

// checkWriteGuard runs the guard of ctx, if any.
func checkWriteGuard(ctx context.Context) error {
	if g, ok := ctx.Value(writeGuardKey{}).(func(context.Context) error); ok {
		return g(ctx)
	}
	return nil
}
