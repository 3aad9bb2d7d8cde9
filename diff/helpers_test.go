package diff

import (
	"path/filepath"
	"testing"

	"theseus.dev/sources"
	"theseus.dev/specs"
)

// exampleDesired loads testdata/specs as a desired snapshot.
func exampleDesired(t testing.TB) Snapshot {
	t.Helper()
	groups, err := sources.LoadPath(filepath.Join("..", "testdata", "specs"))
	if err != nil {
		t.Fatal(err)
	}
	snap := Snapshot{Revision: 100}
	for i, g := range groups {
		d, err := NewDesired(g, int64(10+i))
		if err != nil {
			t.Fatal(err)
		}
		snap.Groups = append(snap.Groups, d)
	}
	return snap
}

// appFor returns the managed app that running d would give: the state right
// after a successful apply.
func appFor(d Desired) App {
	a := App{
		ID: specs.AppID("", d.Key), Key: d.Key, Managed: true,
		SpecHash: d.Hash, Revision: d.Revision, Version: "2026-11-01T10:00:00.000Z",
		Spec: cloneSpec(d.Spec), SecretEnv: secretNames(d.Spec),
	}
	// Every task the spec wants runs, healthy when it has checks.
	if n := d.Spec.Instances; n != nil {
		a.Counts.Running = *n
		if len(d.Spec.HealthChecks) > 0 {
			a.Counts.Healthy = *n
		}
	}
	return a
}

func cloneSpec(s specs.Spec) specs.Spec {
	g := specs.Group{Spec: s}
	return g.Clone().Spec
}

func secretNames(s specs.Spec) []string {
	var out []string
	for _, k := range sortedKeys(s.Env) {
		if s.Env[k].Secret {
			out = append(out, k)
		}
	}
	return out
}

func key(t testing.TB, s string) specs.GroupKey {
	t.Helper()
	k, err := specs.ParseGroupKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
