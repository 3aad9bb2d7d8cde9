package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"theseus.dev/drivers/etcd"
	"theseus.dev/specs"
)

func newDeleteCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "delete SERVICE -l LABELS",
		Short: "Remove a group's desired spec",
		Long: `Remove /desired/SERVICE/LABELS. The controller deletes the group's app only
when it runs with --prune. A group that a sync source owns comes back at that
source's next sync unless its file is removed there too.`,
		Args: cobra.ExactArgs(1),
	}
	ef := addEtcdFlags(cmd.Flags())
	labels := cmd.Flags().StringP("labels", "l", "", "the group's labels, comma-separated (required)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if *labels == "" {
			return errors.New("-l LABELS is required: a group is a service and a set of labels")
		}
		k, err := specs.NewGroupKey(args[0], specs.ParseLabelList(*labels))
		if err != nil {
			return err
		}
		return runDelete(cmd.Context(), c, ef, k)
	}
	return cmd
}

// runDelete removes group k's desired spec; an absent one is an error.
func runDelete(ctx context.Context, c *cli, ef *etcdFlags, k specs.GroupKey) error {
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
	if owned {
		fmt.Fprintf(c.stderr, "note: sync source %q wrote %s from %s; its next sync creates it again unless that file is removed\n", owner.Owner, k, owner.File)
	}
	return nil
}
