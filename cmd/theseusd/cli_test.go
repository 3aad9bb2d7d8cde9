package main

import (
	"bytes"
	"context"
	"testing"
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
