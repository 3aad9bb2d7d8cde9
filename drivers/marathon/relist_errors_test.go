package marathon

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
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
