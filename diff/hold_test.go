package diff

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"theseus.dev/specs"
)

// TestHeldBackChanges: a change held back (a paused group, a quarantined
// revision, drift left in place) keeps its kind and its changes, is
// pending (plan exits 2) but is not carried out, and the count line
// counts it as held back, not as a change to make.
func TestHeldBackChanges(t *testing.T) {
	snap := exampleDesired(t)
	var apps []App
	var groups []Desired
	for i, d := range snap.Groups[:3] {
		a := appFor(d)
		a.Spec.Image, a.SpecHash = "old:1", "old"
		if i == 2 {
			d.Policy.Drift = "report"
			a.Spec.Image, a.SpecHash = d.Spec.Image, d.Hash
			a.Spec.Instances = ptr(*d.Spec.Instances + 2)
		}
		groups, apps = append(groups, d), append(apps, a)
	}
	p := Compute(Snapshot{Revision: 100, Groups: groups}, apps, Options{})
	p.Actions[0].Hold(HoldPaused, "paused by bob@ops: db migration")
	p.Actions[1].Hold(HoldQuarantined, "revision 11 was rolled back: Command exited with status 1")
	for i, want := range []Hold{HoldPaused, HoldQuarantined, HoldDriftReport} {
		a := &p.Actions[i]
		if a.HeldBack != want || a.Acts() || !a.Pending() || len(a.Changes) == 0 {
			t.Errorf("%s: held %q acts %v pending %v changes %d; want held %q, pending, not acting",
				a.Key, a.HeldBack, a.Acts(), a.Pending(), len(a.Changes), want)
		}
	}
	if p.Acts() || !p.Pending() || p.InSync() {
		t.Errorf("plan: acts %v pending %v in sync %v", p.Acts(), p.Pending(), p.InSync())
	}
	var text bytes.Buffer
	if err := WriteText(&text, p, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan-held.txt", text.Bytes())
	if !strings.Contains(text.String(), "Plan: 0 to create, 0 to update, 0 to scale") {
		t.Errorf("held-back changes are counted as changes to make:\n%s", text.String())
	}
	js, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	var back Plan
	if err := json.Unmarshal(js, &back); err != nil || Stale(&back, p) != nil {
		t.Errorf("a held-back plan does not read back: %v", err)
	}

	// Only changes are held: an orphan, an invalid spec or a config
	// change keep what they are.
	for _, k := range []Kind{Orphan, Invalid, Config, Unmanaged} {
		a := Action{Kind: k}
		a.Hold(HoldPaused, "paused")
		if a.HeldBack != "" {
			t.Errorf("%s was held back", k)
		}
	}
}

// TestHeldChange: what an apply leaves undone and names as held back is a
// held change to Marathon, or changes waiting behind a deployment; an
// orphan that pruning keeps or the guard refuses to delete, an unmanaged app or a deployment with
// nothing behind it is nothing left undone.
func TestHeldChange(t *testing.T) {
	for _, tc := range []struct {
		a    Action
		want string // HeldReason when a held change, "" otherwise
	}{
		{Action{Kind: Update, HeldBack: HoldPaused, Reason: "paused by bob@ops"}, "paused by bob@ops"},
		{Action{Kind: Scale, HeldBack: HoldQuarantined}, string(HoldQuarantined)},
		{Action{Kind: Orphan, HeldBack: HoldPruneRefused, Reason: HeldBackReason}, ""}, // the guard's refusal is the plan's
		{Action{Kind: Wait, HeldBack: HoldDeployment, Changes: []Change{{Path: "spec.image"}}}, string(HoldDeployment)},
		{Action{Kind: Wait, HeldBack: HoldDeployment}, ""},
		{Action{Kind: Orphan, HeldBack: HoldPruneOff, Reason: "pruning is off"}, ""},
		{Action{Kind: Unmanaged, HeldBack: HoldProtected}, ""},
		{Action{Kind: Update}, ""},
	} {
		got := ""
		if tc.a.HeldChange() {
			got = tc.a.HeldReason()
		}
		if got != tc.want {
			t.Errorf("%s held %q with %d changes: held change %q, want %q", tc.a.Kind, tc.a.HeldBack, len(tc.a.Changes), got, tc.want)
		}
	}
	if r := (&Action{Kind: Update, Reason: "x"}).HeldReason(); r != "" {
		t.Errorf("an action not held back has the reason %q", r)
	}
}

// TestOverFailed: a change of the app's definition waiting behind the
// deployment of a failed rollout becomes an update forced over it; a
// restart alone, a change held back for another reason, or the failed
// revision itself still waits.
func TestOverFailed(t *testing.T) {
	d := exampleDesired(t).Groups[0]
	d.Revision = 9
	tests := []struct {
		name    string
		change  func(d *Desired, a *App)
		failed  int64
		want    Kind
		wantMsg string
	}{
		{"new image", func(d *Desired, a *App) { a.Spec.Image = "bad:1" }, 7, Update, "the rollout of revision 7 failed; written over its deployment dep-1"},
		{"scale alone", func(d *Desired, a *App) { a.Spec.Instances = ptr(*d.Spec.Instances + 1) }, 7, Update, "revision 7 failed"},
		{"restart alone", func(d *Desired, a *App) { d.Restart = "tok" }, 7, Wait, "in flight"},
		{"config alone, with a restart", func(d *Desired, a *App) {
			d.Restart = "tok"
			d.Spec.Config = map[string]specs.Value{"k": {Value: "v"}}
		}, 7, Wait, "in flight"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := d
			a := appFor(d)
			a.Deployments, a.Revision = []string{"dep-1"}, 7
			tt.change(&d, &a)
			act, _ := Group(&d, &a, Options{})
			if act.Kind != Wait || act.HeldBack != HoldDeployment || act.AppRevision != 7 {
				t.Fatalf("before: %s held back %q, app revision %d", act.Kind, act.HeldBack, act.AppRevision)
			}
			forced := act.OverFailed(tt.failed)
			if act.Kind != tt.want || forced != (tt.want == Update) || act.Force != forced ||
				forced && act.HeldBack != "" || !strings.Contains(act.Reason, tt.wantMsg) {
				t.Errorf("OverFailed(%d) = %v: %s held back %q force %v, reason %q", tt.failed, forced, act.Kind, act.HeldBack, act.Force, act.Reason)
			}
		})
	}
	paused, a := d, appFor(d)
	a.Spec.Image, a.Deployments, a.Revision = "bad:1", []string{"dep-1"}, 7
	act, _ := Group(&paused, &a, Options{})
	act.Hold(HoldPaused, "paused")
	if act.OverFailed(7) || act.HeldBack != HoldPaused {
		t.Errorf("a paused group's change was forced: %+v", act)
	}
}
