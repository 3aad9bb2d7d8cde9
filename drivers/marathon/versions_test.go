package marathon_test

import (
	"errors"
	"testing"

	"theseus.dev/drivers/marathon"
)

// TestVersionAndCurrent: during a rollout the tasks of the old definition
// are told apart (a scale before it does not count), and Version reads the
// definition they run.
func TestVersionAndCurrent(t *testing.T) {
	for _, gen := range generations {
		t.Run(gen.String(), func(t *testing.T) {
			s := newSim(t, gen, nil, marathon.Config{})
			ctx := t.Context()
			w := write(t, parse(t, webSpec), 1)
			if _, err := s.c.Create(ctx, w); err != nil {
				t.Fatal(err)
			}
			s.settle(t)
			if _, err := s.c.Scale(ctx, w.Key, 3); err != nil {
				t.Fatal(err)
			}
			s.settle(t)
			scaled, err := s.c.Get(ctx, w.Key)
			if err != nil {
				t.Fatal(err)
			}
			for i := range scaled.Tasks {
				if !scaled.Current(&scaled.Tasks[i]) {
					t.Fatalf("after a scale, task %s (version %s) is not current (config of %s)", scaled.Tasks[i].ID, scaled.Tasks[i].Version, scaled.ConfigVersion)
				}
			}
			old := scaled.Tasks[0].Version
			w2 := w
			w2.Spec.Image, w2.Revision = "nginx:1.28", 2
			if _, err := s.c.Update(ctx, w2); err != nil {
				t.Fatal(err)
			}
			mid, err := s.c.Get(ctx, w.Key)
			if err != nil {
				t.Fatal(err)
			}
			stale := 0
			for i := range mid.Tasks {
				if !mid.Current(&mid.Tasks[i]) {
					stale++
				}
			}
			if stale == 0 || mid.Spec.Image != "nginx:1.28" {
				t.Fatalf("right after the update: %d tasks of the old definition, image %s", stale, mid.Spec.Image)
			}
			v, err := s.c.Version(ctx, w.Key, old)
			if err != nil || v.Spec.Image != "nginx:1.27" {
				t.Fatalf("Version(%s) = %s, %v", old, v.Spec.Image, err)
			}
			if _, err := s.c.Version(ctx, w.Key, "2001-01-01T00:00:00.000Z"); !errors.Is(err, marathon.ErrNotFound) {
				t.Errorf("a version Marathon does not keep: %v", err)
			}
		})
	}
}
