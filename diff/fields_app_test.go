package diff

import (
	"slices"
	"strings"
	"testing"

	"theseus.dev/specs"
)

func appWith(d Desired, mutate func(s *specs.Spec)) App {
	a := appFor(d)
	mutate(&a.Spec)
	return a
}

// TestAppModelChanges: each field of the app model shows in a plan as
// "path: old => new", a field falling back to a default shows the
// default, and secrets stay redacted.
func TestAppModelChanges(t *testing.T) {
	base := Desired{Key: key(t, "web/dev"), Revision: 1, Spec: specs.Normalize(specs.Spec{Image: "nginx",
		Ports: []specs.Port{{Name: "http", ContainerPort: 80}},
		Env:   map[string]specs.Value{"PW": {SecretSource: "/web/pw"}, "TOKEN": {Value: "s3cret", Secret: true}}})}
	base.Hash = specs.Hash(base.Spec)
	tests := []struct {
		name   string
		mutate func(s *specs.Spec) // of the app
		want   string              // a change, as the text plan shows it
	}{
		{"forcePullImage", func(s *specs.Spec) { s.ForcePullImage = ptr(true) }, "spec.forcePullImage: true => false"},
		{"gpus", func(s *specs.Spec) { s.GPUs = ptr(2) }, "spec.gpus: 2 => 0"},
		{"killSelection", func(s *specs.Spec) { s.KillSelection = specs.KillOldestFirst }, "spec.killSelection: OLDEST_FIRST => YOUNGEST_FIRST"},
		{"label", func(s *specs.Spec) { s.Labels = map[string]string{"HAPROXY_GROUP": "x"} }, "spec.labels.HAPROXY_GROUP: x => (none)"},
		{"port label", func(s *specs.Spec) { s.Ports[0].Labels = map[string]string{"VIP_0": "/a:80"} }, "spec.ports[0].labels.VIP_0: /a:80 => (none)"},
		{"user", func(s *specs.Spec) { s.User = "root" }, "spec.user: root => (default)"},
		{"network", func(s *specs.Spec) { s.Networks = []specs.Network{{Mode: specs.NetworkContainer, Name: "ov"}} }, "spec.networks[0].mode: container => (none)"},
		{"volume", func(s *specs.Spec) { s.Volumes = []specs.Volume{{ContainerPath: "/a", HostPath: "/b", Mode: "RO"}} }, "spec.volumes[0].hostPath: /b => (none)"},
		{"fetch", func(s *specs.Spec) { s.Fetch = []specs.Fetch{{URI: "http://x/a", Extract: ptr(true)}} }, "spec.fetch[0].uri: http://x/a => (none)"},
		{"kill grace", func(s *specs.Spec) { s.KillGracePeriodSeconds = ptr(30) }, "spec.killGracePeriodSeconds: 30 => (default)"},
		{"maxLaunchDelay", func(s *specs.Spec) { s.Backoff = &specs.Backoff{MaxLaunchDelaySeconds: ptr(60)} }, "spec.backoff.maxLaunchDelaySeconds: 60 => (default)"},
		{"unreachable", func(s *specs.Spec) {
			s.UnreachableStrategy = &specs.UnreachableStrategy{InactiveAfterSeconds: ptr(1), ExpungeAfterSeconds: ptr(2)}
		}, `spec.unreachableStrategy: {"inactiveAfterSeconds":1,"expungeAfterSeconds":2} => (default)`},
		{"dependency", func(s *specs.Spec) { s.DependsOn = []specs.Dependency{{Other: "/legacy/db"}} }, `spec.dependsOn: ["/legacy/db"] => (none)`},
		{"secret source", func(s *specs.Spec) { s.Env["PW"] = specs.Value{SecretSource: "/old/pw"} }, "spec.env.PW: (secret /old/pw) => (secret /web/pw)"},
		{"secret value", func(s *specs.Spec) { s.Env["TOKEN"] = specs.Value{Value: "old", Secret: true} }, "spec.env.TOKEN: (secret) => (secret) (changed)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := appWith(base, tt.mutate)
			act, ok := Group(&base, &a, Options{})
			if !ok || act.Kind != Update {
				t.Fatalf("%v %s", ok, act.Kind)
			}
			var got []string
			for _, c := range act.Changes {
				got = append(got, c.Path+": "+orNone(c.Old)+" => "+orNone(c.New))
			}
			if !slices.Contains(got, tt.want) {
				t.Errorf("changes %q, want %q among them", got, tt.want)
			}
			if strings.Contains(strings.Join(got, " "), "s3cret") || strings.Contains(strings.Join(got, " "), "old\"") {
				t.Errorf("a secret shows: %q", got)
			}
		})
	}
}

// TestAppModelMarathonDefaults: values Marathon gives an app by itself,
// which differ between its versions and settings, match a spec that sets
// none; explicit values compare exactly.
func TestAppModelMarathonDefaults(t *testing.T) {
	d := Desired{Key: key(t, "web/dev"), Spec: specs.Normalize(specs.Spec{Image: "nginx"})}
	for name, mutate := range map[string]func(a *App){
		"role is the default role": func(a *App) { a.Spec.Role, a.DefaultRole = "slave_public", "slave_public" },
		"no roles (before 1.9)":    func(a *App) { a.Spec.Role = "" },
		"maxLaunchDelay of 1.4":    func(a *App) { a.Spec.Backoff = &specs.Backoff{MaxLaunchDelaySeconds: ptr(3600)} },
		"maxLaunchDelay of 1.10":   func(a *App) { a.Spec.Backoff = &specs.Backoff{MaxLaunchDelaySeconds: ptr(300)} },
		"unreachable of 1.4.0": func(a *App) {
			a.Spec.UnreachableStrategy = &specs.UnreachableStrategy{InactiveAfterSeconds: ptr(300), ExpungeAfterSeconds: ptr(600)}
		},
	} {
		a := appWith(d, func(*specs.Spec) {})
		mutate(&a)
		if act, ok := Group(&d, &a, Options{}); ok {
			t.Errorf("%s: %s %+v", name, act.Kind, act.Changes)
		}
	}
	// Explicitly asked for, a default is compared as any value.
	explicit := Desired{Key: d.Key, Spec: specs.Normalize(specs.Spec{Image: "nginx", Role: "web",
		Backoff: &specs.Backoff{MaxLaunchDelaySeconds: ptr(300)}})}
	a := appWith(explicit, func(s *specs.Spec) {
		s.Role, s.Backoff = "slave_public", &specs.Backoff{MaxLaunchDelaySeconds: ptr(3600)}
	})
	a.DefaultRole = "slave_public"
	act, ok := Group(&explicit, &a, Options{})
	if !ok || len(act.Changes) != 2 || act.Changes[0].Path != "spec.role" || act.Changes[1].Path != "spec.backoff.maxLaunchDelaySeconds" {
		t.Errorf("explicit values: %v %+v", ok, act.Changes)
	}
	// A scale with a role difference hidden by the default is a scale.
	scaled := appWith(d, func(s *specs.Spec) { s.Instances = ptr(5); s.Role = "slave_public" })
	scaled.DefaultRole = "slave_public"
	if act, _ := Group(&d, &scaled, Options{}); act.Kind != Scale {
		t.Errorf("scale with the default role: %s", act.Kind)
	}
}
