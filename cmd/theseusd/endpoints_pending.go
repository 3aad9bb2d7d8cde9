package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/drivers/etcd"
	"theseus.dev/endpoints"
	"theseus.dev/specs"
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
	pending, perr := pendingGroups(ctx, ec, service)
	if perr != nil || len(pending) == 0 {
		return nil, err
	}
	return nil, fmt.Errorf("/services holds %s half-written (its revision marked pending: an update written in several transactions), "+
		"not finished within %s: the leading theseusd finishes it, or rewrites it at its next sweep; is one running?", strings.Join(pending, ", "), within)
}

// pendingGroups returns the groups of the service whose revision is
// marked pending.
func pendingGroups(ctx context.Context, ec *etcd.Client, service string) ([]string, error) {
	dir := ec.Prefix() + specs.ServicesDir + service + "/"
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := ec.Etcd().Get(rctx, dir, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	var out []string
	for _, kv := range resp.Kvs {
		labels, ok := strings.CutSuffix(strings.TrimPrefix(string(kv.Key), dir), "/"+etcd.RevisionKeyName)
		if !ok || strings.Contains(labels, "/") {
			continue
		}
		if r, err := etcd.DecodeGroupRevision(kv.Value); err == nil && r.Pending {
			out = append(out, service+"/"+labels)
		}
	}
	return out, nil
}
