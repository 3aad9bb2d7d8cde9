package diff

import (
	"bytes"
	"encoding/json"
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"theseus.dev/internal/goldenfile"
	"theseus.dev/specs"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/golden")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("..", "testdata", "golden", name), got, *update)
}

// mixedPlan is a plan with one group of every kind, built from the example
// specs.
func mixedPlan(t *testing.T) *Plan {
	snap := exampleDesired(t)
	by := map[string]*Desired{}
	for i := range snap.Groups {
		by[snap.Groups[i].Key.String()] = &snap.Groups[i]
	}
	var apps []App
	add := func(k string, mutate func(*App)) {
		a := appFor(*by[k])
		mutate(&a)
		apps = append(apps, a)
	}
	add("cassandra/dev", func(a *App) { a.ConfigKnown, a.Config = true, map[string]string{"stale": "x"} }) // config only
	add("cassandra/testing", func(a *App) { a.Spec.Instances = ptr(5); a.SpecHash = "old" })
	add("haproxy/dev", func(a *App) {
		a.Spec.Image, a.SpecHash = "haproxy:2.8", "old"
		a.ConfigKnown, a.Config = true, map[string]string{"backends": "web"}
		a.Spec.Env["HAPROXY_DEBUG"] = specs.Value{Value: "1"}
		*a.Spec.HealthChecks[0].GracePeriodSeconds = 300
	})
	add("haproxy/testing", func(a *App) {
		a.Spec.Image, a.Deployments = "haproxy:2.8", []string{"5d1a9c3e-0b7f-4e2a-9c55-7d1e0b2f8a41"}
	})
	add("ingestor/dev", func(a *App) { a.Spec.Env["QUEUE_PASSWORD"] = specs.Value{Value: "rotated"}; a.SpecHash = "old" })
	add("ingestor/testing", func(a *App) { a.Spec.Instances = ptr(2) }) // drift: same hash
	add("frontend/dev.frontend", func(a *App) { a.Managed = false })
	by["web/dev"].Restart = "restart-1"
	add("web/dev", func(a *App) {})
	prot := *by["cassandra/testing"]
	prot.Key = key(t, "db/protected")
	snap.Groups = append(snap.Groups, prot)
	pa := appFor(prot)
	pa.Protected, pa.Spec.Image = true, "cassandra:4.0"
	apps = append(apps, pa)
	old, _ := specs.ParseGroupKey("legacy/dev")
	apps = append(apps, App{ID: "/legacy/dev", Key: old, Managed: true, Version: "2026-10-01T00:00:00.000Z",
		Spec: specs.Normalize(specs.Spec{Image: "legacy:1", Env: map[string]specs.Value{"TOKEN": {Value: "x"}}}), SecretEnv: []string{"TOKEN"}})
	bad, _ := specs.ParseGroupKey("broken/dev")
	snap.Groups = append(snap.Groups, InvalidDesired(bad, 99, specs.ErrorList{
		{File: "/desired/broken/dev", Line: 1, Field: "spec.instances", Msg: "must not be negative, got -1"},
		{File: "/desired/broken/dev", Line: 1, Field: "spec.cpus", Msg: "must be at least 0.001, got 0"},
	}))
	return Compute(snap, apps, Options{Prune: true})
}

func TestPlanGolden(t *testing.T) {
	p := mixedPlan(t)
	var text, ascii bytes.Buffer
	if err := WriteText(&text, p, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan-mixed.txt", text.Bytes())
	WriteText(&ascii, p, TextOptions{ASCII: true})
	golden(t, "plan-mixed.ascii.txt", ascii.Bytes())
	for _, b := range ascii.Bytes() {
		if b > 127 {
			t.Fatalf("ASCII rendering has the byte %#x", b)
		}
	}
	js, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "plan-mixed.json", append(js, '\n'))

	// The JSON form reads back into the same plan, minus the executor's spec.
	var back Plan
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if err := Stale(&back, p); err != nil {
		t.Errorf("a saved plan read back is stale against itself: %v", err)
	}
	js2, _ := json.MarshalIndent(&back, "", "  ")
	if !bytes.Equal(js, js2) {
		t.Errorf("JSON does not round-trip:\n%s", js2)
	}
}

