package main

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/etcd/etcdtest"
	"theseus.dev/drivers/marathon/marathonsim"
	"theseus.dev/specs"
)

// planDoc is what the plan tests read of `plan -o json`.
type planDoc struct {
	Kind    string `json:"kind"`
	InSync  bool   `json:"inSync"`
	Pending bool   `json:"pending"`
	Scope   []struct {
		Group           string `json:"group"`
		DesiredRevision int64  `json:"desiredRevision"`
	} `json:"scope"`
	Actions []struct {
		Action   string `json:"action"`
		Group    string `json:"group"`
		HeldBack string `json:"heldBack"`
		Reason   string `json:"reason"`
	} `json:"actions"`
}

func planJSON(t *testing.T, env map[string]string, args ...string) (int, planDoc) {
	t.Helper()
	code, out, errb := runCLI(t, env, append([]string{"plan", "-o", "json"}, args...)...)
	var doc planDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.Kind != "Plan" {
		t.Fatalf("plan -o json %v: exit %d, %v\n%s%s", args, code, err, out, errb)
	}
	return code, doc
}

// deploymentID matches the deployment ids of wait reasons, which change
// from run to run.
var deploymentID = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// planGolden runs plan, checks its exit code, and compares its text with
// testdata/name.
func planGolden(t *testing.T, env map[string]string, name string, want int, args ...string) string {
	t.Helper()
	code, out, errb := runCLI(t, env, append([]string{"plan"}, args...)...)
	if code != want {
		t.Fatalf("plan %v: exit %d, want %d\n%s%s", args, code, want, out, errb)
	}
	checkGolden(t, name, deploymentID.ReplaceAllString(out, "<deployment>"))
	return errb
}

const (
	webSpec = `{"apiVersion":"theseus/v1","kind":"Group","metadata":{"service":"web","labels":["dev"]},` +
		`"spec":{"image":"nginx:1.27","instances":2,"cpus":0.1,"mem":64,"config":{"upstream":"%s"}}}`
	slowSpec = `{"apiVersion":"theseus/v1","kind":"Group","metadata":{"service":"slow","labels":["dev"]},` +
		`"spec":{"image":"never:1","instances":%d,"cpus":0.1,"mem":64,"ports":[{"name":"http","containerPort":80}],` +
		`"healthChecks":[{"protocol":"HTTP","portName":"http","path":"/"}]}}`
)

func webWith(upstream string) string { return strings.Replace(webSpec, "%s", upstream, 1) }
func slowWith(n string) string       { return strings.Replace(slowSpec, "%d", n, 1) }

