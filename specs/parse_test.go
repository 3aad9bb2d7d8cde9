package specs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadSpecs checks that each file in testdata/bad is refused with an
// error that names its file, line and field.
func TestBadSpecs(t *testing.T) {
	tests := []struct {
		file, field string
		line        int
		msg         string
	}{
		{"unknown-field.yaml", "spec.instancse", 8, `unknown field "instancse" (did you mean "instances"?)`},
		{"duplicate-key.yaml", "spec.mem", 9, "given twice (first on line 8)"},
		{"wrong-type.yaml", "spec.instances", 8, `want an integer, got the string "two"`},
		{"wrong-type.json", "spec.instances", 1, `want an integer, got the string "2"`},
		{"yes-for-string.yaml", "spec.env.DEBUG", 9, "quote it"},
		{"negative-instances.yaml", "spec.instances", 8, "must not be negative"},
		{"zero-cpus.yaml", "spec.cpus", 8, "at least 0.001"},
		{"low-mem.yaml", "spec.mem", 8, "at least 32 MiB"},
		{"bad-label.yaml", "metadata.labels[0]", 5, "upper-case"},
		{"duplicate-labels.yaml", "metadata.labels[2]", 5, `"dev" is listed twice`},
		{"empty-service.yaml", "metadata.service", 4, "must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("..", "testdata", "bad", tt.file)
			groups, err := LoadPath(path)
			if len(groups) != 0 {
				t.Errorf("LoadPath returned %d valid groups, want 0", len(groups))
			}
			errs := Errors(err)
			if len(errs) != 1 {
				t.Fatalf("got %d errors, want 1: %v", len(errs), err)
			}
			e := errs[0]
			if e.File != path || e.Line != tt.line || e.Field != tt.field || !strings.Contains(e.Msg, tt.msg) {
				t.Errorf("got %q (file %q line %d field %q)\nwant file %q line %d field %q, message containing %q",
					e, e.File, e.Line, e.Field, path, tt.line, tt.field, tt.msg)
			}
		})
	}
}

func TestGoodSpecs(t *testing.T) {
	groups, err := LoadPath(filepath.Join("..", "testdata", "specs"))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, g := range groups {
		k, err := g.Key()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.String())
	}
	want := "cassandra/dev cassandra/testing frontend/dev.frontend haproxy/dev haproxy/testing ingestor/dev ingestor/testing web/dev"
	if got := strings.Join(keys, " "); got != want {
		t.Errorf("keys = %s\nwant   %s", got, want)
	}
}

// TestParseCollectsEveryError checks that one document with several
// problems reports all of them, and that the other documents of the file
// are still returned.
func TestParseCollectsEveryError(t *testing.T) {
	in := `apiVersion: theseus/v1
kind: Group
metadata: {service: Web, labels: [dev, dev]}
spec:
  image: ""
  instances: -1
  cpus: 0
  mem: 16
  ports: [{containerPort: 0, protocol: sctp}]
  constraints: [[hostname], [hostname, FOO], [rack, MAX_PER, x], [host, LIKE, "("]]
  healthChecks: [{portName: nope}, {protocol: COMMAND}]
  upgrade: {minimumHealthCapacity: 2}
---
apiVersion: theseus/v1
kind: Group
metadata: {service: web, labels: [prod]}
spec: {image: nginx}
`
	groups, err := ParseAndValidate("multi.yaml", []byte(in))
	if len(groups) != 1 || groups[0].Metadata.Labels[0] != "prod" {
		t.Errorf("valid groups = %v, want the prod one", groups)
	}
	wantFields := []string{
		"metadata.service", "metadata.labels[1]", "spec.image", "spec.instances", "spec.cpus", "spec.mem",
		"spec.ports[0].containerPort", "spec.ports[0].protocol",
		"spec.constraints[0]", "spec.constraints[1]", "spec.constraints[2]", "spec.constraints[3]",
		"spec.healthChecks[0].portName", "spec.healthChecks[1].command",
		"spec.upgrade.minimumHealthCapacity",
	}
	errs := Errors(err)
	var got []string
	for _, e := range errs {
		got = append(got, e.Field)
		if e.File != "multi.yaml" || e.Line == 0 {
			t.Errorf("error without position: %v", e)
		}
	}
	if strings.Join(got, " ") != strings.Join(wantFields, " ") {
		t.Errorf("error fields:\n got %v\nwant %v\nerrors:\n%v", got, wantFields, err)
	}
}

