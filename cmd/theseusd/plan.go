package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"theseus.dev/diff"
	"theseus.dev/drivers/etcd"
	"theseus.dev/model"
	"theseus.dev/reconciler"
	"theseus.dev/specs"
)

// planFlags steer what a plan includes.
type planFlags struct {
	prune, allowMassDelete bool
	maxDeleteFraction      float64
	pruneWindow            time.Duration
}

// addGuardFlags adds the flags of the mass-deletion guard, which plan and
// apply --plan apply alike.
func (f *planFlags) addGuardFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&f.allowMassDelete, "allow-mass-delete", false, "let the plan past the mass-deletion guard")
	fs.Float64Var(&f.maxDeleteFraction, "max-delete-fraction", diff.DefaultMaxDeleteFraction, "the mass-deletion guard's largest share of managed apps to delete")
	fs.DurationVar(&f.pruneWindow, "prune-window", reconciler.DefaultPruneWindow, "the daemon's --prune-window: its deletions within it count with the plan's")
}

// check refuses guard flags out of range, before anything is read.
func (f *planFlags) check() error { return checkGuardFlags(f.maxDeleteFraction, f.pruneWindow) }

// checkGuardFlags refuses a --max-delete-fraction that is not a share of
// the managed apps (diff would take 0 as its default, and 50, meant as a
// percent, lets every app go) and a --prune-window that is not positive
// (which would count no earlier deletion).
func checkGuardFlags(fraction float64, window time.Duration) error {
	if !(fraction > 0 && fraction <= 1) {
		return fmt.Errorf("--max-delete-fraction %g: want a share of the managed apps above 0 and at most 1 (0.5 is half)", fraction)
	}
	if window <= 0 {
		return fmt.Errorf("--prune-window %s: want a positive duration", window)
	}
	return nil
}

// options are the options of a plan with f's guard: with prune, the
// daemon's recent deletions and a release, read from etcd, count as they
// do for the daemon.
func (f *planFlags) options(ctx context.Context, ec *etcd.Client) (diff.Options, error) {
	opts := diff.Options{Prune: f.prune, AllowMassDelete: f.allowMassDelete, MaxDeleteFraction: f.maxDeleteFraction}
	if f.prune {
		st, err := ec.Prune().Read(ctx)
		if err != nil {
			return diff.Options{}, err
		}
		opts.History = reconciler.PruneHistory(st, time.Now(), f.pruneWindow)
	}
	return opts, nil
}

// planScope says what a plan compares with what runs: /desired (both
// empty), the spec files of -f (only their groups), or a directory that
// stands for the whole of /desired (--dir).
type planScope struct {
	files []string
	dir   string
	// loaded, if set, is files already read (standard input can be read
	// only once).
	loaded *fileSpecs
}

func newPlanCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plan [-f FILE|DIR ... | --dir DIR]",
		Short: "Show what the controller would do now, field by field",
		Long: `Compare /desired with what Marathon and /services hold and print the plan:
+ create, ~ update, ↕ scale, ↻ restart, - delete, ≈ config, with every changed
field as "path: old => new". Changes that are pending but not carried out now
(waiting behind a deployment, an orphan while pruning is off, an app theseus
may not touch) are marked "held back". Invalid specs are listed after the plan.
Nothing is changed.

-f FILE|DIR plans just the groups of those spec files against what runs (like
"kubectl diff -f"); --dir plans a directory as if it were the whole of /desired.

Exit code 0: Marathon and /services match, nothing pending; 2: changes pending,
held back ones included; 1: an error, or an invalid spec in scope.
-out FILE saves the plan with its check index for "theseusd apply --plan FILE"
(or, for a plan of -f, "theseusd apply -f ... --check-index FILE").`,
		Args: pathsFrom("-f", "the spec files to plan from -f, and a directory to plan as the whole of /desired from --dir", false),
	}
	ef := addEtcdFlags(cmd.Flags())
	mf := addMarathonFlags(cmd.Flags())
	pf := &planFlags{}
	sc := &planScope{}
	fs := cmd.Flags()
	output := fs.StringP("output", "o", "text", "output format: text or json")
	selector := fs.StringP("labels", "l", "", `only groups with these labels ("testing,db"; "!dev" excludes)`)
	fs.StringArrayVarP(&sc.files, "filename", "f", nil, "plan just the groups of this spec file or directory (repeatable; - for stdin)")
	fs.StringVar(&sc.dir, "dir", "", "plan from the spec files of this directory, as the whole of /desired")
	out := fs.String("out", "", "save the plan, with its check index, to this file")
	ascii := fs.Bool("ascii", false, "plain-ASCII markers in text output")
	fs.BoolVar(&pf.prune, "prune", false, "plan deletes of managed apps without a desired spec, as 'run --prune' would")
	pf.addGuardFlags(fs)
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
		case len(sc.files) > 0 && sc.dir != "":
			return errors.New("-f and --dir cannot be combined: -f plans some groups, --dir stands for all of /desired")
		case *out != "" && !sel.Empty():
			return errors.New("-out saves a whole plan for apply --plan; it cannot be combined with -l")
		case *out != "" && sc.dir != "":
			return errors.New("-out: a plan of --dir cannot be applied; sync the directory instead")
		}
		if err := pf.check(); err != nil {
			return err
		}
		ec, mc, err := connectBoth(ctx, c, ef, mf)
		if err != nil {
			return err
		}
		defer ec.Close()
		opts, err := pf.options(ctx, ec)
		if err != nil {
			return err
		}
		plan, err := makePlan(ctx, c, ec, mc, sc, opts)
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
		if err := printPlan(c.stdout, plan, *output, diff.TextOptions{ASCII: *ascii, Files: len(sc.files) > 0 || sc.dir != ""}); err != nil {
			return err
		}
		return planExit(plan)
	}
	return cmd
}

