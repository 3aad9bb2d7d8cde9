package marathon_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
	"weak"

	"github.com/google/go-cmp/cmp"

	"theseus.dev/drivers/marathon"
	"theseus.dev/specs"
)

// TestRelist: Relist lists what List lists, in either generation, and an
// app keeps its *App from one Relist to the next until Marathon changes
// it: not when only the timestamps of its health results move, and not
// for the apps beside one that is scaled or deleted.
func TestRelist(t *testing.T) {
	for _, gen := range generations {
		t.Run(gen.String(), func(t *testing.T) {
			s := newSim(t, gen, nil, marathon.Config{})
			ctx := t.Context()
			var keys []specs.GroupKey
			for _, l := range []string{"a", "b", "c"} {
				g := parse(t, strings.Replace(webSpec, "[dev]", "["+l+"]", 1))
				w := write(t, g, 7)
				if _, err := s.c.Create(ctx, w); err != nil {
					t.Fatal(err)
				}
				keys = append(keys, w.Key)
			}
			s.settle(t)
			s.clk.Advance(time.Minute) // health checks pass
			relist := func(what string) map[specs.GroupKey]*marathon.App {
				t.Helper()
				got, err := s.c.Relist(ctx)
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				want, err := s.c.List(ctx)
				if err != nil {
					t.Fatal(err)
				}
				byKey := map[specs.GroupKey]*marathon.App{}
				for i, a := range got {
					if i >= len(want) || a.ID != want[i].ID {
						t.Fatalf("%s: app %d is %s, List says otherwise (%d apps, %d listed)", what, i, a.ID, len(got), len(want))
					}
					if d := cmp.Diff(want[i], *a); d != "" {
						t.Errorf("%s: %s differs from List (-List +Relist):\n%s", what, a.ID, d)
					}
					byKey[a.Key] = a
				}
				if len(got) != len(want) {
					t.Fatalf("%s: %d apps, List has %d", what, len(got), len(want))
				}
				return byKey
			}
			first := relist("first")
			if n := len(first[keys[0]].Tasks); n != 2 || first[keys[0]].Tasks[0].Health != "healthy" {
				t.Fatalf("%d tasks, health %q", n, first[keys[0]].Tasks[0].Health)
			}
			before := fmt.Sprint(s.raw(t, first[keys[0]].ID)["tasks"])
			s.clk.Advance(time.Minute)
			if after := fmt.Sprint(s.raw(t, first[keys[0]].ID)["tasks"]); after == before {
				t.Fatalf("the tasks' health results did not move: %s", after)
			}
			second := relist("after health checks ran again")
			for _, k := range keys {
				if second[k] != first[k] {
					t.Errorf("%s: a new *App although nothing but health timestamps changed", k)
				}
			}
			if _, err := s.c.Scale(ctx, keys[1], 3); err != nil {
				t.Fatal(err)
			}
			s.settle(t)
			if _, err := s.c.Delete(ctx, keys[2]); err != nil {
				t.Fatal(err)
			}
			s.settle(t)
			third := relist("after a scale and a delete")
			switch {
			case third[keys[0]] != first[keys[0]]:
				t.Errorf("%s: a new *App although it did not change", keys[0])
			case third[keys[1]] == first[keys[1]] || len(third[keys[1]].Tasks) != 3:
				t.Errorf("%s: scaled, but listed as it was", keys[1])
			case third[keys[2]] != nil:
				t.Errorf("%s: deleted, but listed", keys[2])
			}
		})
	}
}

// TestRelistForgetsOldApps: once a Relist has read an app changed, the
// client holds nothing of the app as it was before, so that a list in
// which every app changed (a cold start) does not keep two of each.
func TestRelistForgetsOldApps(t *testing.T) {
	s := newSim(t, generations[len(generations)-1], nil, marathon.Config{})
	ctx := t.Context()
	w := write(t, parse(t, webSpec), 7)
	if _, err := s.c.Create(ctx, w); err != nil {
		t.Fatal(err)
	}
	s.settle(t)
	old := func() weak.Pointer[marathon.App] {
		apps, err := s.c.Relist(ctx)
		if err != nil || len(apps) != 1 {
			t.Fatalf("%d apps, %v", len(apps), err)
		}
		return weak.Make(apps[0])
	}()
	if _, err := s.c.Scale(ctx, w.Key, 3); err != nil {
		t.Fatal(err)
	}
	s.settle(t)
	apps, err := s.c.Relist(ctx)
	if err != nil || len(apps) != 1 || len(apps[0].Tasks) != 3 {
		t.Fatalf("%d apps, %v", len(apps), err)
	}
	runtime.GC()
	if old.Value() != nil {
		t.Errorf("the app as the first list read it is still held after a list read it scaled")
	}
	runtime.KeepAlive(apps)
}
