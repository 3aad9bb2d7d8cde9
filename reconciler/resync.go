package reconciler

import (
	"context"

	"theseus.dev/internal/observe"
	"theseus.dev/specs"
)

// runListings carries out a resync for each list of Marathon the
// observer makes, until ctx ends.
func (c *Controller) runListings(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case l := <-c.listings.C:
			if l.Err == nil {
				c.resync(ctx, l)
			}
		}
	}
}

// resync reads the prune guard's record and queues every group that the
// fresh list and the caches do not show settled.
func (c *Controller) resync(ctx context.Context, l *observe.Listing) {
	c.refreshPrune(ctx)
	c.metrics.Resync(l.Duration.Seconds())
	inflight := 0
	for _, a := range l.Apps {
		if a.Managed && len(a.Deployments) > 0 {
			inflight++
		}
	}
	c.mu.Lock()
	var keys []specs.GroupKey // most resyncs find every group settled
	settled, withStatus := 0, 0
	for k := range c.desired {
		if c.settledLocked(k) {
			settled++
			withStatus++ // a group settled has a status
			continue
		}
		if _, ok := c.status[k]; ok {
			withStatus++
		}
		keys = append(keys, k)
	}
	for k := range l.Apps {
		if _, ok := c.desired[k]; !ok {
			keys = append(keys, k)
		}
	}
	// Only a status of a group without a /desired entry may be one left
	// behind; most resyncs find none.
	if withStatus < len(c.status) {
		for k := range c.status {
			_, d := c.desired[k]
			_, a := l.Apps[k]
			if !d && !a {
				keys = append(keys, k) // a status left behind: clean it up
			}
		}
	}
	c.mu.Unlock()
	c.metrics.DeploymentsInflight(inflight)
	c.log.Debug("resync", "apps", len(l.Apps), "queued", len(keys), "settled", settled)
	c.actualSynced.Store(true)
	c.markSynced()
	for _, k := range keys {
		c.engine.Add(k)
	}
}
