package marathonsim

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

var (
	refOnce sync.Once
	refPath string
	refErr  string
)

// refDir returns the directory of recorded Marathon bodies,
// testdata/marathon in the repository root (the directory holding go.mod).
// The contract tests fail, not skip, without it: they are the only check
// of the simulator against Marathon's real shapes.
func refDir(t testing.TB) string {
	t.Helper()
	refOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			refErr = "cannot get the working directory: " + err.Error()
			return
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				refErr = "no go.mod found above the test directory"
				return
			}
			dir = parent
		}
		p := filepath.Join(dir, "testdata", "marathon")
		if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
			refErr = "the recorded Marathon bodies are missing: expected the directory " + p +
				" (testdata/marathon in the repository; see its README.md)"
			return
		}
		refPath = p
	})
	if refErr != "" {
		t.Fatal(refErr)
	}
	return refPath
}

// refBytes reads a reference file.
func refBytes(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(refDir(t), rel))
	if err != nil {
		t.Fatalf("reference file: %v", err)
	}
	return b
}

// refJSON reads and decodes a reference file (numbers as json.Number).
func refJSON(t testing.TB, rel string) any {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(refBytes(t, rel)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("reference file %s: %v", rel, err)
	}
	return v
}

// refGlob lists reference files matching a pattern, relative to refDir.
func refGlob(t testing.TB, pattern string) []string {
	t.Helper()
	root := refDir(t)
	matches, err := filepath.Glob(filepath.Join(root, pattern))
	if err != nil || len(matches) == 0 {
		t.Fatalf("no reference files match %s", pattern)
	}
	out := make([]string, len(matches))
	for i, m := range matches {
		out[i], _ = filepath.Rel(root, m)
	}
	return out
}

// groupApps returns the apps of a group tree, depth first.
func groupApps(g any) []any {
	m, _ := g.(map[string]any)
	var out []any
	if apps, ok := m["apps"].([]any); ok {
		out = append(out, apps...)
	}
	if groups, ok := m["groups"].([]any); ok {
		for _, sub := range groups {
			out = append(out, groupApps(sub)...)
		}
	}
	return out
}
