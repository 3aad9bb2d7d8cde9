package diff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"theseus.dev/specs"
)

func TestGroupKinds(t *testing.T) {
	snap := exampleDesired(t)
	d := snap.Groups[0] // cassandra/dev
	base := appFor(d)
	tests := []struct {
		name     string
		desired  *Desired
		app      func() *App
		opts     Options
		want     Kind // "" = in sync
		changes  []string
		drift    bool
		contains string
		held     Hold
	}{
		{name: "in sync", desired: &d, app: func() *App { a := base; return &a }},
		{name: "create", desired: &d, app: func() *App { return nil }, want: Create, changes: []string{"spec.image: (none) => cassandra:4.1"}},
		{name: "scale", desired: &d, app: func() *App { a := appFor(d); a.Spec.Instances = ptr(3); return &a },
			want: Scale, changes: []string{"spec.instances: 3 => 1"}, drift: true},
		{name: "drift reported, not healed", desired: withPolicy(d, specs.DriftReport), app: func() *App {
			a := appFor(d)
			a.Spec.Instances = ptr(3)
			return &a
		}, want: Scale, changes: []string{"spec.instances: 3 => 1"}, drift: true, held: HoldDriftReport, contains: "left in place"},
		{name: "a new spec is no drift, whatever the policy", desired: withPolicy(d, specs.DriftReport), app: func() *App {
			a := appFor(d)
			a.Spec.Instances, a.SpecHash = ptr(3), "old"
			return &a
		}, want: Scale, changes: []string{"spec.instances: 3 => 1"}},
		{name: "update image", desired: &d, app: func() *App {
			a := appFor(d)
			a.Spec.Image, a.SpecHash = "cassandra:4.0", "old"
			return &a
		}, want: Update, changes: []string{"spec.image: cassandra:4.0 => cassandra:4.1"}},
		{name: "scale and image is an update", desired: &d, app: func() *App {
			a := appFor(d)
			a.Spec.Image, a.Spec.Instances, a.SpecHash = "cassandra:4.0", ptr(5), "old"
			return &a
		}, want: Update, changes: []string{"spec.image: cassandra:4.0 => cassandra:4.1", "spec.instances: 5 => 1"}},
		{name: "env var removed", desired: &d, app: func() *App {
			a := appFor(d)
			a.Spec.Env["EXTRA"] = specs.Value{Value: "1"}
			a.SpecHash = "old"
			return &a
		}, want: Update, changes: []string{"spec.env.EXTRA: 1 => (none)"}},
		{name: "wait for deployment", desired: &d, app: func() *App {
			a := appFor(d)
			a.Spec.Image, a.SpecHash, a.Deployments = "cassandra:4.0", "old", []string{"dep-1"}
			return &a
		}, want: Wait, contains: "deployment dep-1 in flight", held: HoldDeployment},
		{name: "deployment in flight, nothing to change", desired: &d, app: func() *App {
			a := appFor(d)
			a.Deployments = []string{"dep-1"}
			return &a
		}},
		{name: "restart requested", desired: func() *Desired { x := d; x.Restart = "r1"; return &x }(), app: func() *App { a := base; return &a }, want: Restart},
		{name: "unmanaged app at the id", desired: &d, app: func() *App { a := appFor(d); a.Managed = false; return &a }, want: Unmanaged, held: HoldUnmanaged},
		{name: "protected app", desired: &d, app: func() *App {
			a := appFor(d)
			a.Protected, a.Spec.Image = true, "other"
			return &a
		}, want: Unmanaged, contains: "protected", held: HoldProtected, changes: []string{"spec.image: other => cassandra:4.1"}},
		{name: "protected app in sync", desired: &d, app: func() *App { a := appFor(d); a.Protected = true; return &a }},
		{name: "config only", desired: withConfig(d, "upstream", "api"), app: func() *App {
			a := appFor(d)
			a.ConfigKnown, a.Config = true, map[string]string{"upstream": "old", "gone": "x"}
			return &a
		}, want: Config, changes: []string{"spec.config.upstream: old => api", "spec.config.gone: x => (none)"}},
		{name: "config of a group /services does not hold", desired: withConfig(d, "upstream", "api"), app: func() *App {
			a := appFor(d)
			a.ConfigKnown = true
			return &a
		}, want: Config, changes: []string{"spec.config.upstream: (none) => api"}},
		{name: "config not read is not compared", desired: withConfig(d, "upstream", "api"), app: func() *App { a := appFor(d); return &a }},
		{name: "config during a deployment is not held back", desired: withConfig(d, "upstream", "api"), app: func() *App {
			a := appFor(d)
			a.ConfigKnown, a.Deployments = true, []string{"dep-1"}
			return &a
		}, want: Config, changes: []string{"spec.config.upstream: (none) => api"}},
		{name: "config beside an update", desired: withConfig(d, "upstream", "api"), app: func() *App {
			a := appFor(d)
			a.Spec.Image, a.SpecHash, a.ConfigKnown = "cassandra:4.0", "old", true
			return &a
		}, want: Update, changes: []string{"spec.image: cassandra:4.0 => cassandra:4.1", "spec.config.upstream: (none) => api"}},
		{name: "create lists the config", desired: withConfig(d, "upstream", "api"), app: func() *App { return nil },
			want: Create, changes: []string{"spec.config.upstream: (none) => api"}},
		{name: "invalid spec leaves app alone", desired: func() *Desired {
			x := InvalidDesired(d.Key, 7, specs.ErrorList{{Field: "spec.mem", Msg: "too small"}})
			return &x
		}(), app: func() *App { a := base; return &a }, want: Invalid, contains: "left alone"},
		{name: "orphan without prune", app: func() *App { a := base; return &a }, want: Orphan, contains: "pruning is off", held: HoldPruneOff},
		{name: "delete with prune", app: func() *App { a := base; return &a }, opts: Options{Prune: true}, want: Delete},
		{name: "unmanaged app without spec is not ours", app: func() *App { a := base; a.Managed = false; return &a }, opts: Options{Prune: true}},
		{name: "protected app without spec", app: func() *App { a := base; a.Protected = true; return &a }, opts: Options{Prune: true}},
		{name: "float noise is no change", desired: &d, app: func() *App {
			a := appFor(d)
			a.Spec.CPUs = ptr(*d.Spec.CPUs + 1e-12)
			return &a
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			act, ok := Group(tt.desired, tt.app(), tt.opts)
			if tt.desired != nil {
				// The hash left to SpecHash, as a plan leaves it: the same
				// action, with the same hash.
				u := *tt.desired
				u.Hash = ""
				uact, uok := Group(&u, tt.app(), tt.opts)
				if uok != ok || ok && (uact.Kind != act.Kind || uact.Hash != act.Hash || uact.Drift != act.Drift ||
					uact.HeldBack != act.HeldBack || changeLines(uact.Changes) != changeLines(act.Changes)) {
					t.Errorf("without its hash: %s %q drift %v (ok=%v), want %s %q drift %v (ok=%v)",
						uact.Kind, uact.Hash, uact.Drift, uok, act.Kind, act.Hash, act.Drift, ok)
				}
			}
			if tt.want == "" {
				if ok {
					t.Fatalf("got %s %+v, want in sync", act.Kind, act.Changes)
				}
				return
			}
			if !ok || act.Kind != tt.want {
				t.Fatalf("got %q (ok=%v), want %q", act.Kind, ok, tt.want)
			}
			if act.Drift != tt.drift {
				t.Errorf("drift = %v, want %v", act.Drift, tt.drift)
			}
			if act.HeldBack != tt.held {
				t.Errorf("held back = %q, want %q", act.HeldBack, tt.held)
			}
			if !act.Pending() && act.Kind != Invalid {
				t.Errorf("%s is not pending: a group not in sync must be", act.Kind)
			}
			got := changeLines(act.Changes)
			for _, c := range tt.changes {
				if !strings.Contains(got, c) {
					t.Errorf("changes lack %q:\n%s", c, got)
				}
			}
			if tt.want == Update && len(tt.changes) > 0 && len(act.Changes) != len(tt.changes) {
				t.Errorf("changes:\n%s\nwant exactly %q", got, tt.changes)
			}
			if !strings.Contains(act.Reason+strings.Join(act.Errors, " "), tt.contains) {
				t.Errorf("reason %q lacks %q", act.Reason, tt.contains)
			}
		})
	}
}

