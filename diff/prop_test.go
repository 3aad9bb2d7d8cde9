package diff

import (
	"fmt"
	"reflect"
	"testing"

	"pgregory.net/rapid"

	"theseus.dev/specs"
)

// Generators of random but valid inputs. The key pool is small so that
// desired groups and apps collide often.

var (
	genKey = rapid.Custom(func(t *rapid.T) specs.GroupKey {
		k, err := specs.NewGroupKey(
			rapid.SampledFrom([]string{"web", "api", "db"}).Draw(t, "service"),
			rapid.SliceOfNDistinct(rapid.SampledFrom([]string{"dev", "prod", "eu"}), 1, 2, rapid.ID).Draw(t, "labels"))
		if err != nil {
			t.Fatal(err)
		}
		return k
	})
	genSpec = rapid.Custom(func(t *rapid.T) specs.Spec {
		s := specs.Spec{
			Image:     rapid.SampledFrom([]string{"nginx:1", "nginx:2", "redis:7"}).Draw(t, "image"),
			Instances: ptr(rapid.IntRange(0, 4).Draw(t, "instances")),
			CPUs:      ptr(rapid.SampledFrom([]float64{0.1, 0.5, 1}).Draw(t, "cpus")),
			Mem:       ptr(rapid.SampledFrom([]float64{64, 128}).Draw(t, "mem")),
		}
		if n := rapid.IntRange(0, 2).Draw(t, "env"); n > 0 {
			s.Env = map[string]specs.Value{}
			for i := range n {
				s.Env[fmt.Sprintf("V%d", i)] = specs.Value{
					Value:  rapid.SampledFrom([]string{"a", "b"}).Draw(t, "value"),
					Secret: rapid.Bool().Draw(t, "secret"),
				}
			}
		}
		if rapid.Bool().Draw(t, "ports") {
			s.Ports = []specs.Port{{Name: "http", ContainerPort: rapid.SampledFrom([]int{80, 8080}).Draw(t, "port")}}
			if rapid.Bool().Draw(t, "health") {
				s.HealthChecks = []specs.HealthCheck{{PortName: "http", Path: "/healthz"}}
			}
		}
		if rapid.Bool().Draw(t, "unique") {
			s.Constraints = []specs.Constraint{{"hostname", "UNIQUE"}}
		}
		// Fields of the app model, some with a default that depends on
		// Marathon's version.
		if rapid.Bool().Draw(t, "labels") {
			s.Labels = map[string]string{"HAPROXY_GROUP": rapid.SampledFrom([]string{"a", "b"}).Draw(t, "group")}
		}
		s.ForcePullImage = ptr(rapid.Bool().Draw(t, "pull"))
		s.Role = rapid.SampledFrom([]string{"", "*", "web"}).Draw(t, "role")
		if rapid.Bool().Draw(t, "backoff") {
			s.Backoff = &specs.Backoff{MaxLaunchDelaySeconds: ptr(rapid.SampledFrom([]int{60, 300, 3600}).Draw(t, "maxDelay"))}
		}
		return specs.Normalize(s)
	})
)

type world struct {
	desired Snapshot
	apps    []App
	opts    Options
}

var genWorld = rapid.Custom(func(t *rapid.T) world {
	w := world{desired: Snapshot{Revision: 1000}}
	w.opts = Options{Prune: rapid.Bool().Draw(t, "prune"), AllowMassDelete: rapid.Bool().Draw(t, "allow")}
	seen := map[specs.GroupKey]bool{}
	for range rapid.IntRange(0, 8).Draw(t, "groups") {
		k := genKey.Draw(t, "key")
		if seen[k] {
			continue
		}
		seen[k] = true
		if rapid.IntRange(0, 9).Draw(t, "invalid") == 0 {
			w.desired.Groups = append(w.desired.Groups, InvalidDesired(k, 5, fmt.Errorf("bad")))
			continue
		}
		s := genSpec.Draw(t, "spec")
		d := Desired{Key: k, Revision: int64(rapid.IntRange(1, 999).Draw(t, "rev")), Spec: s, Hash: specs.Hash(s)}
		if rapid.IntRange(0, 4).Draw(t, "restart") == 0 {
			d.Restart = "r"
		}
		w.desired.Groups = append(w.desired.Groups, d)
	}
	appSeen := map[specs.GroupKey]bool{}
	for range rapid.IntRange(0, 8).Draw(t, "apps") {
		k := genKey.Draw(t, "appkey")
		if appSeen[k] {
			continue
		}
		appSeen[k] = true
		s := genSpec.Draw(t, "appspec")
		a := App{ID: specs.AppID("", k), Key: k, Spec: s, SpecHash: specs.Hash(s), Version: "v1",
			DefaultRole: rapid.SampledFrom([]string{"", "*"}).Draw(t, "defaultRole"),
			Managed:     rapid.IntRange(0, 4).Draw(t, "managed") > 0,
			Protected:   rapid.IntRange(0, 9).Draw(t, "protected") == 0,
		}
		if rapid.IntRange(0, 4).Draw(t, "deploying") == 0 {
			a.Deployments = []string{"d1"}
		}
		w.apps = append(w.apps, a)
	}
	return w
})

