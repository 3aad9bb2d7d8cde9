// Command theseusd is theseus's one binary: the controller (run, dev) and
// the client commands (plan, apply, get, sync, ...). This package only
// parses flags and wires the other packages together; docs/design.md
// describes them.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], &cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, ownsProcess: true})
	stop()
	os.Exit(code)
}
