package main

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"theseus.dev/drivers/etcd"
	"theseus.dev/reconciler"
	"theseus.dev/viewer"
)

func newPruneCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "prune [--allow-mass-delete [--for DURATION] [--reason TEXT] | --revoke]",
		Short: "Show, release or revoke the mass-deletion guard of the running daemon",
		Long: `The daemon, with --prune, deletes the apps of groups gone from /desired, but
holds deletions back when, counted over --prune-window (10 minutes), they
would remove more than --max-delete-fraction of the managed apps, and always
when /desired is empty while apps are managed. Plan and /status say what is
held back.

With no flag, prune shows the guard's record: the deletions within the window
and the release, if any. --allow-mass-delete records a release, with who gave
it, when and why, under /theseus/prune/release: until it expires (--for) the
daemon lets held-back deletions through, from its next resync on, without a
restart, and notes the release beside each deletion it makes. --revoke ends a
release early.`,
		Args: cobra.NoArgs,
	}
	ef := addEtcdFlags(cmd.Flags())
	allow := cmd.Flags().Bool("allow-mass-delete", false, "let held-back deletions through for --for")
	revoke := cmd.Flags().Bool("revoke", false, "end the release now")
	dur := cmd.Flags().Duration("for", 15*time.Minute, "how long the release lasts")
	reason := cmd.Flags().String("reason", "", "why, kept with the release")
	window := cmd.Flags().Duration("prune-window", reconciler.DefaultPruneWindow, "the daemon's --prune-window, to show the deletions within it")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx := cmd.Context()
		switch {
		case *allow && *revoke:
			return errors.New("--allow-mass-delete and --revoke: give one")
		case *allow && (*dur <= 0 || *dur > 24*time.Hour):
			return fmt.Errorf("--for %s: want a duration up to 24h", *dur)
		}
		// Taken silently, "prune --for 1h" would seem to release the guard.
		if err := goesWith(cmd.Flags(), "--allow-mass-delete", *allow, "for", "reason"); err != nil {
			return err
		}
		ec, err := ef.connect(ctx, c, etcd.Hooks{})
		if err != nil {
			return err
		}
		defer ec.Close()
		store := ec.Prune()
		now := time.Now()
		switch {
		case *allow:
			r := etcd.PruneRelease{By: operator(c), At: now, Until: now.Add(*dur), Reason: *reason}
			if err := store.Release(ctx, r); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "released the mass-deletion guard until %s (by %s); held-back deletions go through from the daemon's next resync\n",
				r.Until.Format(time.RFC3339), r.By)
			return nil
		case *revoke:
			if err := store.Revoke(ctx); err != nil {
				return err
			}
			fmt.Fprintln(c.stdout, "the mass-deletion guard holds again")
			return nil
		}
		st, err := store.Read(ctx)
		if err != nil {
			return err
		}
		h := reconciler.PruneHistory(st, now, *window)
		fmt.Fprintf(c.stdout, "%d app(s) deleted in the last %s", len(h.Deleted), *window)
		if h.ManagedAtStart > 0 {
			fmt.Fprintf(c.stdout, ", of %d managed before the first", h.ManagedAtStart)
		}
		fmt.Fprintln(c.stdout)
		for _, d := range st.Deletions {
			if !d.At.Before(now.Add(-*window)) {
				fmt.Fprintf(c.stdout, "  %s  %s\n", d.At.Format(time.RFC3339), d.Group)
			}
		}
		if h.ReleasedBy != "" {
			fmt.Fprintf(c.stdout, "released by %s (%s)\n", viewer.Printable(h.ReleasedBy), viewer.Printable(cmp.Or(st.Release.Reason, "no reason given")))
		} else {
			fmt.Fprintln(c.stdout, "not released: deletions beyond the guard are held back")
		}
		return nil
	}
	return cmd
}

// operator names who runs the command, for the release's record.
func operator(c *cli) string {
	host, _ := os.Hostname()
	return cmp.Or(c.getenv("USER"), c.getenv("LOGNAME"), "unknown") + "@" + cmp.Or(host, "unknown")
}
