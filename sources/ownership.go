package sources

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"theseus.dev/internal/backoff"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// Store is /desired with the ownership records of the sync sources.
// *etcd.SyncStore implements it. Read reads both at one revision. Commit
// makes a batch of writes in one transaction, each group's key and
// record together, guarded by the mod revisions given, as read at
// revision read (an error matching model.ErrConflict, and nothing
// written, when a key moved), and returns its revision; Batch says how
// many writes, from the first, fit in one.
type Store interface {
	Read(ctx context.Context) (*model.OwnedState, error)
	Batch(writes []model.OwnedWrite) int
	Commit(ctx context.Context, read int64, batch []model.OwnedWrite) (int64, error)
}

// MaxSourceNameLength is the longest sync source name accepted.
const MaxSourceNameLength = 256

// ErrEmptySource: a sync source that holds no specs at all would prune
// every key it wrote. It is refused unless SyncOptions.AllowEmpty, since
// an empty checkout or a wrong directory looks exactly like this.
var ErrEmptySource = errors.New("sync source holds no specs")

// SyncOptions say what a sync source may do beyond creating and updating
// the keys it owns.
type SyncOptions struct {
	// Prune removes the keys this source wrote whose groups are gone from
	// it. Keys written by hand or by another source are never removed.
	Prune bool
	// AllowEmpty lets Prune remove every key of the source when the source
	// holds no specs at all (ErrEmptySource otherwise).
	AllowEmpty bool
	// Adopt overwrites keys written by hand (etcdctl, theseusd apply)
	// whose value differs from the source's. Without it they are
	// conflicts. Keys of another source are always conflicts.
	Adopt bool
}

// SyncSource makes /desired hold the groups of one source of spec files
// (a directory, a git checkout), recording its ownership of each key it
// writes. Plan decides and Apply writes; Sync does both, retrying when
// someone else writes meanwhile.
type SyncSource struct {
	store Store
	name  string
	opts  SyncOptions
}

// NewSyncSource returns the sync source called name, over store. The
// name is the identity of the source in ownership records: keep it
// stable across runs and revisions of the source.
func NewSyncSource(store Store, name string, opts SyncOptions) (*SyncSource, error) {
	switch {
	case name == "":
		return nil, errors.New("sync source: empty name")
	case len(name) > MaxSourceNameLength:
		return nil, fmt.Errorf("sync source: name is %d bytes, longer than %d", len(name), MaxSourceNameLength)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return nil, fmt.Errorf("sync source: name %q holds a control character", name)
	}
	return &SyncSource{store: store, name: name, opts: opts}, nil
}

// Name returns the source's name.
func (s *SyncSource) Name() string { return s.name }

// SyncSpec is one group of a source and the file that defines it.
type SyncSpec struct {
	Group *specs.Group
	// File is relative to the source's root; empty takes the file the
	// group was parsed from.
	File string
	// validated is set by a Tree, whose groups were validated as they
	// were parsed; Plan validates the others.
	validated bool
}

// SyncAction is what a sync does, or would do, to one group.
type SyncAction string

// The outcomes of a sync for one group.
const (
	SyncCreated   SyncAction = "created"
	SyncChanged   SyncAction = "changed"
	SyncUnchanged SyncAction = "unchanged"
	// SyncAdopted: a key written by hand with the source's spec; only
	// the ownership record is written.
	SyncAdopted SyncAction = "adopted"
	SyncRemoved SyncAction = "removed"
	// SyncConflict: a key written by another source, or by hand with
	// another spec; left alone.
	SyncConflict SyncAction = "conflict"
	// SyncOrphaned: a key of this source whose group is gone from it,
	// left in place because pruning is off.
	SyncOrphaned SyncAction = "orphaned"
	// SyncReleased: a key of this source whose group is gone from it but
	// whose value was changed by hand since; left in place, no longer
	// owned.
	SyncReleased SyncAction = "released"
)

// SyncItem is the outcome of a sync for one group.
type SyncItem struct {
	Key    specs.GroupKey
	Action SyncAction
	// File defines the group in the source (or did, for a removed one).
	File string
	// Reason explains conflicts, adoptions, orphans and releases to a
	// human.
	Reason string
	// Revision is the key's mod revision: the one written, or the one
	// found.
	Revision int64
	// Written is set once Apply has committed the item's writes.
	Written bool
}

