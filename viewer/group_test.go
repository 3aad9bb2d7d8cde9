package viewer

import (
	"errors"
	"strings"
	"testing"
	"time"

	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/marathon"
	"theseus.dev/specs"
)

// TestRowWhenOutOfSync: the AGE and HEALTHY cells of a group that is not
// in sync say what is known. AGE counts from the status's since only when
// the phase shown is the status's: a phase the viewer decided over it
// (Pending, Drifted, Orphaned) began at a time nothing records, not when
// the status's earlier phase did. HEALTHY is "-" only for a group known
// to have no health checks.
func TestRowWhenOutOfSync(t *testing.T) {
	now := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	threeDays := now.Add(-72 * time.Hour)
	fiveMin := now.Add(-5 * time.Minute)
	g := testGroup(t, 2)
	key := specs.GroupKey{Service: "web", Labels: "dev"}
	valid := &etcd.Entry{Key: key, ModRevision: 10, Group: g}
	newer := &etcd.Entry{Key: key, ModRevision: 11, Group: g}
	reportG := testGroup(t, 2)
	reportG.Spec.Drift = specs.DriftReport
	reported := &etcd.Entry{Key: key, ModRevision: 10, Group: reportG}
	invalid := &etcd.Entry{Key: key, ModRevision: 12, Errors: specs.ErrorList{{Field: "spec.cpus", Msg: "want a number"}}}
	status := func(p specs.Phase, rev int64, since time.Time, n specs.TaskCounts) *etcd.StatusEntry {
		return &etcd.StatusEntry{Key: key, Status: &specs.Status{Phase: p, ObservedRevision: rev, AppID: "/web/dev", Since: since, Tasks: n}}
	}
	app := appOf(t, g, 10)
	scaled := appOf(t, g, 10)
	one := 1
	scaled.Spec.Instances = &one // scaled outside theseus
	healthy := specs.TaskCounts{Wanted: 2, Running: 2, Healthy: 2}
	unchecked := specs.TaskCounts{Wanted: 2, Running: 2}
	down := errors.New("connection refused")

	tests := []struct {
		name        string
		p           parts
		appsErr     error
		phase       Phase
		age         string
		healthyCell string
	}{
		{"synced", parts{desired: valid, status: status(specs.PhaseSynced, 10, fiveMin, unchecked), app: app}, nil, Synced, "5m", "-"},
		{"pending over an old synced status", parts{desired: newer, status: status(specs.PhaseSynced, 10, threeDays, unchecked), app: app}, nil, Pending, "-", "-"},
		{"drifted over a synced status", parts{desired: valid, status: status(specs.PhaseSynced, 10, threeDays, unchecked), app: scaled}, nil, Drifted, "-", "-"},
		{"app gone over a synced status", parts{desired: valid, status: status(specs.PhaseSynced, 10, threeDays, unchecked)}, nil, Drifted, "-", "-"},
		{"drift reported by the controller", parts{desired: reported, status: status(specs.PhaseDrifted, 10, fiveMin, unchecked), app: scaled}, nil, Drifted, "5m", "-"},
		{"orphan with a leftover status", parts{status: status(specs.PhaseSynced, 10, threeDays, unchecked), app: app}, nil, Orphaned, "-", "-"},
		{"invalid", parts{desired: invalid, status: status(specs.PhaseInvalid, 12, fiveMin, healthy), app: app}, nil, Invalid, "5m", "-"},
		{"invalid, Marathon down, tasks healthy", parts{desired: invalid, status: status(specs.PhaseInvalid, 12, fiveMin, healthy), app: app}, down, Invalid, "5m", "2"},
		{"invalid, Marathon down, none counted healthy", parts{desired: invalid, status: status(specs.PhaseInvalid, 12, fiveMin, unchecked), app: app}, down, Invalid, "5m", "-"},
		{"invalid, Marathon down, all unhealthy", parts{desired: invalid, status: status(specs.PhaseInvalid, 12, fiveMin,
			specs.TaskCounts{Wanted: 2, Running: 2, Unhealthy: 2}), app: app}, down, Invalid, "5m", "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.p.key = key
			src := &sources{apps: []marathon.App{}, appsErr: tt.appsErr}
			grp := groupOf(&tt.p, src)
			row := Row(&grp, false, now)
			if grp.Phase != tt.phase || row[8] != tt.age || row[4] != tt.healthyCell {
				t.Errorf("phase %s, AGE %q, HEALTHY %q; want %s, %q, %q", grp.Phase, row[8], row[4], tt.phase, tt.age, tt.healthyCell)
			}
		})
	}
}

