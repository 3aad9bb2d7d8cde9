package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"theseus.dev/drivers/etcd"
)

// syncer runs the cycles of `theseusd sync`: load the tree, plan, write,
// report.
type syncer struct {
	c      *cli
	tree   *specTree
	src    *etcd.SyncSource
	dryRun bool
}

// cycleReport is what one cycle has to say, and why a one-shot sync
// fails (nil when it succeeded).
type cycleReport struct {
	out, errs bytes.Buffer
	wrote     bool
	err       error
}

// once runs one cycle and prints all of it.
func (s *syncer) once(ctx context.Context) error {
	r := s.cycle(ctx)
	s.print(r)
	if r.err != nil {
		return &exitCodeError{code: exitError}
	}
	return nil
}

// loop runs a cycle now and one per tick until ctx ends, then returns
// nil. A cycle that fails is reported and the next tick tries again. What
// a cycle says is printed when it wrote something or differs from what
// the previous cycle said, so an unchanged tree, or a problem that
// persists, is not repeated at every tick. cycled, if set, is called
// after each cycle with its error; tests use it to step the loop.
func (s *syncer) loop(ctx context.Context, ticks <-chan time.Time, cycled func(error)) error {
	last := ""
	for {
		r := s.cycle(ctx)
		if ctx.Err() != nil {
			return nil
		}
		said := r.out.String() + "\x00" + r.errs.String()
		if r.wrote || said != last {
			s.print(r)
		}
		last = said
		if cycled != nil {
			cycled(r.err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticks:
		}
	}
}

func (s *syncer) print(r *cycleReport) {
	s.c.stdout.Write(r.out.Bytes())
	s.c.stderr.Write(r.errs.Bytes())
}

// cycle syncs the tree as it is now.
func (s *syncer) cycle(ctx context.Context) *cycleReport {
	r := &cycleReport{}
	fail := func(err error) *cycleReport {
		fmt.Fprintln(&r.errs, "error:", err)
		r.err = err
		return r
	}
	lt, err := s.tree.load(ctx)
	var invalid *invalidTreeError
	if errors.As(err, &invalid) {
		for _, e := range invalid.errs {
			fmt.Fprintln(&r.errs, e)
		}
	}
	if err != nil {
		return fail(err)
	}
	var p *etcd.SyncPlan
	if s.dryRun {
		p, err = s.src.Plan(ctx, lt.revision, lt.specs)
	} else {
		p, err = s.src.Sync(ctx, lt.revision, lt.specs)
	}
	if p != nil {
		s.report(r, lt, p)
	}
	if errors.Is(err, etcd.ErrEmptySource) {
		return fail(fmt.Errorf("%s holds no spec files: %w; --allow-empty removes them if that is intended", lt.display, err))
	}
	if err != nil {
		return fail(err)
	}
	if n := p.Count(etcd.SyncConflict); n > 0 {
		if s.dryRun {
			return fail(fmt.Errorf("%d conflict(s) would be left alone", n))
		}
		return fail(fmt.Errorf("%d conflict(s) left alone; the rest is synced", n))
	}
	return r
}

// report writes one line per group that changed or needs attention, and a
// count line.
func (s *syncer) report(r *cycleReport, lt *loadedTree, p *etcd.SyncPlan) {
	for _, it := range p.Items {
		line := fmt.Sprintf("%s %s", s.verb(it.Action), it.Key)
		if it.File != "" {
			line += " (" + it.File + ")"
		}
		if it.Reason != "" {
			line += ": " + it.Reason
		}
		if !s.dryRun && !it.Written && needsWrite(it.Action) {
			line += " (not written)"
		}
		switch it.Action {
		case etcd.SyncUnchanged:
		case etcd.SyncConflict:
			fmt.Fprintln(&r.errs, line)
		default:
			fmt.Fprintln(&r.out, line)
		}
		r.wrote = r.wrote || it.Written
	}
	counts := []string{
		s.count(p, etcd.SyncCreated), s.count(p, etcd.SyncChanged),
		fmt.Sprintf("%d unchanged", p.Count(etcd.SyncUnchanged)), s.count(p, etcd.SyncRemoved),
	}
	for _, a := range []etcd.SyncAction{etcd.SyncAdopted, etcd.SyncConflict, etcd.SyncReleased, etcd.SyncOrphaned} {
		if p.Count(a) > 0 {
			counts = append(counts, s.count(p, a))
		}
	}
	head := "synced"
	if s.dryRun {
		head = "dry run of"
	}
	fmt.Fprintf(&r.out, "%s %s (source %q, %d group(s)): %s\n", head, lt.revision, s.src.Name(), len(lt.specs), strings.Join(counts, ", "))
	if p.Count(etcd.SyncOrphaned) > 0 {
		fmt.Fprintln(&r.out, "orphaned keys stay until a sync with --prune")
	}
	if n := p.Count(etcd.SyncRemoved); n > 0 {
		what := "their specs are gone from /desired"
		if s.dryRun {
			what = "their specs would be gone from /desired"
		}
		fmt.Fprintf(&r.out, "%d removed: %s; %s\n", n, what, orphanFate)
	}
	if len(lt.specs) == 0 {
		fmt.Fprintf(&r.errs, "warning: %s holds no spec files\n", lt.display)
	}
}

// orphanFate says what becomes of the Marathon app of a group whose spec
// left /desired, and how to remove it.
const orphanFate = "a controller running with --prune deletes their Marathon apps, one without leaves them running, " +
	"shown as Orphaned by theseusd get (to delete them then: theseusd plan --prune -out plan.json, check it, theseusd apply --plan plan.json)"

// dryVerbs are the actions of a sync as a dry run says them.
var dryVerbs = map[etcd.SyncAction]string{
	etcd.SyncCreated: "would create", etcd.SyncChanged: "would change", etcd.SyncRemoved: "would remove",
	etcd.SyncAdopted: "would adopt", etcd.SyncReleased: "would release",
}

// verb is how a report line names action a: as done, or, in a dry run,
// as it would be done.
func (s *syncer) verb(a etcd.SyncAction) string {
	if v, ok := dryVerbs[a]; ok && s.dryRun {
		return v
	}
	return string(a)
}

// count is one entry of the count line: "3 created", or "would create 3".
func (s *syncer) count(p *etcd.SyncPlan, a etcd.SyncAction) string {
	if v, ok := dryVerbs[a]; ok && s.dryRun {
		return fmt.Sprintf("%s %d", v, p.Count(a))
	}
	return fmt.Sprintf("%d %s", p.Count(a), a)
}

// needsWrite says whether an action writes to etcd, so that a sync cut
// short by an error can say which groups it did not get to.
func needsWrite(a etcd.SyncAction) bool {
	switch a {
	case etcd.SyncCreated, etcd.SyncChanged, etcd.SyncRemoved, etcd.SyncAdopted, etcd.SyncReleased:
		return true
	}
	return false
}
