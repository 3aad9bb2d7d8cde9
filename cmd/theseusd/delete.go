package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/marathon"
	"theseus.dev/specs"
	"theseus.dev/viewer"
)

func newDeleteCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "delete SERVICE -l LABELS",
		Short: "Remove a group's desired spec",
		Long: `Remove /desired/SERVICE/LABELS, and say what becomes of the group's Marathon
app: a controller running with --prune deletes it; one without leaves it
running, shown as Orphaned by "theseusd get", until it is deleted with a plan
("theseusd plan --prune -out plan.json", then "theseusd apply --plan plan.json").
A group that a sync source owns comes back at that source's next sync unless its
file is removed there too.`,
		Args: cobra.ExactArgs(1),
	}
	ef := addEtcdFlags(cmd.Flags())
	mf := addMarathonFlags(cmd.Flags())
	labels := addGroupLabelsFlag(cmd.Flags())
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		k, err := groupArg(args[0], *labels)
		if err != nil {
			return err
		}
		return runDelete(cmd.Context(), c, ef, mf, k)
	}
	return cmd
}

// runDelete removes group k's desired spec; an absent one is an error.
func runDelete(ctx context.Context, c *cli, ef *etcdFlags, mf *marathonFlags, k specs.GroupKey) error {
	ec, err := ef.connect(ctx, c, etcd.Hooks{})
	if err != nil {
		return err
	}
	defer ec.Close()
	owner, owned, err := ec.SyncOwner(ctx, k)
	if err != nil {
		owned = false // the note below is a courtesy; the delete does not depend on it
	}
	rev, err := ec.Desired().Remove(ctx, k)
	if errors.Is(err, etcd.ErrDesiredNotFound) {
		return fmt.Errorf("group %s has no desired spec (%s): nothing deleted", k, specs.DesiredKey(ec.Prefix(), k))
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", k, err)
	}
	fmt.Fprintf(c.stdout, "deleted %s (revision %d)\n", k, rev)
	fate, deletable := appFate(ctx, c, mf, k)
	fmt.Fprintln(c.stdout, fate)
	if p := pauseNote(ctx, ec, k); p != nil && deletable {
		// The controller and apply --plan hold back every write of a
		// paused group: the app's delete too.
		fmt.Fprintf(c.stdout, "note: %s is paused (by %s): its Marathon app is not deleted until theseusd resume %s\n",
			k, viewer.Printable(p.By), groupFlags(k))
	}
	if owned {
		fmt.Fprintf(c.stderr, "note: sync source %q wrote %s from %s; its next sync creates it again unless that file is removed\n", owner.Owner, k, owner.File)
	}
	return nil
}

// appFateTimeout bounds the read of the app after a delete.
const appFateTimeout = 3 * time.Second

// appFate says what becomes of group k's Marathon app now that its spec
// is gone, and whether there may be one for theseus to delete. Marathon
// is asked whether there is one; when it cannot say, the answer covers
// both cases.
func appFate(ctx context.Context, c *cli, mf *marathonFlags, k specs.GroupKey) (string, bool) {
	const fate = "a controller running with --prune deletes it; one without leaves it running, shown as Orphaned " +
		"by theseusd get (to delete it then: theseusd plan --prune -out plan.json, check it, theseusd apply --plan plan.json)"
	mc, err := mf.client(c.getenv, marathon.Hooks{})
	if err != nil {
		return "its Marathon app, if any: " + fate, true
	}
	id := specs.AppID(mc.Root(), k)
	ctx, cancel := context.WithTimeout(ctx, appFateTimeout) // a courtesy: the delete is done
	defer cancel()
	a, err := mc.Get(ctx, k)
	switch {
	case errors.Is(err, marathon.ErrNotFound):
		return fmt.Sprintf("no Marathon app runs at %s", id), false
	case err != nil:
		return fmt.Sprintf("its Marathon app %s, if any (Marathon cannot be read: %v): %s", id, err, fate), true
	case !a.Managed:
		return fmt.Sprintf("the Marathon app at %s is not theseus's; it is left alone", id), false
	case a.Protected:
		return fmt.Sprintf("the Marathon app %s is protected (theseus.io/protect=true); it is never deleted and keeps running, shown as Orphaned", id), false
	}
	return fmt.Sprintf("its Marathon app %s runs %d task(s): %s", id, a.Counts.Running, fate), true
}
