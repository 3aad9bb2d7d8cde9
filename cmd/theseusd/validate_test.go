package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateExamples(t *testing.T) {
	code, out, errOut := runCLI(t, nil, "validate", "../../testdata/specs")
	if code != exitOK || !strings.Contains(out, "8 group(s) valid") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestValidateBadSpecs(t *testing.T) {
	for file, field := range map[string]string{
		"unknown-field.yaml":      "spec.instancse",
		"duplicate-key.yaml":      "spec.mem",
		"wrong-type.yaml":         "spec.instances",
		"wrong-type.json":         "spec.instances",
		"yes-for-string.yaml":     "spec.env.DEBUG",
		"negative-instances.yaml": "spec.instances",
		"zero-cpus.yaml":          "spec.cpus",
		"low-mem.yaml":            "spec.mem",
		"bad-label.yaml":          "metadata.labels[0]",
		"duplicate-labels.yaml":   "metadata.labels[2]",
		"empty-service.yaml":      "metadata.service",
	} {
		path := filepath.Join("..", "..", "testdata", "bad", file)
		code, _, errOut := runCLI(t, nil, "validate", path)
		if code != exitError || !strings.Contains(errOut, path+":") || !strings.Contains(errOut, " "+field+": ") {
			t.Errorf("validate %s: exit %d, stderr %q; want exit 1 naming the file and %s", file, code, errOut, field)
		}
	}
}

// TestValidateListsEveryProblem checks that a directory with several bad
// files reports all of them, not just the first.
func TestValidateListsEveryProblem(t *testing.T) {
	code, _, errOut := runCLI(t, nil, "validate", "../../testdata/bad", "../../testdata/specs")
	if code != exitError {
		t.Fatalf("exit %d", code)
	}
	entries, _ := os.ReadDir("../../testdata/bad")
	for _, e := range entries {
		if !strings.Contains(errOut, e.Name()+":") {
			t.Errorf("stderr does not mention %s:\n%s", e.Name(), errOut)
		}
	}
}

func TestValidateMissingPath(t *testing.T) {
	code, _, errOut := runCLI(t, nil, "validate", "no/such/dir")
	if code != exitError || !strings.Contains(errOut, "no/such/dir") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}