// withPolicy returns d with drift policy p.
func withPolicy(d Desired, p specs.DriftPolicy) *Desired {
	d.Policy.Drift = p
	return &d
}

// withConfig returns d with one more config value.
func withConfig(d Desired, k, v string) *Desired {
	d.Spec = cloneSpec(d.Spec)
	if d.Spec.Config == nil {
		d.Spec.Config = map[string]specs.Value{}
	}
	d.Spec.Config[k] = specs.Value{Value: v}
	return &d
}

// TestSecretConfigIsNeverAChange: secret config values are not mirrored to
// /services, so they never show, and their change is no change there.
func TestSecretConfigIsNeverAChange(t *testing.T) {
	snap := exampleDesired(t)
	d := *withConfig(snap.Groups[0], "upstream", "api")
	d.Spec.Config["token"] = specs.Value{Value: "s3cret", Secret: true}
	a := appFor(d)
	a.ConfigKnown, a.Config = true, map[string]string{"upstream": "api"}
	if act, ok := Group(&d, &a, Options{}); ok {
		t.Fatalf("a secret config value made a %s: %+v", act.Kind, act.Changes)
	}
	act, _ := Group(&d, nil, Options{})
	if got := changeLines(act.Changes); strings.Contains(got, "s3cret") || strings.Contains(got, "token") {
		t.Fatalf("a create shows the secret config value:\n%s", got)
	}
}

