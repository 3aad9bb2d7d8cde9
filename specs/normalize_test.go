package specs

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"theseus.dev/internal/goldenfile"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/golden")

// golden compares got with testdata/golden/name, or rewrites it with
// -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("..", "testdata", "golden", name), got, *update)
}

// TestNormalizeGolden pins the normalised form and the hash of every
// example spec. A change of a hash makes theseus see every app as changed
// after an upgrade and roll it, so hashes must not change by accident.
func TestNormalizeGolden(t *testing.T) {
	groups := loadSpecs(t, filepath.Join("..", "testdata", "specs"))
	var b bytes.Buffer
	for _, g := range groups {
		k, _ := g.Key()
		n := Normalize(g.Spec)
		js, err := json.MarshalIndent(n, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "# %s hash %s\n%s\n", k, Hash(n), js)
	}
	golden(t, "normalized.golden", b.Bytes())
}

// TestNormalizeOwned: NormalizeOwned gives what Normalize gives, for every
// example spec, and Normalize's result shares nothing of its input that
// a change of one would show in the other.
func TestNormalizeOwned(t *testing.T) {
	for _, g := range loadSpecs(t, filepath.Join("..", "testdata", "specs")) {
		k, _ := g.Key()
		want := Normalize(g.Spec)
		if got := NormalizeOwned(g.Spec); !reflect.DeepEqual(got, want) || Hash(got) != Hash(want) {
			t.Errorf("%s: NormalizeOwned differs from Normalize:\n%+v\n%+v", k, got, want)
		}
		for name := range want.Env {
			want.Env[name] = Value{Value: "changed"}
			if g.Spec.Env[name].Value == "changed" {
				t.Errorf("%s: Normalize shares the env of its input", k)
			}
			break
		}
	}
}

func TestNormalizeDefaults(t *testing.T) {
	n := Normalize(Spec{
		Image:       "nginx",
		Ports:       []Port{{Name: "http", ContainerPort: 80}, {Name: "admin", ContainerPort: 81}},
		Constraints: []Constraint{{"rack", "group_by"}, {"hostname", "UNIQUE", ""}, {"hostname", "unique"}},
		// Marathon keeps health checks as a set: the second TCP check is the first.
		HealthChecks: []HealthCheck{{PortName: "admin"}, {Protocol: "tcp"}, {Protocol: "COMMAND", Command: "true"},
			{Protocol: "TCP", PortIndex: ptr(0), GracePeriodSeconds: ptr(300)}},
	})
	if *n.Instances != 1 || *n.CPUs != 1 || *n.Mem != 128 || *n.Disk != 0 {
		t.Errorf("resources = %d %g %g %g", *n.Instances, *n.CPUs, *n.Mem, *n.Disk)
	}
	if *n.Upgrade.MinimumHealthCapacity != 1 || *n.Upgrade.MaximumOverCapacity != 1 {
		t.Errorf("upgrade = %+v", n.Upgrade)
	}
	if n.Ports[0].Protocol != "tcp" {
		t.Errorf("port protocol = %q", n.Ports[0].Protocol)
	}
	if want := []Constraint{{"hostname", "UNIQUE"}, {"rack", "GROUP_BY"}}; !reflect.DeepEqual(n.Constraints, want) {
		t.Errorf("constraints = %q, want %q", n.Constraints, want)
	}
	h := n.HealthChecks
	if len(h) != 3 {
		t.Fatalf("health checks = %+v, want 3", h)
	}
	if h[0].Protocol != "HTTP" || *h[0].PortIndex != 1 || h[0].PortName != "" || h[0].Path != "/" ||
		*h[0].GracePeriodSeconds != 300 || *h[0].IntervalSeconds != 60 || *h[0].TimeoutSeconds != 20 ||
		*h[0].MaxConsecutiveFailures != 3 || *h[0].DelaySeconds != 15 || *h[0].IgnoreHTTP1xx {
		t.Errorf("HTTP check = %+v", h[0])
	}
	if h[1].Protocol != "TCP" || *h[1].PortIndex != 0 || h[1].Path != "" {
		t.Errorf("TCP check = %+v", h[1])
	}
	if h[2].PortIndex != nil || h[2].Path != "" {
		t.Errorf("COMMAND check = %+v", h[2])
	}
	if again := Normalize(n); !reflect.DeepEqual(again, n) {
		t.Errorf("Normalize is not idempotent:\n%+v\n%+v", n, again)
	}
}

func TestHash(t *testing.T) {
	base := Normalize(Spec{Image: "nginx", Env: map[string]Value{"PW": {Value: "a", Secret: true}}})
	same := Normalize(Spec{Image: "nginx", Instances: ptr(1), Env: map[string]Value{"PW": {Value: "a", Secret: true}}})
	if Hash(base) != Hash(same) {
		t.Error("a default given explicitly changes the hash")
	}
	withConfig := base.clone()
	withConfig.Config = map[string]Value{"k": {Value: "v"}}
	if Hash(withConfig) != Hash(base) {
		t.Error("config, which never goes to Marathon, changes the hash")
	}
	rotated := base.clone()
	rotated.Env["PW"] = Value{Value: "b", Secret: true}
	if Hash(rotated) != Hash(base) {
		t.Error("the hash depends on a secret value; it could be used to guess it")
	}
	image := base.clone()
	image.Image = "nginx:2"
	if Hash(image) == Hash(base) {
		t.Error("a changed image keeps the hash")
	}
}

func TestCloneSharesNothing(t *testing.T) {
	groups := loadSpecs(t, filepath.Join("..", "testdata", "specs", "cassandra.yaml"))
	g := groups[1]
	before := string(g.Canonical())
	c := g.Clone()
	*c.Spec.Instances = 99
	c.Spec.Env["X"] = Value{Value: "y"}
	c.Spec.Constraints[0][0] = "rack"
	*c.Spec.HealthChecks[0].GracePeriodSeconds = 1
	c.Metadata.Labels[0] = "zzz"
	if after := string(g.Canonical()); after != before {
		t.Errorf("changing the clone changed the original:\n%s\n%s", before, after)
	}
}

// loadSpecs parses and validates the spec file at path, or every spec
// file of the directory at path, in name order: the test's own reading
// of testdata, as the package reads no files.
func loadSpecs(t *testing.T, path string) []*Group {
	t.Helper()
	files := []string{path}
	if entries, err := os.ReadDir(path); err == nil {
		files = files[:0]
		for _, e := range entries {
			if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".yaml" || ext == ".yml" || ext == ".json") {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
	}
	var groups []*Group
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		gs, err := ParseAndValidate(f, data)
		if err != nil {
			t.Fatal(err)
		}
		groups = append(groups, gs...)
	}
	return groups
}

// TestPublicConfig: the config mirrored to /services leaves the secrets
// out, and is nil when nothing is left, so that a sweep of thousands of
// groups without config makes no map for each.
func TestPublicConfig(t *testing.T) {
	for _, tc := range []struct {
		in   map[string]Value
		want map[string]string
	}{
		{nil, nil},
		{map[string]Value{}, nil},
		{map[string]Value{"PW": {Value: "a", Secret: true}}, nil},
		{map[string]Value{"PW": {Value: "a", Secret: true}, "UPSTREAM": {Value: "api"}}, map[string]string{"UPSTREAM": "api"}},
	} {
		got := PublicConfig(tc.in)
		if (got == nil) != (tc.want == nil) || !maps.Equal(got, tc.want) {
			t.Errorf("PublicConfig(%v) = %#v, want %#v", tc.in, got, tc.want)
		}
	}
}
