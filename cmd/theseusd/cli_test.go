package main

import (
	"bytes"
	"context"
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
