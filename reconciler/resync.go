package reconciler

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"theseus.dev/drivers/marathon"
	"theseus.dev/internal/backoff"
	"theseus.dev/specs"
)

// runResync lists Marathon once per period (jittered by up to 10%) and on
// demand, replaces the app cache and queues every group.
func (c *Controller) runResync(ctx context.Context) {
	b := backoff.New(500*time.Millisecond, 30*time.Second)
	for {
		wait := c.cfg.Resync + time.Duration(rand.Int64N(int64(c.cfg.Resync)/10+1))
		if err := c.resync(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			c.log.Warn("Marathon list failed; keeping the last view", "err", err)
			wait = b.Next()
		} else {
			b.Reset()
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-c.resyncNow:
			t.Stop()
		}
	}
}

func (c *Controller) resync(ctx context.Context) error {
	c.refreshPrune(ctx)
	start := time.Now()
	c.mu.Lock()
	seq := c.eventSeq
	c.mu.Unlock()
	apps, err := c.cfg.Marathon.List(ctx)
	if err != nil {
		return fmt.Errorf("resync: %w", err)
	}
	c.metrics.Resync(time.Since(start).Seconds())
	next := make(map[specs.GroupKey]marathon.App, len(apps))
	inflight := 0
	for _, a := range apps {
		next[a.Key] = a
		if a.Managed && len(a.Deployments) > 0 {
			inflight++
		}
	}
	c.mu.Lock()
	for k, s := range c.dirty {
		if s <= seq {
			delete(c.dirty, k) // the list is newer than the event
			continue
		}
		// The list may predate a create or an event: keep what was
		// seen of the app until it is read again, so that the prune
		// guard, which counts from this cache, does not undercount.
		if _, listed := next[k]; !listed {
			if a, ok := c.actual[k]; ok {
				next[k] = a
			}
		}
	}
	c.actual = next
	keys := make([]specs.GroupKey, 0, len(c.desired)+len(next))
	settled := 0
	for k := range c.desired {
		if c.settledLocked(k) {
			settled++
			continue
		}
		keys = append(keys, k)
	}
	for k := range next {
		if _, ok := c.desired[k]; !ok {
			keys = append(keys, k)
		}
	}
	for k := range c.status {
		_, d := c.desired[k]
		_, a := next[k]
		if !d && !a {
			keys = append(keys, k) // a status left behind: clean it up
		}
	}
	c.mu.Unlock()
	c.metrics.DeploymentsInflight(inflight)
	c.log.Debug("resync", "apps", len(apps), "queued", len(keys), "settled", settled)
	if c.cfg.OnResync != nil {
		c.cfg.OnResync(apps)
	}
	c.actualSynced.Store(true)
	c.markSynced()
	for _, k := range keys {
		c.engine.Add(k)
	}
	return nil
}
