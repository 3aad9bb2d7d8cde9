package etcd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"theseus.dev/specs"
)

// SyncOwnersDir holds one ownership record per /desired key that a sync
// source wrote: {prefix}/theseus/sync/owners/{service}/{labels}, an
// Ownership as JSON, always written in the same transaction as the
// /desired key it describes.
const SyncOwnersDir = specs.TheseusDir + "sync/owners/"

// MaxSourceNameLength is the longest sync source name accepted.
const MaxSourceNameLength = 256

// ErrEmptySource: a sync source that holds no specs at all would prune
// every key it wrote. It is refused unless SyncOptions.AllowEmpty, since
// an empty checkout or a wrong directory looks exactly like this.
var ErrEmptySource = errors.New("sync source holds no specs")

// SyncOwnerKey returns the etcd key of group k's ownership record.
func SyncOwnerKey(prefix string, k specs.GroupKey) string {
	return prefix + SyncOwnersDir + k.String()
}

// Ownership records which sync source wrote a /desired key, so that the
// source prunes only its own keys and never overwrites another's.
type Ownership struct {
	// Owner is the name of the sync source (`theseusd sync --source`).
	Owner string `json:"owner"`
	// Source is the revision of the source that wrote the value, e.g.
	// "git:main@1a2b3c4d5e6f" or "dir:/srv/specs".
	Source string `json:"source,omitempty"`
	// File defines the group, relative to the root of the source.
	File string `json:"file,omitempty"`
	// SHA256 is the hex SHA-256 of the /desired value the source wrote
	// or adopted. A value that no longer has it was changed by someone
	// else since, and is treated as written by hand.
	SHA256 string `json:"sha256"`
}

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
	c    *Client
	name string
	opts SyncOptions
	// beforeCommit, when set, runs before each transaction of Apply;
	// tests use it to provoke conflicts.
	beforeCommit func()
}

// SyncSource returns the sync source called name. The name is the
// identity of the source in ownership records: keep it stable across
// runs and revisions of the source.
func (c *Client) SyncSource(name string, opts SyncOptions) (*SyncSource, error) {
	switch {
	case name == "":
		return nil, errors.New("sync source: empty name")
	case len(name) > MaxSourceNameLength:
		return nil, fmt.Errorf("sync source: name is %d bytes, longer than %d", len(name), MaxSourceNameLength)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return nil, fmt.Errorf("sync source: name %q holds a control character", name)
	}
	return &SyncSource{c: c, name: name, opts: opts}, nil
}

// Name returns the source's name.
func (s *SyncSource) Name() string { return s.name }

// SyncSpec is one group of a source and the file that defines it.
type SyncSpec struct {
	Group *specs.Group
	// File is relative to the source's root; empty takes the file the
	// group was parsed from.
	File string
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
	writes []syncWrite
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

// syncWrite is the change to one group's /desired key and ownership
// record, guarded by the mod revisions of both as read (0: absent).
type syncWrite struct {
	key        specs.GroupKey
	desiredRev int64
	ownerRev   int64
	value      []byte // put /desired; nil leaves it unless deleteDesired
	delDesired bool
	owner      []byte // put the record; nil deletes it
}

func (w *syncWrite) isDelete() bool { return w.delDesired || w.owner == nil }

// storedOwner is an ownership record as read.
type storedOwner struct {
	rec    Ownership
	modRev int64
	err    error // the record does not decode
}

// storedKV is a /desired value as read.
type storedKV struct {
	value  []byte
	modRev int64
}

// syncState is /desired and the ownership records at one revision.
type syncState struct {
	rev     int64
	desired map[specs.GroupKey]storedKV
	owners  map[specs.GroupKey]storedOwner
}

// readSyncState reads /desired and the ownership records at one
// revision, paging through both.
func (s *SyncSource) readSyncState(ctx context.Context) (*syncState, error) {
	prefix := s.c.opts.Prefix
	var err error
	for range listAttempts {
		kvs, rev, rerr := s.c.rangeAll(ctx, prefix+specs.DesiredDir)
		if rerr != nil {
			return nil, rerr
		}
		okvs, _, oerr := s.c.rangeAt(ctx, prefix+SyncOwnersDir, rev, nil)
		if errors.Is(oerr, rpctypes.ErrCompacted) {
			err = oerr
			continue
		}
		if oerr != nil {
			return nil, fmt.Errorf("list %s: %w", prefix+SyncOwnersDir, oerr)
		}
		st := &syncState{rev: rev,
			desired: make(map[specs.GroupKey]storedKV, len(kvs)),
			owners:  make(map[specs.GroupKey]storedOwner, len(okvs))}
		for _, kv := range kvs {
			if k, err := specs.ParseDesiredKey(prefix, string(kv.Key)); err == nil {
				st.desired[k] = storedKV{value: kv.Value, modRev: kv.ModRevision}
			}
		}
		for _, kv := range okvs {
			k, err := specs.ParseGroupKey(strings.TrimPrefix(string(kv.Key), prefix+SyncOwnersDir))
			if err != nil {
				continue // not a record theseus wrote
			}
			o := storedOwner{modRev: kv.ModRevision}
			if err := json.Unmarshal(kv.Value, &o.rec); err != nil || o.rec.Owner == "" {
				o.err = fmt.Errorf("ownership record %s does not decode", kv.Key)
			}
			st.owners[k] = o
		}
		return st, nil
	}
	return nil, fmt.Errorf("list %s: %w", prefix+SyncOwnersDir, err)
}

// SyncOwner returns the ownership record of group k, and whether there
// is one.
func (c *Client) SyncOwner(ctx context.Context, k specs.GroupKey) (Ownership, bool, error) {
	key := SyncOwnerKey(c.opts.Prefix, k)
	rctx, cancel := c.reqCtx(ctx)
	defer cancel()
	resp, err := c.cli.Get(rctx, key)
	if err != nil {
		return Ownership{}, false, fmt.Errorf("get %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return Ownership{}, false, nil
	}
	var o Ownership
	if err := json.Unmarshal(resp.Kvs[0].Value, &o); err != nil {
		return Ownership{}, false, fmt.Errorf("%s: %w: %w", key, ErrCorrupt, err)
	}
	return o, true, nil
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
