package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"theseus.dev/drivers/etcd"
	"theseus.dev/specs"
	"theseus.dev/viewer"
)

// maxPauseReason bounds the reason kept with a pause.
const maxPauseReason = 1024

func newPauseCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pause SERVICE -l LABELS [--reason TEXT]",
		Short: "Hold back the controller's Marathon writes for a group",
		Long: `Record under /theseus/pause/SERVICE/LABELS that the group is paused, with who
paused it, when and why. While it is paused the controller writes nothing to
Marathon for it: changes to /desired wait (its phase is Paused, and plan lists
them as pending, held back), and so does any other correction. Pausing does
not stop a Marathon deployment already in flight: Marathon carries it on.
theseusd resume releases the group.`,
		Args: cobra.ExactArgs(1),
	}
	reason := cmd.Flags().String("reason", "", "why, kept with the pause")
	onGroup(c, cmd, func(specs.GroupKey) error {
		if len(*reason) > maxPauseReason {
			return fmt.Errorf("--reason is %d bytes; at most %d", len(*reason), maxPauseReason)
		}
		return nil
	}, func(ctx context.Context, ec *etcd.Client, k specs.GroupKey) error {
		return runPause(ctx, c, ec, k, specs.Pause{By: operator(c), At: time.Now().UTC(), Reason: *reason})
	})
	return cmd
}

func runPause(ctx context.Context, c *cli, ec *etcd.Client, k specs.GroupKey, p specs.Pause) error {
	prev, err := ec.Pauses().Pause(ctx, k, p)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "paused %s: the controller makes no Marathon writes for it until theseusd resume %s\n", k, groupFlags(k))
	fmt.Fprintln(c.stdout, "a Marathon deployment already in flight for it is not stopped: pausing holds back theseus's next writes, not Marathon's work under way")
	if prev != nil {
		fmt.Fprintf(c.stdout, "it was already paused by %s%s%s; that record is replaced\n", viewer.Printable(prev.By), sinceText(prev), reasonSuffix(prev.Reason))
	}
	if _, err := ec.Desired().Get(ctx, k); errors.Is(err, etcd.ErrDesiredNotFound) {
		fmt.Fprintf(c.stdout, "note: %s has no spec in /desired (yet)\n", k)
	}
	return nil
}

func newResumeCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "resume SERVICE -l LABELS",
		Short: "Release a paused group: the controller carries out what waited",
		Long: `Remove the group's pause record. The controller then looks at the group again
and carries out what is pending, as for any other change.`,
		Args: cobra.ExactArgs(1),
	}
	onGroup(c, cmd, nil, func(ctx context.Context, ec *etcd.Client, k specs.GroupKey) error {
		prev, err := ec.Pauses().Resume(ctx, k)
		if err != nil {
			return err
		}
		if prev == nil {
			fmt.Fprintf(c.stdout, "%s was not paused: nothing to do\n", k)
			return nil
		}
		fmt.Fprintf(c.stdout, "resumed %s (paused by %s%s%s): the controller carries out what is pending\n",
			k, viewer.Printable(prev.By), sinceText(prev), reasonSuffix(prev.Reason))
		return nil
	})
	return cmd
}

// pauseNote returns group k's pause record for a command's note, nil
// when it is not paused or the record cannot be read. A record that does
// not decode still pauses the group, as the controller counts it.
func pauseNote(ctx context.Context, ec *etcd.Client, k specs.GroupKey) *specs.Pause {
	p, err := ec.Pauses().Get(ctx, k)
	switch {
	case errors.Is(err, etcd.ErrCorrupt):
		return &specs.Pause{By: "unknown", Reason: "the pause record does not decode"}
	case err != nil:
		return nil
	}
	return p
}
