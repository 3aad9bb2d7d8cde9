package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"theseus.dev/drivers/etcd/etcdtest"
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

// TestValidateAgreesWithApply: validate passes exactly what apply would
// write. A group defined in two of the paths is refused by apply, so
// validate reports it too; "-" reads standard input as apply -f - does.
func TestValidateAgreesWithApply(t *testing.T) {
	dir := t.TempDir()
	web, err := os.ReadFile("../../testdata/specs/web.json")
	if err != nil {
		t.Fatal(err)
	}
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	for _, p := range []string{a, b} {
		if err := os.WriteFile(p, web, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	twice := filepath.Join(t.TempDir(), "twice.json")
	if err := os.WriteFile(twice, []byte(strings.TrimSpace(string(web))+"\n---\n"+string(web)), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join("..", "..", "testdata", "bad", "negative-instances.yaml")
	tests := []struct {
		name      string
		stdin     string
		args      []string
		wantCode  int
		wantOut   string
		wantErrIn []string
	}{
		{"same group in two files", "", []string{a, b}, exitError, "",
			[]string{b + ":1: metadata: group web/dev is also defined at " + a + ":1", "1 problem(s) found"}},
		{"one file given twice", "", []string{a, a}, exitOK, "1 group(s) valid", nil},
		{"a directory without specs", "", []string{t.TempDir()}, exitError, "", []string{"no specs found in"}},
		{"a directory and one of its files spelled another way", "", []string{dir, filepath.Join(dir, ".", "a.json")}, exitError, "",
			[]string{b + ":1: metadata: group web/dev is also defined at " + a + ":1", "1 problem(s) found"}},
		{"a group twice in one file", "", []string{twice}, exitError, "",
			[]string{twice + ":3: metadata: group web/dev is also defined at " + twice + ":1", "1 problem(s) found"}},
		{"an invalid file given twice", "", []string{bad, bad}, exitError, "", []string{bad + ":8: ", "1 problem(s) found"}},
		{"stdin", string(web), []string{"-"}, exitOK, "1 group(s) valid", nil},
		{"stdin and a file with the same group", string(web), []string{"-", a}, exitError, "",
			[]string{a + ":1: metadata: group web/dev is also defined at (stdin):1"}},
		{"invalid stdin", "kind: Group\n", []string{"-"}, exitError, "", []string{"(stdin):1: spec.image: required"}},
		{"stdin twice", string(web), []string{"-", "-"}, exitError, "", []string{"standard input given twice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLIStdin(t, nil, tt.stdin, append([]string{"validate"}, tt.args...)...)
			if code != tt.wantCode || !strings.Contains(out, tt.wantOut) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, out, errOut, tt.wantCode, tt.wantOut)
			}
			for _, w := range tt.wantErrIn {
				if strings.Count(errOut, w) != 1 {
					t.Errorf("stderr %q does not say %q once", errOut, w)
				}
			}
		})
	}
}

// endless is standard input that never ends: a spec document, then
// comment lines for ever.
type endless struct{ head, lines []byte }

func (e *endless) Read(p []byte) (int, error) {
	n := copy(p, e.head)
	e.head = e.head[n:]
	for n < len(p) {
		n += copy(p[n:], e.lines)
	}
	return n, nil
}

// TestStdinBounded: standard input past the 64 MiB a spec file may hold is
// refused as such a file is, naming it, by the commands that read it
// (plan reports it with its plan), and apply writes nothing; it is not
// read to its end, which never comes.
func TestStdinBounded(t *testing.T) {
	e := etcdtest.Start(t)
	_, url := newSim(t, nil)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint(), "THESEUS_MARATHON": url}
	for _, args := range [][]string{{"validate", "-"}, {"apply", "-f", "-"}, {"plan", "--ascii", "-f", "-"}} {
		var out, errb bytes.Buffer
		in := &endless{head: []byte(minimal + "\n"), lines: bytes.Repeat([]byte("# more\n"), 8192)}
		c := &cli{stdin: in, stdout: &out, stderr: &errb, getenv: func(k string) string { return env[k] }}
		code := run(t.Context(), args, c)
		if code != exitError || !strings.Contains(out.String()+errb.String(), "(stdin): larger than the 64 MiB limit") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 1 naming standard input and the limit", args, code, out.String(), errb.String())
		}
	}
	if keys := desiredKeys(t, e, ""); len(keys) != 0 {
		t.Errorf("wrote %q", keys)
	}
}