// TestPlanExitCodes: each exit code of plan, with specs and /services
// written by the real etcdctl: 0 exactly when Marathon and /services match
// /desired; 2 for a create, a config-only change, a rollout in flight and
// a change waiting behind a deployment; 1 for an invalid spec, listed after the plan of the
// valid groups.
func TestPlanExitCodes(t *testing.T) {
	e := etcdtest.Start(t)
	sim, url := newSim(t, nil)
	sim.Faults().NeverHealthyImage("never:1")
	env := map[string]string{"THESEUS_ETCD": e.Endpoint(), "THESEUS_MARATHON": url}
	saved := filepath.Join(t.TempDir(), "plan.json")
	applyNow := func() {
		t.Helper()
		if code, _, errb := runCLI(t, env, "plan", "-out", saved); code != exitChanges {
			t.Fatalf("plan -out: exit %d: %s", code, errb)
		}
		if code, out, errb := runCLI(t, env, "apply", "--plan", saved); code != exitOK {
			t.Fatalf("apply --plan: exit %d\n%s%s", code, out, errb)
		}
	}

	planGolden(t, env, "plan-empty.golden", exitOK)

	e.Etcdctl(t, "put", "/desired/web/dev", webWith("api"))
	planGolden(t, env, "plan-create.golden", exitChanges)
	applyNow()
	waitSim(t, sim, "web/dev deployed", func() bool { a, ok := sim.App("/web/dev"); return ok && a.Deployment == "" })

	// Marathon matches, but /services holds no config yet: still pending.
	planGolden(t, env, "plan-config-missing.golden", exitChanges)
	e.Etcdctl(t, "put", "/services/web/dev/config", `{"upstream":"api"}`)
	planGolden(t, env, "plan-in-sync.golden", exitOK)

	// A change of config alone is a change.
	e.Etcdctl(t, "put", "/desired/web/dev", webWith("api2"))
	planGolden(t, env, "plan-config.golden", exitChanges)
	code, doc := planJSON(t, env)
	if code != exitChanges || doc.InSync || !doc.Pending || len(doc.Actions) != 1 || doc.Actions[0].Action != "config" {
		t.Errorf("config-only plan as JSON: exit %d, %+v", code, doc)
	}

	// An invalid spec: exit 1, listed after the plan of the valid groups.
	e.Etcdctl(t, "put", "/desired/db/dev", `{"apiVersion":"theseus/v1","kind":"Group","spec":{"image":"postgres:16","instances":-1,"cpus":0.1,"mem":64}}`)
	errb := planGolden(t, env, "plan-invalid.golden", exitError)
	if !strings.Contains(errb, "1 invalid spec(s) in scope") {
		t.Errorf("stderr does not say why plan failed:\n%s", errb)
	}
	e.Etcdctl(t, "del", "/desired/db/dev")
	// So is a key that names no group.
	e.Etcdctl(t, "put", "/desired/db/Dev", minimal)
	code, out, errb := runCLI(t, env, "plan")
	if code != exitError || !strings.Contains(out, "/desired/db/Dev: names no group") {
		t.Errorf("plan with a malformed key: exit %d, want 1 naming it\n%s%s", code, out, errb)
	}
	e.Etcdctl(t, "del", "/desired/db/Dev")
	e.Etcdctl(t, "put", "/services/web/dev/config", `{"upstream":"api2"}`)
	planGolden(t, env, "plan-in-sync-again.golden", exitOK)

	// A rollout of the spec still in flight is pending: the tasks do not
	// run the spec yet.
	e.Etcdctl(t, "put", "/desired/slow/dev", slowWith("1"))
	applyNow()
	waitSim(t, sim, "slow/dev deploying", func() bool { a, ok := sim.App("/slow/dev"); return ok && a.TasksRunning == 1 })
	code, doc = planJSON(t, env)
	if code != exitChanges || len(doc.Actions) != 1 || doc.Actions[0].Action != "wait" || doc.Actions[0].HeldBack != "rolling-out" {
		t.Errorf("plan during a rollout: exit %d, %+v; want a wait held back while rolling out", code, doc)
	}

	// A change waiting behind a deployment in flight is pending and held
	// back.
	e.Etcdctl(t, "put", "/desired/slow/dev", slowWith("2"))
	planGolden(t, env, "plan-waiting.golden", exitChanges)
	code, doc = planJSON(t, env)
	if code != exitChanges || len(doc.Actions) != 1 || doc.Actions[0].Action != "wait" || doc.Actions[0].HeldBack != "deployment" {
		t.Errorf("waiting plan as JSON: exit %d, %+v", code, doc)
	}
	if n := len(sim.Deployments()); n != 1 {
		t.Fatalf("%d deployments in flight, want the stuck one", n)
	}
}

