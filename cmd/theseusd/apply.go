package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"theseus.dev/drivers/etcd"
	"theseus.dev/sources"
	"theseus.dev/specs"
)

func newApplyCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "apply -f FILE|DIR ... [--dry-run | --check-index PLAN] | --plan FILE",
		Short: "Validate spec files and write them to /desired, or carry out a saved plan",
		Long: `With -f: read and validate every spec (files, directories recursively, "-" for
standard input); if any is invalid, write nothing and list every problem. Otherwise
write the specs to /desired in transactions of at most 128 keys, each guarded
against concurrent edits, and print what was created, changed or unchanged.
A key that a sync source owns is written all the same, with a note: that
source's syncs then leave it alone and report it as a conflict until its file
holds the same spec (or sync --adopt overwrites the change).

--dry-run prints what "theseusd plan -f" prints for the same files and writes
nothing; it exits 0 unless a spec is invalid (plan -f has the exit code of a
plan). --check-index PLAN writes the files only if nothing the plan saved by
"theseusd plan -f ... -out PLAN" was made from has moved: the files' groups,
their /desired revisions, what Marathon and /services hold for them.

With --plan FILE: carry out a plan saved by "theseusd plan -out FILE" against
Marathon, if nothing it depends on has moved since; otherwise refuse it as stale.`,
		Args: pathsFrom("-f", "its spec files from -f, and a saved plan from --plan", false),
	}
	ef := addEtcdFlags(cmd.Flags())
	mf := addMarathonFlags(cmd.Flags())
	files := cmd.Flags().StringArrayP("filename", "f", nil, "spec file or directory (repeatable; - for stdin)")
	planFile := cmd.Flags().String("plan", "", "carry out this saved plan")
	guard := &planFlags{} // with --plan
	guard.addGuardFlags(cmd.Flags())
	dryRun := cmd.Flags().Bool("dry-run", false, "with -f: print the plan of the files (as plan -f does) and write nothing")
	checkIndex := cmd.Flags().String("check-index", "", "with -f: write only if nothing has moved since this plan of the files was saved (plan -f ... -out)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx := cmd.Context()
		switch {
		case *planFile != "" && len(*files) > 0:
			return errors.New("-f and --plan cannot be combined")
		case *planFile == "" && len(*files) == 0:
			return errors.New("nothing to apply: give -f FILE|DIR or --plan FILE")
		case (*dryRun || *checkIndex != "") && len(*files) == 0:
			return errors.New("--dry-run and --check-index go with -f")
		case *dryRun && *checkIndex != "":
			return errors.New("--dry-run and --check-index cannot be combined")
		case *planFile == "":
			// Taken silently, a guard flag would seem to guard writes of
			// -f, which delete nothing.
			if err := goesWith(cmd.Flags(), "--plan", false, "allow-mass-delete", "max-delete-fraction", "prune-window"); err != nil {
				return err
			}
		}
		if *dryRun || *checkIndex != "" {
			ec, mc, err := connectBoth(ctx, c, ef, mf)
			if err != nil {
				return err
			}
			defer ec.Close()
			if *dryRun {
				return applyDryRun(ctx, c, ec, mc, *files)
			}
			return applyChecked(ctx, c, ec, mc, *files, *checkIndex)
		}
		// --plan: carry out a saved plan against Marathon (applyplan.go).
		if *planFile != "" {
			if err := guard.check(); err != nil {
				return err
			}
			mc, err := mf.connect(c.getenv)
			if err != nil {
				return err
			}
			ec, err := ef.connect(ctx, c, etcd.Hooks{})
			if err != nil {
				return err
			}
			defer ec.Close()
			return applyPlan(ctx, c, ec, mc, *planFile, guard)
		}
		return runApply(ctx, c, ef, *files)
	}
	return cmd
}

// runApply validates the specs of paths and, only if every one is valid,
// writes them to /desired.
func runApply(ctx context.Context, c *cli, ef *etcdFlags, paths []string) error {
	groups, err := loadSpecs(c, paths)
	if err != nil {
		return err
	}
	if len(groups) == 0 {
		return fmt.Errorf("no specs found in %v: nothing to apply", paths)
	}
	ec, err := ef.connect(ctx, c, etcd.Hooks{})
	if err != nil {
		return err
	}
	defer ec.Close()
	res, err := ec.Desired().WithWriter(applyWriter(c)).Apply(ctx, groups)
	printApplied(c, res)
	noteSyncOwned(ctx, c, ec, res)
	if err != nil && len(res) < len(groups) {
		return fmt.Errorf("%d of %d group(s) not written: %w", len(groups)-len(res), len(groups), err)
	}
	return err
}

// applyWriter is the record of who applies, kept with each /desired key
// apply writes, for the group's history.
func applyWriter(c *cli) specs.Writer {
	return specs.Writer{Kind: specs.WriterApply, By: operator(c), At: time.Now().UTC()}
}

// printApplied lists what apply wrote, and a count line.
func printApplied(c *cli, res []etcd.ApplyResult) {
	counts := map[etcd.ApplyAction]int{}
	for _, r := range res {
		counts[r.Action]++
		fmt.Fprintf(c.stdout, "%s %s (revision %d)\n", r.Action, r.Key, r.Revision)
	}
	fmt.Fprintf(c.stdout, "%d created, %d changed, %d unchanged\n", counts[etcd.Created], counts[etcd.Changed], counts[etcd.Unchanged])
}

