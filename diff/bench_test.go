package diff

import (
	"fmt"
	"testing"

	"theseus.dev/specs"
)

// benchWorld builds n desired groups cycling through the example specs and
// their apps; every tenth app differs from its spec (alternately in image
// and in instances).
func benchWorld(b *testing.B, n int) (Snapshot, []App) {
	ex := exampleDesired(b)
	snap := Snapshot{Revision: int64(n)}
	apps := make([]App, 0, n)
	for i := range n {
		d := ex.Groups[i%len(ex.Groups)]
		k, err := specs.NewGroupKey(d.Key.Service, []string{fmt.Sprintf("g%05d", i)})
		if err != nil {
			b.Fatal(err)
		}
		d.Key, d.Revision = k, int64(i+1)
		snap.Groups = append(snap.Groups, d)
		a := appFor(d)
		switch i % 20 {
		case 0:
			a.Spec.Image, a.SpecHash = "changed:1", "old"
		case 10:
			a.Spec.Instances = ptr(*a.Spec.Instances + 1)
		}
		apps = append(apps, a)
	}
	return snap, apps
}

// BenchmarkCompute10k plans 10,000 groups of which 1,000 need an action,
// the size the controller's full resync works at.
func BenchmarkCompute10k(b *testing.B) {
	snap, apps := benchWorld(b, 10000)
	b.ReportAllocs()
	for b.Loop() {
		p := Compute(snap, apps, Options{Prune: true})
		if len(p.Actions) != 1000 {
			b.Fatalf("%d actions", len(p.Actions))
		}
	}
}

// BenchmarkCompute10kInSync is the steady state: nothing to do.
func BenchmarkCompute10kInSync(b *testing.B) {
	snap, _ := benchWorld(b, 10000)
	apps := make([]App, len(snap.Groups))
	for i, d := range snap.Groups {
		apps[i] = appFor(d)
	}
	b.ReportAllocs()
	for b.Loop() {
		if p := Compute(snap, apps, Options{Prune: true}); len(p.Actions) != 0 {
			b.Fatalf("%d actions", len(p.Actions))
		}
	}
}

// BenchmarkGroup is the per-key reconcile: one group that needs an update.
func BenchmarkGroup(b *testing.B) {
	snap, apps := benchWorld(b, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := Group(&snap.Groups[0], &apps[0], Options{}); !ok {
			b.Fatal("in sync")
		}
	}
}