// TestPlanAndApplyPlan: a saved plan carried out by apply --plan, and a
// stale one refused; config is left to the controller.
func TestPlanAndApplyPlan(t *testing.T) {
	e := etcdtest.Start(t)
	sim, url := newSim(t, nil)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint(), "THESEUS_MARATHON": url}

	if code, out, errb := runCLI(t, env, "apply", "-f", "../../testdata/specs"); code != exitOK || !strings.Contains(out, "created haproxy/dev") {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errb)
	}
	code, out, _ := runCLI(t, env, "plan", "-l", "testing")
	if code != exitChanges || strings.Contains(out, "haproxy/dev") || !strings.Contains(out, "haproxy/testing") {
		t.Errorf("plan -l testing: exit %d\n%s", code, out)
	}

	// A saved plan goes stale when a spec changes after it was made.
	saved := filepath.Join(t.TempDir(), "plan.json")
	if code, _, errb := runCLI(t, env, "plan", "-out", saved); code != exitChanges {
		t.Fatalf("plan -out: exit %d: %s", code, errb)
	}
	e.Etcdctl(t, "put", "/desired/web/dev", minimal)
	code, _, errb := runCLI(t, env, "apply", "--plan", saved)
	if code != exitError || !strings.Contains(errb, "plan is stale") || !strings.Contains(errb, "web/dev") {
		t.Fatalf("apply of a stale plan: exit %d, want 1 naming web/dev\n%s", code, errb)
	}
	if n := sim.WriteCount(); n != 0 {
		t.Fatalf("a stale plan wrote %d times to Marathon", n)
	}

	// A fresh one is carried out; what remains is config, which the
	// controller writes to /services, and the deployments the creates
	// started, until they end.
	if code, _, errb := runCLI(t, env, "plan", "-out", saved); code != exitChanges {
		t.Fatalf("plan -out: exit %d: %s", code, errb)
	}
	code, out, errb = runCLI(t, env, "apply", "--plan", saved)
	if code != exitOK || !strings.Contains(out, "create web/dev") || !strings.Contains(out, "config haproxy/dev: written to /services by the running controller") {
		t.Fatalf("apply --plan: exit %d\n%s%s", code, out, errb)
	}
	code, doc := planJSON(t, env)
	for _, a := range doc.Actions {
		if a.Action != "config" && (a.Action != "wait" || a.HeldBack != "rolling-out") {
			t.Errorf("after apply --plan, %s %s is left", a.Action, a.Group)
		}
	}
	if code != exitChanges || len(doc.Actions) == 0 {
		t.Errorf("plan after apply --plan: exit %d, %+v; want the config of /services pending", code, doc)
	}
}

// deployExamples writes the example specs to /desired and creates their
// apps with a saved plan, as an operator without a controller would.
func deployExamples(t *testing.T, env map[string]string) {
	t.Helper()
	deployFiles(t, env, "../../testdata/specs")
}

// deployFiles writes the specs of path to /desired and creates their apps
// with a saved plan.
func deployFiles(t *testing.T, env map[string]string, path string) {
	t.Helper()
	if code, out, errb := runCLI(t, env, "apply", "-f", path); code != exitOK {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errb)
	}
	saved := filepath.Join(t.TempDir(), "plan.json")
	if code, _, errb := runCLI(t, env, "plan", "-out", saved); code != exitChanges {
		t.Fatalf("plan -out: exit %d: %s", code, errb)
	}
	if code, out, errb := runCLI(t, env, "apply", "--plan", saved); code != exitOK {
		t.Fatalf("apply --plan: exit %d\n%s%s", code, out, errb)
	}
}

