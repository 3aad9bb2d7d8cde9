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
	ctx, stop := signalContext()
	code := run(ctx, os.Args[1:], &cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, ownsProcess: true})
	stop()
	os.Exit(code)
}

// signalContext is cancelled by the first SIGINT or SIGTERM, which asks
// for a graceful stop (a daemon lets calls in flight finish within
// --grace). A second one ends the process at once, as it ends a process
// that handles neither: the handling is given up before ctx is cancelled.
func signalContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case <-ch:
		case <-ctx.Done():
		}
		signal.Stop(ch)
		cancel()
	}()
	return ctx, cancel
}
