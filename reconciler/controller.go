package reconciler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"theseus.dev/diff"
	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/marathon"
	"theseus.dev/internal/backoff"
	"theseus.dev/specs"
)

// Defaults of Config.
const (
	DefaultResync           = 30 * time.Second
	DefaultProgressDeadline = 10 * time.Minute
	DefaultPollInterval     = 5 * time.Second
	DefaultWriteQPS         = 5
	DefaultWriteBurst       = 10
	DefaultEventDelay       = 50 * time.Millisecond
)

// Config configures a Controller.
type Config struct {
	Desired  DesiredSource
	Marathon Marathon
	// Events is Marathon's event stream; nil leaves convergence to the
	// periodic resync alone.
	Events EventSource
	Status StatusStore
	// Restarts says which restart requests are pending; nil means none.
	Restarts RestartSource

	// Prune deletes managed apps that have no desired spec, behind the
	// prune guard (MaxDeleteFraction, AllowMassDelete; see diff.Options).
	Prune             bool
	AllowMassDelete   bool
	MaxDeleteFraction float64

	// Resync is the period of the full resync: one Marathon list, every
	// group looked at again. Defaults to DefaultResync.
	Resync time.Duration
	// ProgressDeadline is how long a deployment may run before the group
	// is reported Stalled. Defaults to DefaultProgressDeadline.
	ProgressDeadline time.Duration
	// PollInterval is how often a group with a deployment in flight is
	// looked at again when no event says so. Defaults to
	// DefaultPollInterval.
	PollInterval time.Duration
	// WriteQPS and WriteBurst bound Marathon writes across all groups.
	WriteQPS   float64
	WriteBurst int
	// EventDelay is how long after a Marathon event its group is looked
	// at, so that the burst of events one deployment sends (a status
	// update per task and state, health changes, deployment steps) costs
	// one read of the app, not one each. Changes to /desired are not
	// delayed. Defaults to DefaultEventDelay.
	EventDelay time.Duration

	// Engine configures the work queue (workers, timeout, backoff).
	Engine EngineOptions
	// OnEvent, if set, is given every Marathon event after the controller
	// has taken it (for the discovery syncer). It must not block.
	OnEvent func(marathon.Event)
	// OnResync, if set, is given the apps of each successful resync's
	// list (the discovery syncer sweeps from it). It must not block.
	OnResync func([]marathon.App)
	// Now defaults to time.Now; status timestamps use it.
	Now     func() time.Time
	Logger  *slog.Logger
	Metrics *Metrics
}

