package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
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
lines printed (a failed one's say why it failed), then a line on stderr
with its final state. A container whose agent
cannot be read, or has no sandbox for it, is named in a warning and the
others are printed all the same; without -f the command then exits 1.`,
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
		lf := &logFollower{marathon: mc, mesos: ms, q: q, stream: stream, out: c.stdout, errw: c.stderr}
		return lf.run(cmd.Context(), n, *follow, *poll)
	}
	return cmd
}

// maxLogReads bounds the sandboxes opened at once.
const maxLogReads = 8

// logFollower prints the logs of the containers a query selects. With
// -f each container is followed on its own, so that an agent that does
// not answer holds back only its own containers' lines.
type logFollower struct {
	marathon *marathon.Client
	mesos    *mesos.Client
	q        viewer.Query
	stream   string
	out      io.Writer
	errw     io.Writer

	// strict (without -f) counts the containers whose logs could not be
	// read, and makes the command fail when there are any; with -f
	// trouble is reported and the logs followed on.
	strict bool

	mu       sync.Mutex // guards what follows, and the writes to out and errw
	warned   map[string]bool
	failed   int
	writeErr error
	stop     context.CancelFunc
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
	if !follow {
		l.strict = true
		if _, err := l.openNew(ctx, cs, nil, func(string) int { return tail }); err != nil {
			return err
		}
		if l.writeErr != nil {
			return l.writeErr
		}
		if l.failed > 0 {
			return fmt.Errorf("the logs of %d of %d containers could not be read (warnings above)", l.failed, len(cs))
		}
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	l.stop = cancel
	following := map[string]chan struct{}{} // container → closed when it is gone
	// The containers running at the start get --tail when they are
	// opened, later too (their agent did not answer at first); those that
	// start later are followed from their first line.
	first := map[string]bool{}
	for _, c := range cs {
		first[c.Name] = !launching(c.State)
	}
	tailOf := func(name string) int {
		if first[name] {
			return tail
		}
		return -1
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		opened, err := l.openNew(ctx, cs, following, tailOf)
		if err != nil {
			l.warn("", err)
		}
		for name, f := range opened {
			gone := make(chan struct{})
			following[name] = gone
			wg.Go(func() { l.follow(ctx, f, gone, poll) })
		}
		select {
		case <-ctx.Done():
			return l.writeError()
		case <-t.C:
		}
		next, err := l.containers(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return l.writeError()
			}
			l.warn("", err)
			continue
		}
		cs = next
		live := map[string]bool{}
		for _, c := range cs {
			live[c.Name] = true
		}
		for name, gone := range following {
			if !live[name] {
				close(gone)
				delete(following, name)
			}
		}
	}
}

func (l *logFollower) writeError() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.writeErr
}

// opening is what opening one container's log came to.
type opening struct {
	f     *mesos.LogFile
	lines []string
	err   error
	// notYet: its agent has no sandbox for it (yet: a task staging).
	notYet bool
	// fromStart: every line is wanted, read and printed piece by piece
	// rather than held whole.
	fromStart bool
}

// openNew opens, at once, the logs of the containers not open yet and
// prints their last tailOf(name) lines, container after container. A sandbox
// not there yet (a task staging) is tried again next time; a container
// whose log cannot be read, or whose sandbox is missing once it runs, is
// a warning (without -f, a failure).
func (l *logFollower) openNew(ctx context.Context, cs []viewer.UsageTarget, open map[string]chan struct{}, tailOf func(string) int) (map[string]*mesos.LogFile, error) {
	var todo []viewer.UsageTarget
	for _, c := range cs {
		if _, ok := open[c.Name]; !ok {
			todo = append(todo, c)
		}
	}
	if len(todo) == 0 {
		return nil, nil
	}
	agents, err := l.mesos.Agents(ctx)
	if err != nil {
		return nil, fmt.Errorf("read Mesos: %w", err)
	}
	results := make([]opening, len(todo))
	sem := make(chan struct{}, maxLogReads)
	var wg sync.WaitGroup
	for i, c := range todo {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = l.openOne(ctx, agents, c, tailOf(c.Name))
		})
	}
	wg.Wait()
	opened := map[string]*mesos.LogFile{}
	for i, c := range todo {
		r := results[i]
		switch {
		case r.notYet && !launching(c.State):
			// Launched, it has one: the agent lost it (it came back under
			// a new id, or collected it).
			l.warn(c.Name, fmt.Errorf("agent %s has no sandbox for it, though Marathon has it %s", c.Host, c.State))
		case r.notYet:
			if l.strict {
				l.printTo(l.errw, fmt.Sprintf("warning: %s has no sandbox yet on %s\n", c.Name, c.Host))
			}
		case r.err != nil:
			l.warn(c.Name, r.err)
		case r.fromStart:
			for {
				lines, err := r.f.Next(ctx)
				l.print(c.Name, lines)
				if err != nil {
					l.warn(c.Name, fmt.Errorf("agent %s: %w", c.Host, err))
					break
				}
				if !r.f.More() {
					if l.strict {
						// Printed once: a last line without its newline too.
						l.print(c.Name, r.f.Flush())
					}
					break
				}
			}
			opened[c.Name] = r.f
		default:
			l.print(c.Name, r.lines)
			opened[c.Name] = r.f
		}
	}
	return opened, nil
}

// launching reports whether a Marathon task state is one before its
// sandbox is sure to be there.
func launching(state string) bool {
	return state == "" || state == "TASK_STAGING" || state == "TASK_STARTING"
}

// openOne opens one container's log and reads its last tail lines; with
// tail < 0 the log is left at its start, to be printed as it is read.
func (l *logFollower) openOne(ctx context.Context, agents []mesos.Agent, c viewer.UsageTarget, tail int) opening {
	a, err := mesos.FindAgent(agents, c.Host)
	if err != nil {
		return opening{err: fmt.Errorf("the Mesos master does not list its agent %s (unreachable or removed)", c.Host)}
	}
	f, err := l.mesos.OpenLog(ctx, a, c.Name, l.stream)
	switch {
	case errors.Is(err, mesos.ErrNotFound):
		return opening{notYet: true}
	case err != nil:
		return opening{err: fmt.Errorf("agent %s: %w", c.Host, err)}
	}
	if tail < 0 {
		return opening{f: f, fromStart: true}
	}
	lines, err := f.Tail(ctx, tail)
	if err == nil && l.strict {
		// Printed once: a last line without its newline (a line being
		// written, or the last words of a crash) is one of the last.
		var more []string
		if more, err = f.Next(ctx); err == nil {
			lines = append(append(lines, more...), f.Flush()...)
			lines = lines[max(0, len(lines)-tail):]
		}
	}
	if err != nil {
		return opening{err: fmt.Errorf("agent %s: %w", c.Host, err)}
	}
	return opening{f: f, lines: lines}
}

// follow prints what a container writes, every poll, until ctx ends or
// the container is gone: then its last lines are printed, a last one
// without its newline too, and a line on stderr says it ended.
func (l *logFollower) follow(ctx context.Context, f *mesos.LogFile, gone <-chan struct{}, poll time.Duration) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		final := false
		select {
		case <-ctx.Done():
			return
		case <-gone:
			final = true
		case <-t.C:
		}
		lines, err := f.Next(ctx)
		l.print(f.TaskID, lines)
		// More than one read's worth: read on, or the last read of a
		// container that ended would stop short and cut a line.
		for err == nil && f.More() {
			lines, err = f.Next(ctx)
			l.print(f.TaskID, lines)
		}
		if err != nil {
			l.warn(f.TaskID, fmt.Errorf("agent %s: %w", f.Agent.Hostname, err))
		} else if final {
			l.print(f.TaskID, f.Flush())
		}
		if final {
			if text := l.endedText(ctx, f.TaskID); ctx.Err() == nil {
				l.printTo(l.errw, text)
			}
			return
		}
	}
}

// endedText says that a container followed is gone, and how it ended
// when the Mesos master knows.
func (l *logFollower) endedText(ctx context.Context, id string) string {
	t, err := l.mesos.Task(ctx, id)
	switch {
	case err != nil || t.State == "":
		return fmt.Sprintf("%s is no longer listed by Marathon\n", id)
	case t.Terminal():
		return fmt.Sprintf("%s ended: %s\n", id, t.State)
	}
	return fmt.Sprintf("%s is no longer listed by Marathon (Mesos has it %s)\n", id, t.State)
}

func (l *logFollower) print(name string, lines []string) {
	if len(lines) == 0 {
		return
	}
	var b strings.Builder
	for _, line := range lines {
		fmt.Fprintf(&b, "[%s] %s\n", name, line)
	}
	l.printTo(l.out, b.String())
}

// printTo writes text whole; a write that fails (stdout closed) stops
// the command with its error.
func (l *logFollower) printTo(w io.Writer, text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.writeErr != nil {
		return
	}
	if _, err := io.WriteString(w, text); err != nil && w == l.out {
		l.writeErr = fmt.Errorf("write: %w", err)
		if l.stop != nil {
			l.stop()
		}
	}
}

// warn reports a container whose log cannot be read (name "": Mesos or
// Marathon), once per container and kind of trouble (without -f, every
// one, and counts it); a closed context is no trouble.
func (l *logFollower) warn(name string, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	l.mu.Lock()
	if l.strict {
		l.failed++
	} else {
		if l.warned == nil {
			l.warned = map[string]bool{}
		}
		key := name + ": " + err.Error()
		if l.warned[key] {
			l.mu.Unlock()
			return
		}
		l.warned[key] = true
	}
	l.mu.Unlock()
	if name != "" {
		err = fmt.Errorf("%s: %w", name, err)
	}
	l.printTo(l.errw, fmt.Sprintf("warning: %v\n", err))
}
