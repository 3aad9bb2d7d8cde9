package reconciler

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"theseus.dev/model"
	"theseus.dev/specs"
)

// RollingRestart asks the leader for a rolling restart of a service's
// groups, and follows it: what `theseusd restart` does. The command
// writes nothing to Marathon: it records the request, with a token,
// under /theseus/restart/{service}, and the leader carries it out group
// by group through the controller, as every other write.
type RollingRestart struct {
	// Desired is read for the groups of the service.
	Desired DesiredLister
	Store   RestartStore
	// Wait is the pause between two groups; HealthTimeout how long a group
	// may take to be deployed and healthy again.
	Wait, HealthTimeout time.Duration
	// Progress is told what happens, one line at a time: while a group
	// restarts, each time another of its tasks is replaced, and every
	// ProgressEvery (default 30s) when none is.
	Progress      func(string)
	ProgressEvery time.Duration
	// Pauses, when set, is read once the request is recorded, to name
	// the groups of the restart that are paused: the leader does not
	// restart them until they are resumed, and the restart waits for
	// each up to HealthTimeout. An error reading them is left unsaid:
	// the restart does not depend on it.
	Pauses PauseLister
	// Led, when set, reports whether a daemon leads, read once the
	// request is recorded: with none, nothing carries the restart out
	// until one does, which the command says rather than wait in
	// silence.
	Led func(ctx context.Context) (bool, error)
	// Detach returns once the request is recorded, without following it.
	Detach bool
	// Now is the clock of the elapsed times reported; defaults to
	// time.Now.
	Now func() time.Time
}

// Run requests the restart of the groups of service that sel selects, in
// group key order, and follows it until it is done (nil), stops on a
// group that does not come back within HealthTimeout (an error naming
// it), or ctx ends. A restart of service with the same selector that is
// not done is resumed rather than started over: its done groups are
// skipped, a group in flight is waited for, not restarted again, groups
// no longer in /desired are left out, and Wait and HealthTimeout are
// taken from this run.
func (r *RollingRestart) Run(ctx context.Context, service string, sel specs.Selector) error {
	say := r.say
	now := r.now()
	var st specs.RestartState
	var rev int64
	for {
		e, err := r.Store.Get(ctx, service)
		if err != nil {
			return err
		}
		groups, err := r.groups(ctx, service, sel)
		if err != nil {
			return err
		}
		st = specs.RestartState{}
		var gone []string
		if old := e.State; old != nil && old.Selector == sel.String() && old.Finished.IsZero() {
			st = *old
			// A group removed from /desired since is left out: the
			// leader would stop the restart on it, at every run again.
			st.Groups, gone = keepListed(old.Groups, groups)
			st.Done, _ = keepListed(old.Done, groups)
			if st.Current != "" && !slices.Contains(st.Groups, st.Current) {
				st.Current = ""
			}
			if st.Failed != "" && st.Current != "" {
				st.CurrentSince = now // a new deadline for the group that stopped it
			}
			st.Failed = ""
		}
		if len(st.Groups) == 0 {
			st = specs.RestartState{Token: newToken(), Selector: sel.String(), Groups: groups, Started: now.UTC()}
		}
		st.WaitSeconds, st.HealthTimeoutSeconds = r.Wait.Seconds(), r.HealthTimeout.Seconds()
		rev, err = r.Store.Put(ctx, model.Fence{}, service, &st, e.ModRevision)
		if errors.Is(err, model.ErrConflict) {
			continue // the leader recorded progress meanwhile
		}
		if err != nil {
			return err
		}
		if old := e.State; old != nil && old.Token != st.Token && old.Finished.IsZero() {
			say(replacedText(service, old))
		}
		if e.State != nil && e.State.Token == st.Token {
			say(fmt.Sprintf("resuming the restart of %s begun %s: %d of %d groups done",
				service, st.Started.Format(time.RFC3339), len(st.Done), len(st.Groups)))
			for _, g := range gone {
				say(fmt.Sprintf("%s is no longer in /desired: left out", g))
			}
		}
		break
	}
	r.notePaused(ctx, &st)
	if r.Led != nil {
		if led, err := r.Led(ctx); err == nil && !led {
			say(fmt.Sprintf("note: no theseusd leads now: the restart of %s is carried out once one does (theseusd run, or theseusd dev)", service))
		}
	}
	if r.Detach {
		say(fmt.Sprintf("the restart of %d group(s) of %s is requested; the leader carries it out (theseusd restart %s again follows it)",
			len(st.Groups), service, service))
		return nil
	}
	return r.follow(ctx, service, rev, len(st.Done))
}

