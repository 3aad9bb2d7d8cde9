package diff

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"theseus.dev/specs"
)

// FuzzSpecDiff parses arbitrary spec bytes; a spec that validates must
// normalise and diff against variations of itself without panicking, and
// diffing against its own app must give nothing to do.
func FuzzSpecDiff(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "specs", "*"))
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		groups, _ := specs.ParseAndValidate("fuzz.yaml", data)
		for _, g := range groups {
			d, err := NewDesired(g, 1)
			if err != nil {
				t.Fatal(err)
			}
			a := appFor(d)
			if act, ok := Group(&d, &a, Options{}); ok {
				t.Fatalf("a spec diffs against its own app: %s %+v", act.Kind, act.Changes)
			}
			a.Spec = specs.Normalize(specs.Spec{Image: "other"})
			p := Compute(Snapshot{Groups: []Desired{d}}, []App{a}, Options{Prune: true})
			if err := WriteText(discard{}, p, TextOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := json.Marshal(p); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// FuzzPlanJSON feeds arbitrary bytes to the decoder of saved plans, which
// come from files users hand back: it never panics, and what it accepts
// encodes and decodes again to the same plan.
func FuzzPlanJSON(f *testing.F) {
	if data, err := os.ReadFile(filepath.Join("..", "testdata", "golden", "plan-mixed.json")); err == nil {
		f.Add(data)
	}
	f.Add([]byte(`{"apiVersion":"theseus/v1","kind":"Plan","actions":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var p Plan
		if err := json.Unmarshal(data, &p); err != nil {
			return
		}
		out, err := json.Marshal(&p)
		if err != nil {
			t.Fatal(err)
		}
		var back Plan
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("re-decoding %s: %v", out, err)
		}
		if err := Stale(&back, &p); err != nil {
			t.Fatal(err)
		}
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