// connectBoth connects to etcd and makes a Marathon client; the caller
// closes the etcd client.
func connectBoth(ctx context.Context, c *cli, ef *etcdFlags, mf *marathonFlags) (*etcd.Client, located, error) {
	mc, err := mf.connect(c.getenv)
	if err != nil {
		return nil, located{}, err
	}
	ec, err := ef.connect(ctx, c, etcd.Hooks{})
	if err != nil {
		return nil, located{}, err
	}
	return ec, mc, nil
}

// definitions lists Marathon's apps for a plan: their definitions and
// deployments in flight, without the tasks, which no plan compares.
type definitions struct{ located }

// List lists the apps without their tasks.
func (d definitions) List(ctx context.Context) ([]model.App, error) {
	apps, err := d.ListDefinitions(ctx)
	return apps, d.locate(err)
}

// makePlan computes the plan of sc against Marathon and /services.
func makePlan(ctx context.Context, c *cli, ec *etcd.Client, mc located, sc *planScope, opts diff.Options) (*diff.Plan, error) {
	src := reconciler.PlanSources{Desired: ec.Desired(), Apps: definitions{mc}, Configs: ec.Discovery(), Pauses: ec.Pauses(),
		History: ec.History(), Statuses: ec.Status()}
	paths := sc.files
	if sc.dir != "" {
		paths = []string{sc.dir}
	}
	root := mc.Root()
	if len(paths) == 0 {
		plan, err := reconciler.PlanFrom(ctx, src, opts)
		if err == nil {
			plan.MarathonRoot = &root
		}
		return plan, err
	}
	var fs fileSpecs
	if sc.loaded != nil {
		fs = *sc.loaded
	} else {
		fs = readFileSpecs(c, paths)
	}
	if len(fs.groups)+len(fs.invalid)+len(fs.errs) == 0 {
		return nil, fmt.Errorf("no specs found in %v: nothing to plan", paths)
	}
	if sc.dir != "" {
		// A problem of no file is one of the directory (missing,
		// unreadable): none of its specs were read, and standing for
		// all of /desired it would make every app an orphan.
		for _, e := range fs.errs {
			if e.File == "" {
				return nil, fmt.Errorf("--dir %s: %w", sc.dir, e)
			}
		}
	}
	local, err := reconciler.ReadLocal(ctx, ec.Desired(), reconciler.LocalSpecs{Groups: fs.groups, Invalid: fs.invalid})
	if err != nil {
		return nil, err
	}
	src.Local, src.OnlyLocal, src.NewRevisions = &local.Snapshot, sc.dir == "", local.NewRevisions
	plan, err := reconciler.PlanFrom(ctx, src, opts)
	if err != nil {
		return nil, err
	}
	if sc.dir == "" {
		plan.Scope = local.Scope
	}
	plan.MarathonRoot = &root
	for _, e := range fs.errs {
		plan.Errors = append(plan.Errors, e.Error())
	}
	if sc.dir != "" && len(fs.errs) > 0 {
		// A file whose problems name no group (a YAML syntax error, a
		// document without metadata) may define any group: an app
		// without a spec read may well have one there.
		plan.RefuseDeletes(fmt.Sprintf("%s cannot be read whole (%s): an app without a spec read may be defined there, so none is deleted",
			sc.dir, fs.errs[0].File), "no spec read, but a file under --dir that cannot be read may define it; not deleted")
	}
	return plan, nil
}

// printPlan writes the plan as text, as o says, or JSON.
func printPlan(w io.Writer, plan *diff.Plan, output string, o diff.TextOptions) error {
	if output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(plan)
	}
	return diff.WriteText(w, plan, o)
}

// planExit is the exit code of a plan: 1 with an invalid spec in scope,
// else 2 with anything pending, else 0.
func planExit(plan *diff.Plan) error {
	if n := plan.Invalid(); n > 0 {
		return &exitCodeError{code: exitError, err: fmt.Errorf("%d invalid spec(s) in scope, listed after the plan; they are not planned", n)}
	}
	if plan.Pending() {
		return &exitCodeError{code: exitChanges}
	}
	return nil
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