func TestPlanGoldenEdgeCases(t *testing.T) {
	snap := exampleDesired(t)
	var apps []App
	for _, d := range snap.Groups {
		apps = append(apps, appFor(d))
	}
	var b bytes.Buffer
	WriteText(&b, Compute(snap, apps, Options{Prune: true}), TextOptions{})
	b.WriteString("----\n")
	WriteText(&b, Compute(Snapshot{Revision: 300}, apps, Options{Prune: true}), TextOptions{})
	golden(t, "plan-edges.txt", b.Bytes())
}

func TestPlanJSONRefusesBadInput(t *testing.T) {
	for _, in := range []string{
		`{"apiVersion":"theseus/v1","kind":"Plan","actions":[],"extra":1}`,
		`{"apiVersion":"theseus/v2","kind":"Plan","actions":[]}`,
		`{"apiVersion":"theseus/v1","kind":"Plan","actions":[{"action":"explode","group":"web/dev"}]}`,
		`{"apiVersion":"theseus/v1","kind":"Plan","actions":[{"action":"create","group":"web"}]}`,
		`[]`,
	} {
		var p Plan
		if err := json.Unmarshal([]byte(in), &p); err == nil {
			t.Errorf("accepted %s", in)
		}
	}
}

// TestTextMultiLineValues: a value of several lines (a cmd written as a
// YAML block) stays on its change's line, quoted, so that it cannot
// break the layout or pass for a line of the plan.
func TestTextMultiLineValues(t *testing.T) {
	d := exampleDesired(t).Groups[0]
	a := appFor(d)
	d.Spec.Cmd = "set -e\n+ web/evil create\nexec nginx\n"
	d.Hash = ""
	p := Compute(Snapshot{Revision: 100, Groups: []Desired{d}}, []App{a}, Options{})
	var b bytes.Buffer
	if err := WriteText(&b, p, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	want := `    spec.cmd:  (none) => "set -e\n+ web/evil create\nexec nginx\n"` + "\n"
	if !strings.Contains(b.String(), want) {
		t.Errorf("text plan, want the change as\n%s\ngot:\n%s", want, b.String())
	}
}

// TestTextPathsOnOneLine: a config key may hold any character but '/':
// one with a line break, an escape sequence or a bidi override is shown
// quoted, on its change's line, and the columns of the changes line up
// whatever the keys' characters.
func TestTextPathsOnOneLine(t *testing.T) {
	v := func(s string) *string { return &s }
	p := &Plan{DesiredRevision: 100, Actions: []Action{{Kind: Config, Key: key(t, "web/dev"), Changes: []Change{
		{Path: "spec.config.a\n+ web/evil create", New: v("v")},
		{Path: "spec.config.c\x1b[2Jd", New: v("v")},
		{Path: "spec.config.x\u202ey", Old: v("old"), New: v("new")},
		{Path: "spec.config.ключ", New: v("v")},
		{Path: "spec.config.u", Old: v("x\u202eold"), New: v("new")},
	}}}}
	var b bytes.Buffer
	if err := WriteText(&b, p, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	want := `≈ web/dev config
    "spec.config.a\n+ web/evil create":  (none) => v
    "spec.config.c\x1b[2Jd":             (none) => v
    "spec.config.x\u202ey":              old => new
    spec.config.ключ:                    (none) => v
    spec.config.u:                       "x\u202eold" => new
`
	if got := b.String(); !strings.HasPrefix(got, want) {
		t.Errorf("text plan:\n%s\nwant it to begin:\n%s", got, want)
	}
}
