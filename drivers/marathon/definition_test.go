package marathon

import (
	"encoding/json"
	"errors"
	"flag"
	"path/filepath"
	"testing"

	"theseus.dev/internal/goldenfile"
	"theseus.dev/sources"
	"theseus.dev/specs"
)

var update = flag.Bool("update", false, "rewrite the golden files of the definitions sent, under testdata/golden/definitions")

// TestDefinitionGolden pins the JSON sent to Marathon for every example
// spec and for a spec using every field, in both generations
// (testdata/golden/definitions/{service}-{labels}.{1.4,1.5}.json).
func TestDefinitionGolden(t *testing.T) {
	var groups []*specs.Group
	for _, dir := range []string{"specs", "appmodel"} {
		gs, err := sources.LoadPath(filepath.Join("..", "..", "testdata", dir))
		if err != nil {
			t.Fatal(err)
		}
		groups = append(groups, gs...)
	}
	for _, g := range groups {
		k, _ := g.Key()
		n := specs.Normalize(g.Spec)
		w := Write{Key: k, Spec: n, Hash: specs.Hash(n), Revision: 42}
		for gen, name := range map[bool]string{false: "1.4", true: "1.5"} {
			d, err := definition("", w, gen)
			if err != nil {
				t.Fatalf("%s %s: %v", k, name, err)
			}
			js, err := json.MarshalIndent(d, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("definitions", k.Service+"-"+k.Labels+"."+name+".json"), append(js, '\n'))
		}
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("..", "..", "testdata", "golden", name), got, *update)
}

// TestDefinitionUnsupported: what Marathon 1.4 cannot express is refused
// before anything is sent, as a permanent error.
func TestDefinitionUnsupported(t *testing.T) {
	for name, s := range map[string]specs.Spec{
		"GPUs in bridge networking": {Image: "cuda", GPUs: ptrTo(1), Ports: []specs.Port{{ContainerPort: 80}}},
		"bridge network labels": {Image: "x", Networks: []specs.Network{{Mode: specs.NetworkBridge, Labels: map[string]string{"a": "b"}}},
			Ports: []specs.Port{{ContainerPort: 80}}},
	} {
		w := Write{Key: specs.GroupKey{Service: "x", Labels: "y"}, Spec: specs.Normalize(s)}
		var u *UnsupportedError
		if _, err := definition("", w, false); !errors.As(err, &u) || !IsPermanent(err) {
			t.Errorf("%s on 1.4: %v", name, err)
		}
		if _, err := definition("", w, true); err != nil {
			t.Errorf("%s on 1.5+: %v", name, err)
		}
	}
}