// TestSecretConfigStillMirroredIsRedacted: a config value /services holds
// from when it was public, and that the spec now marks secret, is removed
// by the syncer: a change, shown redacted, as an env value that turns
// secret is (a field secret on either side is redacted on both).
func TestSecretConfigStillMirroredIsRedacted(t *testing.T) {
	snap := exampleDesired(t)
	for _, tc := range []struct{ name, held string }{
		{"the value the spec holds", "hunter2-prod"},
		{"an older value", "hunter1-prod"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := *withConfig(snap.Groups[0], "upstream", "api")
			d.Spec.Config["db_password"] = specs.Value{Value: "hunter2-prod", Secret: true}
			a := appFor(d)
			a.ConfigKnown, a.Config = true, map[string]string{"upstream": "api", "db_password": tc.held}
			p := Compute(Snapshot{Revision: snap.Revision, Groups: []Desired{d}}, []App{a}, Options{})
			if len(p.Actions) != 1 || p.Actions[0].Kind != Config {
				t.Fatalf("got %+v, want one %q: /services holds a value that is to go", p.Actions, Config)
			}
			if got, want := changeLines(p.Actions[0].Changes), "spec.config.db_password: (secret) => (none)\n"; got != want {
				t.Errorf("changes:\n%swant:\n%s", got, want)
			}
			var text bytes.Buffer
			if err := WriteText(&text, p, TextOptions{}); err != nil {
				t.Fatal(err)
			}
			js, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, out := range []string{text.String(), string(js)} {
				if strings.Contains(out, "hunter") {
					t.Errorf("the plan shows the value of a config key marked secret:\n%s", out)
				}
			}
		})
	}
}

