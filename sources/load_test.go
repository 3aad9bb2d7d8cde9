package sources

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"

	"theseus.dev/specs"
)

const linkSpec = `apiVersion: theseus/v1
kind: Group
metadata: {service: web, labels: [dev]}
spec: {image: nginx:1.27}
`

// TestLoadPathRefusesLinksOut: a link among the spec files whose target
// lies outside the directory is refused by the link's name, and neither
// its target's content nor its path shows in the error; a link to a
// file inside the directory is read. A named pipe with a spec name is
// refused without being opened.
func TestLoadPathRefusesLinksOut(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "passwd")
	if err := os.WriteFile(secret, []byte("root:x:0:0:SECRET-FIRST-LINE\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	spec := filepath.Join(outside, "web.yaml")
	if err := os.WriteFile(spec, []byte(linkSpec), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// A link to a file inside the directory is fine (the file itself is
	// not a spec file by its name, so it is read once, through the link).
	must(os.WriteFile(filepath.Join(dir, "prod.txt"), []byte(strings.ReplaceAll(linkSpec, "dev", "prod")), 0o600))
	must(os.Symlink("prod.txt", filepath.Join(dir, "alias.yml")))
	must(os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	must(os.Symlink(secret, filepath.Join(dir, "sub", "passwd.yaml")))
	rel, err := filepath.Rel(dir, spec)
	must(err)
	must(os.Symlink(rel, filepath.Join(dir, "web.yaml")))
	must(os.Symlink(filepath.Join(outside, "missing"), filepath.Join(dir, "dangling.json")))
	must(syscall.Mkfifo(filepath.Join(dir, "pipe.yaml"), 0o600))

	groups, err := LoadPath(dir)
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	for _, want := range []string{
		filepath.Join(dir, "sub", "passwd.yaml") + ": a symbolic link to a file outside the directory",
		filepath.Join(dir, "web.yaml") + ": a symbolic link to a file outside the directory",
		filepath.Join(dir, "dangling.json") + ": a symbolic link that cannot be resolved",
		filepath.Join(dir, "pipe.yaml") + ": not a regular file",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("errors lack %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "SECRET") || strings.Contains(msg, outside) {
		t.Errorf("the errors show a target or its content:\n%s", msg)
	}
	if n := len(specs.Errors(err)); n != 4 {
		t.Errorf("%d errors, want 4 (the link inside the directory is fine):\n%s", n, msg)
	}
	if len(groups) != 1 || groups[0].Metadata.Labels[0] != "prod" {
		t.Errorf("read %d groups, want the one of alias.yml", len(groups))
	}
}

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
			errs := specs.Errors(err)
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
	errs := specs.Errors(err)
	if len(errs) != 1 || errs[0].File != path || !strings.Contains(errs[0].Msg, "larger than the 1 MiB limit") {
		t.Errorf("want one size error naming %s, got %v", path, err)
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

// TestLoadPathReadsAPipe: a file path that links to a pipe, such as
// /dev/stdin or bash's <(...), is read like a file; only directories are
// resolved through their links.
func TestLoadPathReadsAPipe(t *testing.T) {
	r, w, path := procPipe(t)
	defer r.Close()
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

// TestReadRefusesAPipeAboveTheLimit: a pipe, which has no size to check
// first, above the limit is refused, not read up to it and taken for the
// whole.
func TestReadRefusesAPipeAboveTheLimit(t *testing.T) {
	r, w, path := procPipe(t)
	defer r.Close()
	const limit = 2 << 20
	spec := "apiVersion: theseus/v1\nkind: Group\nmetadata: {service: web, labels: [dev]}\nspec: {image: nginx, instances: 1, cpus: 0.1, mem: 64}\n---\n"
	written := make(chan error, 1)
	go func() {
		defer w.Close()
		// A group, then comments to the limit: read only that far, it
		// would look like a file of one group.
		_, err := w.WriteString(spec + "#" + strings.Repeat("x", limit-len(spec)) + "\n")
		written <- err
	}()
	data, err := readFileMax(path, limit)
	r.Close() // the writer may be blocked on what was not read
	<-written
	errs := specs.Errors(err)
	if len(errs) != 1 || errs[0].File != path || !strings.Contains(errs[0].Msg, "larger than the 2 MiB limit") {
		t.Errorf("read %d bytes of %s, %v; want one size error naming it", len(data), path, err)
	}
}

// procPipe is a pipe and the path its read end has in /proc/self/fd, as
// /dev/stdin or bash's <(...) give; the test is skipped without /proc.
func procPipe(t *testing.T) (r, w *os.File, path string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	path = fmt.Sprintf("/proc/self/fd/%d", r.Fd())
	if _, err := os.Stat(path); err != nil {
		r.Close()
		w.Close()
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return r, w, path
}

// TestSpecFilesFollowsLinkedDirectories: a link to a directory inside the
// directory read is walked, its files named through the link, as a
// checkout read through it would be; so a directory turned into a link
// does not make its groups look gone. A link to a directory outside, or
// to one it is in, is refused by name, and nothing outside is read.
func TestSpecFilesFollowsLinkedDirectories(t *testing.T) {
	outside := t.TempDir()
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	write := func(name string) {
		t.Helper()
		must(os.MkdirAll(filepath.Dir(name), 0o755))
		must(os.WriteFile(name, []byte(linkSpec), 0o600))
	}
	write(filepath.Join(dir, "common", "web", "dev.yaml"))
	write(filepath.Join(outside, "x.yaml"))
	must(os.MkdirAll(filepath.Join(dir, "prod", "a", "b"), 0o755))
	must(os.Symlink("../common/web", filepath.Join(dir, "prod", "web")))
	must(os.Symlink(outside, filepath.Join(dir, "prod", "out")))
	must(os.Symlink("..", filepath.Join(dir, "prod", "a", "b", "up")))
	must(os.Symlink("missing", filepath.Join(dir, "prod", "dangling")))

	files, refused, err := SpecFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join("common", "web", "dev.yaml"), filepath.Join("prod", "web", "dev.yaml")}; !slices.Equal(files, want) {
		t.Errorf("files %v, want %v", files, want)
	}
	var got []string
	for _, fe := range refused {
		got = append(got, fe.Error())
	}
	want := []string{
		filepath.Join("prod", "out") + ": a symbolic link to a directory outside the directory; refused, its files are not read",
		filepath.Join("prod", "a", "b", "up") + ": a symbolic link to a directory it is in; refused",
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("refused:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Two links leading to each other's directories end too.
	must(os.MkdirAll(filepath.Join(dir, "loop", "x"), 0o755))
	must(os.MkdirAll(filepath.Join(dir, "loop", "y"), 0o755))
	must(os.Symlink("../y", filepath.Join(dir, "loop", "x", "l")))
	must(os.Symlink("../x", filepath.Join(dir, "loop", "y", "l")))
	_, refused, err = SpecFiles(filepath.Join(dir, "loop"))
	if err != nil || len(refused) != 2 || !strings.Contains(refused[0].Msg, "a directory it is in") {
		t.Errorf("links to each other: %v, %v", refused, err)
	}
}

// TestReadMaxStream reads streams of no known size up to, at and past
// the limit, in reads of any size: all of one within the limit, an error
// naming the stream past it, and the reader's own error as it is.
func TestReadMaxStream(t *testing.T) {
	const limit = 1 << 20
	cut := errors.New("connection cut")
	for _, tc := range []struct {
		name    string
		r       io.Reader
		size    int
		wantErr string
	}{
		{"empty", strings.NewReader(""), 0, ""},
		{"at the limit", strings.NewReader(strings.Repeat("x", limit)), limit, ""},
		{"in one-byte reads", iotest.OneByteReader(strings.NewReader(strings.Repeat("x", 3000))), 3000, ""},
		{"a byte past the limit", strings.NewReader(strings.Repeat("x", limit+1)), 0, "(stdin): larger than the 1 MiB limit"},
		{"broken", io.MultiReader(strings.NewReader("apiVersion"), iotest.ErrReader(cut)), 0, "connection cut"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := readMax("(stdin)", tc.r, 0, limit)
			switch {
			case tc.wantErr == "" && (err != nil || len(data) != tc.size):
				t.Errorf("%d bytes, %v; want %d bytes", len(data), err, tc.size)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || data != nil):
				t.Errorf("%d bytes, %v; want an error with %q", len(data), err, tc.wantErr)
			}
			var problems specs.ErrorList
			if tooLarge := strings.Contains(tc.wantErr, "limit"); tooLarge != errors.As(err, &problems) {
				t.Errorf("%v: a problem of the file: %v, want %v", err, !tooLarge, tooLarge)
			}
		})
	}
}

// TestReadStream: standard input cut off is a problem of the file named,
// as one too long is (TestReadMaxStream, and TestStdinBounded in
// cmd/theseusd).
func TestReadStream(t *testing.T) {
	r := io.MultiReader(strings.NewReader("apiVersion"), iotest.ErrReader(errors.New("connection cut")))
	data, err := ReadStream("(stdin)", r)
	if problems := specs.Errors(err); data != nil || len(problems) != 1 || problems[0].File != "(stdin)" ||
		!strings.Contains(problems[0].Msg, "connection cut") {
		t.Errorf("%d bytes, %v; want one problem of (stdin) saying why", len(data), err)
	}
}
