package viewer

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"theseus.dev/diff"
	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/marathon"
	"theseus.dev/specs"
)

func testGroup(t *testing.T, instances int) *specs.Group {
	t.Helper()
	gs, err := specs.ParseAndValidate("t.json", []byte(`{"apiVersion":"theseus/v1","kind":"Group","metadata":{"service":"web","labels":["dev"]},"spec":{"image":"nginx:1.27","instances":`+
		strconv.Itoa(instances)+`,"cpus":0.1,"mem":64,"env":{"TOKEN":{"value":"hunter2hunter2","secret":true}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	return gs[0]
}

// appOf is the app theseus writes for g at revision rev, as read back.
func appOf(t *testing.T, g *specs.Group, rev int64) *marathon.App {
	t.Helper()
	d, err := diff.NewDesired(g, rev)
	if err != nil {
		t.Fatal(err)
	}
	return &marathon.App{ID: "/web/dev", Key: d.Key, Managed: true, SpecHash: d.Hash, Revision: rev,
		Spec: d.Spec, SecretEnv: []string{"TOKEN"}, Counts: specs.TaskCounts{Running: *d.Spec.Instances}}
}

func TestPhaseOf(t *testing.T) {
	g := testGroup(t, 2)
	valid := &etcd.Entry{Key: specs.GroupKey{Service: "web", Labels: "dev"}, ModRevision: 10, Group: g}
	reportG := testGroup(t, 2)
	reportG.Spec.Drift = specs.DriftReport
	reported := &etcd.Entry{Key: valid.Key, ModRevision: 10, Group: reportG}
	invalid := &etcd.Entry{Key: valid.Key, ModRevision: 11, Errors: specs.ErrorList{{Field: "spec.instances", Msg: "must be at least 0"}}}
	status := func(p specs.Phase, rev int64) *etcd.StatusEntry {
		return &etcd.StatusEntry{Key: valid.Key, Status: &specs.Status{Phase: p, ObservedRevision: rev, AppID: "/web/dev", Message: "m", LastError: "e"}}
	}
	app := appOf(t, g, 10)
	scaled := appOf(t, g, 10)
	one := 1
	scaled.Spec.Instances = &one // scaled outside theseus: hash label unchanged
	deploying := appOf(t, g, 10)
	deploying.Spec.Instances, deploying.Deployments = &one, []string{"d1"}
	rewritten := appOf(t, testGroup(t, 1), 9) // written by theseus from an older spec
	secretOnly := appOf(t, g, 10)
	secretOnly.Spec.Env = map[string]specs.Value{"TOKEN": {Value: "other"}}
	crashed := appOf(t, g, 10)
	crashed.Counts.Running = 1
	unmanaged := appOf(t, g, 10)
	unmanaged.Managed = false
	// Scaled by theseus from revision 9 to 10: the labels stay those of 9,
	// and the status records them.
	scaledByUs := appOf(t, testGroup(t, 1), 9)
	scaledByUs.Spec.Instances, scaledByUs.Counts.Running = g.Spec.Instances, *g.Spec.Instances
	editedAfterScale := appOf(t, testGroup(t, 1), 9)
	editedAfterScale.Spec.Instances, editedAfterScale.Spec.Image = g.Spec.Instances, "nginx:hand"
	scaledStatus := func(p specs.Phase) *etcd.StatusEntry {
		st := status(p, 10)
		st.Status.Scaled = &specs.ScaledLabels{Hash: scaledByUs.SpecHash, Revision: 9, SpecHash: app.SpecHash}
		return st
	}

	refused := status(specs.PhaseInvalid, 10)
	refused.Status.Errors = []string{"/desired/web/dev:1: spec.instances: 2 is more than the limit of 1 instances"}

	tests := []struct {
		name      string
		p         parts
		appsKnown bool
		want      Phase
		msg       string // a part of the message
		drift     string // a part of the drift, "" for none
	}{
		{"synced", parts{desired: valid, status: status(specs.PhaseSynced, 10), app: app}, true, Synced, "m", ""},
		{"no status yet", parts{desired: valid}, true, Pending, "not yet seen", ""},
		{"status of an older revision", parts{desired: valid, status: status(specs.PhaseSynced, 9), app: app}, true, Pending, "revision 10 not yet seen", ""},
		{"status unreadable", parts{desired: valid, status: &etcd.StatusEntry{Err: errors.New("bad json")}}, true, Pending, "bad json", ""},
		{"invalid spec", parts{desired: invalid, status: status(specs.PhaseSynced, 10), app: app}, true, Invalid, "spec.instances: must be at least 0", ""},
		{"refused by a limit of the daemon's", parts{desired: valid, status: refused}, true, Invalid, "invalid spec: /desired/web/dev:1: spec.instances: 2 is more than the limit of 1 instances", ""},
		{"stalled wins over drift", parts{desired: valid, status: status(specs.PhaseStalled, 10), app: scaled}, true, Stalled, "m; e", ""},
		{"paused wins over drift", parts{desired: valid, status: status(specs.PhasePaused, 10), app: scaled}, true, Paused, "m", ""},
		{"rolled back", parts{desired: valid, status: status(specs.PhaseRolledBack, 10), app: rewritten}, true, RolledBack, "m", ""},
		{"failed", parts{desired: valid, status: status(specs.PhaseFailed, 10), app: app}, true, Failed, "m", ""},
		{"drift reported", parts{desired: reported, status: status(specs.PhaseDrifted, 10), app: scaled}, true, Drifted, "left in place", "spec.instances: 1 => 2"},
		{"scaled outside theseus", parts{desired: valid, status: status(specs.PhaseSynced, 10), app: scaled}, true, Drifted, "changed outside", "spec.instances: 1 => 2"},
		{"drift unknown while Marathon is down", parts{desired: valid, status: status(specs.PhaseSynced, 10), app: scaled}, false, Synced, "m", ""},
		{"deployment in flight is no drift", parts{desired: valid, status: status(specs.PhaseProgressing, 10), app: deploying}, true, Progressing, "m", ""},
		{"an older write is no drift", parts{desired: valid, status: status(specs.PhaseProgressing, 10), app: rewritten}, true, Progressing, "m", ""},
		{"scaled by theseus", parts{desired: valid, status: scaledStatus(specs.PhaseSynced), app: scaledByUs}, true, Synced, "m", ""},
		{"edited after a scale by theseus", parts{desired: valid, status: scaledStatus(specs.PhaseSynced), app: editedAfterScale}, true, Drifted, "changed outside", "spec.image: nginx:hand => nginx:1.27"},
		{"scaled back after a scale by theseus", parts{desired: valid, status: scaledStatus(specs.PhaseSynced), app: rewritten}, true, Drifted, "changed outside", "spec.instances: 1 => 2"},
		{"a secret changed is no drift", parts{desired: valid, status: status(specs.PhaseSynced, 10), app: secretOnly}, true, Synced, "m", ""},
		{"unmanaged app is not drift", parts{desired: valid, status: status(specs.PhaseStalled, 10), app: unmanaged}, true, Stalled, "m", ""},
		{"app gone while synced", parts{desired: valid, status: status(specs.PhaseSynced, 10)}, true, Drifted, "gone from Marathon", ""},
		{"tasks lost since the status was written", parts{desired: valid, status: status(specs.PhaseSynced, 10), app: crashed}, true, Progressing, "1 of 2 tasks running (the controller's status, Synced, is from before)", ""},
		{"app gone while rolled back", parts{desired: valid, status: status(specs.PhaseRolledBack, 10)}, true, RolledBack, "m; the app is gone from Marathon, so nothing runs, and nothing is created until /desired changes", ""},
		{"app gone while paused", parts{desired: valid, status: status(specs.PhasePaused, 10)}, true, Paused, "nothing is created until the group is resumed", ""},
		{"app unknown while rolled back", parts{desired: valid, status: status(specs.PhaseRolledBack, 10)}, false, RolledBack, "m", ""},
		{"app gone while waiting", parts{desired: valid, status: status(specs.PhaseWaiting, 10)}, true, Waiting, "m", ""},
		{"orphan", parts{app: app}, true, Orphaned, "--prune", ""},
		{"deleting", parts{status: status(specs.PhaseDeleting, 10), app: app}, true, Deleting, "m", ""},
		{"delete refused by the prune guard", parts{status: status(specs.PhaseStalled, 10), app: app}, true, Stalled, "m", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.p.key = valid.Key
			got, msg, drift := phaseOf(&tt.p, tt.appsKnown)
			if got != tt.want || !strings.Contains(msg, tt.msg) {
				t.Errorf("phase %s %q, want %s with %q", got, msg, tt.want, tt.msg)
			}
			joined := strings.Join(drift, "\n")
			if tt.drift == "" && drift != nil || !strings.Contains(joined, tt.drift) {
				t.Errorf("drift %q, want %q", joined, tt.drift)
			}
			if strings.Contains(msg+joined, "hunter2") || strings.Contains(msg+joined, "other") {
				t.Errorf("a secret shows: %q %q", msg, joined)
			}
		})
	}
}

func TestShown(t *testing.T) {
	k := specs.GroupKey{Service: "web", Labels: "dev"}
	tests := []struct {
		name string
		p    parts
		want bool
	}{
		{"desired", parts{desired: &etcd.Entry{Key: k}}, true},
		{"managed app", parts{app: &marathon.App{Managed: true}}, true},
		{"someone else's app", parts{app: &marathon.App{}}, false},
		{"leftover status", parts{status: &etcd.StatusEntry{Status: &specs.Status{Phase: specs.PhaseSynced}}}, false},
		{"deleting", parts{status: &etcd.StatusEntry{Status: &specs.Status{Phase: specs.PhaseDeleting}}}, true},
	}
	for _, tt := range tests {
		if got := tt.p.shown(); got != tt.want {
			t.Errorf("%s: shown %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestRedact(t *testing.T) {
	g := testGroup(t, 2)
	g.Spec.Config = map[string]specs.Value{"k": {Value: "v"}, "s": {Value: "hidden-config", Secret: true}}
	var b strings.Builder
	if err := WriteJSON(&b, redact(&g.Spec)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "hunter2") || strings.Contains(out, "hidden-config") || !strings.Contains(out, `"TOKEN": "(secret)"`) || !strings.Contains(out, `"k": "v"`) {
		t.Errorf("redacted spec:\n%s", out)
	}
	if !g.Spec.Env["TOKEN"].Secret || g.Spec.Env["TOKEN"].Value != "hunter2hunter2" {
		t.Errorf("redact changed the original: %+v", g.Spec.Env["TOKEN"])
	}
}

// TestDeploymentOf: a group shows the actions of its deployment's current
// step that act on its app, not those of other apps or of pods deployed
// with it.
func TestDeploymentOf(t *testing.T) {
	app := &marathon.App{ID: "/web/dev", Deployments: []string{"d1"}}
	deps := map[string]marathon.Deployment{"d1": {ID: "d1", CurrentStep: 1, TotalSteps: 2, Version: "v",
		CurrentActions: []marathon.DeploymentAction{
			{Action: "RestartApplication", App: "/web/dev"},
			{Action: "ScaleApplication", App: "/api/dev"},
			{Action: "ScalePod"}, // a pod's action: Marathon names it by "pod"
		}}}
	got := deploymentOf(app.ID, app.Deployments[0], deps)
	want := &Deployment{ID: "d1", Step: 1, TotalSteps: 2, Version: "v", Actions: []string{"RestartApplication"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got := deploymentOf("/web/dev", "gone", deps); got.ID != "gone" || got.Actions != nil {
		t.Errorf("a deployment Marathon no longer lists: %+v", got)
	}
}
