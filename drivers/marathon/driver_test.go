package marathon_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"theseus.dev/diff"
	"theseus.dev/drivers/marathon"
	"theseus.dev/model"
	"theseus.dev/sources"
)

// TestRoundTrip: every example spec, created through the driver and read
// back from the simulator in either generation, plans to nothing.
func TestRoundTrip(t *testing.T) {
	groups, err := sources.LoadPath("../../testdata/specs")
	if err != nil {
		t.Fatal(err)
	}
	groups = append(groups, parse(t, strings.Replace(webSpec, "[dev]", "[canary]", 1)), parse(t, `apiVersion: theseus/v1
kind: Group
metadata: {service: worker, labels: [dev]}
spec: {image: "busybox:1", instances: 0, cmd: "sleep 1000", args: [], disk: 5}
`))
	for _, gen := range generations {
		t.Run(gen.String(), func(t *testing.T) {
			// No root: Marathon 1.10 lets the resident cassandra groups
			// reserve for the role of their top-level group, cassandra.
			s := newSim(t, gen, nil, marathon.Config{})
			ctx := t.Context()
			for _, g := range groups {
				if _, err := s.c.Create(ctx, write(t, g, 7)); err != nil {
					t.Fatalf("create %s: %v", g.Metadata.Service, err)
				}
			}
			s.settle(t)
			apps, err := s.c.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(apps) != len(groups) || !slices.IsSortedFunc(apps, func(a, b marathon.App) int { return strings.Compare(a.ID, b.ID) }) {
				t.Fatalf("%d apps listed, want %d, sorted by id", len(apps), len(groups))
			}
			for _, g := range groups {
				d, _ := diff.NewDesired(g, 7)
				i := slices.IndexFunc(apps, func(a marathon.App) bool { return a.Key == d.Key })
				if i < 0 {
					t.Fatalf("%s not listed", d.Key)
				}
				a := apps[i]
				if a.ID != "/"+d.Key.String() || !a.Managed || a.SpecHash != d.Hash || a.Revision != 7 ||
					a.Counts.Running != *d.Spec.Instances || len(a.Tasks) != *d.Spec.Instances || a.Version == "" {
					t.Errorf("%s: id %s managed %v hash %q rev %d running %d tasks %d", d.Key, a.ID, a.Managed,
						a.SpecHash, a.Revision, a.Counts.Running, len(a.Tasks))
				}
				if act, ok := diff.Group(&d, diffApp(a), diff.Options{}); ok {
					t.Errorf("%s: plan after create: %s %+v", d.Key, act.Kind, act.Changes)
				}
				for _, task := range a.Tasks {
					if task.State != "TASK_RUNNING" || task.Host == "" || len(task.Ports) != len(d.Spec.Ports) ||
						len(task.Mappings) != len(d.Spec.Ports) || task.StartedAt.IsZero() {
						t.Errorf("%s: task %+v", d.Key, task)
					}
					for k, m := range task.Mappings {
						if m.ContainerPort != d.Spec.Ports[k].ContainerPort || m.HostPort != task.Ports[k] {
							t.Errorf("%s: mapping %d %+v of ports %v", d.Key, k, m, task.Ports)
						}
					}
				}
				got, err := s.c.Get(ctx, d.Key)
				if err != nil || got.Version != a.Version || len(got.Tasks) != len(a.Tasks) {
					t.Errorf("%s: Get = %+v, %v", d.Key, got, err)
				}
				if act, ok := diff.Group(&d, diffApp(got), diff.Options{}); ok {
					t.Errorf("%s: plan after Get: %s %+v", d.Key, act.Kind, act.Changes)
				}
			}
		})
	}
}

// TestUpdateRemovesFields: fields removed from the spec are gone from the
// app after an update, in Marathon's own answer, and the plan is empty
// again.
func TestUpdateRemovesFields(t *testing.T) {
	for _, gen := range generations {
		t.Run(gen.String(), func(t *testing.T) {
			s := newSim(t, gen, nil, marathon.Config{})
			ctx := t.Context()
			w := write(t, parse(t, webSpec), 1)
			if _, err := s.c.Create(ctx, w); err != nil {
				t.Fatal(err)
			}
			s.settle(t)
			a, err := s.c.Get(ctx, w.Key)
			if err != nil || !slices.Equal(a.SecretEnv, []string{"TOKEN"}) || len(a.Tasks) != 2 || a.Tasks[0].Mappings[0].ContainerPort != 80 {
				t.Fatalf("created app: %+v, %v", a, err)
			}

			g := parse(t, webSpec)
			delete(g.Spec.Env, "B")
			g.Spec.Cmd = ""
			g.Spec.HealthChecks, g.Spec.Constraints, g.Spec.Ports = nil, nil, nil
			w = write(t, g, 2)
			if _, err := s.c.Update(ctx, w); err != nil {
				t.Fatal(err)
			}
			s.settle(t)
			raw := s.raw(t, "/web/dev")
			env := raw["env"].(map[string]any)
			if _, ok := env["B"]; ok || env["A"] != "1" {
				t.Errorf("env after removing B: %v", env)
			}
			for _, field := range []string{"healthChecks", "constraints", "portDefinitions"} {
				if v, _ := raw[field].([]any); len(v) != 0 {
					t.Errorf("%s survived the update: %v", field, raw[field])
				}
			}
			if raw["cmd"] != nil {
				t.Errorf("cmd survived the update: %v", raw["cmd"])
			}
			a, err = s.c.Get(ctx, w.Key)
			if err != nil || len(a.Spec.Ports) != 0 || a.Tasks[0].Mappings != nil {
				t.Fatalf("app after update: %+v, %v", a, err)
			}
			d, _ := diff.NewDesired(g, 2)
			if act, ok := diff.Group(&d, diffApp(a), diff.Options{}); ok {
				t.Errorf("plan after update: %s %+v", act.Kind, act.Changes)
			}
		})
	}
}