// SyncPlan is what a sync would do, decided from one read of /desired
// and the ownership records at one revision.
type SyncPlan struct {
	// Source is the revision of the source, recorded with each write.
	Source string
	// ReadRevision is the etcd revision the plan was read at.
	ReadRevision int64
	// Items hold one entry per group of the source and per key the
	// source owns, in key order.
	Items  []SyncItem
	writes []model.OwnedWrite
}

// Count returns the number of items with action a.
func (p *SyncPlan) Count(a SyncAction) int {
	n := 0
	for _, it := range p.Items {
		if it.Action == a {
			n++
		}
	}
	return n
}

// Writes returns the number of groups whose keys the plan writes
// (ownership bookkeeping included); zero means Apply writes nothing.
func (p *SyncPlan) Writes() int { return len(p.writes) }

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// syncAttempts is how often Sync plans again after a transaction failed
// because someone else wrote one of its keys meanwhile, with a backoff
// from syncRetryMin to syncRetryMax between.
const (
	syncAttempts = 5
	syncRetryMin = 100 * time.Millisecond
	syncRetryMax = 30 * time.Second
)

// CommitsInFlight is how many transactions Apply has etcd work on at
// once: while it applies one, it decodes the next and writes it to its
// log, which one transaction at a time leaves undone. Exported for the
// benchmark's floor, which writes as Apply does.
const CommitsInFlight = 4

// Apply writes the plan: creates, changes and adoptions first, removals
// last, once every one of those is written, in the store's transactions,
// a few at a time.
// Each group's /desired key and ownership record are written together
// in one transaction, guarded by the mod revisions of both as planned, so
// a key someone else wrote since the plan is never overwritten: the
// transaction fails with an error matching model.ErrConflict, and nothing of it is written.
// Items whose transaction committed are marked Written, also when the
// answer was lost: a failure other than a conflict is followed by a read
// of what etcd holds (confirm). Once one fails,
// no more are started; those already under way are waited for, and stay
// written if they committed. The error is that of the first of the
// failed transactions, in key order.
func (s *SyncSource) Apply(ctx context.Context, p *SyncPlan) error {
	index := make(map[specs.GroupKey]int, len(p.Items))
	for i, it := range p.Items {
		index[it.Key] = i
	}
	writes := slices.Clone(p.writes)
	// Keys in etcd's order, that of their names' bytes: the keys of one
	// transaction span a range that holds none of another's.
	slices.SortStableFunc(writes, func(a, b model.OwnedWrite) int {
		return cmp.Or(cmp.Compare(btoi(a.IsDelete()), btoi(b.IsDelete())), a.Key.CompareNames(b.Key))
	})
	deletes := slices.IndexFunc(writes, func(w model.OwnedWrite) bool { return w.IsDelete() })
	if deletes < 0 {
		deletes = len(writes)
	}
	for _, phase := range [][]model.OwnedWrite{writes[:deletes], writes[deletes:]} {
		if err := s.commit(ctx, p, index, phase); err != nil {
			return err
		}
	}
	return nil
}

