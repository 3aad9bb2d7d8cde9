package marathon

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"testing/iotest"
)

// TestListDecodeInOrder: a list of many batches of apps, decoded on
// every core, comes back whole and sorted; the error of one with bad
// apps names the first of them, however the batches were spread, and
// wins over a break in the answer after it.
func TestListDecodeInOrder(t *testing.T) {
	list := func(n int, bad ...int) string {
		var b strings.Builder
		b.WriteString(`{"apps":[`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			inst := "1"
			for _, x := range bad {
				if x == i {
					inst = `"x"`
				}
			}
			// Out of order, so that the sort shows.
			fmt.Fprintf(&b, `{"id":"/svc%03d/dev","instances":%s,"tasks":[{"id":"t%d","host":"h"}]}`, n-1-i, inst, i)
		}
		return b.String()
	}
	apps, err := decodeAppList(iotest.HalfReader(strings.NewReader(list(5*listBatch+3)+"]}")), "", "*")
	if err != nil || len(apps) != 5*listBatch+3 {
		t.Fatalf("%d apps, %v", len(apps), err)
	}
	for i, a := range apps {
		if want := fmt.Sprintf("/svc%03d/dev", i); a.ID != want || len(a.Tasks) != 1 || a.Spec.Instances == nil || *a.Spec.Instances != 1 {
			t.Fatalf("app %d: %s with %d tasks, want %s", i, a.ID, len(a.Tasks), want)
		}
	}
	for _, tc := range []struct {
		body string
		want string
	}{
		{list(300, 250, 70, 150) + "]}", `"/apps/70/instances"`},
		{list(300, 299) + "]}", `"/apps/299/instances"`},
		{list(300, 3) + "] x", `"/apps/3/instances"`},
		{list(300) + "] x", "at byte"},
	} {
		_, err := decodeAppList(bytes.NewReader([]byte(tc.body)), "", "*")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s…: %v, want %s", tc.body[len(tc.body)-20:], err, tc.want)
		}
	}
}
