package reconciler

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"theseus.dev/internal/observe"
	"theseus.dev/model"
	"theseus.dev/specs"
	"theseus.dev/specs/specstest"
)

// TestKnownSpec holds the controller to model.KnownSpecs: it knows the
// normalised spec of each group /desired holds valid, nothing of a group
// it holds invalid or not at all, and a spec it gave stays as it was when
// /desired moves on.
func TestKnownSpec(t *testing.T) {
	c := NewController(Config{}, model.Fence{}, observe.New(observe.Config{Marathon: listedApps(nil)}))
	var known model.KnownSpecs = c
	web, bad, gone := specstest.Key(t, "web", "dev"), specstest.Key(t, "web", "bad"), specstest.Key(t, "web", "gone")
	entry := func(k specs.GroupKey, rev int64, instances int) model.DesiredEntry {
		return model.DesiredEntry{Key: k, ModRevision: rev, Group: specstest.Group(t, k, instances)}
	}
	invalid := model.DesiredEntry{Key: bad, ModRevision: 3,
		Errors: specs.ErrorList{{Field: "spec.image", Msg: "required"}}}
	c.applyDesired(model.DesiredUpdate{Snapshot: &model.DesiredSnapshot{Entries: []model.DesiredEntry{
		entry(web, 2, 2), invalid, entry(gone, 4, 1)}}})

	want := specs.Normalize(specstest.Group(t, web, 2).Spec)
	got, ok := known.KnownSpec(web)
	if !ok {
		t.Fatalf("no spec of %s, which /desired holds", web)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s: not the normalised spec (-want +got):\n%s", web, d)
	}
	for _, k := range []specs.GroupKey{bad, specstest.Key(t, "web", "unknown")} {
		if s, ok := known.KnownSpec(k); ok {
			t.Errorf("%s: a spec, %+v, for a group /desired holds none valid of", k, s)
		}
	}

	c.applyDesired(model.DesiredUpdate{Events: []model.DesiredEvent{
		{Type: model.EventPut, Entry: entry(web, 5, 7)},
		{Type: model.EventDelete, Entry: model.DesiredEntry{Key: gone, ModRevision: 6}},
	}})
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("the spec given changed when /desired did (-before +after):\n%s", d)
	}
	if now, ok := known.KnownSpec(web); !ok || *now.Instances != 7 {
		t.Errorf("%s after a put of 7 instances: %v, %v", web, now.Instances, ok)
	}
	if _, ok := known.KnownSpec(gone); ok {
		t.Errorf("%s: a spec after its delete", gone)
	}
}
