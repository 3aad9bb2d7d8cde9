package main

import (
	"strings"
	"testing"

	"theseus.dev/drivers/etcd/etcdtest"
)

// TestPruneCommand: prune shows the guard's record; --allow-mass-delete
// records a release with who gave it and why, until it expires;
// --revoke ends it.
func TestPruneCommand(t *testing.T) {
	e := etcdtest.Start(t)
	env := map[string]string{"THESEUS_ETCD": e.Endpoint(), "USER": "alice"}
	steps := []struct {
		args []string
		want []string
	}{
		{[]string{"prune"}, []string{"0 app(s) deleted in the last 10m0s", "not released"}},
		{[]string{"prune", "--allow-mass-delete", "--for", "5m", "--reason", "retiring api"}, []string{"released the mass-deletion guard until", "(by alice@"}},
		{[]string{"prune"}, []string{"released by alice@", "(retiring api)"}},
		{[]string{"prune", "--revoke"}, []string{"holds again"}},
		{[]string{"prune"}, []string{"not released"}},
	}
	for _, st := range steps {
		code, out, errb := runCLI(t, env, st.args...)
		if code != exitOK {
			t.Fatalf("%v: exit %d\n%s%s", st.args, code, out, errb)
		}
		for _, w := range st.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", st.args, w, out)
			}
		}
	}
	if v := e.Etcdctl(t, "get", "/theseus/prune/release"); v != "" {
		t.Errorf("the release is still stored after --revoke: %s", v)
	}
	for _, args := range [][]string{{"prune", "--allow-mass-delete", "--revoke"}, {"prune", "--allow-mass-delete", "--for", "48h"},
		{"prune", "--for", "1h"}, {"prune", "--reason", "retiring api"}, {"prune", "--revoke", "--for", "1h"}} {
		if code, _, _ := runCLI(t, env, args...); code != exitError {
			t.Errorf("%v: exit %d, want 1", args, code)
		}
	}
	if v := e.Etcdctl(t, "get", "/theseus/prune/release"); v != "" {
		t.Errorf("a release is stored after prune without --allow-mass-delete: %s", v)
	}
	// The reason is the releaser's, shown escaped: a line break or an
	// escape sequence in it must not pass for output of its own.
	if code, out, errb := runCLI(t, env, "prune", "--allow-mass-delete", "--reason", "retiring api\nnot released\x1b[2J"); code != exitOK {
		t.Fatalf("release: exit %d\n%s%s", code, out, errb)
	}
	if _, out, _ := runCLI(t, env, "prune"); !strings.Contains(out, `(retiring api\nnot released\x1b[2J)`) || strings.Contains(out, "\x1b") {
		t.Errorf("prune shows the reason raw:\n%s", out)
	}
}

// TestGuardFlagsOutOfRange: a --max-delete-fraction that is not a share
// of the apps (50 meant as a percent would let every app go), or a
// --prune-window that is not positive, is refused before anything is
// started, by the daemon and by plan alike, rather than silently
// loosening or replacing the guard.
func TestGuardFlagsOutOfRange(t *testing.T) {
	dead := []string{"--etcd", "127.0.0.1:1", "--etcd-dial-timeout", "300ms", "--marathon", "http://127.0.0.1:1"}
	for _, cmd := range [][]string{{"run", "--prune"}, {"plan", "--prune"}, {"apply", "--plan", "plan.json"}} {
		for _, tt := range []struct {
			args []string
			want string
		}{
			{[]string{"--max-delete-fraction", "50"}, "--max-delete-fraction 50"},
			{[]string{"--max-delete-fraction", "0"}, "--max-delete-fraction 0"},
			{[]string{"--max-delete-fraction", "-0.5"}, "--max-delete-fraction -0.5"},
			{[]string{"--max-delete-fraction", "NaN"}, "--max-delete-fraction NaN"},
			{[]string{"--prune-window", "-10m"}, "--prune-window -10m0s"},
			{[]string{"--prune-window", "0s"}, "--prune-window 0s"},
		} {
			args := append(append(append([]string{}, cmd...), tt.args...), dead...)
			code, out, errb := runCLI(t, nil, args...)
			if code != exitError || !strings.Contains(errb, tt.want) {
				t.Errorf("%v: exit %d, want 1 naming %q:\n%s%s", args, code, tt.want, out, errb)
			}
		}
	}
	// apply -f writes specs and deletes nothing: a guard flag there is a
	// mistake, not a guard.
	for _, flag := range [][]string{{"--max-delete-fraction", "0.1"}, {"--prune-window", "5m"}, {"--allow-mass-delete"}} {
		args := append(append([]string{"apply", "-f", "specs.yaml"}, flag...), dead...)
		code, out, errb := runCLI(t, nil, args...)
		if want := flag[0] + " goes with --plan"; code != exitError || !strings.Contains(errb, want) {
			t.Errorf("%v: exit %d, want 1 saying %q:\n%s%s", args, code, want, out, errb)
		}
	}
}
