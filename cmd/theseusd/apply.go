package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/marathon"
	"theseus.dev/specs"
)

func newApplyCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "apply -f FILE|DIR ... | --plan FILE",
		Short: "Validate spec files and write them to /desired, or carry out a saved plan",
		Long: `With -f: read and validate every spec (files, directories recursively, "-" for
standard input); if any is invalid, write nothing and list every problem. Otherwise
write the specs to /desired in transactions of at most 128 keys, each guarded
against concurrent edits, and print what was created, changed or unchanged.

With --plan FILE: carry out a plan saved by "theseusd plan -out FILE" against
Marathon, if nothing it depends on has moved since; otherwise refuse it as stale.`,
		Args: cobra.NoArgs,
	}
	ef := addEtcdFlags(cmd.Flags())
	mf := addMarathonFlags(cmd.Flags())
	files := cmd.Flags().StringArrayP("filename", "f", nil, "spec file or directory (repeatable; - for stdin)")
	planFile := cmd.Flags().String("plan", "", "carry out this saved plan")
	allowMass := cmd.Flags().Bool("allow-mass-delete", false, "with --plan: let deletes past the mass-deletion guard")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx := cmd.Context()
		switch {
		case *planFile != "" && len(*files) > 0:
			return errors.New("-f and --plan cannot be combined")
		case *planFile == "" && len(*files) == 0:
			return errors.New("nothing to apply: give -f FILE|DIR or --plan FILE")
		}
		if *planFile != "" {
			mcfg, err := mf.config(c.getenv)
			if err != nil {
				return err
			}
			mc, err := marathon.New(mcfg)
			if err != nil {
				return err
			}
			ec, err := ef.connect(ctx, c.getenv, etcd.Hooks{})
			if err != nil {
				return err
			}
			defer ec.Close()
			return applyPlan(ctx, c, ec, mc, *planFile, *allowMass)
		}
		groups, err := loadSpecs(c, *files)
		if err != nil {
			return err
		}
		ec, err := ef.connect(ctx, c.getenv, etcd.Hooks{})
		if err != nil {
			return err
		}
		defer ec.Close()
		res, err := ec.Desired().Apply(ctx, groups)
		counts := map[etcd.ApplyAction]int{}
		for _, r := range res {
			counts[r.Action]++
			fmt.Fprintf(c.stdout, "%s %s (revision %d)\n", r.Action, r.Key, r.Revision)
		}
		fmt.Fprintf(c.stdout, "%d created, %d changed, %d unchanged\n", counts[etcd.Created], counts[etcd.Changed], counts[etcd.Unchanged])
		return err
	}
	return cmd
}

// loadSpecs reads and validates every spec of paths; on any problem it
// lists them all and returns an error.
func loadSpecs(c *cli, paths []string) ([]*specs.Group, error) {
	var groups []*specs.Group
	var all specs.ErrorList
	for _, p := range paths {
		var gs []*specs.Group
		var err error
		if p == "-" {
			var data []byte
			if data, err = io.ReadAll(c.stdin); err == nil {
				gs, err = specs.ParseAndValidate("(stdin)", data)
			}
		} else {
			gs, err = specs.LoadPath(p)
		}
		groups = append(groups, gs...)
		all = append(all, specs.Errors(err)...)
	}
	if len(all) > 0 {
		for _, e := range all {
			fmt.Fprintln(c.stderr, e)
		}
		return nil, &exitCodeError{code: exitError, err: fmt.Errorf("%d problem(s) found; nothing written", len(all))}
	}
	return groups, nil
}

func newDeleteCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "delete SERVICE -l LABELS",
		Short: "Remove a group's desired spec",
		Long: `Remove /desired/SERVICE/LABELS. The controller deletes the group's app only
when it runs with --prune.`,
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
		ec, err := ef.connect(cmd.Context(), c.getenv, etcd.Hooks{})
		if err != nil {
			return err
		}
		defer ec.Close()
		rev, err := ec.Desired().Remove(cmd.Context(), k)
		if err != nil {
			return fmt.Errorf("delete %s: %w", k, err)
		}
		fmt.Fprintf(c.stdout, "deleted %s (revision %d)\n", k, rev)
		return nil
	}
	return cmd
}
