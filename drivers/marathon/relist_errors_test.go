package marathon

import (
	"bytes"
	"testing"
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
				l.apps, l.role = next, "*"
			}
			_, _, err := l.decode(bytes.NewReader([]byte(bad)), "", "*")
			if err == nil || err.Error() != werr.Error() {
				t.Errorf("%s after %q:\nRelist: %v\nList:   %v", bad, before, err, werr)
			}
		}
	}
}
