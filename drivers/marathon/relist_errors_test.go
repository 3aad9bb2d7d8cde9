package marathon

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// TestRelistErrorsSayWhere: a list Relist cannot decode fails with
// List's error, naming the place in the whole list (not in the one app
// decoded on its own), both for an app read whole and for one read by
// parts after it changed.
func TestRelistErrorsSayWhere(t *testing.T) {
	const ok = `{"id":"/a/b"},{"id":"/c/d","instances":1,"tasks":[{"id":"t1"}]}`
	for _, bad := range []string{
		`{"apps":[{"id":"/a/b"},{"id":"/c/d","instances":"x"}]}`,
		`{"apps":[{"id":"/a/b"},{"id":"/c/d","instances":1,"tasks":[{"id":1}]}]}`,
		`{"apps":[{"id":"/a/b"},{"id":"/c/d","instances":1,"tasks":[{"id":"t1","ports":"x"}]}]}`,
	} {
		_, werr := decodeAppList(bytes.NewReader([]byte(bad)), "", "*")
		if werr == nil {
			t.Fatalf("%s: List decoded it", bad)
		}
		for _, before := range []string{"", `{"apps":[` + ok + `]}`, `{"apps":[{"id":"/a/b"},{"id":"/c/d","instances":1}]}`} {
			var l relister
			if before != "" {
				_, next, err := l.decode(bytes.NewReader([]byte(before)), "", "*")
				if err != nil {
					t.Fatal(err)
				}
				l.keep(next, "*")
			}
			_, _, err := l.decode(bytes.NewReader([]byte(bad)), "", "*")
			if err == nil || err.Error() != werr.Error() {
				t.Errorf("%s after %q:\nRelist: %v\nList:   %v", bad, before, err, werr)
			}
		}
	}
}

// TestRelistRefusesWhatListRefuses: values nested past the decoder's
// limit, counted from the app as List decodes it, fail Relist too,
// though Relist decodes the tasks apart from the rest of the app, and
// though the rest of the app and the tasks' digest are as the last list
// had them (health results deep, but as many and as alive).
func TestRelistRefusesWhatListRefuses(t *testing.T) {
	const app = `{"id":"/web/dev","instances":1`
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	for _, tc := range []struct{ name, before, list string }{
		// app 1, tasks 2, task 3, x 4 to 10,001
		{"task", "", `{"apps":[` + app + `,"tasks":[{"x":` + deep(9998) + `}]}]}`},
		// health results 4, result 5, x 6 to 10,001
		{"health results", `{"apps":[` + app + `,"tasks":[{"healthCheckResults":[{"alive":true,"x":1}]}]}]}`,
			`{"apps":[` + app + `,"tasks":[{"healthCheckResults":[{"alive":true,"x":` + deep(9996) + `}]}]}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decodeAppList(bytes.NewReader([]byte(tc.list)), "", "*"); err == nil {
				t.Fatal("List decoded it")
			}
			var l relister
			if tc.before != "" {
				_, next, err := l.decode(bytes.NewReader([]byte(tc.before)), "", "*")
				if err != nil {
					t.Fatal(err)
				}
				l.keep(next, "*")
			}
			if got, _, err := l.decode(bytes.NewReader([]byte(tc.list)), "", "*"); err == nil {
				t.Fatalf("Relist listed %d apps", len(got))
			}
		})
	}
}

// TestRelistTellsTaskSetsApart: an app whose definition is as the last
// list had it and whose tasks are not is read with the tasks it has now,
// however alike the JSON of the two sets of tasks: the digest that tells
// whether they changed marks where each task starts and ends, and writes
// member names quoted.
func TestRelistTellsTaskSetsApart(t *testing.T) {
	for _, tc := range []struct{ name, first, second string }{
		{"task added", `[]`, `[{}]`},
		{"task removed", `[{}]`, `[]`},
		{"null task added", `[]`, `[null]`},
		// Duplicate names are allowed: the last is kept.
		{"two tasks or one", `[{"id":"a"},{"id":"b"}]`, `[{"id":"a","id":"b"}]`},
		{"name with colon", `[{"id":"t","ports":[1],"host":"h"}]`, `[{"id":"t","ports:[1],host":"h"}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			relistAgainstList(t,
				`{"apps":[{"id":"/web/dev","instances":1,"tasks":`+tc.first+`}]}`,
				`{"apps":[{"id":"/web/dev","instances":1,"tasks":`+tc.second+`}]}`)
		})
	}
}

// TestRelistReadsEscapedNames: members are told by their names as a
// decoder reads them, an escape ("t\u0061sks") unquoted, as List tells
// them.
func TestRelistReadsEscapedNames(t *testing.T) {
	const task = `[{"id":"t1","host":"h","state":"TASK_RUNNING"}]`
	for _, app := range []string{
		`{"id":"/web/dev","instances":1,"t\u0061sks":` + task + `}`,
		`{"id":"/web/dev","instances":1,"tasks":[],"\u0074asks":` + task + `}`,
		`{"\u0069d":"/web/dev","instances":1,"tasks":` + task + `}`,
	} {
		relistAgainstList(t, `{"apps":[]}`, `{"apps":[`+app+`]}`)
		relistAgainstList(t, `{"apps":[{"id":"/web/dev","instances":1,"tasks":[]}]}`, `{"apps":[`+app+`]}`)
	}
}

// relistAgainstList decodes first, then second, with one relister, and
// fails unless the second Relist lists what List lists for second.
func relistAgainstList(t *testing.T, first, second string) {
	t.Helper()
	var l relister
	_, next, err := l.decode(bytes.NewReader([]byte(first)), "", "*")
	if err != nil {
		t.Fatalf("first list: %v", err)
	}
	l.keep(next, "*")
	got, _, err := l.decode(bytes.NewReader([]byte(second)), "", "*")
	if err != nil {
		t.Fatalf("second list: %v", err)
	}
	want, err := decodeAppList(bytes.NewReader([]byte(second)), "", "*")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("%s: Relist has %d apps, List %d", second, len(got), len(want))
	}
	for i := range got {
		if d := cmp.Diff(want[i], *got[i]); d != "" {
			t.Errorf("%s: %s (-List +Relist):\n%s", second, want[i].ID, d)
		}
	}
}

// TestScanListErrorsSayWhere: a list whose frame is broken fails with
// what was wanted and where, counted in the whole answer, however it
// arrives; one cut short fails as cut short.
func TestScanListErrorsSayWhere(t *testing.T) {
	pad := `{"apps":[` + strings.Repeat(`{"id":"/a/b"},`, 30000) // past the scanner's first buffer
	for _, tc := range []struct{ list, want string }{
		{`{"apps":[{"id":"/a"} {"id":"/b"}]}`, "want ',' or ']' at byte 21"},
		{`{"apps":[{"id":"/a"}],}`, "want a member after ',' at byte 22"},
		{`{"apps" [] }`, "want ':' at byte 8"},
		{pad + `{"id":"/x"} {"id":"/y"}]}`, fmt.Sprintf("want ',' or ']' at byte %d", len(pad)+12)},
	} {
		_, err := scanListArray(iotest.HalfReader(strings.NewReader(tc.list)), "apps", nil, func([]byte) error { return nil })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%.40s…: %v, want %q", tc.list, err, tc.want)
		}
	}
	_, err := scanListArray(strings.NewReader(`{"apps":[{"id":"/a"},{"id":"/b`), "apps", nil, func([]byte) error { return nil })
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("a list cut short: %v", err)
	}
}