// TestPlanFiles: plan -f plans only the groups of its files, with no
// orphans; apply -f --dry-run prints the same and writes nothing; apply -f
// --check-index writes only while the saved plan holds.
func TestPlanFiles(t *testing.T) {
	e := etcdtest.Start(t)
	sim, url := newSim(t, nil)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint(), "THESEUS_MARATHON": url}
	deployExamples(t, env)
	waitSim(t, sim, "web/dev deployed", func() bool { a, ok := sim.App("/web/dev"); return ok && a.Deployment == "" })

	dir := t.TempDir()
	file := filepath.Join(dir, "web.yaml")
	write := func(image string) {
		spec := "apiVersion: theseus/v1\nkind: Group\nmetadata: {service: web, labels: [dev]}\n" +
			"spec: {image: " + image + ", instances: 2, cpus: 0.1, mem: 64}\n"
		if err := os.WriteFile(file, []byte(spec), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("nginx:1.28")
	code, out, _ := runCLI(t, env, "plan", "-f", file)
	if code != exitChanges || !strings.Contains(out, "~ web/dev update") || strings.Count(out, "\n~ ")+strings.Count(out, "\n#") > 0 {
		t.Errorf("plan -f: exit %d, want 2 with web/dev alone\n%s", code, out)
	}
	checkGolden(t, "plan-file.golden", out)
	code, dry, errb := runCLI(t, env, "apply", "-f", file, "--dry-run")
	if code != exitOK || !strings.HasPrefix(dry, out) || !strings.Contains(dry, "nothing written") {
		t.Errorf("apply --dry-run: exit %d, want plan -f's text\n%s%s", code, dry, errb)
	}
	if got := e.Etcdctl(t, "get", "--print-value-only", "/desired/web/dev"); !strings.Contains(got, "nginx:1.27") {
		t.Fatalf("apply --dry-run wrote /desired/web/dev: %s", got)
	}
	// --dir is the whole truth: every other group is an orphan.
	code, out, _ = runCLI(t, env, "plan", "--dir", dir)
	if code != exitChanges || !strings.Contains(out, "# haproxy/dev orphan") {
		t.Errorf("plan --dir: exit %d, want the other groups as orphans\n%s", code, out)
	}
	// A document that names its group but does not decode makes that
	// group invalid, counted once: its app is left alone, not taken for
	// one without a spec and deleted.
	typo := filepath.Join(dir, "haproxy.yaml")
	if err := os.WriteFile(typo, []byte("apiVersion: theseus/v1\nkind: Group\nmetadata: {service: haproxy, labels: [dev]}\n"+
		"spec:\n  image: haproxy:2.9\n  instances: two\n  cpu: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCLI(t, env, "plan", "--ascii", "--prune", "--allow-mass-delete", "--dir", dir)
	if _, invalid, _ := strings.Cut(out, "Invalid: 1 desired spec(s)"); code != exitError || strings.Contains(out, "- haproxy/dev") ||
		strings.Contains(out, "# haproxy/dev") || !strings.Contains(invalid, "! haproxy/dev invalid") ||
		!strings.Contains(invalid, "haproxy.yaml:6: spec.instances") || !strings.Contains(invalid, "haproxy.yaml:7: spec.cpu") {
		t.Errorf("plan --dir with a document that does not decode: exit %d, want 1 with haproxy/dev invalid and left alone\n%s", code, out)
	}
	// A file that cannot be read names no group, and may define any:
	// no app is taken for one without a spec and deleted.
	if err := os.WriteFile(typo, []byte("apiVersion: theseus/v1\nkind: Group\nmetadata: {service: haproxy, labels: [dev\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCLI(t, env, "plan", "--ascii", "--prune", "--allow-mass-delete", "--dir", dir)
	if code != exitError || strings.Contains(out, "- haproxy/dev") || !strings.Contains(out, "# haproxy/dev orphan") ||
		!strings.Contains(out, "may define it; not deleted") || !strings.Contains(out, "Prune refused: "+dir+" cannot be read whole ("+typo+")") ||
		!strings.Contains(out, "haproxy.yaml:3: invalid YAML") {
		t.Errorf("plan --dir --prune with a file that cannot be read: exit %d, want 1 with haproxy/dev an orphan, not deleted\n%s", code, out)
	}
	if err := os.Remove(typo); err != nil {
		t.Fatal(err)
	}

	// A saved plan of the files is applied with --check-index, and only
	// while it holds.
	plan := filepath.Join(dir, "plan.json")
	if code, _, errb := runCLI(t, env, "plan", "-f", file, "-out", plan); code != exitChanges {
		t.Fatalf("plan -f -out: exit %d: %s", code, errb)
	}
	_, doc := planJSON(t, env, "-f", file)
	if len(doc.Scope) != 1 || doc.Scope[0].Group != "web/dev" || doc.Scope[0].DesiredRevision == 0 {
		t.Fatalf("plan -f scope: %+v", doc.Scope)
	}
	if code, _, errb := runCLI(t, env, "apply", "--plan", plan); code != exitError || !strings.Contains(errb, "--check-index") {
		t.Errorf("apply --plan of a plan of files: exit %d\n%s", code, errb)
	}
	e.Etcdctl(t, "put", "/desired/web/dev", minimal) // someone else writes the group
	code, _, errb = runCLI(t, env, "apply", "-f", file, "--check-index", plan)
	if code != exitError || !strings.Contains(errb, "plan is stale") || !strings.Contains(errb, "/desired revision was") {
		t.Fatalf("apply --check-index after /desired moved: exit %d\n%s", code, errb)
	}
	if code, _, errb := runCLI(t, env, "plan", "-f", file, "-out", plan); code != exitChanges {
		t.Fatalf("plan -f -out: exit %d: %s", code, errb)
	}
	code, out, errb = runCLI(t, env, "apply", "-f", file, "--check-index", plan)
	if code != exitOK || !strings.Contains(out, "changed web/dev") {
		t.Fatalf("apply --check-index: exit %d\n%s%s", code, out, errb)
	}
	write("nginx:1.29") // the file moved since its plan
	code, _, errb = runCLI(t, env, "apply", "-f", file, "--check-index", plan)
	if code != exitError || !strings.Contains(errb, "plan is stale") {
		t.Fatalf("apply --check-index of changed files: exit %d\n%s", code, errb)
	}
}

// TestPlanInvalidFiles: plan -f and --dir plan the valid groups and list
// the invalid ones by key, exit 1.
func TestPlanInvalidFiles(t *testing.T) {
	e := etcdtest.Start(t)
	_, url := newSim(t, nil)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint(), "THESEUS_MARATHON": url}
	dir := t.TempDir()
	files := map[string]string{
		"bad.yaml":  "apiVersion: theseus/v1\nkind: Group\nmetadata: {service: web, labels: [dev]}\nspec: {image: nginx, instances: -2, cpus: 0.1, mem: 64}\n",
		"good.yaml": "apiVersion: theseus/v1\nkind: Group\nmetadata: {service: api, labels: [dev]}\nspec: {image: api:1, instances: 1, cpus: 0.1, mem: 64}\n",
		"junk.yaml": "apiVersion: theseus/v1\nkind: [\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"-f", dir}, {"--dir", dir}} {
		code, out, errb := runCLI(t, env, append([]string{"plan", "--ascii"}, args...)...)
		plan, invalid, _ := strings.Cut(out, "Invalid: 2")
		if code != exitError || !strings.Contains(plan, "+ api/dev create") || !strings.Contains(invalid, "! web/dev invalid") ||
			!strings.Contains(invalid, "spec.instances") || !strings.Contains(invalid, "junk.yaml") || !strings.Contains(errb, "invalid spec") {
			t.Errorf("plan %v: exit %d, want 1 with api/dev planned and web/dev and junk.yaml listed after it\n%s%s", args, code, out, errb)
		}
	}
	if code, _, errb := runCLI(t, env, "apply", "-f", dir, "--dry-run"); code != exitError || !strings.Contains(errb, "apply would write nothing") {
		t.Errorf("apply --dry-run of invalid files: exit %d\n%s", code, errb)
	}
}

func TestPlanErrors(t *testing.T) {
	e := etcdtest.Start(t)
	_, url := newSim(t, nil)
	missing := filepath.Join(t.TempDir(), "specs")
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"marathon unreachable", map[string]string{"THESEUS_ETCD": e.Endpoint(), "THESEUS_MARATHON": "http://127.0.0.1:1"}, []string{"plan", "--marathon-timeout", "300ms"}, "127.0.0.1:1"},
		{"etcd unreachable", map[string]string{"THESEUS_ETCD": "127.0.0.1:1", "THESEUS_MARATHON": url}, []string{"plan", "--etcd-dial-timeout", "300ms"}, "etcd at 127.0.0.1:1"},
		{"no specs", map[string]string{"THESEUS_ETCD": e.Endpoint(), "THESEUS_MARATHON": url}, []string{"plan", "-f", t.TempDir()}, "no specs found"},
		{"dir missing", map[string]string{"THESEUS_ETCD": e.Endpoint(), "THESEUS_MARATHON": url}, []string{"plan", "--dir", missing}, "--dir " + missing + ": stat " + missing},
		{"bad output", nil, []string{"plan", "-o", "yaml"}, `-o "yaml"`},
		{"bad selector", nil, []string{"plan", "-l", "Dev"}, "label selector"},
		{"out with dir", nil, []string{"plan", "--dir", ".", "-out", "x"}, "cannot be applied"},
		{"files and dir", nil, []string{"plan", "--dir", ".", "-f", "x"}, "cannot be combined"},
		{"dry run without files", nil, []string{"apply", "--plan", "x", "--dry-run"}, "go with -f"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// No plan: one would be read as what the command was asked.
			code, out, errb := runCLI(t, tt.env, tt.args...)
			if code != exitError || !strings.Contains(errb, tt.want) || out != "" {
				t.Errorf("exit %d, want 1 with %q and no plan:\n%s%s", code, tt.want, out, errb)
			}
		})
	}
}

// TestPlanFilesOfAFixToAQuarantinedRevision: plan -f of a file that
// changes a group whose /desired revision was rolled back plans the
// change as it would run once applied (a new revision, not quarantined);
// a file that holds the quarantined spec itself is still held back.
func TestPlanFilesOfAFixToAQuarantinedRevision(t *testing.T) {
	e := etcdtest.Start(t)
	_, url := newSim(t, nil)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint(), "THESEUS_MARATHON": url}
	dir := t.TempDir()
	file := filepath.Join(dir, "web.yaml")
	write := func(image string) {
		t.Helper()
		spec := "apiVersion: theseus/v1\nkind: Group\nmetadata: {service: web, labels: [dev]}\n" +
			"spec: {image: " + image + ", instances: 2, cpus: 0.1, mem: 64}\n"
		if err := os.WriteFile(file, []byte(spec), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("nginx:bad")
	if code, out, errb := runCLI(t, env, "apply", "-f", file); code != exitOK {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errb)
	}
	resp, err := e.Client.Get(t.Context(), "/desired/web/dev")
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("read /desired/web/dev: %v", err)
	}
	bad := resp.Kvs[0].ModRevision
	h, err := json.Marshal(specs.History{Entries: []specs.HistoryEntry{{Revision: bad, Image: "nginx:bad",
		Outcome: specs.OutcomeFailed, Reason: "Command exited with status 1"}}})
	if err != nil {
		t.Fatal(err)
	}
	putValue(t, e, etcd.HistoryKey("", web(t)), string(h))

	held := func(args ...string) string {
		t.Helper()
		code, doc := planJSON(t, env, args...)
		if code != exitChanges || len(doc.Actions) != 1 || doc.Actions[0].Action != "create" {
			t.Fatalf("plan %v: exit %d, %+v; want one create pending", args, code, doc)
		}
		return doc.Actions[0].HeldBack
	}
	if got := held(); got != "quarantined" {
		t.Fatalf("plan of the failed revision: held back %q, want quarantined", got)
	}
	if got := held("-f", file); got != "quarantined" {
		t.Errorf("plan -f of the failed spec itself: held back %q, want quarantined", got)
	}
	write("nginx:1.29")
	if got := held("-f", file); got != "" {
		t.Errorf("plan -f of a fix: held back %q; applying it writes a new revision, which is not quarantined", got)
	}
}

