package sources

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Syncer runs the cycles of `theseusd sync`: load the tree, plan, write,
// report what was done to Stdout and what went wrong to Stderr.
type Syncer struct {
	Tree   *Tree
	Source *SyncSource
	DryRun bool
	Stdout io.Writer
	Stderr io.Writer
	// Interval is how often Loop cycles, as it tells when a cycle
	// fails; 0 leaves it untold.
	Interval time.Duration
}

// Report is what one cycle has to say, and why a one-shot sync fails
// (Err nil when it succeeded).
type Report struct {
	Out, Errs bytes.Buffer
	Wrote     bool
	Err       error
}

// Once runs one cycle and prints all of it; its error is the cycle's.
func (s *Syncer) Once(ctx context.Context) error {
	r := s.Cycle(ctx)
	s.print(r)
	return r.Err
}

// Loop runs a cycle now and one per tick until ctx ends, then returns
// nil. A cycle that fails is reported and the next tick tries again. What
// a cycle says is printed when it wrote something or differs from what
// the previous cycle said, so an unchanged tree, or a problem that
// persists, is not repeated at every tick. A cycle cut short by the end
// of ctx is printed only if it wrote something, so that what is now in
// /desired is told. cycled, if set, is called after each cycle with its
// error; tests use it to step the loop.
func (s *Syncer) Loop(ctx context.Context, ticks <-chan time.Time, cycled func(error)) error {
	last := ""
	for {
		r := s.Cycle(ctx)
		if ctx.Err() != nil {
			if r.Wrote {
				s.print(r)
			}
			return nil
		}
		said := r.Out.String() + "\x00" + r.Errs.String()
		if r.Wrote || said != last {
			s.print(r)
			if r.Err != nil && s.Interval > 0 {
				// Told once: the loop is quiet while the problem stays.
				fmt.Fprintf(s.Stderr, "still watching: trying again every %s (the same problem is not repeated)\n", s.Interval)
			}
		}
		last = said
		if cycled != nil {
			cycled(r.Err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticks:
		}
	}
}

func (s *Syncer) print(r *Report) {
	s.Stdout.Write(r.Out.Bytes())
	s.Stderr.Write(r.Errs.Bytes())
}

// Cycle syncs the tree as it is now.
func (s *Syncer) Cycle(ctx context.Context) *Report {
	r := &Report{}
	fail := func(err error) *Report {
		fmt.Fprintln(&r.Errs, "error:", err)
		r.Err = err
		return r
	}
	var lt *Loaded
	var p *SyncPlan
	var err error
	// A tree that changes as it is read is read again, as Tree.Load
	// does for a --dir that moves.
	for attempt := 1; ; attempt++ {
		lt, err = s.Tree.Load(ctx)
		var invalid *InvalidTreeError
		if errors.As(err, &invalid) {
			for _, e := range invalid.Errs {
				fmt.Fprintln(&r.Errs, e)
			}
		}
		if err != nil {
			return fail(err)
		}
		if s.DryRun {
			p, err = s.Source.Plan(ctx, lt.Revision, lt.Specs)
		} else {
			p, err = s.Source.syncConfirmed(ctx, lt.Revision, lt.Specs, func() error { return s.Tree.settled(ctx, lt) })
		}
		if !errors.Is(err, errChanged) || p != nil || attempt == loadAttempts {
			break
		}
	}
	if p != nil {
		s.report(r, lt, p)
	}
	if errors.Is(err, ErrEmptySource) {
		return fail(fmt.Errorf("%s holds no spec files: %w; --allow-empty removes them if that is intended", lt.Display, err))
	}
	if err != nil {
		return fail(err)
	}
	if n := p.Count(SyncConflict); n > 0 {
		if s.DryRun {
			return fail(fmt.Errorf("%d conflict(s) would be left alone", n))
		}
		return fail(fmt.Errorf("%d conflict(s) left alone; the rest is synced", n))
	}
	return r
}

// report writes one line per group that changed or needs attention, and a
// count line.
func (s *Syncer) report(r *Report, lt *Loaded, p *SyncPlan) {
	for _, it := range p.Items {
		verb := s.verb(it.Action)
		if !s.DryRun && !it.Written && needsWrite(it.Action) {
			// Not "created X (not written)": a line that begins with
			// the verb reads, and greps, as done.
			verb = "not written: " + dryVerbs[it.Action]
		}
		line := fmt.Sprintf("%s %s", verb, it.Key)
		if it.File != "" {
			line += " (" + it.File + ")"
		}
		if it.Reason != "" {
			line += ": " + it.Reason
		}
		switch it.Action {
		case SyncUnchanged:
		case SyncConflict:
			fmt.Fprintln(&r.Errs, line)
		default:
			fmt.Fprintln(&r.Out, line)
		}
		r.Wrote = r.Wrote || it.Written
	}
	counts := []string{
		s.count(p, SyncCreated), s.count(p, SyncChanged),
		fmt.Sprintf("%d unchanged", p.Count(SyncUnchanged)), s.count(p, SyncRemoved),
	}
	for _, a := range []SyncAction{SyncAdopted, SyncConflict, SyncReleased, SyncOrphaned} {
		if p.Count(a) > 0 {
			counts = append(counts, s.count(p, a))
		}
	}
	if n := s.unwritten(p); n > 0 {
		counts = append(counts, fmt.Sprintf("%d not written", n))
	}
	head := "synced"
	if s.DryRun {
		head = "dry run of"
	}
	fmt.Fprintf(&r.Out, "%s %s (source %q, %d group(s)): %s\n", head, lt.Revision, s.Source.Name(), len(lt.Specs), strings.Join(counts, ", "))
	if p.Count(SyncOrphaned) > 0 {
		fmt.Fprintln(&r.Out, "orphaned keys stay until a sync with --prune")
	}
	if n := s.done(p, SyncRemoved); n > 0 {
		what := "their specs are gone from /desired"
		if s.DryRun {
			what = "their specs would be gone from /desired"
		}
		fmt.Fprintf(&r.Out, "%d removed: %s; %s\n", n, what, orphanFate)
	}
	if len(lt.Specs) == 0 {
		fmt.Fprintf(&r.Errs, "warning: %s holds no spec files\n", lt.Display)
	}
}

// orphanFate says what becomes of the Marathon app of a group whose spec
// left /desired, and how to remove it.
const orphanFate = "a controller running with --prune deletes their Marathon apps, one without leaves them running, " +
	"shown as Orphaned by theseusd get (to delete them then: theseusd plan --prune -out plan.json, check it, theseusd apply --plan plan.json)"

// dryVerbs are the actions of a sync as a dry run says them.
var dryVerbs = map[SyncAction]string{
	SyncCreated: "would create", SyncChanged: "would change", SyncRemoved: "would remove",
	SyncAdopted: "would adopt", SyncReleased: "would release",
}

// verb is how a report line names action a: as done, or, in a dry run,
// as it would be done.
func (s *Syncer) verb(a SyncAction) string {
	if v, ok := dryVerbs[a]; ok && s.DryRun {
		return v
	}
	return string(a)
}

// count is one entry of the count line: "3 created", or "would create 3".
func (s *Syncer) count(p *SyncPlan, a SyncAction) string {
	if v, ok := dryVerbs[a]; ok && s.DryRun {
		return fmt.Sprintf("%s %d", v, p.Count(a))
	}
	return fmt.Sprintf("%d %s", s.done(p, a), a)
}

// done counts the items of action a that were carried out: for an
// action that writes, only those written, so that a sync cut short does
// not count what it did not get to.
func (s *Syncer) done(p *SyncPlan, a SyncAction) int {
	if s.DryRun || !needsWrite(a) {
		return p.Count(a)
	}
	n := 0
	for _, it := range p.Items {
		if it.Action == a && it.Written {
			n++
		}
	}
	return n
}

// unwritten counts the items a sync cut short did not write.
func (s *Syncer) unwritten(p *SyncPlan) int {
	if s.DryRun {
		return 0
	}
	n := 0
	for _, it := range p.Items {
		if needsWrite(it.Action) && !it.Written {
			n++
		}
	}
	return n
}

// needsWrite says whether an action writes to etcd, so that a sync cut
// short by an error can say which groups it did not get to.
func needsWrite(a SyncAction) bool {
	switch a {
	case SyncCreated, SyncChanged, SyncRemoved, SyncAdopted, SyncReleased:
		return true
	}
	return false
}
