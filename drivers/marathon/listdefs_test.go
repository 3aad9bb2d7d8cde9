package marathon_test

import (
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"theseus.dev/diff"
	"theseus.dev/drivers/marathon"
	"theseus.dev/sources"
)

// TestListDefinitions: ListDefinitions asks Marathon for the apps without
// their tasks, and lists every app as List does but for the tasks and
// what is read from them, deployments in flight included, so that a plan
// of either is the same plan.
func TestListDefinitions(t *testing.T) {
	groups, err := sources.LoadPath("../../testdata/specs")
	if err != nil {
		t.Fatal(err)
	}
	for _, gen := range generations {
		t.Run(gen.String(), func(t *testing.T) {
			var mu sync.Mutex
			var embeds [][]string
			s := newSim(t, gen, func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == "/v2/apps" && r.Method == http.MethodGet {
						mu.Lock()
						embeds = append(embeds, r.URL.Query()["embed"])
						mu.Unlock()
					}
					h.ServeHTTP(w, r)
				})
			}, marathon.Config{})
			ctx := t.Context()
			var want diff.Snapshot
			for i, g := range groups {
				w := write(t, g, int64(i+1))
				if _, err := s.c.Create(ctx, w); err != nil {
					t.Fatalf("create %s: %v", w.Key, err)
				}
				d, _ := diff.NewDesired(g, int64(i+2)) // a revision on: every group plans an update
				want.Groups = append(want.Groups, d)
			}
			for _, when := range []string{"deploying", "settled"} {
				if when == "settled" {
					s.settle(t)
				}
				mu.Lock()
				embeds = nil
				mu.Unlock()
				full, err := s.c.List(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defs, err := s.c.ListDefinitions(ctx)
				if err != nil {
					t.Fatal(err)
				}
				mu.Lock()
				asked := slices.Clone(embeds)
				mu.Unlock()
				if len(asked) != 2 {
					t.Fatalf("%s: %d lists of /v2/apps for List and ListDefinitions, want 2: %v", when, len(asked), asked)
				}
				if !slices.Equal(asked[1], []string{"apps.deployments"}) {
					t.Errorf("%s: ListDefinitions asked for embed=%v, want only apps.deployments", when, asked[1])
				}
				withTasks := 0
				for _, a := range full {
					withTasks += min(len(a.Tasks), 1)
				}
				if withTasks == 0 {
					t.Fatalf("%s: List listed no app with tasks: the comparison below would prove nothing", when)
				}
				if when == "deploying" && !slices.ContainsFunc(defs, func(a marathon.App) bool { return len(a.Deployments) > 0 }) {
					t.Fatalf("%s: no deployment listed", when)
				}
				ignore := cmpopts.IgnoreFields(marathon.App{}, "Tasks", "LastTaskFailure", "Outdated")
				if d := cmp.Diff(full, defs, ignore, cmpopts.EquateEmpty()); d != "" {
					t.Errorf("%s: ListDefinitions differs from List beyond the tasks (-List +ListDefinitions):\n%s", when, d)
				}
				for _, a := range defs {
					if len(a.Tasks) > 0 || a.LastTaskFailure != nil {
						t.Errorf("%s: %s listed with %d tasks, last failure %v", when, a.ID, len(a.Tasks), a.LastTaskFailure)
					}
				}
				if d := cmp.Diff(diff.Compute(want, full, diff.Options{}), diff.Compute(want, defs, diff.Options{})); d != "" {
					t.Errorf("%s: plans differ (-List +ListDefinitions):\n%s", when, d)
				}
			}
		})
	}
}
