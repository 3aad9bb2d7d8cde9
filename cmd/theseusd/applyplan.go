package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"theseus.dev/diff"
	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/marathon"
	"theseus.dev/reconciler"
)

// applyPlan carries out a plan saved by `plan -out`, if nothing that
// decides it has moved since (its check index); otherwise it refuses.
func applyPlan(ctx context.Context, c *cli, ec *etcd.Client, mc *marathon.Client, path string, allowMassDelete bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--plan: %w", err)
	}
	var saved diff.Plan
	if err := json.Unmarshal(data, &saved); err != nil {
		return fmt.Errorf("--plan %s: not a saved plan: %w", path, err)
	}
	opts := diff.Options{AllowMassDelete: allowMassDelete}
	for _, a := range saved.Actions {
		if a.Kind == diff.Delete {
			opts.Prune = true // the plan was made with pruning on
		}
	}
	now, err := reconciler.Plan(ctx, ec.Desired(), nil, mc, opts)
	if err != nil {
		return err
	}
	if err := diff.Stale(&saved, now); err != nil {
		return err
	}
	if !now.Pending() {
		fmt.Fprintln(c.stdout, "nothing to do: Marathon already matches the plan")
		return nil
	}
	n := 0
	err = reconciler.Execute(ctx, mc, now, func(e reconciler.Executed) {
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
	return err
}