// TestPlanFilesInSyncSaysWhatMatches: plan -f and --dir of files that
// match what runs say that the files match, not /desired, which may
// hold something else.
func TestPlanFilesInSyncSaysWhatMatches(t *testing.T) {
	e := etcdtest.Start(t)
	sim, url := newSim(t, nil)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint(), "THESEUS_MARATHON": url}
	saved := filepath.Join(t.TempDir(), "plan.json")
	deployThroughPlan(t, e, sim, env, saved, []string{"a"})
	e.Etcdctl(t, "put", "/services/api/a/config", `{}`)
	dir := t.TempDir()
	file := filepath.Join(dir, "api.json")
	if err := os.WriteFile(file, []byte(planSpec("a", "nginx:1.27")), 0o644); err != nil {
		t.Fatal(err)
	}
	e.Etcdctl(t, "put", "/desired/api/a", planSpec("a", "nginx:1.28")) // not rolled out
	for _, args := range [][]string{{"-f", file}, {"--dir", dir}} {
		code, out, errb := runCLI(t, env, append([]string{"plan"}, args...)...)
		if code != exitOK || strings.Contains(out, "/desired") || !strings.Contains(out, "No changes") {
			t.Errorf("plan %v: exit %d, want 0 without a word of /desired, which differs\n%s%s", args, code, out, errb)
		}
	}
}

