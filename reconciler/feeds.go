package reconciler

import (
	"context"

	"theseus.dev/diff"
	"theseus.dev/internal/observe"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// runDesired feeds the /desired cache from the store's snapshot and watch.
func (c *Controller) runDesired(ctx context.Context) {
	err := c.cfg.Desired.Sync(ctx, func(u model.DesiredUpdate) error {
		c.applyDesired(u)
		return nil
	})
	if err != nil && ctx.Err() == nil {
		c.log.Error("/desired watch ended", "err", err)
	}
}

func (c *Controller) applyDesired(u model.DesiredUpdate) {
	var changed []specs.GroupKey
	var configs []specs.GroupKey // whose config changed, for FollowConfigs
	var seen []seenRevision      // for the history, in order
	var left []groupStatus       // what the last leader's statuses say, for the history
	c.mu.Lock()
	if u.Snapshot != nil {
		// The term's first snapshot: the last leader may have ended with
		// revisions and outcomes not yet in the history, which are this
		// one's to record. The edits are idempotent, and a history that
		// has them already is not written.
		first := !c.desiredSynced.Load()
		next := make(map[specs.GroupKey]*diff.Desired, len(u.Snapshot.Entries))
		for i := range u.Snapshot.Entries {
			e := &u.Snapshot.Entries[i]
			if d, ok := c.toDesired(e); ok {
				next[d.Key] = &d
				if old, ok := c.desired[d.Key]; first || (!ok || old.Revision != d.Revision) && c.status[d.Key].ObservedRevision != d.Revision {
					seen = append(seen, seenRevision{e, false, d.Hash}) // not yet acted on, by this leader or the last
				}
				if st := c.status[d.Key]; first && st.SyncedRevision != 0 {
					left = append(left, groupStatus{d.Key, st})
				}
			}
		}
		for k, old := range c.desired {
			if d, ok := next[k]; !ok || d.Revision != old.Revision {
				changed = append(changed, k)
				if !first && configChanged(old, d) {
					configs = append(configs, k)
				}
			}
		}
		for k, d := range next {
			if _, ok := c.desired[k]; !ok {
				changed = append(changed, k)
				if !first && configChanged(nil, d) {
					configs = append(configs, k)
				}
			}
		}
		c.desired = next
		clear(c.settled)
	}
	for _, ev := range u.Events {
		switch ev.Type {
		case model.EventDelete:
			if !ev.Entry.Key.IsZero() {
				if _, ok := c.desired[ev.Entry.Key]; ok {
					seen = append(seen, seenRevision{&ev.Entry, true, ""})
				}
				delete(c.desired, ev.Entry.Key)
				delete(c.settled, ev.Entry.Key)
				changed = append(changed, ev.Entry.Key)
			}
		default:
			if d, ok := c.toDesired(&ev.Entry); ok {
				if c.desiredSynced.Load() && configChanged(c.desired[d.Key], &d) {
					configs = append(configs, d.Key)
				}
				c.desired[d.Key] = &d
				delete(c.settled, d.Key)
				changed = append(changed, d.Key)
				seen = append(seen, seenRevision{&ev.Entry, false, d.Hash})
			}
		}
	}
	if u.Revision > c.desiredRev {
		c.desiredRev = u.Revision
	}
	rev := c.desiredRev
	c.mu.Unlock()

	for _, s := range seen {
		var value []byte
		if s.Group != nil {
			value = s.Value
		}
		c.history.seen(s.Key, s.ModRevision, value, s.hash, s.deleted)
	}
	for _, l := range left {
		c.history.facts(l.key, nil, &l.status)
	}
	c.metrics.DesiredRevision(rev)
	if u.Snapshot != nil {
		c.desiredSynced.Store(true)
		c.markSynced()
	}
	for _, k := range changed {
		c.engine.Add(k)
	}
	for _, k := range configs {
		for _, fn := range c.configFollowers {
			fn(k)
		}
	}
}

// groupStatus is a group's status as the controller holds it.
type groupStatus struct {
	key    specs.GroupKey
	status specs.Status
}

// seenRevision is a revision of a /desired key, put or deleted.
type seenRevision struct {
	*model.DesiredEntry
	deleted bool
	hash    string // of its spec, as the cache computed it
}

// toDesired turns a /desired entry into diff's form, within the
// daemon's limits. An entry whose etcd key names no group cannot be
// acted on; it is logged once per revision. Called with c.mu held.
func (c *Controller) toDesired(e *model.DesiredEntry) (diff.Desired, bool) {
	if e.Key.IsZero() {
		if c.badKeys[e.EtcdKey] != e.ModRevision {
			c.badKeys[e.EtcdKey] = e.ModRevision
			c.log.Warn("ignoring a /desired key that names no group", "key", e.EtcdKey, "err", e.Errors.Error())
		}
		return diff.Desired{}, false
	}
	return DesiredOf(e, c.cfg.Limits), true
}

// KnownSpec returns the normalised spec /desired holds for group k, when
// it holds a valid one: the spec Marathon's app of the group reports once
// it is in sync, which the driver's reads of the apps share
// (model.KnownSpecs). Specs are replaced, never changed in place.
func (c *Controller) KnownSpec(k specs.GroupKey) (specs.Spec, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.desired[k]
	if !ok || !d.Valid() {
		return specs.Spec{}, false
	}
	return d.Spec, true
}

// DesiredOf is a /desired entry that names a group in diff's form: the
// one place a stored spec becomes what a plan compares. A spec that is
// invalid, or above limits (when set), is an invalid Desired with its
// errors.
func DesiredOf(e *model.DesiredEntry, limits *specs.Limits) diff.Desired {
	if !e.Valid() {
		return diff.InvalidDesired(e.Key, e.ModRevision, e.Errors)
	}
	if limits != nil {
		if err := specs.CheckLimits(e.Group, *limits); err != nil {
			return diff.InvalidDesired(e.Key, e.ModRevision, err)
		}
	}
	// The entry is dropped once applied: its spec's maps are taken.
	d, err := diff.TakeDesired(e.Group, e.ModRevision)
	if err != nil {
		return diff.InvalidDesired(e.Key, e.ModRevision, err)
	}
	return d
}

// unhashedDesiredOf is DesiredOf without limits, the hash left to
// diff.Desired.SpecHash: a plan's view of /desired. It takes the maps of
// the entry's spec.
func unhashedDesiredOf(e *model.DesiredEntry) diff.Desired {
	if !e.Valid() {
		return diff.InvalidDesired(e.Key, e.ModRevision, e.Errors)
	}
	d, err := diff.TakeDesiredUnhashed(e.Group, e.ModRevision)
	if err != nil {
		return diff.InvalidDesired(e.Key, e.ModRevision, err)
	}
	return d
}

// Invalidated queues group k soon after an event named its app: the
// reconcile reads the app again first. The delay lets the burst of
// events one deployment sends cost one read. It never blocks.
func (c *Controller) Invalidated(k specs.GroupKey, _ uint64) {
	c.engine.AddAfter(k, c.cfg.EventDelay)
}

// Listed takes a full list of Marathon; it never blocks. The resync it
// calls for runs on the controller's own goroutine, on the latest list.
func (c *Controller) Listed(l *observe.Listing) { c.listings.Put(l) }