// TestPlanExitSemantics: what `theseusd plan` exits with follows from
// Pending, Invalid and InSync.
func TestPlanExitSemantics(t *testing.T) {
	snap := exampleDesired(t)
	d := snap.Groups[0]
	a := appFor(d)
	inSync := Compute(Snapshot{Revision: 1, Groups: []Desired{d}}, []App{a}, Options{})
	if !inSync.InSync() || inSync.Pending() || inSync.Invalid() != 0 {
		t.Errorf("in sync: InSync=%v Pending=%v Invalid=%d", inSync.InSync(), inSync.Pending(), inSync.Invalid())
	}
	waiting := a
	waiting.Spec.Image, waiting.SpecHash, waiting.Deployments = "cassandra:4.0", "old", []string{"dep-1"}
	if p := Compute(Snapshot{Revision: 1, Groups: []Desired{d}}, []App{waiting}, Options{}); !p.Pending() || p.InSync() {
		t.Errorf("a change waiting behind a deployment is not pending: %+v", p.Actions)
	}
	rolling := a
	rolling.Deployments = []string{"dep-2"}
	p := Compute(Snapshot{Revision: 1, Groups: []Desired{d}}, []App{rolling}, Options{})
	if !p.Pending() || p.InSync() || len(p.Actions) != 1 || p.Actions[0].Kind != Wait || p.Actions[0].HeldBack != HoldRollingOut {
		t.Errorf("a rollout of the spec in flight is not pending and held back: %+v", p.Actions)
	}
	if act, ok := Group(&d, &rolling, Options{}); ok {
		t.Errorf("the controller has something to do while its rollout runs: %+v", act)
	}
	// A rollout that ended with its tasks crashing, or tasks lost with
	// their agent: the app is as the spec says, nothing is in flight, and
	// the group is not in sync until Marathon has replaced them.
	crashing := a
	crashing.Counts.Running = *d.Spec.Instances - 1
	p = Compute(Snapshot{Revision: 1, Groups: []Desired{d}}, []App{crashing}, Options{})
	if !p.Pending() || p.InSync() || len(p.Actions) != 1 || p.Actions[0].Kind != Wait || p.Actions[0].HeldBack != HoldTasksMissing {
		t.Errorf("an app short of the spec's tasks is not pending and held back: %+v", p.Actions)
	} else if want := fmt.Sprintf("%d of %d tasks running", *d.Spec.Instances-1, *d.Spec.Instances); !strings.HasPrefix(p.Actions[0].Reason, want) {
		t.Errorf("reason %q, want it to begin %q", p.Actions[0].Reason, want)
	}
	if act, ok := Group(&d, &crashing, Options{}); ok {
		t.Errorf("the controller has something to do while Marathon replaces tasks: %+v", act)
	}
	i := slices.IndexFunc(snap.Groups, func(g Desired) bool { return len(g.Spec.HealthChecks) > 0 })
	if i < 0 {
		t.Fatal("no example group has health checks")
	}
	checked := snap.Groups[i]
	unhealthy := appFor(checked)
	unhealthy.Counts.Healthy = 0
	p = Compute(Snapshot{Revision: 1, Groups: []Desired{checked}}, []App{unhealthy}, Options{})
	if len(p.Actions) != 1 || p.Actions[0].HeldBack != HoldTasksMissing || !strings.Contains(p.Actions[0].Reason, "tasks healthy") {
		t.Errorf("an app whose tasks run but fail their health checks is not held back as tasks missing: %+v", p.Actions)
	}
	orphan := Compute(Snapshot{Revision: 1}, []App{a}, Options{})
	if !orphan.Pending() || orphan.InSync() {
		t.Errorf("an orphan with pruning off is not pending: %+v", orphan.Actions)
	}
	bad := InvalidDesired(d.Key, 3, specs.ErrorList{{Field: "spec.mem", Msg: "too small"}})
	p = Compute(Snapshot{Revision: 1, Groups: []Desired{bad}}, []App{a}, Options{})
	if p.Invalid() != 1 || p.Pending() || p.InSync() {
		t.Errorf("invalid: Invalid=%d Pending=%v InSync=%v", p.Invalid(), p.Pending(), p.InSync())
	}
}

func changeLines(cs []Change) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(c.Path + ": " + orNone(c.Old) + " => " + orNone(c.New) + "\n")
	}
	return b.String()
}

func TestSecretsNeverInChanges(t *testing.T) {
	snap := exampleDesired(t)
	var d Desired
	for _, g := range snap.Groups {
		if g.Key.String() == "ingestor/dev" {
			d = g
		}
	}
	a := appFor(d)
	a.Spec.Env["QUEUE_PASSWORD"] = specs.Value{Value: "old-password"}
	a.Spec.Env["REMOVED_TOKEN"] = specs.Value{Value: "gone-secret"}
	a.SecretEnv = append(a.SecretEnv, "REMOVED_TOKEN")
	for _, act := range []func() (Action, bool){
		func() (Action, bool) { return Group(&d, &a, Options{}) },
		func() (Action, bool) { return Group(&d, nil, Options{}) },
		func() (Action, bool) { return Group(nil, &a, Options{Prune: true}) },
	} {
		got, _ := act()
		text := changeLines(got.Changes)
		for _, secret := range []string{"old-password", "gone-secret", "dev-not-so-secret"} {
			if strings.Contains(text, secret) {
				t.Errorf("%s plan shows secret %q:\n%s", got.Kind, secret, text)
			}
		}
		if got.Kind == Update && !strings.Contains(text, "spec.env.QUEUE_PASSWORD: (secret) => (secret) (changed)") {
			t.Errorf("update does not say the secret changed:\n%s", text)
		}
	}
}

