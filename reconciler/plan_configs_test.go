package reconciler_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"theseus.dev/diff"
	"theseus.dev/model"
	"theseus.dev/reconciler"
	"theseus.dev/specs"
)

// configsGate is a ConfigReader that records the groups it is asked for
// and opens a gate at its first read.
type configsGate struct {
	reconciler.ConfigReader
	once  sync.Once
	asked []specs.GroupKey
	read  chan struct{}
}

func (g *configsGate) GroupConfigs(ctx context.Context, keys []specs.GroupKey) (map[specs.GroupKey]map[string]string, error) {
	g.once.Do(func() { g.asked = slices.Clone(keys); close(g.read) })
	return g.ConfigReader.GroupConfigs(ctx, keys)
}

// desiredAfter lists /desired once gate is open; appsAfter lists
// Marathon's apps once gate is open.
type (
	desiredAfter struct {
		reconciler.DesiredLister
		gate <-chan struct{}
	}
	appsAfter struct {
		reconciler.AppLister
		gate <-chan struct{}
	}
)

func (d desiredAfter) List(ctx context.Context) (*model.DesiredSnapshot, error) {
	select {
	case <-d.gate:
		return d.DesiredLister.List(ctx)
	case <-ctx.Done():
		return nil, fmt.Errorf("/desired waited for a read of the configs: %w", ctx.Err())
	}
}

func (a appsAfter) List(ctx context.Context) ([]model.App, error) {
	select {
	case <-a.gate:
		return a.AppLister.List(ctx)
	case <-ctx.Done():
		return nil, fmt.Errorf("the list waited for a read of the configs: %w", ctx.Err())
	}
}

// TestPlanConfigsFromEitherSource: a plan reads the config of /services
// for the groups of whichever of /desired and Marathon's list comes in
// first, and is the same plan either way: a group's config counts only
// with a valid spec and a managed app, which both name.
func TestPlanConfigsFromEitherSource(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	web, api := key(t, "web", "dev"), key(t, "api", "dev")
	e.putSpec(web, spec(web, "nginx:1.27", 1, `,"config":{"upstream":"api"}`))
	created, err := reconciler.Plan(ctx, e.store.Desired(), nil, e.mc, diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := reconciler.Execute(ctx, e.mc, created, nil); err != nil {
		t.Fatal(err)
	}
	e.eventually(time.Minute, "web's deployment ends", func() bool { return len(e.sim.Deployments()) == 0 })
	// web's app runs with an old config in /services; api is only desired.
	if _, err := e.etcd.Client.Put(ctx, "/services/web/dev/config", `{"upstream":"old"}`); err != nil {
		t.Fatal(err)
	}
	e.putSpec(api, spec(api, "nginx:1.27", 1, `,"config":{"upstream":"db"}`))

	plan := func(desiredFirst bool) (*diff.Plan, []specs.GroupKey) {
		t.Helper()
		cfg := &configsGate{ConfigReader: e.store.Discovery(), read: make(chan struct{})}
		src := reconciler.PlanSources{Desired: e.store.Desired(), Apps: e.mc, Configs: cfg}
		if desiredFirst {
			src.Apps = appsAfter{e.mc, cfg.read}
		} else {
			src.Desired = desiredAfter{e.store.Desired(), cfg.read}
		}
		// Without a read of the configs, the gated source waits forever.
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		p, err := reconciler.PlanFrom(pctx, src, diff.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return p, cfg.asked
	}
	fromDesired, askedDesired := plan(true)
	fromList, askedList := plan(false)
	if want := []specs.GroupKey{api, web}; !slices.Equal(askedDesired, want) {
		t.Errorf("/desired first: configs read for %v, want %v", askedDesired, want)
	}
	if want := []specs.GroupKey{web}; !slices.Equal(askedList, want) {
		t.Errorf("the list first: configs read for %v, want %v", askedList, want)
	}
	if d := cmp.Diff(fromDesired, fromList); d != "" {
		t.Errorf("plans differ (-/desired first +the list first):\n%s", d)
	}
	kinds := map[specs.GroupKey]diff.Kind{}
	for _, a := range fromList.Actions {
		kinds[a.Key] = a.Kind
	}
	if kinds[web] != diff.Config || kinds[api] != diff.Create {
		t.Errorf("plan: %v, want web's config and api's create", kinds)
	}
}