func (c *Config) defaults() {
	if c.Resync <= 0 {
		c.Resync = DefaultResync
	}
	if c.ProgressDeadline <= 0 {
		c.ProgressDeadline = DefaultProgressDeadline
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.WriteQPS <= 0 {
		c.WriteQPS = DefaultWriteQPS
	}
	if c.WriteBurst <= 0 {
		c.WriteBurst = DefaultWriteBurst
	}
	if c.EventDelay <= 0 {
		c.EventDelay = DefaultEventDelay
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Engine.Logger == nil {
		c.Engine.Logger = c.Logger
	}
	if c.Engine.Metrics == nil {
		c.Engine.Metrics = c.Metrics
	}
}

// Controller makes Marathon match /desired for one term of leadership: it
// is built when the daemon wins the election and discarded when the
// leadership ends, so no state of a past term can leak into the next.
//
// It keeps two caches: /desired, fed by the store's watch, and Marathon's
// apps, refreshed by one list call per resync. A reconcile decides from
// the caches, so a resync that finds nothing to do costs one Marathon
// call and no writes; before any write it reads the app again, so it
// never acts on a stale view. Marathon events only mark apps to be read
// again and queue them.
type Controller struct {
	cfg     Config
	fence   etcd.Fence
	engine  *Engine
	writes  *rate.Limiter
	log     *slog.Logger
	metrics *Metrics

	mu            sync.Mutex
	desired       map[specs.GroupKey]diff.Desired
	desiredRev    int64
	actual        map[specs.GroupKey]marathon.App
	dirty         map[specs.GroupKey]uint64 // event sequence that marked it
	eventSeq      uint64
	status        map[specs.GroupKey]specs.Status
	badKeys       map[string]int64 // malformed /desired keys logged, by revision
	pruneRefusals string           // last prune-guard refusal logged

	desiredSynced, actualSynced atomic.Bool
	synced                      chan struct{}
	syncOnce                    sync.Once
	resyncNow                   chan struct{}
}

// NewController returns a controller for one leadership term, whose
// status writes are guarded by fence.
func NewController(cfg Config, fence etcd.Fence) *Controller {
	cfg.defaults()
	c := &Controller{
		cfg:       cfg,
		fence:     fence,
		writes:    rate.NewLimiter(rate.Limit(cfg.WriteQPS), cfg.WriteBurst),
		log:       cfg.Logger,
		metrics:   cfg.Metrics,
		desired:   make(map[specs.GroupKey]diff.Desired),
		actual:    make(map[specs.GroupKey]marathon.App),
		dirty:     make(map[specs.GroupKey]uint64),
		status:    make(map[specs.GroupKey]specs.Status),
		badKeys:   make(map[string]int64),
		synced:    make(chan struct{}),
		resyncNow: make(chan struct{}, 1),
	}
	c.engine = NewEngine(c, cfg.Engine)
	return c
}

// Fence is the leadership fence the controller's writes are guarded by.
func (c *Controller) Fence() etcd.Fence { return c.fence }

// GroupConfig is the config of group k as /desired holds it, secrets left
// out: what the discovery syncer mirrors to /services. false when the
// group has no valid spec, so that the stored config is kept.
func (c *Controller) GroupConfig(k specs.GroupKey) (map[string]string, bool) {
	c.mu.Lock()
	d, ok := c.desired[k]
	c.mu.Unlock()
	if !ok || !d.Valid() {
		return nil, false
	}
	return PublicConfig(d.Spec.Config), true
}

// Synced reports whether the first /desired snapshot and the first
// Marathon list are in: until then the controller acts on nothing.
func (c *Controller) Synced() bool { return c.desiredSynced.Load() && c.actualSynced.Load() }

// Run runs the controller until stop or work ends. When stop ends it
// takes no more work and lets reconciles in flight finish under work; when
// work ends (the leadership was lost) everything stops at once. It returns
// nil after stop, and work's cause otherwise.
func (c *Controller) Run(stop, work context.Context) error {
	if err := c.loadStatus(work); err != nil {
		return err
	}
	inputs, cancel := context.WithCancel(work)
	defer cancel()
	defer context.AfterFunc(stop, cancel)()

	var wg sync.WaitGroup
	wg.Go(func() { c.runDesired(inputs) })
	wg.Go(func() { c.runResync(inputs) })
	if c.cfg.Events != nil {
		wg.Go(func() { c.runEvents(inputs) })
	}
	select {
	case <-c.synced:
		c.log.Info("caches synced; reconciling", "groups", c.desiredLen(), "apps", c.actualLen())
		c.engine.RunUntil(stop, work)
	case <-inputs.Done():
	}
	cancel()
	wg.Wait()
	if stop.Err() != nil {
		return nil
	}
	return context.Cause(work)
}

// loadStatus reads /status so that the controller writes a group's status
// only when it changes. It retries until it succeeds or work ends.
func (c *Controller) loadStatus(ctx context.Context) error {
	b := backoff.New(200*time.Millisecond, 10*time.Second)
	for {
		entries, _, err := c.cfg.Status.List(ctx)
		if err == nil {
			c.mu.Lock()
			for _, e := range entries {
				if e.Status != nil {
					c.status[e.Key] = *e.Status
				}
			}
			c.mu.Unlock()
			return nil
		}
		c.log.Warn("cannot read /status; retrying", "err", err)
		if b.Wait(ctx) != nil {
			return context.Cause(ctx)
		}
	}
}

func (c *Controller) markSynced() {
	if c.Synced() {
		c.syncOnce.Do(func() { close(c.synced) })
	}
}

func (c *Controller) desiredLen() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.desired)
}

func (c *Controller) actualLen() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.actual)
}

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

// errStopped is returned by a reconcile that would write after the
// leadership ended.
var errStopped = errors.New("leadership ended; not writing")
