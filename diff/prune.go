package diff

import (
	"fmt"
	"slices"
	"time"

	"theseus.dev/specs"
)

// ReleaseHint says how an operator lets deletions held back by the prune
// guard through, without restarting the daemon.
const ReleaseHint = "`theseusd prune --allow-mass-delete` releases it"

// HeldBackReason is the reason of a delete the prune guard holds back.
const HeldBackReason = "held back by the mass-deletion guard; " + ReleaseHint

// PruneHistory is what the prune guard counts beside the deletes a plan
// calls for: the deletions carried out within the guard's window, so
// that a wipe done one key at a time is judged as a whole, and a release
// of the guard by an operator.
type PruneHistory struct {
	// Deleted are the groups whose apps were deleted within Window.
	Deleted []specs.GroupKey
	// ManagedAtStart is the number of managed apps before the first of
	// them was deleted; 0 when none was.
	ManagedAtStart int
	// Window is how far back deletions are counted.
	Window time.Duration
	// ReleasedBy, when set, names who released the guard; deletions pass
	// until the release expires (the caller leaves it out then).
	ReleasedBy string
}

// Has reports whether k's app was deleted within the window.
func (h PruneHistory) Has(k specs.GroupKey) bool { return slices.Contains(h.Deleted, k) }

// PruneGuard returns an error when deleting deletes more of the managed
// apps than opts allow, desired being the number of groups in /desired
// and deletes not counting groups already in opts.History. An empty
// /desired while any app is managed looks like a wipe: no delete is
// allowed. Otherwise the deletes are counted with those of the window
// against the managed apps at its start (or now, if more): a single
// deletion is always allowed, since it cannot be told apart from
// deleting the last group, and beyond one at most MaxDeleteFraction of
// them. AllowMassDelete, or a release in the history, lets everything
// through.
func PruneGuard(deletes, managed, desired int, opts Options) error {
	h := opts.History
	if deletes == 0 || opts.AllowMassDelete || h.ReleasedBy != "" {
		return nil
	}
	if desired == 0 && managed > 0 {
		return fmt.Errorf("/desired is empty while %d app(s) are managed (was it wiped?); held back: %s", managed, ReleaseHint)
	}
	total, base := deletes+len(h.Deleted), max(managed, h.ManagedAtStart)
	if total == 1 {
		return nil
	}
	frac := opts.MaxDeleteFraction
	if frac <= 0 {
		frac = DefaultMaxDeleteFraction
	}
	if float64(total) <= frac*float64(base) {
		return nil
	}
	if len(h.Deleted) == 0 {
		return fmt.Errorf("would delete %d of %d managed apps, more than %g%%; held back: %s", total, base, frac*100, ReleaseHint)
	}
	return fmt.Errorf("would delete %d more app(s) after %d in the last %s: %d of %d managed apps, more than %g%%; held back: %s",
		deletes, len(h.Deleted), h.Window, total, base, frac*100, ReleaseHint)
}
