package reconciler

import (
	"context"

	"theseus.dev/diff"
	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/marathon"
	"theseus.dev/specs"
)

// runDesired feeds the /desired cache from the store's snapshot and watch.
func (c *Controller) runDesired(ctx context.Context) {
	err := c.cfg.Desired.Sync(ctx, func(u etcd.Update) error {
		c.applyDesired(u)
		return nil
	})
	if err != nil && ctx.Err() == nil {
		c.log.Error("/desired watch ended", "err", err)
	}
}

func (c *Controller) applyDesired(u etcd.Update) {
	var changed []specs.GroupKey
	c.mu.Lock()
	if u.Snapshot != nil {
		next := make(map[specs.GroupKey]diff.Desired, len(u.Snapshot.Entries))
		for i := range u.Snapshot.Entries {
			if d, ok := c.toDesired(&u.Snapshot.Entries[i]); ok {
				next[d.Key] = d
			}
		}
		for k, old := range c.desired {
			if d, ok := next[k]; !ok || d.Revision != old.Revision {
				changed = append(changed, k)
			}
		}
		for k := range next {
			if _, ok := c.desired[k]; !ok {
				changed = append(changed, k)
			}
		}
		c.desired = next
	}
	for _, ev := range u.Events {
		switch ev.Type {
		case etcd.EventDelete:
			if !ev.Entry.Key.IsZero() {
				delete(c.desired, ev.Entry.Key)
				changed = append(changed, ev.Entry.Key)
			}
		default:
			if d, ok := c.toDesired(&ev.Entry); ok {
				c.desired[d.Key] = d
				changed = append(changed, d.Key)
			}
		}
	}
	if u.Revision > c.desiredRev {
		c.desiredRev = u.Revision
	}
	rev := c.desiredRev
	c.mu.Unlock()

	c.metrics.DesiredRevision(rev)
	if u.Snapshot != nil {
		c.desiredSynced.Store(true)
		c.markSynced()
	}
	for _, k := range changed {
		c.engine.Add(k)
	}
}

// toDesired turns a /desired entry into diff's form. An entry whose etcd
// key names no group cannot be acted on; it is logged once per revision.
// Called with c.mu held.
func (c *Controller) toDesired(e *etcd.Entry) (diff.Desired, bool) {
	if e.Key.IsZero() {
		if c.badKeys[e.EtcdKey] != e.ModRevision {
			c.badKeys[e.EtcdKey] = e.ModRevision
			c.log.Warn("ignoring a /desired key that names no group", "key", e.EtcdKey, "err", e.Errors.Error())
		}
		return diff.Desired{}, false
	}
	if !e.Valid() {
		return diff.InvalidDesired(e.Key, e.ModRevision, e.Errors), true
	}
	if l := c.cfg.Limits; l != nil {
		if err := specs.CheckLimits(e.Group, *l); err != nil {
			return diff.InvalidDesired(e.Key, e.ModRevision, err), true
		}
	}
	d, err := diff.NewDesired(e.Group, e.ModRevision)
	if err != nil {
		return diff.InvalidDesired(e.Key, e.ModRevision, err), true
	}
	return d, true
}

// runEvents turns Marathon events into work: look at the app again, or
// resync everything after the stream (re)attached.
func (c *Controller) runEvents(ctx context.Context) {
	err := c.cfg.Events.Events(ctx, func(ev marathon.Event) {
		c.handleEvent(ev)
		if c.cfg.OnEvent != nil {
			c.cfg.OnEvent(ev)
		}
	})
	if err != nil && ctx.Err() == nil {
		c.log.Error("Marathon event stream ended", "err", err)
	}
}

func (c *Controller) handleEvent(ev marathon.Event) {
	switch {
	case ev.Type == marathon.EventResync:
		c.TriggerResync()
	case ev.KeyOK:
		c.markDirty(ev.Key)
		c.engine.AddAfter(ev.Key, c.cfg.EventDelay)
	case ev.DeploymentID != "":
		// A deployment event that names no single app: look again at every
		// app with a deployment in flight.
		c.mu.Lock()
		var keys []specs.GroupKey
		for k, a := range c.actual {
			if len(a.Deployments) > 0 {
				c.eventSeq++
				c.dirty[k] = c.eventSeq
				keys = append(keys, k)
			}
		}
		c.mu.Unlock()
		for _, k := range keys {
			c.engine.AddAfter(k, c.cfg.EventDelay)
		}
	}
}

func (c *Controller) markDirty(k specs.GroupKey) {
	c.mu.Lock()
	c.eventSeq++
	c.dirty[k] = c.eventSeq
	c.mu.Unlock()
}

// TriggerResync asks for a full resync soon.
func (c *Controller) TriggerResync() {
	select {
	case c.resyncNow <- struct{}{}:
	default:
	}
}
