package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"theseus.dev/diff"
	"theseus.dev/drivers/etcd"
	"theseus.dev/specs"
	"theseus.dev/viewer"
)

func newRollbackCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollback SERVICE -l LABELS [--to REVISION]",
		Short: "Write the spec of an earlier revision of a group back to /desired",
		Long: `Write the spec of an entry of the group's history (theseusd history) back to
/desired: by default the last revision that was Synced before the current one,
or the revision --to names. The write is guarded by the current revision, so a
change made meanwhile is never overwritten, and it is recorded as a rollback in
the history. The controller then rolls it out like any other change.

A group that a sync source (theseusd sync) writes is refused: its next sync
would undo the rollback. Roll it back in the source instead, e.g. git revert.`,
		Args: cobra.ExactArgs(1),
	}
	to := cmd.Flags().Int64("to", 0, "the revision to go back to (default: the last Synced before the current one)")
	onGroup(c, cmd, func(k specs.GroupKey) error {
		if cmd.Flags().Changed("to") && *to <= 0 {
			return fmt.Errorf("--to %d: want a revision from theseusd history %s", *to, groupFlags(k))
		}
		return nil
	}, func(ctx context.Context, ec *etcd.Client, k specs.GroupKey) error {
		return runRollback(ctx, c, ec, k, *to)
	})
	return cmd
}

// runRollback writes the spec of revision to (0: the last Synced before
// the current one) of group k's history back to /desired.
func runRollback(ctx context.Context, c *cli, ec *etcd.Client, k specs.GroupKey, to int64) error {
	if o, owned, err := ec.SyncOwner(ctx, k); err != nil {
		return err
	} else if owned {
		return fmt.Errorf("%s is written by sync source %q (%s, from %s): roll it back there, e.g. git revert the change, "+
			"and let theseusd sync write it; a rollback here would leave the group in conflict with that source, "+
			"whose every sync would fail on it until the file held the same spec or sync --adopt undid the rollback "+
			"(if that source no longer syncs, etcdctl del %s first)", k, o.Owner, o.File, o.Source, etcd.SyncOwnerKey(ec.Prefix(), k))
	}
	var cur *etcd.Entry
	switch e, err := ec.Desired().Get(ctx, k); {
	case err == nil:
		cur = &e
	case !errors.Is(err, etcd.ErrDesiredNotFound):
		return err
	}
	h, err := ec.History().Get(ctx, k)
	if err != nil {
		return err
	}
	target, err := rollbackTarget(k, h, cur, to)
	if err != nil {
		return err
	}
	g, err := specs.DecodeStored(k, target.Spec)
	if err != nil {
		return fmt.Errorf("the spec of revision %d no longer validates, so it is not written:\n%w", target.Revision, err)
	}
	value := etcd.StoredValue(g)
	if err := specs.CheckStoredSize(g, value); err != nil {
		return fmt.Errorf("the spec of revision %d is not written:\n%w", target.Revision, err)
	}
	var expected int64
	var changed []string
	if cur != nil {
		expected = cur.ModRevision
		if cur.Valid() {
			if bytes.Equal(etcd.StoredValue(cur.Group), value) {
				fmt.Fprintf(c.stdout, "%s already holds the spec of revision %d (/desired revision %d): nothing written\n", k, target.Revision, cur.ModRevision)
				return nil
			}
			changed = diff.SpecChanges(&cur.Group.Spec, &g.Spec)
		}
	}
	w := specs.Writer{Kind: specs.WriterRollback, By: operator(c), At: time.Now().UTC(), RestoredFrom: target.Revision}
	rev, err := ec.Desired().WithWriter(w).Put(ctx, k, value, expected)
	if errors.Is(err, etcd.ErrConflict) {
		return fmt.Errorf("%s changed while rolling back, so nothing was written; see theseusd history %s and try again: %w",
			k, groupFlags(k), err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "rolled %s back to the spec of revision %d (image %s), written as /desired revision %d\n", k, target.Revision, g.Spec.Image, rev)
	if len(changed) > 0 {
		fmt.Fprintf(c.stdout, "changed: %s\n", strings.Join(changed, ", "))
	}
	fmt.Fprintf(c.stdout, "the controller rolls it out like any other change; theseusd history %s follows it\n", groupFlags(k))
	if p := pauseNote(ctx, ec, k); p != nil {
		fmt.Fprintf(c.stdout, "note: %s is paused (by %s): nothing is written to Marathon until theseusd resume %s\n", k, viewer.Printable(p.By), groupFlags(k))
	}
	return nil
}

// rollbackTarget picks the entry to go back to: revision to, or the last
// Synced before the current revision (before any, for a group without a
// spec). It must hold its spec.
func rollbackTarget(k specs.GroupKey, h *specs.History, cur *etcd.Entry, to int64) (*specs.HistoryEntry, error) {
	if len(h.Entries) == 0 {
		return nil, fmt.Errorf("%s has no history yet, so there is nothing to roll back to", k)
	}
	var target *specs.HistoryEntry
	if to > 0 {
		if target = h.Entry(to); target == nil {
			return nil, fmt.Errorf("revision %d is not in the history of %s (it holds %s)", to, k, revisionList(h))
		}
	} else {
		before := int64(math.MaxInt64)
		if cur != nil {
			before = cur.ModRevision
		}
		if target = h.LastSynced(before); target == nil {
			return nil, fmt.Errorf("no revision of %s before the current one was Synced; name one with --to (theseusd history %s lists them)",
				k, groupFlags(k))
		}
	}
	switch {
	case target.Deleted:
		return nil, fmt.Errorf("revision %d of %s deleted its spec; there is no spec to write back (theseusd delete does that)", target.Revision, k)
	case target.SpecHash == "":
		// The history keeps no spec of a revision that did not validate.
		return nil, fmt.Errorf("revision %d of %s held an invalid spec, which was never applied; there is no spec to write back", target.Revision, k)
	case len(target.Spec) == 0:
		return nil, fmt.Errorf("the spec of revision %d of %s is no longer kept (the history drops the specs of its oldest entries past %d MiB)",
			target.Revision, k, specs.MaxHistoryBytes>>20)
	}
	return target, nil
}

func revisionList(h *specs.History) string {
	revs := make([]string, len(h.Entries))
	for i, e := range h.Entries {
		revs[i] = fmt.Sprint(e.Revision)
	}
	return strings.Join(revs, ", ")
}