// TestPlanStdinGroupDefinedTwice: a group defined twice on standard input
// is invalid as a whole, as in a file: plan -f - lists it as invalid
// rather than planning one of its definitions.
func TestPlanStdinGroupDefinedTwice(t *testing.T) {
	e := etcdtest.Start(t)
	_, url := newSim(t, nil)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint(), "THESEUS_MARATHON": url}
	doc := func(image string) string {
		return "apiVersion: theseus/v1\nkind: Group\nmetadata: {service: web, labels: [dev]}\n" +
			"spec: {image: " + image + ", instances: 2, cpus: 0.1, mem: 64}\n"
	}
	stdin := doc("nginx:1.27") + "---\n" + doc("nginx:1.28")
	dir := t.TempDir()
	file := filepath.Join(dir, "web.yaml")
	if err := os.WriteFile(file, []byte(stdin), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{file, "-"} {
		code, out, errb := runCLIStdin(t, env, stdin, "plan", "--ascii", "-f", src)
		if code != exitError || !strings.Contains(out, "! web/dev invalid") || strings.Contains(out, "+ web/dev create") {
			t.Errorf("plan -f %s: exit %d, want 1 with web/dev invalid, not planned\n%s%s", src, code, out, errb)
		}
	}
}

// TestPlanTasksMissing: a group whose app is as the spec says, with no
// deployment in flight, but whose tasks crash is not in sync: plan exits
// 2 with the group held back, tasks missing, as /desired's plan and as a
// plan of the file, where it said "No changes" and exited 0, and a CI job
// waiting for plan took a crash-looping rollout for done.
func TestPlanTasksMissing(t *testing.T) {
	e := etcdtest.Start(t)
	// The sim's time moves only when the test moves it: the crashed
	// tasks stay down while the plans are made.
	clock := marathonsim.NewManualClock(time.Now())
	sim, err := marathonsim.New(marathonsim.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { sim.Close(); srv.CloseClientConnections(); srv.Close() })
	sim.Faults().CrashImage("crash:*", 10*time.Second)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint(), "THESEUS_MARATHON": srv.URL}
	spec := strings.Replace(webWith("api"), "nginx:1.27", "crash:1", 1)
	file := filepath.Join(t.TempDir(), "web.json")
	writeFile(t, file, spec)
	deployFiles(t, env, file)
	e.Etcdctl(t, "put", "/services/web/dev/config", `{"upstream":"api"}`)
	crashed := func() bool { a, ok := sim.App("/web/dev"); return ok && a.Deployment == "" && a.TasksRunning < 2 }
	for i := 0; !crashed(); i++ {
		if i == 600 {
			t.Fatal("after 10 minutes of the sim's time, web/dev is still deploying or all its tasks run")
		}
		clock.Advance(time.Second)
	}
	for _, args := range [][]string{nil, {"-f", file}} {
		code, doc := planJSON(t, env, args...)
		if code != exitChanges || len(doc.Actions) != 1 || doc.Actions[0].Action != "wait" || doc.Actions[0].HeldBack != "tasks-missing" ||
			!strings.Contains(doc.Actions[0].Reason, "of 2 tasks running") {
			t.Errorf("plan %v with the group's tasks crashing: exit %d, %+v; want a wait held back, tasks missing", args, code, doc)
		}
	}
}
