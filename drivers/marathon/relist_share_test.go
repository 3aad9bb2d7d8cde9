package marathon_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"theseus.dev/drivers/marathon"
	"theseus.dev/model"
	"theseus.dev/specs"
	"theseus.dev/specs/specstest"
)

// knownSpecs is model.KnownSpecs over a map, as a controller's /desired.
type knownSpecs map[specs.GroupKey]*specs.Spec

func (k knownSpecs) KnownSpec(key specs.GroupKey) (specs.Spec, bool) {
	if s, ok := k[key]; ok {
		return *s, true
	}
	return specs.Spec{}, false
}

// TestRelistSharesKnownSpecs: under model.WithKnownSpecs, an app in sync
// with its group's spec holds that spec's strings, maps, slices and
// pointers instead of its own copies; an app that differs in a field keeps
// its own of that field alone; and the app reads the same as without.
// Apps listed before their group's spec was known share it at the next
// list, and keep their *App from then on.
func TestRelistSharesKnownSpecs(t *testing.T) {
	s := newSim(t, generations[len(generations)-1], nil, marathon.Config{})
	ctx := t.Context()
	known := knownSpecs{}
	var keys []specs.GroupKey
	for _, l := range []string{"a", "b"} {
		g := parse(t, strings.Replace(webSpec, "[dev]", "["+l+"]", 1))
		w := write(t, g, 7)
		if _, err := s.c.Create(ctx, w); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, w.Key)
		n := specs.Normalize(g.Spec)
		known[w.Key] = &n
	}
	s.settle(t)
	drifted := *known[keys[1]]
	five := 5
	drifted.Instances = &five // as if /desired asked for 5 and Marathon still ran 2
	known[keys[1]] = &drifted

	byKey := func(apps []*marathon.App) map[specs.GroupKey]*marathon.App {
		m := map[specs.GroupKey]*marathon.App{}
		for _, a := range apps {
			m[a.Key] = a
		}
		return m
	}
	plain, err := s.c.Relist(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before := byKey(plain)
	if specstest.SharedFields(&before[keys[0]].Spec, known[keys[0]]) != nil {
		t.Fatalf("shares without known specs")
	}
	apps, err := s.c.Relist(model.WithKnownSpecs(ctx, known))
	if err != nil {
		t.Fatal(err)
	}
	after := byKey(apps)
	for _, k := range keys {
		if d := cmp.Diff(before[k], after[k]); d != "" {
			t.Errorf("%s reads otherwise once shared (-before +after):\n%s", k, d)
		}
	}
	want := []string{"Image", "Instances", "CPUs", "Mem", "Cmd", "Env", "Ports", "Constraints", "HealthChecks"}
	if got := specstest.SharedFields(&after[keys[0]].Spec, known[keys[0]]); !isSubset(want, got) {
		t.Errorf("in sync: shares %v, want at least %v", got, want)
	}
	got := specstest.SharedFields(&after[keys[1]].Spec, known[keys[1]])
	if slices.Contains(got, "Instances") || !isSubset([]string{"Image", "Env", "Ports"}, got) {
		t.Errorf("drifted in instances: shares %v; want Image, Env and Ports, not Instances", got)
	}

	again, err := s.c.Relist(model.WithKnownSpecs(ctx, known))
	if err != nil {
		t.Fatal(err)
	}
	for k, a := range byKey(again) {
		if a != after[k] {
			t.Errorf("%s: a new *App at a list where nothing changed", k)
		}
	}

	fresh := newSim(t, generations[len(generations)-1], nil, marathon.Config{})
	g := parse(t, webSpec)
	w := write(t, g, 7)
	if _, err := fresh.c.Create(ctx, w); err != nil {
		t.Fatal(err)
	}
	fresh.settle(t)
	spec := specs.Normalize(g.Spec)
	first, err := fresh.c.Relist(model.WithKnownSpecs(ctx, knownSpecs{w.Key: &spec}))
	if err != nil || len(first) != 1 {
		t.Fatalf("%d apps, %v", len(first), err)
	}
	if got := specstest.SharedFields(&first[0].Spec, &spec); !isSubset(want, got) {
		t.Errorf("known at the first list: shares %v, want at least %v", got, want)
	}
}

func isSubset(want, got []string) bool {
	for _, w := range want {
		if !slices.Contains(got, w) {
			return false
		}
	}
	return true
}