// TestPlanProperties checks the safety rules of the package doc on random
// inputs.
func TestPlanProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := genWorld.Draw(t, "world")
		p := Compute(w.desired, w.apps, w.opts)
		apps := map[specs.GroupKey]App{}
		managed := 0
		for _, a := range w.apps {
			apps[a.Key] = a
			if a.Managed {
				managed++
			}
		}
		desired := map[specs.GroupKey]Desired{}
		for _, d := range w.desired.Groups {
			desired[d.Key] = d
		}
		deletes := 0
		for _, act := range p.Actions {
			a, hasApp := apps[act.Key]
			d, hasDesired := desired[act.Key]
			if act.Kind.Mutates() && hasApp && (!a.Managed || a.Protected) {
				t.Fatalf("%s of %s, an app that is unmanaged or protected", act.Kind, act.Key)
			}
			if hasDesired && !d.Valid() && act.Kind != Invalid {
				t.Fatalf("%s of %s, whose spec is invalid", act.Kind, act.Key)
			}
			if act.Kind == Delete {
				deletes++
				if !w.opts.Prune || hasDesired {
					t.Fatalf("delete of %s (prune=%v, desired=%v)", act.Key, w.opts.Prune, hasDesired)
				}
			}
			if act.Kind.Mutates() && act.Kind != Delete && (hasApp && len(a.Deployments) > 0) {
				t.Fatalf("%s of %s while a deployment is in flight", act.Kind, act.Key)
			}
		}
		if deletes > 1 && !w.opts.AllowMassDelete && float64(deletes) > DefaultMaxDeleteFraction*float64(managed) {
			t.Fatalf("%d deletes of %d managed apps got through the guard", deletes, managed)
		}
		if len(w.desired.Groups) == 0 && managed > 1 && !w.opts.AllowMassDelete && deletes > 0 {
			// An empty or wiped /desired never deletes without the allowance.
			t.Fatalf("an empty desired set deleted %d of %d managed apps", deletes, managed)
		}
		if again := Compute(w.desired, w.apps, w.opts); !reflect.DeepEqual(again, p) {
			t.Fatal("Compute is not deterministic")
		}
	})
}

// TestApplyThenPlanIsEmpty checks convergence: once deployments end,
// carrying out a plan and planning again leaves nothing to do, but for a
// restart that was pending beside a scale, which the next pass does.
func TestApplyThenPlanIsEmpty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := genWorld.Draw(t, "world")
		w.opts.AllowMassDelete = true
		for i := range w.apps {
			w.apps[i].Deployments = nil // in-flight deployments have ended
		}
		p := Compute(w.desired, w.apps, w.opts)
		desired, apps := apply(w.desired, w.apps, p)
		p2 := Compute(desired, apps, w.opts)
		if !p2.Acts() {
			return
		}
		// Marathon cannot scale and restart in one call: a restart that
		// was pending beside a scale is the one thing left, and is done
		// by the next pass.
		for _, act := range p2.Actions {
			if act.Kind.Mutates() && (act.Kind != Restart || !scaled(p, act.Key)) {
				t.Fatalf("second plan still has work: %+v", p2.Actions)
			}
		}
		desired, apps = apply(desired, apps, p2)
		if p3 := Compute(desired, apps, w.opts); p3.Acts() {
			t.Fatalf("third plan still has work: %+v", p3.Actions)
		}
	})
}

// scaled reports whether p scales group k.
func scaled(p *Plan, k specs.GroupKey) bool {
	for _, act := range p.Actions {
		if act.Key == k && act.Kind == Scale {
			return true
		}
	}
	return false
}

// apply carries out a plan on the inputs the way Marathon would: the
// reference executor for the properties.
func apply(desired Snapshot, apps []App, p *Plan) (Snapshot, []App) {
	byKey := map[specs.GroupKey]int{}
	for i, a := range apps {
		byKey[a.Key] = i
	}
	var out []App
	deleted := map[specs.GroupKey]bool{}
	restarted := map[specs.GroupKey]bool{}
	for _, act := range p.Actions {
		if act.Kind.Mutates() && act.Restart != "" {
			restarted[act.Key] = true
		}
		switch act.Kind {
		case Create:
			d := findDesired(desired, act.Key)
			out = append(out, appFor(d))
		case Update, Scale:
			a := &apps[byKey[act.Key]]
			a.Spec, a.SpecHash = cloneSpec(*act.Spec), act.Hash
		case Delete:
			deleted[act.Key] = true
		}
	}
	for _, a := range apps {
		if !deleted[a.Key] {
			out = append(out, a)
		}
	}
	next := Snapshot{Revision: desired.Revision}
	for _, d := range desired.Groups {
		if restarted[d.Key] {
			d.Restart = ""
		}
		next.Groups = append(next.Groups, d)
	}
	return next, out
}

func findDesired(s Snapshot, k specs.GroupKey) Desired {
	for _, d := range s.Groups {
		if d.Key == k {
			return d
		}
	}
	panic("no desired group " + k.String())
}