// TestDeploymentOfAppGone: an app deleted behind theseus's back is gone
// from Marathon's app list while the deployment that stops its tasks runs;
// the group shows that deployment, which its status names, as long as
// Marathon lists it.
func TestDeploymentOfAppGone(t *testing.T) {
	key := specs.GroupKey{Service: "web", Labels: "dev"}
	valid := &etcd.Entry{Key: key, ModRevision: 10, Group: testGroup(t, 2)}
	waiting := &etcd.StatusEntry{Key: key, Status: &specs.Status{Phase: specs.PhaseWaiting, ObservedRevision: 10, DeploymentID: "d9",
		Message: "the app is locked by deployment d9; looking again when it ends"}}
	stop := marathon.Deployment{ID: "d9", Version: "2026-03-04T12:00:00.000Z", AffectedApps: []string{"/teams/web/dev"},
		CurrentStep: 1, TotalSteps: 1, CurrentActions: []marathon.DeploymentAction{{Action: "StopApplication", App: "/teams/web/dev"}}}
	tests := []struct {
		name    string
		deps    map[string]marathon.Deployment
		appsErr error
		want    string
	}{
		{"deployment in flight", map[string]marathon.Deployment{"d9": stop}, nil, "1/1 StopApplication"},
		{"deployment over", map[string]marathon.Deployment{}, nil, "-"},
		{"Marathon down", map[string]marathon.Deployment{"d9": stop}, errors.New("connection refused"), "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &sources{apps: []marathon.App{}, deps: tt.deps, appsErr: tt.appsErr}
			g := groupOf(&parts{key: key, desired: valid, status: waiting}, src)
			if got := Row(&g, false, time.Time{})[7]; got != tt.want {
				t.Errorf("DEPLOYMENT %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRefusedByALimitOfTheDaemon: a spec valid by the viewer's check but
// refused by the controller's (run --max-instances 1) is shown Invalid
// with the controller's errors, in the message, under desired.errors and
// under the row of the page, where the page listed no error at all.
func TestRefusedByALimitOfTheDaemon(t *testing.T) {
	key := specs.GroupKey{Service: "web", Labels: "dev"}
	limit := "/desired/web/dev:1: spec.instances: 2 is more than the limit of 1 instances"
	p := &parts{key: key, desired: &etcd.Entry{Key: key, ModRevision: 10, Group: testGroup(t, 2)},
		status: &etcd.StatusEntry{Key: key, Status: &specs.Status{Phase: specs.PhaseInvalid, ObservedRevision: 10,
			Message: "the desired spec is invalid; nothing is created", Errors: []string{limit}}}}
	src := &sources{apps: []marathon.App{}}
	l := &List{Items: []Group{groupOf(p, src)}}
	g := &l.Items[0]
	if g.Phase != Invalid || g.Message != "invalid spec: "+limit || g.Desired.Valid || len(g.Desired.Errors) != 1 || g.Desired.Errors[0] != limit {
		t.Errorf("phase %s %q, desired %+v; want Invalid with the controller's error", g.Phase, g.Message, g.Desired)
	}
	pages, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	d := pageData{List: l, Now: time.Now()}
	d.Services, d.Counts = byService(l)
	var b strings.Builder
	if err := pages.ExecuteTemplate(&b, "list.html", d); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `<ul class="errors"><li>`+limit+`</li></ul>`) {
		t.Errorf("the page does not list the controller's error under the row:\n%s", b.String())
	}
}
