package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"theseus.dev/diff"
	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/marathon"
	"theseus.dev/reconciler"
	"theseus.dev/specs"
)

// planFlags steer what a plan includes.
type planFlags struct {
	prune, allowMassDelete bool
	maxDeleteFraction      float64
	pruneWindow            time.Duration
}

func (f *planFlags) options() diff.Options {
	return diff.Options{Prune: f.prune, AllowMassDelete: f.allowMassDelete, MaxDeleteFraction: f.maxDeleteFraction}
}

func newPlanCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show what the controller would do now, field by field",
		Long: `Compare /desired (or, with --dir, a directory of spec files) with what
Marathon runs and print the plan: + create, ~ update, ↕ scale, ↻ restart,
- delete, with every changed field as "path: old => new". Nothing is changed.
Exit code 0: in sync; 2: changes pending; 1: error.
-out FILE saves the plan with its check index for "theseusd apply --plan FILE".`,
		Args: cobra.NoArgs,
	}
	ef := addEtcdFlags(cmd.Flags())
	mf := addMarathonFlags(cmd.Flags())
	pf := &planFlags{}
	fs := cmd.Flags()
	output := fs.StringP("output", "o", "text", "output format: text or json")
	selector := fs.StringP("labels", "l", "", `only groups with these labels ("testing,db"; "!dev" excludes)`)
	dir := fs.String("dir", "", "plan from the spec files of this directory instead of /desired")
	out := fs.String("out", "", "save the plan, with its check index, to this file")
	ascii := fs.Bool("ascii", false, "plain-ASCII markers in text output")
	fs.BoolVar(&pf.prune, "prune", false, "plan deletes of managed apps without a desired spec, as 'run --prune' would")
	fs.BoolVar(&pf.allowMassDelete, "allow-mass-delete", false, "let the plan past the mass-deletion guard")
	fs.Float64Var(&pf.maxDeleteFraction, "max-delete-fraction", diff.DefaultMaxDeleteFraction, "the mass-deletion guard's largest share of managed apps to delete")
	fs.DurationVar(&pf.pruneWindow, "prune-window", reconciler.DefaultPruneWindow, "the daemon's --prune-window: its deletions within it count with the plan's")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx := cmd.Context()
		if *output != "text" && *output != "json" {
			return fmt.Errorf("-o %q: want text or json", *output)
		}
		sel, err := specs.ParseSelector(*selector)
		if err != nil {
			return err
		}
		switch {
		case *out != "" && !sel.Empty():
			return errors.New("-out saves a whole plan for apply --plan; it cannot be combined with -l")
		case *out != "" && *dir != "":
			return errors.New("-out: a plan of --dir cannot be applied; sync the directory instead")
		}
		var local *diff.Snapshot
		var desired reconciler.DesiredLister
		var ec *etcd.Client
		if *dir != "" {
			groups, err := specs.LoadPath(*dir)
			if err != nil {
				for _, e := range specs.Errors(err) {
					fmt.Fprintln(c.stderr, e)
				}
				return &exitCodeError{code: exitError, err: fmt.Errorf("--dir %s: invalid specs; nothing planned", *dir)}
			}
			snap, err := reconciler.GroupsSnapshot(groups)
			if err != nil {
				return err
			}
			local = &snap
		} else {
			if ec, err = ef.connect(ctx, c, etcd.Hooks{}); err != nil {
				return err
			}
			defer ec.Close()
			desired = ec.Desired()
		}
		mc, err := mf.client(c.getenv, marathon.Hooks{})
		if err != nil {
			return err
		}
		opts := pf.options()
		if pf.prune && ec != nil {
			// The daemon's recent deletions and a release count as they
			// do for the daemon.
			st, err := ec.Prune().Read(ctx)
			if err != nil {
				return err
			}
			opts.History = reconciler.PruneHistory(st, time.Now(), pf.pruneWindow)
		}
		plan, err := reconciler.Plan(ctx, desired, local, mc, opts)
		if err != nil {
			return err
		}
		if !sel.Empty() {
			plan = filterPlan(plan, sel)
		}
		if *out != "" {
			if err := savePlan(*out, plan); err != nil {
				return err
			}
		}
		if *output == "json" {
			enc := json.NewEncoder(c.stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(plan); err != nil {
				return err
			}
		} else if err := diff.WriteText(c.stdout, plan, diff.TextOptions{ASCII: *ascii}); err != nil {
			return err
		}
		if plan.Pending() {
			return &exitCodeError{code: exitChanges}
		}
		return nil
	}
	return cmd
}

// filterPlan keeps the actions of the groups sel selects.
func filterPlan(p *diff.Plan, sel specs.Selector) *diff.Plan {
	out := *p
	out.Actions = nil
	for _, a := range p.Actions {
		if sel.Matches(a.Key.LabelSet()) {
			out.Actions = append(out.Actions, a)
		}
	}
	return &out
}

func savePlan(path string, p *diff.Plan) error {
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("-out: %w", err)
	}
	return nil
}
