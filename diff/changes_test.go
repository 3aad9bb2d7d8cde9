package diff

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"theseus.dev/specs"
)

// TestSpecChanges: what a revision changed, by path, secrets by path
// only; a default given explicitly is no change.
func TestSpecChanges(t *testing.T) {
	one, two := 1, 2
	yes, no := true, false
	secs := 120
	base := specs.Spec{Image: "web:1", Instances: &two,
		Env:    map[string]specs.Value{"PW": {Value: "a", Secret: true}, "LOG": {Value: "info"}},
		Config: map[string]specs.Value{"upstream": {Value: "api"}, "token": {Value: "t", Secret: true}}}
	tests := []struct {
		name string
		edit func(s *specs.Spec)
		want []string
	}{
		{"nothing", func(*specs.Spec) {}, nil},
		{"an explicit default", func(s *specs.Spec) { s.Upgrade = &specs.Upgrade{AutoRollback: &yes} }, nil},
		{"image and instances", func(s *specs.Spec) { s.Image, s.Instances = "web:2", &one }, []string{"spec.image", "spec.instances"}},
		{"a secret env value", func(s *specs.Spec) {
			s.Env = map[string]specs.Value{"PW": {Value: "b", Secret: true}, "LOG": {Value: "info"}}
		},
			[]string{"spec.env.PW"}},
		{"config, a secret one too", func(s *specs.Spec) {
			s.Config = map[string]specs.Value{"upstream": {Value: "db"}, "token": {Value: "u", Secret: true}}
		}, []string{"spec.config.token", "spec.config.upstream"}},
		{"a removed env entry", func(s *specs.Spec) { s.Env = map[string]specs.Value{"PW": {Value: "a", Secret: true}} },
			[]string{"spec.env.LOG"}},
		{"policy", func(s *specs.Spec) {
			s.Upgrade, s.Drift = &specs.Upgrade{ProgressDeadlineSeconds: &secs, AutoRollback: &no}, specs.DriftReport
		}, []string{specs.FieldProgressDeadline, specs.FieldAutoRollback, specs.FieldDrift}},
	}
	for _, tt := range tests {
		g := specs.Group{Spec: base}
		next := g.Clone().Spec
		tt.edit(&next)
		if got := SpecChanges(&base, &next); !cmp.Equal(got, tt.want) {
			t.Errorf("%s: SpecChanges = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestPolicyAloneIsNoAction: a group whose spec changed only in theseus's
// policy plans nothing: no Marathon field differs, no write follows.
func TestPolicyAloneIsNoAction(t *testing.T) {
	snap := exampleDesired(t)
	for _, d := range snap.Groups {
		a := appFor(d)
		g := specs.Group{Spec: d.Spec}
		changed := g.Clone()
		secs := 30
		no := false
		if changed.Spec.Upgrade == nil {
			changed.Spec.Upgrade = &specs.Upgrade{}
		}
		changed.Spec.Upgrade.ProgressDeadlineSeconds, changed.Spec.Upgrade.AutoRollback = &secs, &no
		changed.Spec.Drift = specs.DriftReport
		changed.Metadata.Service, changed.Metadata.Labels = d.Key.Service, d.Key.LabelSet()
		changed.APIVersion, changed.Kind = specs.APIVersion, specs.KindGroup
		nd, err := NewDesired(changed, d.Revision+1)
		if err != nil {
			t.Fatal(err)
		}
		if act, pending := Group(&nd, &a, Options{}); pending {
			t.Errorf("%s: a policy-only change plans %s: %+v", d.Key, act.Kind, act.Changes)
		}
		if got := changed.Spec.Policy(time.Hour); got.Drift != specs.DriftReport || got.AutoRollback {
			t.Errorf("%s: policy %+v", d.Key, got)
		}
	}
}