// replacedText says which restart of service, not done, a request with
// another selector replaces: another operator's, perhaps, whose groups
// not done are left as they are.
func replacedText(service string, old *specs.RestartState) string {
	how := "under way"
	if old.Failed != "" {
		how = "that stopped"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "note: this replaces the restart of %s %s (", service, how)
	if old.Selector != "" {
		fmt.Fprintf(&b, "-l %q, ", old.Selector)
	}
	fmt.Fprintf(&b, "begun %s, %d of %d groups done", old.Started.UTC().Format(time.RFC3339), len(old.Done), len(old.Groups))
	if old.Current != "" && old.Failed == "" {
		fmt.Fprintf(&b, ", %s in flight", old.Current)
	}
	b.WriteString("): its groups not done are not restarted")
	return b.String()
}

// notePaused names the groups of st still to restart that are paused.
func (r *RollingRestart) notePaused(ctx context.Context, st *specs.RestartState) {
	if r.Pauses == nil {
		return
	}
	entries, _, err := r.Pauses.List(ctx)
	if err != nil {
		return
	}
	for _, e := range entries {
		g := e.Key.String()
		if !slices.Contains(st.Groups, g) || slices.Contains(st.Done, g) {
			continue
		}
		by := "unknown (the record does not decode)"
		if e.Pause != nil {
			by = e.Pause.By
		}
		r.say(fmt.Sprintf("note: %s is paused (by %s): it is not restarted until theseusd resume %s -l %s; the restart waits for it up to %s",
			g, by, e.Key.Service, strings.Join(e.Key.LabelSet(), ","), r.HealthTimeout))
	}
}

// keepListed returns the groups of groups that listed holds, in their
// order, and those it does not.
func keepListed(groups, listed []string) (kept, gone []string) {
	for _, g := range groups {
		if slices.Contains(listed, g) {
			kept = append(kept, g)
		} else {
			gone = append(gone, g)
		}
	}
	return kept, gone
}

// groups are the groups of service in /desired that sel selects, sorted.
func (r *RollingRestart) groups(ctx context.Context, service string, sel specs.Selector) ([]string, error) {
	snap, err := r.Desired.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("read /desired: %w", err)
	}
	var keys []specs.GroupKey
	var invalid []string
	for i := range snap.Entries {
		en := &snap.Entries[i]
		k := en.Key
		if !k.IsZero() && k.Service == service && sel.Matches(k.LabelSet()) {
			keys = append(keys, k)
			if !en.Valid() {
				invalid = append(invalid, fmt.Sprintf("%s:\n  %s", k, strings.ReplaceAll(en.Errors.Error(), "\n", "\n  ")))
			}
		}
	}
	switch {
	case len(invalid) > 0:
		// The leader would stop the restart on it, after restarting the
		// groups before it.
		return nil, fmt.Errorf("nothing is restarted: the spec in /desired of %d group(s) of %s is invalid; "+
			"fix it, or leave the group out with -l:\n%s", len(invalid), service, strings.Join(invalid, "\n"))
	case len(keys) > 0:
	case sel.Empty():
		return nil, fmt.Errorf("no managed group of %s: /desired holds none", service)
	default:
		return nil, fmt.Errorf("no managed group of %s matches %q", service, sel.String())
	}
	slices.SortFunc(keys, specs.GroupKey.Compare)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.String()
	}
	return out, nil
}

