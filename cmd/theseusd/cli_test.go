package main

import (
	"bytes"
	"context"
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// runCLI runs the command line with the given environment and returns the
// exit code and the output streams.
func runCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	c := &cli{stdin: bytes.NewReader(nil), stdout: &out, stderr: &errb, getenv: func(k string) string { return env[k] }}
	ctx := t.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	code = run(ctx, args, c)
	return code, out.String(), errb.String()
}

// TestFlagHelpNamesTheType: pflag takes a `quoted` word in a flag's usage
// as the name of its value, so "--etcd string" would read "--etcd
// theseusd dev" in --help. No usage may hold a backquote.
func TestFlagHelpNamesTheType(t *testing.T) {
	var walk func(cmd *cobra.Command)
	walk = func(cmd *cobra.Command) {
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			if strings.Contains(f.Usage, "`") {
				name, _ := pflag.UnquoteUsage(f)
				t.Errorf("%s --%s: usage has a backquote, so --help shows its value as %q", cmd.CommandPath(), f.Name, name)
			}
		})
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd(&cli{getenv: func(string) string { return "" }}))
}

// TestVersion: `version` and `--version` print the same line, from the
// build information; -o json has it field by field.
func TestVersion(t *testing.T) {
	code, out, errb := runCLI(t, nil, "version")
	if code != exitOK || !strings.HasPrefix(out, "theseusd ") || !strings.Contains(out, runtime.Version()) {
		t.Fatalf("version: exit %d\n%s%s", code, out, errb)
	}
	if code, flag, _ := runCLI(t, nil, "--version"); code != exitOK || flag != out {
		t.Errorf("--version: exit %d, %q; want %q", code, flag, out)
	}
	code, js, _ := runCLI(t, nil, "version", "-o", "json")
	var v struct {
		Module, Version, GoVersion string
	}
	if err := json.Unmarshal([]byte(js), &v); code != exitOK || err != nil || v.Module != "theseus.dev" || v.Version == "" || v.GoVersion != runtime.Version() {
		t.Errorf("version -o json: exit %d, %v\n%s", code, err, js)
	}
	rev := version{Version: "v1.2.0", Module: "theseus.dev", Revision: "0123abc", Time: "2026-11-01T10:00:00Z", Modified: true, GoVersion: "go1.26.8"}
	if got, want := rev.String(), "theseusd v1.2.0 (theseus.dev), revision 0123abc with local changes of 2026-11-01T10:00:00Z, built with go1.26.8"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// TestFlagTypoSuggestion: a mistyped long flag gets the nearest one, as a
// mistyped command gets the nearest command.
func TestFlagTypoSuggestion(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"plan", "--prun"}, "Did you mean this?\n\t--prune"},
		{[]string{"get", "--wacth"}, "Did you mean this?\n\t--watch"},
		{[]string{"sync", "--dry"}, "Did you mean this?\n\t--dry-run"},
		{[]string{"apply", "--check-idx", "x"}, "Did you mean this?\n\t--check-index"},
		{[]string{"plan", "--zzzzzz"}, "unknown flag: --zzzzzz (see theseusd plan --help)"},
		{[]string{"plna"}, "Did you mean this?\n\tplan"},
	}
	for _, tt := range tests {
		code, _, errb := runCLI(t, nil, tt.args...)
		if code != exitError || !strings.Contains(errb, tt.want) {
			t.Errorf("%v: exit %d, want 1 with %q:\n%s", tt.args, code, tt.want, errb)
		}
	}
}

// TestPathArgumentSuggestion: apply, plan and sync read their files from
// flags, where validate takes them as arguments; a path given as an
// argument is refused, before anything is read or written, with the
// command line that reads it.
func TestPathArgumentSuggestion(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"apply", "web.yaml"}, `unexpected argument "web.yaml": theseusd apply reads its spec files from -f, and a saved plan from --plan` +
			"\n\nDid you mean this?\n\ttheseusd apply -f web.yaml\n"},
		{[]string{"apply", "--dry-run", "a.yaml", "my specs/"}, "Did you mean this?\n\ttheseusd apply -f a.yaml -f 'my specs/'\n"},
		{[]string{"plan", "specs/"}, "Did you mean this?\n\ttheseusd plan -f specs/\n"},
		{[]string{"sync", "it's"}, "theseusd sync reads its directory from --dir, or a git repository from --git\n\nDid you mean this?\n\ttheseusd sync --dir 'it'\\''s'\n"},
		{[]string{"sync", "a", "b"}, `unexpected arguments "a" "b": theseusd sync reads its directory from --dir, or a git repository from --git` + "\n"},
	}
	for _, tt := range tests {
		// No etcd answers at the default address in tests: the refusal
		// comes before any connection is tried.
		code, out, errb := runCLI(t, nil, tt.args...)
		if code != exitError || out != "" || !strings.HasSuffix(errb, tt.want) {
			t.Errorf("%v: exit %d, want 1 with %q:\n%s%s", tt.args, code, tt.want, out, errb)
		}
	}
}
