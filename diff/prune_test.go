package diff

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"theseus.dev/specs"
)

func TestPruneGuardWindow(t *testing.T) {
	deleted := func(n int) []specs.GroupKey {
		out := make([]specs.GroupKey, n)
		for i := range out {
			k, err := specs.NewGroupKey("api", []string{fmt.Sprintf("g%d", i)})
			if err != nil {
				t.Fatal(err)
			}
			out[i] = k
		}
		return out
	}
	tests := []struct {
		name                      string
		deletes, managed, desired int
		h                         PruneHistory
		want                      string // part of the refusal; "" for none
	}{
		{"one of ten", 1, 10, 9, PruneHistory{}, ""},
		{"the fifth of ten, one at a time", 1, 6, 5, PruneHistory{Deleted: deleted(4), ManagedAtStart: 10, Window: 10 * time.Minute}, ""},
		{"the sixth of ten, one at a time", 1, 5, 4, PruneHistory{Deleted: deleted(5), ManagedAtStart: 10, Window: 10 * time.Minute},
			"would delete 1 more app(s) after 5 in the last 10m0s: 6 of 10 managed apps, more than 50%"},
		{"six of ten at once", 6, 10, 4, PruneHistory{}, "would delete 6 of 10 managed apps"},
		{"the last app, /desired empty", 1, 1, 0, PruneHistory{}, "/desired is empty while 1 app(s) are managed"},
		{"the last app, another group left", 1, 1, 1, PruneHistory{}, ""},
		{"released", 8, 10, 0, PruneHistory{ReleasedBy: "ops"}, ""},
		{"one within the window of a single deletion", 1, 2, 1, PruneHistory{Deleted: deleted(1), ManagedAtStart: 2}, "2 of 2"},
	}
	for _, tt := range tests {
		err := PruneGuard(tt.deletes, tt.managed, tt.desired, Options{History: tt.h})
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), ReleaseHint)):
			t.Errorf("%s: %v, want a refusal with %q and how to release it", tt.name, err, tt.want)
		}
	}
}