// syncOwnerReads is how many ownership records noteSyncOwned reads at
// once, and maxSyncOwnedNotes how many groups it names: an apply of a
// synced checkout itself would otherwise print a note per file.
const (
	syncOwnerReads    = 16
	maxSyncOwnedNotes = 10
)

// noteSyncOwned tells, for each group apply wrote whose key a sync source
// owns, what that source does next: not undo the change, but report the
// key as a conflict at every sync, exit 1, until its file holds the same
// spec or sync --adopt overwrites the change. Like delete's note, it is a
// courtesy: a record that cannot be read is passed over.
func noteSyncOwned(ctx context.Context, c *cli, ec *etcd.Client, res []etcd.ApplyResult) {
	var written []specs.GroupKey
	for _, r := range res {
		if r.Action != etcd.Unchanged {
			written = append(written, r.Key)
		}
	}
	owners := make([]etcd.Ownership, len(written))
	owned := make([]bool, len(written))
	var g errgroup.Group
	g.SetLimit(syncOwnerReads)
	for i, k := range written {
		g.Go(func() error {
			owners[i], owned[i], _ = ec.SyncOwner(ctx, k)
			return nil
		})
	}
	g.Wait()
	noted := 0
	for i, k := range written {
		if o := owners[i]; owned[i] {
			if noted++; noted <= maxSyncOwnedNotes {
				fmt.Fprintf(c.stderr, "note: sync source %q wrote %s from %s (%s); its syncs leave this change in place and report %s as a conflict "+
					"unless that file holds the same spec (sync --adopt would overwrite the change with the file's)\n", o.Owner, k, o.File, o.Source, k)
			}
		}
	}
	if more := noted - maxSyncOwnedNotes; more > 0 {
		fmt.Fprintf(c.stderr, "note: and %d more group(s) that sync sources wrote, alike\n", more)
	}
}

// loadSpecs reads and validates every spec of paths; on any problem,
// including a group defined in two of the paths, it lists them all and
// returns an error.
func loadSpecs(c *cli, paths []string) ([]*specs.Group, error) {
	groups, all := readSpecs(c, paths)
	if len(all) > 0 {
		for _, e := range all {
			fmt.Fprintln(c.stderr, e)
		}
		return nil, &exitCodeError{code: exitError, err: fmt.Errorf("%d problem(s) found; nothing written", len(all))}
	}
	return groups, nil
}

// readSpecs reads and validates every spec of paths ("-" is standard
// input) and returns the valid groups and every problem, including a group
// defined in two of the paths. apply and validate share it, so validate
// passes exactly what apply would write.
func readSpecs(c *cli, paths []string) ([]*specs.Group, specs.ErrorList) {
	var groups []*specs.Group
	var all specs.ErrorList
	stdinRead := false
	for _, p := range paths {
		var gs []*specs.Group
		var err error
		switch {
		case p == "-" && stdinRead:
			err = errors.New(`-: standard input given twice`)
		case p == "-":
			stdinRead = true
			var data []byte
			if data, err = sources.ReadStream(stdinName, c.stdin); err == nil {
				gs, err = specs.ParseAndValidate(stdinName, data)
			}
		default:
			gs, err = sources.LoadPath(p)
		}
		groups = append(groups, gs...)
		all = append(all, specs.Errors(err)...)
	}
	groups, dups := dedupe(groups)
	return groups, distinct(append(all, dups...))
}

// sameFile reports whether two names of spec files name the same file:
// a directory given with one of its files ("-f specs -f ./specs/web.json")
// spells the file two ways.
func sameFile(a, b string) bool {
	if a == b {
		return true
	}
	if a == stdinName || b == stdinName {
		return false
	}
	absA, errA := filepath.Abs(a)
	absB, errB := filepath.Abs(b)
	return errA == nil && errB == nil && absA == absB
}

// distinct drops the repeats of a problem: a file given twice, or in two
// of the paths, is read twice, and a group defined twice within one file
// is reported by LoadPath and again by dedupe. Each is one problem to fix,
// and counted as one.
func distinct(errs specs.ErrorList) specs.ErrorList {
	seen := make(map[string]bool, len(errs))
	out := errs[:0:0]
	for _, e := range errs {
		if s := e.Error(); !seen[s] {
			seen[s] = true
			out = append(out, e)
		}
	}
	return out
}

// dedupe drops a group read twice from the same place (a file given
// twice) and reports groups defined in two places across paths (LoadPath
// reports them within one path), naming both.
func dedupe(groups []*specs.Group) ([]*specs.Group, specs.ErrorList) {
	var errs specs.ErrorList
	out := groups[:0:0]
	first := make(map[specs.GroupKey]*specs.Group, len(groups))
	for _, g := range groups {
		k, err := g.Key()
		if err != nil {
			continue
		}
		prev, dup := first[k]
		if !dup {
			first[k] = g
			out = append(out, g)
			continue
		}
		file, line := g.Source()
		pfile, pline := prev.Source()
		if line == pline && sameFile(file, pfile) {
			continue
		}
		errs = append(errs, &specs.FieldError{File: file, Line: line, Field: "metadata",
			Msg: fmt.Sprintf("group %s is also defined at %s:%d", k, pfile, pline)})
	}
	return out, errs
}
