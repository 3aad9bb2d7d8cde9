package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/drivers/etcd/etcdtest"
)

// runCLIStdin is runCLI with standard input.
func runCLIStdin(t *testing.T, env map[string]string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	c := &cli{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(k string) string { return env[k] }}
	return run(t.Context(), args, c), out.String(), errb.String()
}

// copyDir copies the files of src (not recursively) into a new temporary
// directory, so that a test can edit them.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dst, e.Name()), string(data))
	}
	return dst
}

func writeFile(t *testing.T, name, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// desiredKeys returns the keys under prefix/desired/.
func desiredKeys(t *testing.T, e *etcdtest.Etcd, prefix string) []string {
	t.Helper()
	resp, err := e.Client.Get(t.Context(), prefix+"/desired/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, kv := range resp.Kvs {
		keys = append(keys, strings.TrimPrefix(string(kv.Key), prefix+"/desired/"))
	}
	return keys
}

// TestApply walks a directory through apply: created, then unchanged,
// then one file edited; standard input; and every way apply refuses to
// write.
func TestApply(t *testing.T) {
	e := etcdtest.Start(t)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint()}
	dir := copyDir(t, "../../testdata/specs")

	steps := []struct {
		name   string
		edit   func()
		want   []string
		counts string
	}{
		{"create", nil, []string{"created haproxy/dev (revision", "created frontend/dev.frontend", "created web/dev"}, "8 created, 0 changed, 0 unchanged"},
		{"re-apply", nil, []string{"unchanged haproxy/dev", "unchanged web/dev"}, "0 created, 0 changed, 8 unchanged"},
		{"edit one", func() {
			writeFile(t, filepath.Join(dir, "web.json"), strings.Replace(minimal, "nginx:1.27", "nginx:1.28", 1))
		}, []string{"changed web/dev", "unchanged haproxy/dev"}, "0 created, 1 changed, 7 unchanged"},
	}
	for _, st := range steps {
		if st.edit != nil {
			st.edit()
		}
		code, out, errb := runCLI(t, env, "apply", "-f", dir)
		if code != exitOK {
			t.Fatalf("%s: exit %d\n%s%s", st.name, code, out, errb)
		}
		for _, w := range append(st.want, st.counts) {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", st.name, w, out)
			}
		}
	}
	if got := desiredKeys(t, e, ""); len(got) != 8 {
		t.Errorf("/desired holds %q, want the 8 groups", got)
	}
	got := e.Etcdctl(t, "get", "/desired/web/dev", "--print-value-only")
	if !strings.Contains(got, "nginx:1.28") {
		t.Errorf("/desired/web/dev = %s", got)
	}

	code, out, errb := runCLIStdin(t, env, strings.Replace(minimal, `"dev"`, `"stdin"`, 1), "apply", "-f", "-")
	if code != exitOK || !strings.Contains(out, "created web/stdin") {
		t.Errorf("apply -f -: exit %d\n%s%s", code, out, errb)
	}
}

// TestApplyRefuses: with any invalid spec nothing is written, and every
// problem is named with its file, line and field.
func TestApplyRefuses(t *testing.T) {
	e := etcdtest.Start(t)
	mixed := copyDir(t, "../../testdata/specs")
	writeFile(t, filepath.Join(mixed, "zz-bad.yaml"), "apiVersion: theseus/v1\nkind: Group\nmetadata: {service: bad, labels: [dev]}\nspec:\n  image: nginx\n  instances: -1\n  cpus: 0.1\n  mem: 64\n")
	writeFile(t, filepath.Join(mixed, "aa-bad.json"), `{"apiVersion":"theseus/v1","kind":"Group","metadata":{"service":"web","labels":["x"]},"spec":{"image":"nginx","instancse":2,"cpus":0.1,"mem":64}}`)
	other := t.TempDir()
	writeFile(t, filepath.Join(other, "web.json"), minimal)

	tests := []struct {
		name  string
		args  []string
		stdin string
		want  []string
	}{
		{"one invalid file among valid ones", []string{"-f", mixed}, "", []string{
			filepath.Join(mixed, "zz-bad.yaml") + ":6: spec.instances:",
			filepath.Join(mixed, "aa-bad.json") + ":1: spec.instancse:",
			"2 problem(s) found; nothing written"}},
		{"a group in two paths", []string{"-f", "../../testdata/specs", "-f", other}, "", []string{"group web/dev is also defined at"}},
		{"invalid stdin", []string{"-f", "-"}, "kind: Group\n", []string{"(stdin)"}},
		{"missing path", []string{"-f", "no/such/dir"}, "", []string{"no/such/dir"}},
		{"empty directory", []string{"-f", t.TempDir()}, "", []string{"no specs found"}},
		{"nothing to apply", nil, "", []string{"nothing to apply"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errb := runCLIStdin(t, map[string]string{"THESEUS_ETCD": e.Endpoint()}, tt.stdin, append([]string{"apply"}, tt.args...)...)
			if code != exitError {
				t.Errorf("exit %d, want 1", code)
			}
			for _, w := range tt.want {
				if !strings.Contains(errb, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errb)
				}
			}
			if keys := desiredKeys(t, e, ""); len(keys) != 0 {
				t.Errorf("wrote %q", keys)
			}
		})
	}
}

