package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes, the same for every command.
const (
	exitOK      = 0
	exitError   = 1
	exitChanges = 2 // plan: changes pending
)

// cli is what the commands take from the process: streams and environment.
// Tests build one with buffers and a map-backed getenv.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// ownsProcess is set when the command line is the process's own, as
	// in main: only then does run set the Go runtime's collector and
	// memory limit, not in a test's process that runs commands.
	ownsProcess bool
}

// exitCodeError makes a command end with a given exit code. With a nil err
// nothing is printed.
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit code %d", e.code)
	}
	return e.err.Error()
}

func (e *exitCodeError) Unwrap() error { return e.err }

// run executes the command line args and returns the process exit code.
func run(ctx context.Context, args []string, c *cli) int {
	root := newRootCmd(c)
	root.SetArgs(singleDashLong(args))
	root.SetIn(c.stdin)
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ec *exitCodeError
	if errors.As(err, &ec) {
		if ec.err != nil {
			fmt.Fprintln(c.stderr, "error:", ec.err)
		}
		return ec.code
	}
	fmt.Fprintln(c.stderr, "error:", err)
	return exitError
}

func newRootCmd(c *cli) *cobra.Command {
	root := &cobra.Command{
		Use:   "theseusd",
		Short: "theseus keeps a Marathon cluster in the state declared in etcd",
		Long: `theseus keeps a Mesos Marathon cluster in the state its users declare.
Group specs live in etcd under /desired; the controller diffs them against
what Marathon runs and drives Marathon there.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       buildVersion().String(),
		// Once per process, before anything is read: a secret given as a
		// flag is visible to every user of the machine, and Marathon's
		// credentials over plain HTTP to every host on the path.
		PersistentPreRun: func(cmd *cobra.Command, _ []string) {
			warnSecretFlags(cmd.Flags(), c.stderr)
			warnClearTextMarathon(cmd.Flags(), c.getenv, c.stderr)
		},
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(
		newValidateCmd(c),
		newRunCmd(c),
		newDevCmd(c),
		newPlanCmd(c),
		newRestartCmd(c),
		newApplyCmd(c),
		newDeleteCmd(c),
		newEndpointsCmd(c),
		newGetCmd(c),
		newSyncCmd(c),
		newVersionCmd(c),
		newPruneCmd(c),
		newHistoryCmd(c),
		newRollbackCmd(c),
		newPauseCmd(c),
		newResumeCmd(c),
		newAgentsCmd(c),
		newTopCmd(c),
		newLogsCmd(c),
	)
	return root
}

// singleDashLong rewrites "-out" to "--out": `plan -out FILE` is spelled
// the way Terraform and Nomad spell it, which pflag would read as "-o ut".
func singleDashLong(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "--" {
			copy(out[i:], args[i:])
			break
		}
		if a == "-out" || strings.HasPrefix(a, "-out=") {
			a = "-" + a
		}
		out[i] = a
	}
	return out
}