func TestComputePruneGuard(t *testing.T) {
	snap := exampleDesired(t)
	var apps []App
	for _, d := range snap.Groups {
		apps = append(apps, appFor(d))
	}
	tests := []struct {
		name    string
		desired Snapshot
		opts    Options
		deletes int
		refused bool
	}{
		{"wiped desired without prune", Snapshot{Revision: 200}, Options{}, 0, false},
		{"wiped desired with prune", Snapshot{Revision: 200}, Options{Prune: true}, 0, true},
		{"wiped desired, allowed", Snapshot{Revision: 200}, Options{Prune: true, AllowMassDelete: true}, len(apps), false},
		{"one group removed", Snapshot{Revision: 200, Groups: snap.Groups[1:]}, Options{Prune: true}, 1, false},
		{"three of eight removed", Snapshot{Revision: 200, Groups: snap.Groups[3:]}, Options{Prune: true}, 3, false},
		{"five of eight removed", Snapshot{Revision: 200, Groups: snap.Groups[5:]}, Options{Prune: true}, 0, true},
		{"five of eight, higher limit", Snapshot{Revision: 200, Groups: snap.Groups[5:]}, Options{Prune: true, MaxDeleteFraction: 0.7}, 5, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Compute(tt.desired, apps, tt.opts)
			if got := p.Counts()[Delete]; got != tt.deletes {
				t.Errorf("deletes = %d, want %d", got, tt.deletes)
			}
			if (p.PruneRefused != "") != tt.refused {
				t.Errorf("PruneRefused = %q, want refused=%v", p.PruneRefused, tt.refused)
			}
			if tt.refused && p.Counts()[Orphan] != len(apps)-len(tt.desired.Groups) {
				t.Errorf("refused deletes are not all listed as orphans: %v", p.Counts())
			}
		})
	}
}

func TestComputeOrdersByKey(t *testing.T) {
	snap := exampleDesired(t)
	// Reverse the input; the plan order must not depend on it.
	var rev Snapshot
	rev.Revision = snap.Revision
	for i := len(snap.Groups) - 1; i >= 0; i-- {
		rev.Groups = append(rev.Groups, snap.Groups[i])
	}
	p := Compute(rev, nil, Options{})
	for i := 1; i < len(p.Actions); i++ {
		if p.Actions[i-1].Key.Compare(p.Actions[i].Key) >= 0 {
			t.Fatalf("actions out of order: %s before %s", p.Actions[i-1].Key, p.Actions[i].Key)
		}
	}
	if len(p.Actions) != len(snap.Groups) || p.Counts()[Create] != len(snap.Groups) {
		t.Errorf("want %d creates, got %v", len(snap.Groups), p.Counts())
	}
}

func TestStale(t *testing.T) {
	snap := exampleDesired(t)
	saved := Compute(snap, nil, Options{})
	if err := Stale(saved, Compute(snap, nil, Options{})); err != nil {
		t.Errorf("same inputs: %v", err)
	}
	moved := exampleDesired(t)
	moved.Groups[2].Revision++
	err := Stale(saved, Compute(moved, nil, Options{}))
	if err == nil || !strings.Contains(err.Error(), "plan is stale") || !strings.Contains(err.Error(), moved.Groups[2].Key.String()) {
		t.Errorf("moved revision: %v", err)
	}
	apps := []App{appFor(snap.Groups[0])}
	apps[0].Spec.Image, apps[0].SpecHash = "x", "x"
	before := Compute(snap, apps, Options{})
	apps[0].Version = "2026-11-02T00:00:00.000Z"
	if err := Stale(before, Compute(snap, apps, Options{})); err == nil {
		t.Error("a new Marathon version did not make the plan stale")
	}
	// The same app under another --marathon-root is another app.
	other := slices.Clone(apps)
	other[0].ID = "/theirs" + other[0].ID
	if err := Stale(Compute(snap, apps, Options{}), Compute(snap, other, Options{})); err == nil || !strings.Contains(err.Error(), "another Marathon root") {
		t.Errorf("another app id: %v", err)
	}
}

// TestRefuseDeletes: only deletes are held, each with its reason, and a
// plan with none to hold is not called refused.
func TestRefuseDeletes(t *testing.T) {
	p := &Plan{Actions: []Action{{Kind: Delete}, {Kind: Create}, {Kind: Orphan, HeldBack: HoldPruneOff, Reason: "pruning is off"}}}
	p.RefuseDeletes("refused", "why")
	want := []Action{{Kind: Orphan, HeldBack: HoldPruneRefused, Reason: "why"}, {Kind: Create}, {Kind: Orphan, HeldBack: HoldPruneOff, Reason: "pruning is off"}}
	if diff := cmp.Diff(want, p.Actions); diff != "" || p.PruneRefused != "refused" {
		t.Errorf("RefuseDeletes (-want +got):\n%s\nPruneRefused %q", diff, p.PruneRefused)
	}
	none := &Plan{Actions: []Action{{Kind: Create}}}
	if none.RefuseDeletes("refused", "why"); none.PruneRefused != "" {
		t.Errorf("a plan without deletes is refused: %q", none.PruneRefused)
	}
}