// commit writes writes in transactions of the store's batch size, up to
// CommitsInFlight at once, and marks the items of each that committed.
func (s *SyncSource) commit(ctx context.Context, p *SyncPlan, index map[specs.GroupKey]int, writes []model.OwnedWrite) error {
	var batches [][]model.OwnedWrite
	for len(writes) > 0 {
		n := max(s.store.Batch(writes), 1)
		batches, writes = append(batches, writes[:n]), writes[n:]
	}
	revs := make([]int64, len(batches))
	errs := make([]error, len(batches))
	var failed atomic.Bool
	var wg sync.WaitGroup
	slots := make(chan struct{}, CommitsInFlight)
	for i, b := range batches {
		slots <- struct{}{}
		if failed.Load() {
			<-slots
			break
		}
		wg.Go(func() {
			defer func() { <-slots }()
			// Not cancelled when another fails: a transaction given up
			// on might still commit, and then be reported unwritten.
			revs[i], errs[i] = s.store.Commit(ctx, p.ReadRevision, b)
			if errs[i] != nil {
				failed.Store(true)
			}
		})
	}
	wg.Wait()
	s.confirm(ctx, p, batches, revs, errs)
	for i, b := range batches {
		if revs[i] == 0 {
			continue
		}
		for _, w := range b {
			if j, ok := index[w.Key]; ok {
				p.Items[j].Written = true
				switch p.Items[j].Action {
				case SyncCreated, SyncChanged, SyncRemoved:
					p.Items[j].Revision = revs[i]
				}
			}
		}
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// confirmTimeout bounds the read that confirm makes, also when ctx has
// ended: a sync stopped by a signal still says what it wrote.
const confirmTimeout = 5 * time.Second

// confirm finds out whether the transactions that failed without a
// conflict (a timeout, a cut connection, ctx ended while waiting) were
// committed all the same, since etcd may have applied one whose answer
// was lost, and sets the revision of those that were. A conflict means
// nothing of the transaction was written. If the read fails too, they
// stay unconfirmed.
func (s *SyncSource) confirm(ctx context.Context, p *SyncPlan, batches [][]model.OwnedWrite, revs []int64, errs []error) {
	if !slices.ContainsFunc(errs, func(err error) bool { return err != nil && !errors.Is(err, model.ErrConflict) }) {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), confirmTimeout)
	defer cancel()
	st, err := s.store.Read(rctx)
	if err != nil {
		return
	}
	for i, b := range batches {
		if errs[i] != nil && !errors.Is(errs[i], model.ErrConflict) {
			revs[i] = committedAt(st, p.ReadRevision, b)
		}
	}
}

// committedAt returns the revision at which st shows every write of
// batch made after revision read, or 0 if it does not.
func committedAt(st *model.OwnedState, read int64, batch []model.OwnedWrite) int64 {
	rev := st.Revision
	for _, w := range batch {
		kv, exists := st.Desired[w.Key]
		o, owned := st.Owners[w.Key]
		switch {
		case w.DeleteDesired && exists:
			return 0
		case w.Value != nil && (!exists || kv.ModRevision <= read || !bytes.Equal(kv.Value, w.Value)):
			return 0
		case w.Owner == nil && owned:
			return 0
		case w.Owner != nil && (!owned || o.Err != nil || o.ModRevision <= read || !bytes.Equal(encodeOwnership(o.Ownership), w.Owner)):
			return 0
		}
		if owned && w.Owner != nil {
			rev = o.ModRevision
		}
	}
	return rev
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Sync plans and applies until /desired holds want, as Plan and Apply
// describe. When someone else writes a key between the plan and its
// transaction, it plans again from a fresh read (a few times, with
// backoff) and then returns an error matching model.ErrConflict. The plan
// returned reports every group once, with what was actually written
// across the attempts; it is returned with any error after the first
// Plan, so that what was written before the error is reported.
func (s *SyncSource) Sync(ctx context.Context, source string, want []SyncSpec) (*SyncPlan, error) {
	return s.syncConfirmed(ctx, source, want, nil)
}

// syncConfirmed is Sync with confirm, if set, called before a plan that
// removes or releases keys is applied: an error it returns is Sync's,
// and nothing of that plan is written.
func (s *SyncSource) syncConfirmed(ctx context.Context, source string, want []SyncSpec, confirm func() error) (*SyncPlan, error) {
	done := map[specs.GroupKey]SyncItem{}
	bo := backoff.New(syncRetryMin, syncRetryMax)
	var last *SyncPlan
	var err error
	for attempt := 0; attempt < syncAttempts; attempt++ {
		if attempt > 0 {
			if werr := bo.Wait(ctx); werr != nil {
				// What the attempts before wrote is reported all the same.
				return last, werr
			}
		}
		p, perr := s.Plan(ctx, source, want)
		if perr != nil {
			return last, perr
		}
		if confirm != nil && p.Count(SyncRemoved)+p.Count(SyncReleased) > 0 {
			if cerr := confirm(); cerr != nil {
				return last, cerr
			}
		}
		err = s.Apply(ctx, p)
		mergeWritten(p, done)
		if !errors.Is(err, model.ErrConflict) {
			return p, err
		}
		for _, it := range p.Items {
			if it.Written {
				done[it.Key] = it
			}
		}
		last = p
	}
	return last, fmt.Errorf("sync: gave up after %d attempts, others keep writing the same groups: %w", syncAttempts, err)
}

// mergeWritten puts back into p what earlier attempts wrote: such a group
// now looks unchanged, or, if removed, is not in p at all.
func mergeWritten(p *SyncPlan, done map[specs.GroupKey]SyncItem) {
	if len(done) == 0 {
		return
	}
	seen := make(map[specs.GroupKey]bool, len(p.Items))
	for i, it := range p.Items {
		seen[it.Key] = true
		if d, ok := done[it.Key]; ok && !it.Written && it.Action == SyncUnchanged {
			p.Items[i] = d
		}
	}
	for k, d := range done {
		if !seen[k] {
			p.Items = append(p.Items, d)
		}
	}
	slices.SortFunc(p.Items, func(a, b SyncItem) int { return a.Key.Compare(b.Key) })
}
