package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"theseus.dev/drivers/etcd"
	"theseus.dev/reconciler"
	"theseus.dev/specs"
)

func newRestartCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "restart SERVICE [-l LABELS]",
		Short: "Rolling restart of a service's groups, one group after another",
		Long: `Restart the groups of SERVICE in /desired (those -l selects) one after another:
for each, Marathon's rolling restart, then wait until it is deployed and
healthy again and has stayed so for the controller's --min-healthy-time (tasks
that crash soon after they start are not back), then --wait before the next.
A group that does not come back within --health-timeout stops the sequence,
and so does, at once, a group whose desired revision failed (RolledBack,
Failed). A group whose spec in /desired is invalid refuses the restart before
any group is restarted. A paused group (theseusd pause) is not restarted until
it is resumed: the command names it, and the restart waits for it up to
--health-timeout.

The command asks the leading theseusd for the restart (a request recorded in
etcd under /theseus/restart/SERVICE) and follows it: the leader carries it
out through the same fence, write limit and check of /desired as every other
change, and records its progress, so that it goes on under a new leader. While
a group restarts, its tasks replaced of wanted and the time it has taken are
printed as they change (and every 30s when they do not). Interrupted, the
restart goes on; run the command again with the same selector to follow it,
or to resume one that stopped (groups removed from /desired since are left
out); with another selector it replaces the restart of the service not done,
and says so. --detach returns once the request is recorded.`,
		Args: cobra.ExactArgs(1),
	}
	ef := addEtcdFlags(cmd.Flags())
	selector := cmd.Flags().StringP("labels", "l", "", `only groups with these labels ("testing"; "!dev" excludes)`)
	wait := cmd.Flags().Duration("wait", 30*time.Second, "pause between two groups")
	healthTimeout := cmd.Flags().Duration("health-timeout", 10*time.Minute, "how long a group may take to be healthy again")
	detach := cmd.Flags().Bool("detach", false, "return once the restart is requested, without following it")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		if err := specs.ValidName(args[0]); err != nil {
			return fmt.Errorf("service %q: %w", args[0], err)
		}
		sel, err := specs.ParseSelector(*selector)
		if err != nil {
			return err
		}
		// Refused before the request is recorded: with no time to come
		// back, the leader would restart the first group and stop there.
		if *healthTimeout <= 0 {
			return fmt.Errorf("--health-timeout %s: want a positive duration, the time a group may take to be healthy again", *healthTimeout)
		}
		if *wait < 0 {
			return fmt.Errorf("--wait %s: want a duration of 0s or more", *wait)
		}
		ec, err := ef.connect(ctx, c, etcd.Hooks{})
		if err != nil {
			return err
		}
		defer ec.Close()
		r := &reconciler.RollingRestart{Desired: ec.Desired(), Store: ec.Restarts(), Pauses: ec.Pauses(), Wait: *wait, HealthTimeout: *healthTimeout,
			Detach: *detach, Led: func(ctx context.Context) (bool, error) {
				_, err := ec.Leader(ctx)
				if errors.Is(err, etcd.ErrNoLeader) {
					return false, nil
				}
				return err == nil, err
			}, Progress: func(line string) {
				fmt.Fprintf(c.stdout, "%s %s\n", time.Now().Format("15:04:05"), line)
			}}
		err = r.Run(ctx, args[0], sel)
		if errors.Is(err, etcd.ErrCorrupt) {
			// Nothing can be resumed from it, and it is not written over:
			// it may be another tool's, or a newer theseusd's.
			key := etcd.RestartKey(ec.Prefix(), args[0])
			return fmt.Errorf("%w\nthe restart record of %s cannot be read; if no restart of it is under way, etcdctl del %s removes it", err, args[0], key)
		}
		return err
	}
	return cmd
}
