package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"theseus.dev/drivers/marathon"
	"theseus.dev/drivers/mesos"
	"theseus.dev/viewer"
)

func newLogsCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "logs SERVICE [-l LABELS] [--stderr] [-f] [--tail N]",
		Short: "Print the logs of a group's containers, each line prefixed with its container",
		Long: `Print the stdout (or with --stderr the stderr) of the containers of the
selected groups, read from their sandboxes on the Mesos agents, each line
prefixed with "[container] ", like kubectl logs -l. --tail keeps the last N
lines of each (by default every line, or the last 10 with -l). -f follows
the logs as they grow, until interrupted: containers that start are
followed from their first line, and a container that ends has its last
lines printed (a failed one's say why it failed).`,
		Example: `  theseusd logs web -l dev
  theseusd logs ingestor -l testing --stderr -f
  theseusd logs haproxy --tail 100`,
		Args: cobra.ExactArgs(1),
	}
	fs := cmd.Flags()
	mf := addMarathonFlags(fs)
	msf := addMesosFlags(fs)
	selector := fs.StringP("labels", "l", "", `only groups with all these labels ("testing,db"; "!dev" excludes)`)
	stderr := fs.Bool("stderr", false, "print stderr instead of stdout")
	follow := fs.BoolP("follow", "f", false, "follow the logs as they grow, until interrupted")
	tail := fs.Int("tail", -1, "lines of each container to print first; -1: all, or 10 with -l")
	poll := fs.Duration("poll", time.Second, "with -f, how often the logs are read")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		q, err := groupQuery(args, *selector)
		if err != nil {
			return err
		}
		if *poll <= 0 {
			return fmt.Errorf("--poll %s: must be positive", *poll)
		}
		n := *tail
		if n < 0 && *selector != "" {
			n = 10
		}
		mc, err := mf.client(c.getenv, marathon.Hooks{})
		if err != nil {
			return err
		}
		ms, err := msf.client(c.getenv)
		if err != nil {
			return err
		}
		stream := mesos.Stdout
		if *stderr {
			stream = mesos.Stderr
		}
		lf := &logFollower{marathon: mc, mesos: ms, q: q, stream: stream, out: c.stdout, errw: c.stderr, open: map[string]*mesos.LogFile{}}
		return lf.run(cmd.Context(), n, *follow, *poll)
	}
	return cmd
}

// logFollower prints the logs of the containers a query selects.
type logFollower struct {
	marathon *marathon.Client
	mesos    *mesos.Client
	q        viewer.Query
	stream   string
	out      io.Writer
	errw     io.Writer

	open   map[string]*mesos.LogFile // by container
	order  []string                  // containers in the order opened
	warned map[string]bool
	// strict makes the first trouble the command's error (without -f);
	// with -f trouble is reported and the logs followed on.
	strict bool
	err    error
}

// containers lists the containers of the selected groups: name → host.
func (l *logFollower) containers(ctx context.Context) ([]viewer.UsageTarget, error) {
	apps, err := l.marathon.List(ctx)
	if err != nil {
		return nil, err
	}
	return viewer.TargetsOfApps(apps, l.q), nil
}

func (l *logFollower) run(ctx context.Context, tail int, follow bool, poll time.Duration) error {
	cs, err := l.containers(ctx)
	if err != nil {
		return err
	}
	if len(cs) == 0 {
		return fmt.Errorf("no containers of %s in Marathon", queryText(l.q))
	}
	l.strict = !follow
	if err := l.openNew(ctx, cs, tail); err != nil {
		return err
	}
	if !follow {
		return l.err
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		for _, name := range l.order {
			if err := l.next(ctx, name, false); err != nil {
				return err
			}
		}
		cs, err := l.containers(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			fmt.Fprintln(l.errw, "warning:", err)
			continue
		}
		if err := l.closeGone(ctx, cs); err != nil {
			return err
		}
		// A container that starts is followed from its first line.
		if err := l.openNew(ctx, cs, -1); err != nil {
			return err
		}
	}
}

// openNew opens the logs of containers not open yet and prints their
// last tail lines. A sandbox not there yet (a task staging) is tried
// again next time.
func (l *logFollower) openNew(ctx context.Context, cs []viewer.UsageTarget, tail int) error {
	var agents []mesos.Agent
	for _, c := range cs {
		if l.open[c.Name] != nil {
			continue
		}
		if agents == nil {
			var err error
			if agents, err = l.mesos.Agents(ctx); err != nil {
				l.warn("mesos", err)
				return nil
			}
		}
		a, err := mesos.FindAgent(agents, c.Host)
		if err != nil {
			l.warn(c.Name, err)
			continue
		}
		f, err := l.mesos.OpenLog(ctx, a, c.Name, l.stream)
		if err != nil {
			if errors.Is(err, mesos.ErrNotFound) {
				// Not there yet (staging): tried again at the next read.
				if l.strict {
					fmt.Fprintf(l.errw, "warning: %s has no sandbox yet\n", c.Name)
				}
				continue
			}
			l.warn(c.Name, err)
			continue
		}
		lines, err := f.Tail(ctx, tail)
		if err != nil {
			l.warn(c.Name, err)
			continue
		}
		l.open[c.Name] = f
		l.order = append(l.order, c.Name)
		if err := l.print(c.Name, lines); err != nil {
			return err
		}
	}
	return nil
}

// next prints what a container wrote since the last read; final prints
// a last line without its newline too.
func (l *logFollower) next(ctx context.Context, name string, final bool) error {
	f := l.open[name]
	lines, err := f.Next(ctx)
	if perr := l.print(name, lines); perr != nil {
		return perr
	}
	if err != nil {
		l.warn(name, err)
		return nil
	}
	if final {
		return l.print(name, f.Flush())
	}
	return nil
}

// closeGone prints the last lines of the containers that ended and stops
// following them.
func (l *logFollower) closeGone(ctx context.Context, cs []viewer.UsageTarget) error {
	live := map[string]bool{}
	for _, c := range cs {
		live[c.Name] = true
	}
	kept := l.order[:0]
	for _, name := range l.order {
		if live[name] {
			kept = append(kept, name)
			continue
		}
		if err := l.next(ctx, name, true); err != nil {
			return err
		}
		delete(l.open, name)
	}
	l.order = kept
	return nil
}

func (l *logFollower) print(name string, lines []string) error {
	for _, line := range lines {
		if _, err := fmt.Fprintf(l.out, "[%s] %s\n", name, line); err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}
	return nil
}

// warn reports a container whose log cannot be read, once per container
// and kind of trouble; a closed context is no trouble.
func (l *logFollower) warn(name string, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	if l.strict {
		if l.err == nil {
			l.err = fmt.Errorf("%s: %w", name, err)
		}
		return
	}
	if l.warned == nil {
		l.warned = map[string]bool{}
	}
	key := name + ": " + err.Error()
	if !l.warned[key] {
		l.warned[key] = true
		fmt.Fprintf(l.errw, "warning: %s: %v\n", name, err)
	}
}
