package viewer

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"theseus.dev/drivers/marathon"
)

// TestImagesOf: tasks are counted by the image of the definition they were
// started from, older definitions first; tasks of a scale are current; the
// app's image is listed even before a task runs it.
func TestImagesOf(t *testing.T) {
	const v1, v2, v3, v4 = "2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z", "2026-01-03T00:00:00.000Z", "2026-01-04T00:00:00.000Z"
	app := &marathon.App{ID: "/web/dev", Version: v4, ConfigVersion: v3}
	app.Spec.Image = "nginx:1.29"
	old := map[versionKey]string{{"/web/dev", v1}: "nginx:1.27", {"/web/dev", v2}: "nginx:1.28"}
	tasks := func(versions ...string) []marathon.Task {
		var out []marathon.Task
		for _, v := range versions {
			out = append(out, marathon.Task{Version: v})
		}
		return out
	}
	tests := []struct {
		name     string
		versions []string
		want     []TaskImage
	}{
		{"all current, one scaled since", []string{v3, v4}, []TaskImage{{"nginx:1.29", 2}}},
		{"early in a rollout", []string{v2, v2}, []TaskImage{{"nginx:1.28", 2}, {"nginx:1.29", 0}}},
		{"two old definitions", []string{v2, v1, v3}, []TaskImage{{"nginx:1.27", 1}, {"nginx:1.28", 1}, {"nginx:1.29", 1}}},
		{"an unknown definition", []string{"2025-12-01T00:00:00.000Z", v3}, []TaskImage{{"?", 1}, {"nginx:1.29", 1}}},
		{"no tasks", nil, []TaskImage{{"nginx:1.29", 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := *app
			a.Tasks = tasks(tt.versions...)
			if diff := cmp.Diff(tt.want, imagesOf(&a, old)); diff != "" {
				t.Errorf("imagesOf (-want +got):\n%s", diff)
			}
		})
	}
}
