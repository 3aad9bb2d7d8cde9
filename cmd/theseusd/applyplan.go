package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"theseus.dev/diff"
	"theseus.dev/drivers/etcd"
	"theseus.dev/reconciler"
	"theseus.dev/specs"
)

// applyPlan carries out a plan saved by `plan -out`, if nothing that
// decides it has moved since (its check index); otherwise it refuses.
// guard is the mass-deletion guard, as plan takes it.
func applyPlan(ctx context.Context, c *cli, ec *etcd.Client, mc located, path string, guard *planFlags) error {
	saved, err := readPlan(path, "--plan")
	if err != nil {
		return err
	}
	if saved.Scope != nil {
		return fmt.Errorf("--plan %s: a plan of spec files (plan -f), which changes /desired: apply it with apply -f ... --check-index %s", path, path)
	}
	g := *guard
	g.prune = slices.ContainsFunc(saved.Actions, func(a diff.Action) bool { return a.Kind == diff.Delete }) // the plan was made with pruning on
	opts, err := g.options(ctx, ec)
	if err != nil {
		return err
	}
	// Held back as the controller holds it back: a paused group, a
	// quarantined revision, a delete the mass-deletion guard refuses now.
	now, err := reconciler.PlanFrom(ctx, reconciler.PlanSources{Desired: ec.Desired(), Apps: definitions{mc},
		Pauses: ec.Pauses(), History: ec.History(), Statuses: ec.Status()}, opts)
	if err != nil {
		return err
	}
	root := mc.Root()
	now.MarathonRoot = &root
	if err := diff.Stale(saved, now); err != nil {
		if now.PruneRefused != "" {
			return fmt.Errorf("%w\nthe mass-deletion guard holds deletes back now: %s", err, now.PruneRefused)
		}
		return err
	}
	if !now.Acts() {
		if heldNotes(c, now) > 0 {
			fmt.Fprintln(c.stdout, "nothing to carry out now: the changes left are held back")
		} else {
			fmt.Fprintln(c.stdout, "nothing to do: Marathon already matches the plan")
		}
		configNotes(c, saved)
		return nil
	}
	n := 0
	err = reconciler.Execute(ctx, mc, now, ec.Desired(), func(e reconciler.Executed) {
		if e.Err != nil {
			fmt.Fprintf(c.stderr, "%s %s: %v\n", e.Action.Kind, e.Action.Key, e.Err)
			return
		}
		n++
		dep := ""
		if e.Result.DeploymentID != "" {
			dep = " (deployment " + e.Result.DeploymentID + ")"
		}
		fmt.Fprintf(c.stdout, "%s %s%s\n", e.Action.Kind, e.Action.Key, dep)
	})
	fmt.Fprintf(c.stdout, "%d action(s) carried out\n", n)
	heldNotes(c, now)
	configNotes(c, saved)
	return err
}

// heldNotes names each change of plan that is held back (a paused group,
// a quarantined revision, a deployment in flight), which apply leaves
// undone, and returns how many there are.
func heldNotes(c *cli, plan *diff.Plan) int {
	n := 0
	for _, a := range plan.Actions {
		if a.HeldChange() {
			n++
			fmt.Fprintf(c.stdout, "%s: %s held back: %s\n", a.Key, a.Kind, a.HeldReason())
		}
	}
	return n
}

// configNotes says, for each group whose config the saved plan changes,
// that the running controller writes it: apply changes Marathon only. The
// saved plan was made with the config of /services; the plan made now
// to carry it out leaves config out.
func configNotes(c *cli, saved *diff.Plan) {
	for _, a := range saved.Actions {
		if !a.Acts() && a.Kind != diff.Config {
			continue
		}
		if slices.ContainsFunc(a.Changes, func(ch diff.Change) bool { return strings.HasPrefix(ch.Path, "spec.config.") }) {
			fmt.Fprintf(c.stdout, "config %s: written to /services by the running controller, not by apply\n", a.Key)
		}
	}
}

// readPlan reads a plan saved by plan -out; flag names the option that
// gave its path.
func readPlan(path, flag string) (*diff.Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	var saved diff.Plan
	if err := json.Unmarshal(data, &saved); err != nil {
		return nil, fmt.Errorf("%s %s: not a saved plan: %w", flag, path, err)
	}
	return &saved, nil
}

// applyDryRun prints the plan of the files, as plan -f does, and writes
// nothing.
func applyDryRun(ctx context.Context, c *cli, ec *etcd.Client, mc located, files []string) error {
	plan, err := makePlan(ctx, c, ec, mc, &planScope{files: files}, diff.Options{})
	if err != nil {
		return err
	}
	if err := diff.WriteText(c.stdout, plan, diff.TextOptions{Files: true}); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, "(dry run: nothing written to /desired)")
	if n := plan.Invalid(); n > 0 {
		return &exitCodeError{code: exitError, err: fmt.Errorf("%d invalid spec(s); apply would write nothing", n)}
	}
	return nil
}

// applyChecked writes the files to /desired if the plan saved from them
// still holds: the plan of the files made now is the saved one, and each
// group's /desired key is still at the revision the plan saw, checked
// again in the write's own transaction.
func applyChecked(ctx context.Context, c *cli, ec *etcd.Client, mc located, files []string, path string) error {
	saved, err := readPlan(path, "--check-index")
	if err != nil {
		return err
	}
	if saved.Scope == nil {
		return fmt.Errorf("--check-index %s: a plan of /desired, not of spec files; save one with theseusd plan -f ... -out FILE", path)
	}
	fs := readFileSpecs(c, files)
	if n := fs.problems(c); n > 0 {
		return &exitCodeError{code: exitError, err: fmt.Errorf("%d problem(s) found; nothing written", n)}
	}
	now, err := makePlan(ctx, c, ec, mc, &planScope{files: files, loaded: &fs}, diff.Options{})
	if err != nil {
		return err
	}
	if err := diff.Stale(saved, now); err != nil {
		return err
	}
	expected := make(map[specs.GroupKey]int64, len(saved.Scope))
	for _, s := range saved.Scope {
		expected[s.Key] = s.Revision
	}
	res, err := ec.Desired().WithWriter(applyWriter(c)).ApplyAt(ctx, fs.groups, expected)
	if errors.Is(err, etcd.ErrConflict) {
		return fmt.Errorf("plan is stale; run plan again: %w", err)
	}
	printApplied(c, res)
	noteSyncOwned(ctx, c, ec, res)
	return err
}
