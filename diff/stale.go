package diff

import (
	"fmt"
	"slices"
	"strings"

	"theseus.dev/specs"
)

// Stale compares a saved plan with one computed now and returns an error
// naming what moved when they differ in anything that decides what would be
// done: the set of groups acted on, an action's kind, its Marathon app id
// (another --marathon-root makes other apps), the /desired revision of its
// spec, the spec hash, or the Marathon version of its app. A saved plan is
// applied only when Stale returns nil.
//
// A plan of spec files (with a Scope) is held to more: every group of it
// counts, acted on now or not, with its changes, and the /desired revision
// of every group of the files must be what it was. Plans that both know
// their Marathon root must have the same one.
func Stale(saved, now *Plan) error {
	if r, n := saved.MarathonRoot, now.MarathonRoot; r != nil && n != nil && *r != *n {
		return &StaleError{Moved: []string{fmt.Sprintf("the plan was made against --marathon-root %q, not %q: it would act on other apps", *r, *n)}}
	}
	scoped := saved.Scope != nil || now.Scope != nil
	type entry struct {
		kind     Kind
		appID    string
		revision int64
		hash     string
		version  string
		held     Hold
		changes  string
	}
	index := func(p *Plan) map[specs.GroupKey]entry {
		m := make(map[specs.GroupKey]entry, len(p.Actions))
		for i := range p.Actions {
			a := &p.Actions[i]
			if !scoped && !a.Acts() {
				continue
			}
			e := entry{kind: a.Kind, appID: a.AppID, revision: a.Revision, hash: a.Hash, version: a.Version}
			if scoped {
				e.held, e.changes = a.HeldBack, changesText(a.Changes)
			}
			m[a.Key] = e
		}
		return m
	}
	was, is := index(saved), index(now)
	// A change now held back (a pause, a quarantine, a deployment in
	// flight, a protected app) is not "nothing to do": the reason is what
	// the operator needs.
	held := map[specs.GroupKey]string{}
	for i := range now.Actions {
		if a := &now.Actions[i]; a.HeldBack != "" {
			held[a.Key] = a.HeldReason()
		}
	}
	var moved []string
	for k, e := range was {
		n, ok := is[k]
		switch {
		case !ok && held[k] != "":
			moved = append(moved, fmt.Sprintf("%s: was %s, now held back: %s", k, e.kind, held[k]))
		case !ok:
			moved = append(moved, fmt.Sprintf("%s: was %s, now nothing to do", k, e.kind))
		case n.appID != e.appID:
			moved = append(moved, fmt.Sprintf("%s: was %s of app %s, now of app %s (another Marathon root?)", k, e.kind, e.appID, n.appID))
		case n.kind != e.kind || n.revision != e.revision || n.hash != e.hash || n.version != e.version:
			moved = append(moved, fmt.Sprintf("%s: was %s of revision %d on app version %q, now %s of revision %d on app version %q",
				k, e.kind, e.revision, e.version, n.kind, n.revision, n.version))
		case n != e:
			moved = append(moved, fmt.Sprintf("%s: %s, but its changes are not those of the saved plan", k, n.kind))
		}
	}
	for k, n := range is {
		if _, ok := was[k]; !ok {
			moved = append(moved, fmt.Sprintf("%s: now %s, not in the saved plan", k, n.kind))
		}
	}
	if scoped {
		moved = append(moved, scopeMoved(saved.Scope, now.Scope)...)
	}
	if len(moved) == 0 {
		return nil
	}
	slices.Sort(moved)
	return &StaleError{Moved: moved}
}

// scopeMoved names the groups of two scopes whose /desired revisions
// differ, or that only one of them has.
func scopeMoved(saved, now []Scoped) []string {
	was := make(map[specs.GroupKey]int64, len(saved))
	for _, s := range saved {
		was[s.Key] = s.Revision
	}
	var moved []string
	for _, s := range now {
		rev, ok := was[s.Key]
		delete(was, s.Key)
		switch {
		case !ok:
			moved = append(moved, fmt.Sprintf("%s: in the files now, not in the saved plan", s.Key))
		case rev != s.Revision:
			moved = append(moved, fmt.Sprintf("%s: /desired revision was %d, now %d", s.Key, rev, s.Revision))
		}
	}
	for k := range was {
		moved = append(moved, fmt.Sprintf("%s: in the saved plan, not in the files now", k))
	}
	return moved
}

// changesText is a list of changes as one comparable string.
func changesText(cs []Change) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "%s\x00%s\x00%s\x01", c.Path, orNone(c.Old), orNone(c.New))
	}
	return b.String()
}

// StaleError says that a saved plan no longer matches what would be done.
type StaleError struct {
	Moved []string // one line per group that moved
}

func (e *StaleError) Error() string {
	return "plan is stale; run plan again:\n  " + strings.Join(e.Moved, "\n  ")
}
