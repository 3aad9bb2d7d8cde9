package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"theseus.dev/drivers/etcd/etcdtest"
	"theseus.dev/drivers/marathon/marathonsim"
	"theseus.dev/model"
)

// planSpec is a minimal spec of group api/label running image.
func planSpec(label, image string) string {
	return fmt.Sprintf(`{"apiVersion":"theseus/v1","kind":"Group","metadata":{"service":"api","labels":[%q]},`+
		`"spec":{"image":%q,"instances":1,"cpus":0.1,"mem":64}}`, label, image)
}

// deployThroughPlan puts a spec of api/label for each of labels, saves
// their plan to saved, carries it out and waits for the deployments.
func deployThroughPlan(t *testing.T, e *etcdtest.Etcd, sim *marathonsim.Sim, env map[string]string, saved string, labels []string) {
	t.Helper()
	for _, l := range labels {
		e.Etcdctl(t, "put", "/desired/api/"+l, planSpec(l, "nginx:1.27"))
	}
	if code, _, errb := runCLI(t, env, "plan", "-out", saved); code != exitChanges {
		t.Fatalf("plan -out: exit %d: %s", code, errb)
	}
	if code, out, errb := runCLI(t, env, "apply", "--plan", saved); code != exitOK {
		t.Fatalf("apply --plan: exit %d\n%s%s", code, out, errb)
	}
	for _, l := range labels {
		waitSim(t, sim, "api/"+l+" deployed", func() bool { a, ok := sim.App("/api/" + l); return ok && a.Deployment == "" })
	}
}

// TestApplyPlanHeldToThePruneWindow: a saved plan whose delete the
// mass-deletion guard refuses now, the daemon having deleted apps since
// it was made (its window), is refused, as plan --prune holds the delete
// back: the app is not deleted.
func TestApplyPlanHeldToThePruneWindow(t *testing.T) {
	e := etcdtest.Start(t)
	sim, url := newSim(t, nil)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint(), "THESEUS_MARATHON": url}
	saved := filepath.Join(t.TempDir(), "plan.json")
	deployThroughPlan(t, e, sim, env, saved, []string{"a", "b", "c", "d"})

	// One spec goes; a saved plan with --prune deletes its app: one
	// deletion in an empty window always passes.
	e.Etcdctl(t, "del", "/desired/api/d")
	if code, out, errb := runCLI(t, env, "plan", "--prune", "-out", saved); code != exitChanges || !strings.Contains(out, "api/d") {
		t.Fatalf("plan --prune -out: exit %d\n%s%s", code, out, errb)
	}
	if data, _ := os.ReadFile(saved); !strings.Contains(string(data), `"action": "delete"`) {
		t.Fatalf("the saved plan deletes nothing:\n%s", data)
	}

	// Then the daemon deletes 3 apps of 7 (recorded, as admitDelete
	// records them, in the guard's window).
	now := time.Now().UTC()
	window := []model.PruneDeletion{
		{Group: "old/x", At: now, ManagedBefore: 7},
		{Group: "old/y", At: now, ManagedBefore: 6},
		{Group: "old/z", At: now, ManagedBefore: 5},
	}
	data, err := json.Marshal(window)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Client.Put(t.Context(), "/theseus/prune/deletions", string(data)); err != nil {
		t.Fatal(err)
	}
	// The guard, as plan --prune applies it, now holds the delete back:
	// 4 of 7 in the window.
	code, doc := planJSON(t, env, "--prune")
	held := false
	for _, a := range doc.Actions {
		if a.Group == "api/d" && a.Action == "orphan" && a.HeldBack == "prune-refused" {
			held = true
		}
	}
	if code != exitChanges || !held {
		t.Fatalf("plan --prune after the deletions: exit %d, %+v; want api/d held back by the guard", code, doc)
	}

	// The saved plan must not delete it either.
	code, out, errb := runCLI(t, env, "apply", "--plan", saved)
	if _, ok := sim.App("/api/d"); !ok || code != exitError || !strings.Contains(errb, "the mass-deletion guard holds deletes back now") {
		t.Errorf("apply --plan with the guard's window full: exit %d, api/d still there: %v\n%s%s", code, ok, out, errb)
	}
}

// TestApplyPlanConfirmsEachWrite: apply --plan checks the saved plan,
// then carries out its actions one after another; a group whose spec
// changes in /desired meanwhile (here while an earlier action is written)
// is not written with the saved plan's spec, which /desired no longer
// holds, and the run says so and exits 1.
func TestApplyPlanConfirmsEachWrite(t *testing.T) {
	e := etcdtest.Start(t)
	var (
		once    sync.Once
		moveErr error
	)
	sim, url := newSim(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/v2/apps/api/a") {
				// While api/a is written, api/b's spec changes.
				once.Do(func() {
					_, moveErr = e.Client.Put(r.Context(), "/desired/api/b", planSpec("b", "nginx:1.29"))
				})
			}
			h.ServeHTTP(w, r)
		})
	})
	env := map[string]string{"THESEUS_ETCD": e.Endpoint(), "THESEUS_MARATHON": url}
	saved := filepath.Join(t.TempDir(), "plan.json")
	deployThroughPlan(t, e, sim, env, saved, []string{"a", "b"})

	for _, l := range []string{"a", "b"} {
		e.Etcdctl(t, "put", "/desired/api/"+l, planSpec(l, "nginx:1.28"))
	}
	if code, _, errb := runCLI(t, env, "plan", "-out", saved); code != exitChanges {
		t.Fatalf("plan -out: exit %d: %s", code, errb)
	}
	code, out, errb := runCLI(t, env, "apply", "--plan", saved)
	if moveErr != nil {
		t.Fatal(moveErr)
	}
	a, ok := sim.App("/api/b")
	if !ok || a.Image == "nginx:1.28" || code != exitError || !strings.Contains(errb, "/desired changed since the write was planned") {
		t.Errorf("apply --plan after /desired moved on to nginx:1.29: exit %d, api/b %+v\n%s%s", code, a, out, errb)
	}
}