func TestParseDocumentsAndLines(t *testing.T) {
	in := "# leading comment\n---\n---\napiVersion: theseus/v1\nkind: Group\nmetadata: {service: a, labels: [x]}\nspec: {image: i}\n--- # a comment\napiVersion: theseus/v1\nkind: Group\nmetadata: {service: b, labels: [x]}\nspec: {image: i, mem: 1}\n"
	groups, err := ParseAndValidate("f.yaml", []byte(in))
	if len(groups) != 1 {
		t.Fatalf("got %d groups", len(groups))
	}
	if _, line := groups[0].Source(); line != 4 {
		t.Errorf("first document starts on line %d, want 4", line)
	}
	errs := Errors(err)
	if len(errs) != 1 || errs[0].Line != 12 || errs[0].Field != "spec.mem" {
		t.Errorf("want one error for spec.mem on line 12, got %v", err)
	}
}

func TestParseRefusesHugeDocument(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("apiVersion: theseus/v1\nkind: Group\nmetadata: {service: web, labels: [dev]}\nspec:\n  image: nginx\n  env:\n")
	for i := 0; b.Len() < 2<<20; i++ {
		fmt.Fprintf(&b, "    VAR_%d: %q\n", i, strings.Repeat("x", 100))
	}
	path := filepath.Join(t.TempDir(), "huge.yaml")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadPath(path)
	errs := Errors(err)
	if len(errs) != 1 || errs[0].File != path || !strings.Contains(errs[0].Msg, "larger than the 1 MiB limit") {
		t.Errorf("want one size error naming %s, got %v", path, err)
	}
}

func TestParseSyntaxErrorHasLine(t *testing.T) {
	_, err := Parse("f.yaml", []byte("a: b\n---\napiVersion: theseus/v1\nspec: [\n"))
	errs := Errors(err)
	if len(errs) < 1 || errs[len(errs)-1].Line != 4 || !strings.Contains(errs[len(errs)-1].Msg, "invalid YAML") {
		t.Errorf("want an invalid YAML error on line 4, got %v", err)
	}
}

// A document written as JSON is explained in JSON's terms, at its line
// and column, not as the YAML parser sees it.
func TestParseJSONSyntaxError(t *testing.T) {
	tests := []struct {
		name, doc string
		line      int
		want      string
	}{
		{"missing comma", "{\"apiVersion\": \"theseus/v1\",\n \"kind\": \"Group\" \"spec\": {}}", 2, "invalid JSON at column 18: invalid character '\"' after object key:value pair"},
		{"unclosed", "{\"apiVersion\": \"theseus/v1\",\n\"spec\": {\"image\": \"x\"}\n", 2, "invalid JSON at column 23: unexpected end of JSON input"},
		{"after another document", "a: b\n---\n\n  {\"spec\": [1, 2}\n", 4, "invalid JSON at column 17: invalid character '}' after array element"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.json", []byte(tt.doc))
			errs := Errors(err)
			if len(errs) == 0 {
				t.Fatal("no error")
			}
			got := errs[len(errs)-1]
			if got.Line != tt.line || got.Msg != tt.want {
				t.Errorf("got line %d %q, want line %d %q", got.Line, got.Msg, tt.line, tt.want)
			}
		})
	}
}

