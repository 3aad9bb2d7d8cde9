package goldenfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder keeps what Check reports instead of failing the test.
type recorder struct {
	testing.TB
	errors, fatals []string
}

func (r *recorder) Helper()                   {}
func (r *recorder) Errorf(f string, a ...any) { r.errors = append(r.errors, fmt.Sprintf(f, a...)) }
func (r *recorder) Fatalf(f string, a ...any) { r.fatals = append(r.fatals, fmt.Sprintf(f, a...)) }
func (r *recorder) Fatal(a ...any)            { r.fatals = append(r.fatals, fmt.Sprintf("%v", a...)) }

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "plan.txt")

	r := &recorder{TB: t}
	Check(r, path, []byte("a\nb\n"), false)
	if len(r.fatals) != 1 || !strings.Contains(r.fatals[0], "-update") {
		t.Fatalf("no golden file: %q; want one failure saying to run with -update", r.fatals)
	}

	r = &recorder{TB: t}
	Check(r, path, []byte("a\nb\n"), true)
	if data, err := os.ReadFile(path); err != nil || string(data) != "a\nb\n" || len(r.errors)+len(r.fatals) != 0 {
		t.Fatalf("-update: file %q, %v, reports %q %q; want it written, its directory made", data, err, r.errors, r.fatals)
	}

	r = &recorder{TB: t}
	Check(r, path, []byte("a\nb\n"), false)
	if len(r.errors)+len(r.fatals) != 0 {
		t.Errorf("the same bytes: %q %q; want no failure", r.errors, r.fatals)
	}

	r = &recorder{TB: t}
	Check(r, path, []byte("a\nc\n"), false)
	if len(r.errors) != 1 || !hasLine(r.errors[0], "-", `"b"`) || !hasLine(r.errors[0], "+", `"c"`) || hasLine(r.errors[0], "-", `"a"`) {
		t.Errorf("one line changed: %q; want one failure showing the line removed and the line added", r.errors)
	}
}

// hasLine reports whether report has a line that begins with mark and
// holds text.
func hasLine(report, mark, text string) bool {
	for line := range strings.Lines(report) {
		if strings.HasPrefix(line, mark) && strings.Contains(line, text) {
			return true
		}
	}
	return false
}