// TestApplyPlanOtherMarathonRoot: a saved plan records the
// --marathon-root it was made against; carried out with another root (an
// installation sharing the Marathon), it is refused rather than creating
// apps it was not made for.
func TestApplyPlanOtherMarathonRoot(t *testing.T) {
	e := etcdtest.Start(t)
	sim, url := newSim(t, nil)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint(), "THESEUS_MARATHON": url, "THESEUS_MARATHON_ROOT": "/mine"}
	e.Etcdctl(t, "put", "/desired/api/a", planSpec("a", "nginx:1.27"))
	saved := filepath.Join(t.TempDir(), "plan.json")
	if code, _, errb := runCLI(t, env, "plan", "-out", saved); code != exitChanges {
		t.Fatalf("plan -out: exit %d: %s", code, errb)
	}
	other := map[string]string{"THESEUS_ETCD": e.Endpoint(), "THESEUS_MARATHON": url, "THESEUS_MARATHON_ROOT": "/theirs"}
	code, out, errb := runCLI(t, other, "apply", "--plan", saved)
	if _, ok := sim.App("/theirs/api/a"); ok || code != exitError || !strings.Contains(errb, `made against --marathon-root "/mine", not "/theirs"`) {
		t.Errorf("a plan made against --marathon-root /mine, applied with /theirs: exit %d\n%s%s", code, out, errb)
	}
}

// TestApplyPlanOfGroupPausedSince: a saved plan whose group was paused
// since it was made is refused, saying that its change is now held back
// by the pause, not that there is nothing to do; nothing is written.
func TestApplyPlanOfGroupPausedSince(t *testing.T) {
	e := etcdtest.Start(t)
	sim, url := newSim(t, nil)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint(), "THESEUS_MARATHON": url, "USER": "alice"}
	saved := filepath.Join(t.TempDir(), "plan.json")
	deployThroughPlan(t, e, sim, env, saved, []string{"a"})
	e.Etcdctl(t, "put", "/desired/api/a", planSpec("a", "nginx:1.28"))
	if code, _, errb := runCLI(t, env, "plan", "-out", saved); code != exitChanges {
		t.Fatalf("plan -out: exit %d: %s", code, errb)
	}
	if code, out, errb := runCLI(t, env, "pause", "api", "-l", "a", "--reason", "db migration"); code != exitOK {
		t.Fatalf("pause: exit %d\n%s%s", code, out, errb)
	}
	code, out, errb := runCLI(t, env, "apply", "--plan", saved)
	if code != exitError || !strings.Contains(errb, "api/a: was update, now held back: paused by alice@") || strings.Contains(errb, "nothing to do") {
		t.Errorf("apply --plan of a group paused since: exit %d, want 1 saying it is held back by the pause:\n%s%s", code, out, errb)
	}
	if a, _ := sim.App("/api/a"); a.Image != "nginx:1.27" {
		t.Errorf("the paused group was written: image %s", a.Image)
	}
}

// TestApplyPlanSaysWhatIsHeldBack: apply --plan carries out what it can
// and names the changes it leaves held back (here a paused group's),
// rather than saying that Marathon matches.
func TestApplyPlanSaysWhatIsHeldBack(t *testing.T) {
	e := etcdtest.Start(t)
	sim, url := newSim(t, nil)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint(), "THESEUS_MARATHON": url, "USER": "alice"}
	saved := filepath.Join(t.TempDir(), "plan.json")
	deployThroughPlan(t, e, sim, env, saved, []string{"a", "b"})
	if code, out, errb := runCLI(t, env, "pause", "api", "-l", "a", "--reason", "db migration"); code != exitOK {
		t.Fatalf("pause: exit %d\n%s%s", code, out, errb)
	}
	for _, l := range []string{"a", "b"} {
		e.Etcdctl(t, "put", "/desired/api/"+l, planSpec(l, "nginx:1.28"))
	}
	for _, want := range []string{"update api/b", "nothing to carry out"} {
		if code, _, errb := runCLI(t, env, "plan", "-out", saved); code != exitChanges {
			t.Fatalf("plan -out: exit %d: %s", code, errb)
		}
		code, out, errb := runCLI(t, env, "apply", "--plan", saved)
		if code != exitOK || !strings.Contains(out, want) || !strings.Contains(out, "api/a: update held back: paused by alice@") ||
			strings.Contains(out, "already matches") {
			t.Errorf("apply --plan: exit %d, want 0 with %q, naming api/a as held back\n%s%s", code, want, out, errb)
		}
		waitSim(t, sim, "api/b deployed", func() bool { a, ok := sim.App("/api/b"); return ok && a.Deployment == "" })
	}
	if a, _ := sim.App("/api/a"); a.Image != "nginx:1.27" {
		t.Errorf("the paused group was written: image %s", a.Image)
	}
}