// TestScaleKeepsTasks: a scale changes the number of tasks and restarts
// none of those running; the spec hash stays.
func TestScaleKeepsTasks(t *testing.T) {
	for _, gen := range generations {
		t.Run(gen.String(), func(t *testing.T) {
			s := newSim(t, gen, nil, marathon.Config{})
			ctx := t.Context()
			w := write(t, parse(t, webSpec), 1)
			if _, err := s.c.Create(ctx, w); err != nil {
				t.Fatal(err)
			}
			s.settle(t)
			before, _ := s.c.Get(ctx, w.Key)
			res, err := s.c.Scale(ctx, w.Key, 3)
			if err != nil || res.DeploymentID == "" {
				t.Fatalf("scale: %+v, %v", res, err)
			}
			s.settle(t)
			after, err := s.c.Get(ctx, w.Key)
			if err != nil || after.Counts.Wanted != 3 || len(after.Tasks) != 3 || after.SpecHash != w.Hash {
				t.Fatalf("after scale: %+v, %v", after, err)
			}
			for _, id := range taskIDs(before) {
				if !slices.Contains(taskIDs(after), id) {
					t.Errorf("scale replaced task %s", id)
				}
			}
			res, err = s.c.Restart(ctx, w.Key)
			if err != nil || res.DeploymentID == "" {
				t.Fatalf("restart: %+v, %v", res, err)
			}
			s.settle(t)
			restarted, _ := s.c.Get(ctx, w.Key)
			for _, id := range taskIDs(after) {
				if slices.Contains(taskIDs(restarted), id) {
					t.Errorf("restart kept task %s", id)
				}
			}
			if _, err := s.c.Delete(ctx, w.Key); err != nil {
				t.Fatal(err)
			}
			s.settle(t)
			if apps, err := s.c.List(ctx); err != nil || len(apps) != 0 {
				t.Errorf("after delete: %v, %v", apps, err)
			}
		})
	}
}

// TestForcedUpdate: an update of an app locked by a deployment is
// refused as locked, and a forced one (a rollback's) takes the app over,
// Marathon cancelling the deployment in flight.
func TestForcedUpdate(t *testing.T) {
	for _, gen := range generations {
		t.Run(gen.String(), func(t *testing.T) {
			s := newSim(t, gen, nil, marathon.Config{})
			ctx := t.Context()
			good := write(t, parse(t, webSpec), 1)
			if _, err := s.c.Create(ctx, good); err != nil {
				t.Fatal(err)
			}
			s.settle(t)
			s.sim.Faults().StallDeployments("")
			bad := write(t, parse(t, strings.Replace(webSpec, "nginx:1.27", "nginx:bad", 1)), 2)
			failed, err := s.c.Update(ctx, bad)
			if err != nil || failed.DeploymentID == "" {
				t.Fatalf("update: %+v, %v", failed, err)
			}
			var locked *model.LockedError
			if _, err := s.c.Update(ctx, good); !errors.As(err, &locked) || !slices.Contains(locked.Deployments, failed.DeploymentID) {
				t.Fatalf("update of a locked app: %v, want it locked by %s", err, failed.DeploymentID)
			}
			good.Force = true
			res, err := s.c.Update(ctx, good)
			if err != nil || res.DeploymentID == "" || res.DeploymentID == failed.DeploymentID {
				t.Fatalf("forced update: %+v, %v", res, err)
			}
			a, err := s.c.Get(ctx, good.Key)
			if err != nil || a.SpecHash != good.Hash || a.Revision != 1 || slices.Contains(a.Deployments, failed.DeploymentID) {
				t.Errorf("after the forced update: %+v, %v", a, err)
			}
		})
	}
}
