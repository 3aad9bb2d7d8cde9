package mesos_test

import (
	"slices"
	"strings"
	"testing"

	"theseus.dev/drivers/mesos"
)

// TestTailLeavesOutTheCutLine: the last lines of a log are read from
// its last 4 MiB at most; a line that begins before them is left out,
// not printed from its middle as if it were whole, and one that begins
// right at their start is kept.
func TestTailLeavesOutTheCutLine(t *testing.T) {
	const window = 4 << 20
	long := strings.Repeat("x", window-len("last\n")-1)
	for _, tc := range []struct {
		name, file string
		want       []string
	}{
		{"a line cut", strings.Repeat("y", 5<<20) + "\nlast\n", []string{"last"}},
		{"a line begins the window", strings.Repeat("y", 100) + "\n" + long + "\nlast\n", []string{long, "last"}},
		{"a short file", "one\ntwo\nlast\n", []string{"one", "two", "last"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, c, a, raw := newFileAgent(t, "agent-state/dcos-ui-0.27.0.json", false)
			taskID, dir := firstExecutor(t, raw)
			f.set(dir+"/stdout", tc.file)
			lf := must[*mesos.LogFile](t)(c.OpenLog(ctx(t), a, taskID, mesos.Stdout))
			got := must[[]string](t)(lf.Tail(ctx(t), 10))
			if !slices.Equal(got, tc.want) {
				t.Errorf("%d lines, the first %.20q of %d bytes; want %d lines", len(got), got[0], len(got[0]), len(tc.want))
			}
			if lf.Offset() != int64(len(tc.file)) {
				t.Errorf("offset %d, want the end %d", lf.Offset(), len(tc.file))
			}
		})
	}
}