// follow reports the restart's progress until it is done, stops, or is
// replaced by another request.
func (r *RollingRestart) follow(ctx context.Context, service string, from int64, done int) error {
	updates := make(chan model.RestartEntry, 16)
	fctx, cancel := context.WithCancel(ctx)
	watched := make(chan error, 1)
	stopped := make(chan struct{})
	// The watch ends with follow, not some time after it.
	defer func() { cancel(); <-stopped }()
	go func() {
		defer close(stopped)
		watched <- r.Store.Follow(fctx, service, from, func(e model.RestartEntry) error {
			select {
			case updates <- e:
				return nil
			case <-fctx.Done():
				return fctx.Err()
			}
		})
	}()
	every := r.ProgressEvery
	if every <= 0 {
		every = 30 * time.Second
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	p := &restartProgress{say: r.say, now: r.now, done: done}
	token := ""
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-watched:
			return err
		case <-tick.C:
			p.remind(every)
		case e := <-updates:
			if token == "" && e.State != nil {
				token = e.State.Token // the request as written
			}
			switch st := e.State; {
			case st == nil || st.Token != token:
				return fmt.Errorf("the restart of %s was removed or replaced by another request", service)
			case st.Failed != "":
				p.update(st)
				return errors.New(st.Failed)
			case !st.Finished.IsZero():
				p.update(st)
				r.say(fmt.Sprintf("restarted %d group(s) of %s", len(st.Groups), service))
				// Done and reported: the key goes, unless a new request
				// took it meanwhile.
				if err := r.Store.Delete(ctx, service, e.ModRevision); err != nil && !errors.Is(err, model.ErrConflict) {
					return err
				}
				return nil
			default:
				p.update(st)
			}
		}
	}
}

func (r *RollingRestart) say(line string) {
	if r.Progress != nil {
		r.Progress(line)
	}
}

func (r *RollingRestart) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// restartProgress turns the states of a restart into lines: a group
// restarting, its tasks replaced of wanted as they change, the group
// done, the wait.
type restartProgress struct {
	say     func(string)
	now     func() time.Time
	done    int    // groups done and said
	current string // the group in flight
	since   time.Time
	line    string // its last restartProgress line, and when it was said
	lineAt  time.Time
	waited  time.Time // LastDone of the last wait said
	seen    bool
}

func (p *restartProgress) update(st *specs.RestartState) {
	for ; p.done < len(st.Done); p.done++ {
		g, took := st.Done[p.done], time.Duration(0)
		if g == p.current {
			// Its last counts, then its end.
			took = st.LastDone.Sub(st.CurrentSince)
			p.progressLine(st.Replaced, st.Wanted, took)
			p.current, p.line = "", ""
		}
		p.say(fmt.Sprintf("%s: restarted and healthy in %s (%d/%d)", g, elapsed(took), p.done+1, len(st.Groups)))
	}
	first := !p.seen
	p.seen = true
	if st.Current == "" {
		if w := st.Wait(); w > 0 && st.Active() && !st.LastDone.IsZero() && !p.waited.Equal(st.LastDone) {
			p.waited = st.LastDone
			p.say(fmt.Sprintf("waiting %s before the next group", w))
		}
		return
	}
	if st.Current != p.current {
		p.current, p.line = st.Current, ""
		if first && st.CurrentVersion != "" {
			p.say(fmt.Sprintf("%s: restart already under way; waiting for it", st.Current))
		} else {
			p.say(fmt.Sprintf("%s: restarting", st.Current))
		}
	}
	p.since = st.CurrentSince
	if st.CurrentVersion != "" {
		p.progressLine(st.Replaced, st.Wanted, p.now().Sub(st.CurrentSince))
	}
}

// progressLine says how far the group in flight is, when that changed.
func (p *restartProgress) progressLine(replaced, wanted int, took time.Duration) {
	line := fmt.Sprintf("%s: %d of %d tasks replaced", p.current, replaced, wanted)
	if line == p.line {
		return
	}
	p.line, p.lineAt = line, p.now()
	p.say(fmt.Sprintf("%s, %s", line, elapsed(took)))
}

// remind says the progress of the group in flight again when it has not
// moved for a while, so that a slow restart is never minutes of silence.
func (p *restartProgress) remind(every time.Duration) {
	if p.line == "" {
		return
	}
	if now := p.now(); now.Sub(p.lineAt) >= every {
		p.lineAt = now
		p.say(fmt.Sprintf("%s, %s", p.line, elapsed(now.Sub(p.since))))
	}
}

// elapsed is a duration for a restartProgress line: to the second, or to the
// millisecond below one.
func elapsed(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// newToken names a restart request.
func newToken() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
