package specs

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const policyHead = "apiVersion: theseus/v1\nkind: Group\nmetadata: {service: web, labels: [dev]}\nspec:\n  image: nginx:1.27\n"

func parseOne(t *testing.T, doc string) (*Group, error) {
	t.Helper()
	groups, err := Parse("web.yaml", []byte(doc))
	if err != nil {
		return nil, err
	}
	if len(groups) != 1 {
		t.Fatalf("%d groups", len(groups))
	}
	return groups[0], Validate(groups[0])
}

// TestPolicyDefaults: unset, a group gets the daemon's deadline, rollback
// on and drift healed; each field overrides its default.
func TestPolicyDefaults(t *testing.T) {
	tests := []struct {
		spec string
		want Policy
	}{
		{"", Policy{ProgressDeadline: 10 * time.Minute, AutoRollback: true, Drift: DriftHeal}},
		{"  upgrade: {progressDeadlineSeconds: 90}\n", Policy{ProgressDeadline: 90 * time.Second, AutoRollback: true, Drift: DriftHeal}},
		{"  upgrade: {autoRollback: false}\n  drift: report\n", Policy{ProgressDeadline: 10 * time.Minute, Drift: DriftReport}},
		{"  upgrade: {minimumHealthCapacity: 0.5}\n  drift: heal\n", Policy{ProgressDeadline: 10 * time.Minute, AutoRollback: true, Drift: DriftHeal}},
	}
	for _, tt := range tests {
		g, err := parseOne(t, policyHead+tt.spec)
		if err != nil {
			t.Fatalf("%s: %v", tt.spec, err)
		}
		if got := g.Spec.Policy(10 * time.Minute); got != tt.want {
			t.Errorf("%s: Policy = %+v, want %+v", tt.spec, got, tt.want)
		}
	}
}

// TestPolicyValidation: each bad policy value is refused with its file,
// line, field and why.
func TestPolicyValidation(t *testing.T) {
	tests := []struct{ spec, want string }{
		{"  upgrade: {progressDeadlineSeconds: 0}\n", "web.yaml:6: spec.upgrade.progressDeadlineSeconds: must be at least 1 second, got 0"},
		{"  upgrade: {progressDeadlineSeconds: 86401}\n", "web.yaml:6: spec.upgrade.progressDeadlineSeconds: 86401 is more than the limit of 86400 seconds"},
		{"  upgrade: {progressDeadlineSeconds: 1.5}\n", "spec.upgrade.progressDeadlineSeconds: want an integer"},
		{"  upgrade: {autoRollback: \"no\"}\n", "spec.upgrade.autoRollback: want true or false"},
		{"  upgrade: {autoRolback: false}\n", `unknown field "autoRolback" (did you mean "autoRollback"?)`},
		{"  drift: Report\n", `web.yaml:6: spec.drift: want "heal" or "report", got "Report"`},
		{"  drift: ignore\n", `spec.drift: want "heal" or "report", got "ignore"`},
		{"  drift: [heal]\n", "spec.drift: want a string"},
	}
	for _, tt := range tests {
		_, err := parseOne(t, policyHead+tt.spec)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one with %q", tt.spec, err, tt.want)
		}
	}
}

// TestPolicyIsNotMarathons: a change of the policy alone changes neither
// the normalised spec nor its hash, so it never reads as a Marathon field
// change nor leads to a Marathon write; "what changed" names it.
func TestPolicyIsNotMarathons(t *testing.T) {
	base, err := parseOne(t, policyHead+"  instances: 2\n  upgrade: {minimumHealthCapacity: 0.5}\n")
	if err != nil {
		t.Fatal(err)
	}
	policy, err := parseOne(t, policyHead+"  instances: 2\n  upgrade: {minimumHealthCapacity: 0.5, progressDeadlineSeconds: 60, autoRollback: false}\n  drift: report\n")
	if err != nil {
		t.Fatal(err)
	}
	nb, np := Normalize(base.Spec), Normalize(policy.Spec)
	if d := cmp.Diff(nb, np); d != "" {
		t.Errorf("the policy shows in the normalised spec (-without +with):\n%s", d)
	}
	if Hash(nb) != Hash(np) || Hash(base.Spec) != Hash(policy.Spec) {
		t.Error("the policy changes the spec hash stored in Marathon's labels")
	}
	if string(base.Canonical()) == string(policy.Canonical()) {
		t.Error("the policy is lost from the stored spec")
	}
	want := []string{FieldProgressDeadline, FieldAutoRollback, FieldDrift}
	if got := PolicyChanges(&base.Spec, &policy.Spec); !cmp.Equal(got, want) {
		t.Errorf("PolicyChanges = %v, want %v", got, want)
	}
	if got := PolicyChanges(&base.Spec, &base.Spec); got != nil {
		t.Errorf("PolicyChanges of a spec with itself = %v", got)
	}
	c := policy.Clone()
	*c.Spec.Upgrade.ProgressDeadlineSeconds = 5
	*c.Spec.Upgrade.AutoRollback = true
	if policy.Spec.Policy(0).ProgressDeadline != time.Minute || policy.Spec.Policy(0).AutoRollback {
		t.Error("changing a clone's policy changed the original")
	}
}