// TestDelete removes a group's key, and says what becomes of its app; an
// absent key is a clear error.
func TestDelete(t *testing.T) {
	e := etcdtest.Start(t)
	_, url := newSim(t, nil)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint(), "THESEUS_MARATHON": url}
	deployExamples(t, env)
	e.Etcdctl(t, "put", "/desired/gone/dev", `{"apiVersion":"theseus/v1","kind":"Group","spec":{"image":"nginx","instances":1,"cpus":0.1,"mem":64}}`)
	tests := []struct {
		name     string
		args     []string
		code     int
		want     string
		leftKeys int
	}{
		{"present", []string{"frontend", "-l", "frontend,dev"}, exitOK, "deleted frontend/dev.frontend (revision", 8},
		{"present, with its app", []string{"web", "-l", "dev"}, exitOK, "task(s): a controller running with --prune deletes it; " +
			"one without leaves it running, shown as Orphaned by theseusd get (to delete it then: theseusd plan --prune -out plan.json", 7},
		{"present, no app", []string{"gone", "-l", "dev"}, exitOK, "no Marathon app runs at /gone/dev", 6},
		{"absent", []string{"frontend", "-l", "dev,frontend"}, exitError, "group frontend/dev.frontend has no desired spec (/desired/frontend/dev.frontend): nothing deleted", 6},
		{"no labels", []string{"web"}, exitError, "-l LABELS is required", 6},
		{"bad labels", []string{"web", "-l", "Dev"}, exitError, "Dev", 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errb := runCLI(t, env, append([]string{"delete"}, tt.args...)...)
			if code != tt.code || !strings.Contains(out+errb, tt.want) {
				t.Errorf("exit %d, want %d with %q:\n%s%s", code, tt.code, tt.want, out, errb)
			}
			if n := len(desiredKeys(t, e, "")); n != tt.leftKeys {
				t.Errorf("%d keys left, want %d", n, tt.leftKeys)
			}
		})
	}
}

// TestEtcdEnvironment: --etcd and --prefix beat THESEUS_ETCD and
// THESEUS_PREFIX, which beat the defaults; an unreachable etcd is named,
// with where its address came from, within the dial timeout.
func TestEtcdEnvironment(t *testing.T) {
	e := etcdtest.Start(t)
	dead := "127.0.0.1:1"
	tests := []struct {
		name       string
		env        map[string]string
		args       []string
		code       int
		wantPrefix string
		wantErr    []string
	}{
		{"environment", map[string]string{"THESEUS_ETCD": e.Endpoint(), "THESEUS_PREFIX": "/env"}, nil, exitOK, "/env", nil},
		{"flags beat environment", map[string]string{"THESEUS_ETCD": dead, "THESEUS_PREFIX": "/env"},
			[]string{"--etcd", e.Endpoint(), "--prefix", "/flag"}, exitOK, "/flag", nil},
		{"unreachable from environment", map[string]string{"THESEUS_ETCD": dead}, []string{"--etcd-dial-timeout", "300ms"},
			exitError, "", []string{"etcd at 127.0.0.1:1 does not answer within 300ms", "from THESEUS_ETCD"}},
		{"unreachable from flag", nil, []string{"--etcd", dead + ",127.0.0.1:2", "--etcd-dial-timeout", "300ms"},
			exitError, "", []string{"etcd at 127.0.0.1:1,127.0.0.1:2 does not answer", "from --etcd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			code, out, errb := runCLI(t, tt.env, append([]string{"apply", "-f", "../../testdata/specs/web.json"}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tt.code, out, errb)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(errb, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errb)
				}
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("took %s", took)
			}
			if tt.code == exitOK {
				if keys := desiredKeys(t, e, tt.wantPrefix); len(keys) != 1 {
					t.Errorf("%s/desired holds %q", tt.wantPrefix, keys)
				}
			}
		})
	}
}

// TestDeletePausedGroup: deleting the spec of a paused group says that
// its app stays until the group is resumed, since the controller makes
// no Marathon write for a paused group, a delete included.
func TestDeletePausedGroup(t *testing.T) {
	e := etcdtest.Start(t)
	_, url := newSim(t, nil)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint(), "THESEUS_MARATHON": url, "USER": "alice"}
	deployExamples(t, env)
	if code, out, errb := runCLI(t, env, "pause", "web", "-l", "dev", "--reason", "db migration"); code != exitOK {
		t.Fatalf("pause: exit %d\n%s%s", code, out, errb)
	}
	code, out, errb := runCLI(t, env, "delete", "web", "-l", "dev")
	if code != exitOK {
		t.Fatalf("delete: exit %d\n%s%s", code, out, errb)
	}
	want := "web/dev is paused (by alice@"
	if !strings.Contains(out+errb, want) || !strings.Contains(out+errb, "until theseusd resume web -l dev") {
		t.Errorf("delete of a paused group does not say its app stays until resumed (%q):\n%s%s", want, out, errb)
	}
	// With no app to delete, there is nothing to say of the pause.
	e.Etcdctl(t, "put", "/desired/gone/dev", `{"apiVersion":"theseus/v1","kind":"Group","spec":{"image":"nginx","instances":1,"cpus":0.1,"mem":64}}`)
	if code, out, errb := runCLI(t, env, "pause", "gone", "-l", "dev"); code != exitOK {
		t.Fatalf("pause: exit %d\n%s%s", code, out, errb)
	}
	code, out, errb = runCLI(t, env, "delete", "gone", "-l", "dev")
	if code != exitOK || !strings.Contains(out, "no Marathon app runs at /gone/dev") || strings.Contains(out, "paused") {
		t.Errorf("delete of a paused group without an app: exit %d\n%s%s", code, out, errb)
	}
}
