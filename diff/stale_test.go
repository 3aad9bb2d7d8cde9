package diff

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestStaleScope: a plan of spec files is stale when the /desired revision
// of any of its groups moved, or a change of a group not acted on in
// Marathon (config) moved, which a plan of /desired does not check.
func TestStaleScope(t *testing.T) {
	snap := exampleDesired(t)
	d := *withConfig(snap.Groups[0], "upstream", "api")
	a := appFor(d)
	a.ConfigKnown = true
	plan := func(stored string, rev int64) *Plan {
		a := a
		a.Config = map[string]string{"upstream": stored}
		p := Compute(Snapshot{Revision: 50, Groups: []Desired{d}}, []App{a}, Options{})
		p.Scope = []Scoped{{Key: d.Key, Revision: rev}}
		return p
	}
	saved := plan("old", 10)
	js, err := json.Marshal(saved)
	if err != nil {
		t.Fatal(err)
	}
	var back Plan
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if err := Stale(&back, plan("old", 10)); err != nil {
		t.Fatalf("unchanged: %v", err)
	}
	for _, tt := range []struct {
		name string
		now  *Plan
		want string
	}{
		{"desired moved", plan("old", 11), "/desired revision was 10, now 11"},
		{"config moved", plan("older", 10), "its changes are not those of the saved plan"},
		{"in sync now", plan("api", 10), "was config, now nothing to do"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := Stale(&back, tt.now)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Stale = %v, want %q", err, tt.want)
			}
		})
	}
	// Without a scope, config is not part of the index: apply --plan
	// carries out Marathon actions only.
	unscoped, now := plan("old", 10), plan("older", 10)
	unscoped.Scope, now.Scope = nil, nil
	if err := Stale(unscoped, now); err != nil {
		t.Errorf("a plan of /desired went stale on config: %v", err)
	}
}

// TestStaleNamesTheHoldNow: a saved change that is held back now for a
// reason of its own kind (a deployment in flight, a protected app, an app
// no longer theseus's) is refused with that reason, not as "nothing to
// do", which would tell the operator the group is in sync.
func TestStaleNamesTheHoldNow(t *testing.T) {
	snap := exampleDesired(t)
	d := snap.Groups[0]
	changed := func(edit func(*App)) *Plan {
		a := appFor(d)
		a.Spec.Image, a.SpecHash = "old:1", "old"
		edit(&a)
		return Compute(Snapshot{Revision: 100, Groups: []Desired{d}}, []App{a}, Options{})
	}
	saved := changed(func(*App) {})
	for _, tt := range []struct {
		name string
		edit func(*App)
		want string
	}{
		{"deployment in flight", func(a *App) { a.Deployments = []string{"dep-1"} }, "deployment dep-1 in flight"},
		{"protected", func(a *App) { a.Protected = true }, "protected"},
		{"not theseus's", func(a *App) { a.Managed = false }, "does not manage"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := Stale(saved, changed(tt.edit))
			if err == nil || strings.Contains(err.Error(), "nothing to do") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Stale = %v; want it held back, naming %q", err, tt.want)
			}
		})
	}
}

// TestStaleMarathonRoot: a plan made against one --marathon-root is stale
// against another, even with no action (its app ids would be of other
// apps); a plan that does not know its root (an older saved plan) is
// compared by its actions alone.
func TestStaleMarathonRoot(t *testing.T) {
	root := func(r string) *string { return &r }
	for _, tt := range []struct {
		saved, now *string
		stale      bool
	}{
		{root("/mine"), root("/theirs"), true},
		{root(""), root("/theirs"), true},
		{root("/mine"), root("/mine"), false},
		{nil, root("/theirs"), false},
		{root("/mine"), nil, false},
	} {
		err := Stale(&Plan{MarathonRoot: tt.saved}, &Plan{MarathonRoot: tt.now})
		if (err != nil) != tt.stale || tt.stale && !strings.Contains(err.Error(), "--marathon-root") {
			t.Errorf("saved root %v, now %v: Stale = %v, want stale %v", deref(tt.saved), deref(tt.now), err, tt.stale)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "(unknown)"
	}
	return *s
}
