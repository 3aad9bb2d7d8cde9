package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"theseus.dev/drivers/etcd"
	"theseus.dev/endpoints"
)

// readService reads the service's groups once. The client waits while a
// group is half-written (its revision marked pending, an update written
// in several transactions) for the writer to finish; with no theseusd
// leading, or one that died halfway, that wait had no end, and the
// command hung in silence. It waits for as long as within, then says
// which groups are pending.
func readService(ctx context.Context, eps *endpoints.Client, ec *etcd.Client, service string, within time.Duration) ([]endpoints.Group, error) {
	rctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	groups, err := eps.Service(rctx, service)
	if err == nil || ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
		return groups, err
	}
	pending, perr := ec.Discovery().PendingGroups(ctx, service)
	if perr != nil || len(pending) == 0 {
		return nil, err
	}
	return nil, fmt.Errorf("/services holds %s half-written (its revision marked pending: an update written in several transactions), "+
		"not finished within %s: the leading theseusd finishes it, or rewrites it at its next sweep; is one running?", strings.Join(pending, ", "), within)
}