func TestDecodeStored(t *testing.T) {
	k, _ := NewGroupKey("web", []string{"dev"})
	minimal := `{"apiVersion":"theseus/v1","kind":"Group","metadata":{"service":"web","labels":["dev"]},"spec":{"image":"nginx:1.27","instances":2,"cpus":0.1,"mem":64}}`
	tests := []struct {
		name, value, wantErr string
	}{
		{name: "minimal JSON of docs/design.md", value: minimal},
		{name: "YAML without metadata", value: "apiVersion: theseus/v1\nkind: Group\nspec: {image: nginx}\n"},
		{name: "metadata for another group", value: strings.Replace(minimal, `"dev"`, `"prod"`, 1), wantErr: "but the key is for group web/dev"},
		{name: "labels in another order match", value: strings.Replace(minimal, `"web"`, `"web"`, 1)},
		{name: "empty", value: "", wantErr: "holds no spec"},
		{name: "two documents", value: minimal + "\n---\n" + minimal, wantErr: "holds 2 specs"},
		{name: "not JSON", value: "{", wantErr: "invalid JSON"},
		{name: "invalid", value: strings.Replace(minimal, `"mem":64`, `"mem":1`, 1), wantErr: "/desired/web/dev:1: spec.mem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := DecodeStored(k, []byte(tt.value))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got, _ := g.Key(); got != k {
					t.Errorf("key = %v", got)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
	k2, _ := NewGroupKey("frontend", []string{"dev", "frontend"})
	if _, err := DecodeStored(k2, []byte(`{"apiVersion":"theseus/v1","kind":"Group","metadata":{"service":"frontend","labels":["frontend","dev"]},"spec":{"image":"x"}}`)); err != nil {
		t.Errorf("labels in another order: %v", err)
	}
}

func TestLoadPathFindsDuplicateGroups(t *testing.T) {
	dir := t.TempDir()
	spec := "apiVersion: theseus/v1\nkind: Group\nmetadata: {service: web, labels: [dev, x]}\nspec: {image: nginx}\n"
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(spec), 0o644)
	os.WriteFile(filepath.Join(dir, "b.yml"), []byte(strings.Replace(spec, "[dev, x]", "[x, dev]", 1)), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a spec"), 0o644)
	os.Mkdir(filepath.Join(dir, ".git"), 0o755)
	os.WriteFile(filepath.Join(dir, ".git", "c.yaml"), []byte("garbage: ["), 0o644)
	_, err := LoadPath(dir)
	if err == nil || !strings.Contains(err.Error(), "group web/dev.x is also defined at "+filepath.Join(dir, "a.yaml")+":1") {
		t.Errorf("err = %v", err)
	}
}

// TestScalarsThatChangeAsStrings checks that unquoted scalars which the
// decoder would turn into other text (sigs.k8s.io/yaml makes `image: yes`
// "true" and `1.10` "1.1") are refused where a string is meant, and that
// scalars that keep their text are accepted.
func TestScalarsThatChangeAsStrings(t *testing.T) {
	parse := func(v string) (*Group, error) {
		gs, err := Parse("f.yaml", []byte("apiVersion: theseus/v1\nkind: Group\nspec: {image: "+v+"}\n"))
		if err != nil {
			return nil, err
		}
		return gs[0], nil
	}
	for _, v := range []string{"yes", "on", "Off", "1.10", "0x1F", "0123", "1e3"} {
		if _, err := parse(v); err == nil || !strings.Contains(err.Error(), "spec.image: unquoted") {
			t.Errorf("image: %s: err = %v, want a quote-it error at spec.image", v, err)
		}
	}
	for _, v := range []string{"true", "42", "nginx", `"yes"`, "'1.10'"} {
		g, err := parse(v)
		if err != nil {
			t.Errorf("image: %s: %v", v, err)
			continue
		}
		if want := strings.Trim(v, `"'`); g.Spec.Image != want {
			t.Errorf("image: %s decoded as %q, want %q", v, g.Spec.Image, want)
		}
	}
}

func TestValueRoundTrip(t *testing.T) {
	groups, err := Parse("f.yaml", []byte("apiVersion: theseus/v1\nkind: Group\nspec:\n  image: x\n  env: {A: plain, B: {value: hidden, secret: true}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	env := groups[0].Spec.Env
	if env["A"] != (Value{Value: "plain"}) || env["B"] != (Value{Value: "hidden", Secret: true}) {
		t.Errorf("env = %+v", env)
	}
	back, err := Parse("g.json", groups[0].Canonical())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back[0].Canonical(), groups[0].Canonical()) {
		t.Errorf("canonical form does not round-trip:\n%s\n%s", groups[0].Canonical(), back[0].Canonical())
	}
	if env["B"].String() != Redacted {
		t.Errorf("secret prints as %q", env["B"].String())
	}
	for _, bad := range []string{"{value: 1}", "{value: yes}", "{secret: true}", "{value: x, other: 1}", "[x]", "{value: x, value: y}"} {
		_, err := Parse("f.yaml", []byte("apiVersion: theseus/v1\nkind: Group\nspec:\n  image: x\n  env: {B: "+bad+"}\n"))
		if err == nil || !strings.Contains(err.Error(), "spec.env.B") {
			t.Errorf("env value %s: err = %v, want an error at spec.env.B", bad, err)
		}
	}
}

// TestLoadPathReadsAPipe: a file path that links to a pipe, such as
// /dev/stdin or bash's <(...), is read like a file; only directories are
// resolved through their links.
func TestLoadPathReadsAPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	path := fmt.Sprintf("/proc/self/fd/%d", r.Fd())
	if _, err := os.Stat(path); err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	spec := "apiVersion: theseus/v1\nkind: Group\nmetadata: {service: web, labels: [dev]}\nspec: {image: nginx, instances: 1, cpus: 0.1, mem: 64}\n"
	if _, err := w.WriteString(spec); err != nil {
		t.Fatal(err)
	}
	w.Close()
	groups, err := LoadPath(path)
	if err != nil || len(groups) != 1 {
		t.Fatalf("LoadPath(%s) = %d groups, %v; want the one group", path, len(groups), err)
	}
	if file, line := groups[0].Source(); file != path || line != 1 {
		t.Errorf("source %s:%d, want %s:1", file, line, path)
	}
}
