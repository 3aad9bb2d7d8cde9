package marathon_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"

	"theseus.dev/drivers/marathon"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// knownSpecs is model.KnownSpecs over a map, as a controller's /desired.
type knownSpecs map[specs.GroupKey]specs.Spec

func (k knownSpecs) KnownSpec(key specs.GroupKey) (specs.Spec, bool) {
	s, ok := k[key]
	return s, ok
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
		known[w.Key] = specs.Normalize(g.Spec)
	}
	s.settle(t)
	drifted := known[keys[1]]
	five := 5
	drifted.Instances = &five // as if /desired asked for 5 and Marathon still ran 2
	known[keys[1]] = drifted

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
	if sharedFields(&before[keys[0]].Spec, known[keys[0]]) != nil {
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
	if got := sharedFields(&after[keys[0]].Spec, known[keys[0]]); !isSubset(want, got) {
		t.Errorf("in sync: shares %v, want at least %v", got, want)
	}
	got := sharedFields(&after[keys[1]].Spec, known[keys[1]])
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
	first, err := fresh.c.Relist(model.WithKnownSpecs(ctx, knownSpecs{w.Key: spec}))
	if err != nil || len(first) != 1 {
		t.Fatalf("%d apps, %v", len(first), err)
	}
	if got := sharedFields(&first[0].Spec, spec); !isSubset(want, got) {
		t.Errorf("known at the first list: shares %v, want at least %v", got, want)
	}
}

// sharedFields names the fields of a that hold what b's hold, the same
// memory, not equal copies.
func sharedFields(a *specs.Spec, b specs.Spec) []string {
	var names []string
	va, vb := reflect.ValueOf(a).Elem(), reflect.ValueOf(&b).Elem()
	for i := range va.NumField() {
		fa, fb := va.Field(i), vb.Field(i)
		var pa, pb unsafe.Pointer
		switch fa.Kind() {
		case reflect.String:
			pa, pb = unsafe.Pointer(unsafe.StringData(fa.String())), unsafe.Pointer(unsafe.StringData(fb.String()))
		case reflect.Map, reflect.Pointer, reflect.Slice:
			pa, pb = fa.UnsafePointer(), fb.UnsafePointer()
		}
		if pa != nil && pa == pb {
			names = append(names, va.Type().Field(i).Name)
		}
	}
	return names
}

func isSubset(want, got []string) bool {
	for _, w := range want {
		if !slices.Contains(got, w) {
			return false
		}
	}
	return true
}
