package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"theseus.dev/drivers/etcd/etcdtest"
)

// TestPlanAndApplyPlan: plan's exit codes and outputs, a saved plan carried
// out by apply --plan, and a stale one refused.
func TestPlanAndApplyPlan(t *testing.T) {
	e := etcdtest.Start(t)
	sim, url := newSim(t, nil)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint(), "THESEUS_MARATHON": url}

	if code, out, errb := runCLI(t, env, "plan"); code != exitOK || !strings.Contains(out, "No changes") {
		t.Fatalf("empty plan: exit %d\n%s%s", code, out, errb)
	}
	if code, out, errb := runCLI(t, env, "apply", "-f", "../../testdata/specs"); code != exitOK || !strings.Contains(out, "created haproxy/dev") {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errb)
	}

	code, out, _ := runCLI(t, env, "plan")
	if code != exitChanges || !strings.Contains(out, "+ haproxy/dev") || !strings.Contains(out, "spec.image") {
		t.Fatalf("plan with pending creates: exit %d, want 2\n%s", code, out)
	}
	code, out, _ = runCLI(t, env, "plan", "-l", "testing")
	if code != exitChanges || strings.Contains(out, "haproxy/dev") || !strings.Contains(out, "haproxy/testing") {
		t.Errorf("plan -l testing: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, env, "plan", "-o", "json")
	var doc struct {
		Kind    string `json:"kind"`
		InSync  bool   `json:"inSync"`
		Actions []struct {
			Action string `json:"action"`
			Group  string `json:"group"`
		} `json:"actions"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != exitChanges || doc.Kind != "Plan" || doc.InSync || len(doc.Actions) == 0 {
		t.Fatalf("plan -o json: exit %d, err %v\n%s", code, err, out)
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

	// A fresh one is carried out, and then nothing is pending.
	if code, _, errb := runCLI(t, env, "plan", "-out", saved); code != exitChanges {
		t.Fatalf("plan -out: exit %d: %s", code, errb)
	}
	code, out, errb = runCLI(t, env, "apply", "--plan", saved)
	if code != exitOK || !strings.Contains(out, "create web/dev") {
		t.Fatalf("apply --plan: exit %d\n%s%s", code, out, errb)
	}
	if code, out, _ := runCLI(t, env, "plan"); code != exitOK {
		t.Errorf("plan after apply --plan: exit %d, want 0\n%s", code, out)
	}
}

func TestPlanErrors(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("apiVersion: theseus/v1\nkind: Group\nmetadata: {service: web, labels: [dev]}\nspec: {image: nginx, instances: -2}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, url := newSim(t, nil)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"marathon unreachable", map[string]string{"THESEUS_MARATHON": "http://127.0.0.1:1"}, []string{"plan", "--dir", "../../testdata/specs", "--marathon-timeout", "300ms"}, "127.0.0.1:1"},
		{"etcd unreachable", map[string]string{"THESEUS_ETCD": "127.0.0.1:1", "THESEUS_MARATHON": url}, []string{"plan", "--etcd-dial-timeout", "300ms"}, "etcd at 127.0.0.1:1"},
		{"invalid dir", map[string]string{"THESEUS_MARATHON": url}, []string{"plan", "--dir", dir}, "spec.instances"},
		{"bad output", nil, []string{"plan", "-o", "yaml"}, `-o "yaml"`},
		{"bad selector", nil, []string{"plan", "-l", "Dev"}, "label selector"},
		{"out with dir", nil, []string{"plan", "--dir", dir, "-out", "x"}, "cannot be applied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errb := runCLI(t, tt.env, tt.args...)
			if code != exitError || !strings.Contains(errb, tt.want) {
				t.Errorf("exit %d, want 1 with %q:\n%s", code, tt.want, errb)
			}
		})
	}
}

// TestPlanDir: --dir plans from local files, with no etcd at all.
func TestPlanDir(t *testing.T) {
	_, url := newSim(t, nil)
	code, out, errb := runCLI(t, map[string]string{"THESEUS_MARATHON": url, "THESEUS_ETCD": "127.0.0.1:1"}, "plan", "--dir", "../../testdata/specs", "--ascii")
	if code != exitChanges || !strings.Contains(out, "+ cassandra/testing") {
		t.Fatalf("exit %d\n%s%s", code, out, errb)
	}
}
