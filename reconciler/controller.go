package reconciler

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"theseus.dev/diff"
	"theseus.dev/internal/backoff"
	"theseus.dev/internal/engine"
	"theseus.dev/internal/observe"
	"theseus.dev/model"
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
	DefaultPruneWindow      = 10 * time.Minute
)

// Config configures a Controller.
type Config struct {
	Desired  DesiredSource
	Marathon Marathon
	// Events is Marathon's event stream, which the term's observer
	// follows; nil leaves convergence to the periodic resync alone.
	Events EventSource
	Status StatusStore
	// Restarts are the rolling restarts `theseusd restart` requests,
	// which the controller carries out; nil takes none.
	Restarts RestartStore

	// History keeps each group's history, with who wrote each
	// revision; without it there is no history and no automatic
	// rollback (a failed rollout is Failed).
	History HistoryStore
	// Pauses are the groups an operator paused; nil: the pause records
	// are read only before each write (DesiredSource.ConfirmUnpaused).
	Pauses PauseSource
	// Notifier is told of each change of phase; nil tells nobody.
	Notifier Notifier
	// RolloutFailures is how many tasks of a rollout theseus started may
	// fail before it has failed; MinHealthy how long a rollout must stay
	// done before it is over (docs/decisions.md#automatic-rollback).
	// Default DefaultRolloutFailures and DefaultMinHealthy.
	RolloutFailures int
	MinHealthy      time.Duration

	// Limits, if set, are bounds below specs.DefaultLimits (which every
	// stored spec is held to), every field set (see specs.Limits.Lower):
	// a spec above them is Invalid.
	Limits *specs.Limits

	// Prune deletes managed apps that have no desired spec, behind the
	// prune guard (MaxDeleteFraction, AllowMassDelete; see diff.Options).
	Prune             bool
	AllowMassDelete   bool
	MaxDeleteFraction float64
	// PruneLedger keeps the guard's window of recent deletions and an
	// operator's release; nil judges each pass alone and allows no
	// release. PruneWindow is how far back deletions count; defaults to
	// DefaultPruneWindow.
	PruneLedger PruneLedger
	PruneWindow time.Duration

	// Resync is the period of the full resync: one Marathon list (the
	// term's observer's, shared with every loop), every group looked at
	// again. Defaults to DefaultResync.
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
	Engine engine.Options
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
	if c.PruneWindow <= 0 {
		c.PruneWindow = DefaultPruneWindow
	}
	if c.RolloutFailures <= 0 {
		c.RolloutFailures = DefaultRolloutFailures
	}
	if c.MinHealthy <= 0 {
		c.MinHealthy = DefaultMinHealthy
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
		c.Engine.Metrics = c.Metrics.Engine()
	}
}

// Controller makes Marathon match /desired for one term of leadership: it
// is built when the daemon wins the election and discarded when the
// leadership ends, so no state of a past term can leak into the next.
//
// It keeps a cache of /desired, fed by the store's watch, and reads
// Marathon's apps from the term's observer, whose cache one list call per
// resync refreshes. A reconcile decides from the caches, so a resync that
// finds nothing to do costs one Marathon call and no writes; before any
// write it reads the app again, so it never acts on a stale view.
// Marathon events only mark apps to be read again and queue them.
type Controller struct {
	cfg     Config
	fence   model.Fence
	apps    *observe.Observer
	engine  *engine.Engine
	writes  *rate.Limiter
	log     *slog.Logger
	metrics *Metrics

	mu            sync.Mutex
	desired       map[specs.GroupKey]*diff.Desired // never changed in place: replaced
	desiredRev    int64
	status        map[specs.GroupKey]specs.Status
	phases        map[specs.Phase]int // the phases of status, counted
	badKeys       map[string]int64    // malformed /desired keys logged, by revision
	pruneRefusals string              // last prune-guard refusal logged
	pruneState    model.PruneState    // the guard's record as last read
	// settled holds the app with which each group was last found
	// settled (settledLocked).
	settled map[specs.GroupKey]*model.App

	// pruneMu makes the guard's check of a delete and its record one
	// step, so that two workers cannot both pass on the same count.
	pruneMu sync.Mutex

	desiredSynced, actualSynced atomic.Bool
	synced                      chan struct{}
	syncOnce                    sync.Once
	listings                    *observe.Latest // the latest list not yet taken
	restarts                    *restarter      // nil without Config.Restarts
	history                     *historian      // nil without Config.History
	statuses                    *statusWriter
	pauses                      *pauses
	// configFollowers are told of each group whose config changed
	// (FollowConfigs); set before Run.
	configFollowers []func(specs.GroupKey)
}

// NewController returns a controller for one leadership term, whose
// writes are guarded by fence, subscribed to the term's observer apps.
func NewController(cfg Config, fence model.Fence, apps *observe.Observer) *Controller {
	cfg.defaults()
	c := &Controller{
		cfg:      cfg,
		fence:    fence,
		apps:     apps,
		writes:   rate.NewLimiter(rate.Limit(cfg.WriteQPS), cfg.WriteBurst),
		log:      cfg.Logger,
		metrics:  cfg.Metrics,
		desired:  make(map[specs.GroupKey]*diff.Desired),
		status:   make(map[specs.GroupKey]specs.Status),
		phases:   make(map[specs.Phase]int),
		badKeys:  make(map[string]int64),
		settled:  make(map[specs.GroupKey]*model.App),
		synced:   make(chan struct{}),
		listings: observe.NewLatest(),
	}
	c.engine = engine.New(c, cfg.Engine)
	if cfg.Restarts != nil {
		c.restarts = newRestarter(c, cfg.Restarts)
	}
	if cfg.History != nil {
		c.history = newHistorian(c)
	}
	c.statuses = newStatusWriter(c)
	c.pauses = newPauses(c)
	apps.Subscribe(c)
	return c
}

// Fence is the leadership fence the controller's writes are guarded by.
func (c *Controller) Fence() model.Fence { return c.fence }

// GroupConfig is the config of group k as /desired holds it, secrets left
// out: what the discovery syncer mirrors to /services. false when the
// group has no valid spec, so that the stored config is kept.
func (c *Controller) GroupConfig(k specs.GroupKey) (map[string]string, bool) {
	c.mu.Lock()
	d := c.desired[k]
	c.mu.Unlock()
	return publicConfig(d)
}

// publicConfig is GroupConfig's answer for desired entry d (nil: none).
func publicConfig(d *diff.Desired) (map[string]string, bool) {
	if d == nil || !d.Valid() {
		return nil, false
	}
	return specs.PublicConfig(d.Spec.Config), true
}

// configChanged reports whether GroupConfig's answer for a group went
// from old to a known config that differs, cur: a group that is no
// longer valid keeps its stored config.
func configChanged(old, cur *diff.Desired) bool {
	cfg, ok := publicConfig(cur)
	if !ok {
		return false
	}
	was, known := publicConfig(old)
	return !known || !maps.Equal(was, cfg)
}

// FollowConfigs has fn told of each group whose config, as GroupConfig
// gives it, a change of /desired changed after the first snapshot (which
// the discovery syncer's first sweep mirrors whole), so that
// /services/{service}/{labels}/config follows at once rather than at the
// next resync. fn runs on the /desired feed and must not block. Call it
// before Run.
func (c *Controller) FollowConfigs(fn func(specs.GroupKey)) {
	c.configFollowers = append(c.configFollowers, fn)
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
	// A standby reports no groups, stalled or not, and no deployments.
	defer c.metrics.GroupPhases(nil)
	defer c.metrics.ForgetStalled()
	defer c.metrics.DeploymentsInflight(0)
	inputs, cancel := context.WithCancel(work)
	defer cancel()
	defer context.AfterFunc(stop, cancel)()

	var wg sync.WaitGroup
	wg.Go(func() { c.runDesired(inputs) })
	wg.Go(func() { c.runListings(inputs) })
	wg.Go(func() { c.pauses.run(inputs) })
	if c.history != nil {
		wg.Go(func() { c.history.run(work) })
	}
	wg.Go(func() { c.statuses.run(work) })
	select {
	case <-c.synced:
		c.log.Info("caches synced; reconciling", "groups", c.desiredLen(), "apps", c.actualLen())
		if c.restarts != nil {
			wg.Go(func() { c.restarts.run(inputs) })
		}
		c.engine.RunUntil(stop, work)
	case <-inputs.Done():
	}
	cancel()
	// The statuses and the history outlive the queue by what they have
	// left to record, within the term.
	c.statuses.close()
	if c.history != nil {
		c.history.close()
	}
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
					c.setStatusLocked(e.Key, e.Status)
				}
			}
			c.mu.Unlock()
			c.reportPhases()
			return nil
		}
		c.log.Warn("cannot read /status; retrying", "err", err)
		if b.Wait(ctx) != nil {
			return context.Cause(ctx)
		}
	}
}

// setStatusLocked records st (nil: none) as the status of k in the cache
// and its phase in the counts. Called with c.mu held.
func (c *Controller) setStatusLocked(k specs.GroupKey, st *specs.Status) {
	delete(c.settled, k)
	if old, ok := c.status[k]; ok {
		c.phases[old.Phase]--
	}
	if st == nil {
		delete(c.status, k)
		return
	}
	c.status[k] = *st
	c.phases[st.Phase]++
}

// reportPhases sets theseus_groups{phase} from the counts.
func (c *Controller) reportPhases() {
	c.mu.Lock()
	n := maps.Clone(c.phases)
	c.mu.Unlock()
	c.metrics.GroupPhases(n)
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

func (c *Controller) actualLen() int { return c.apps.Len() }

// errStopped is returned by a reconcile that would write after the
// leadership ended.
var errStopped = errors.New("leadership ended; not writing")

// wakeUp wakes the goroutine that waits on ch, a channel of one, unless a
// wake-up is already pending there; it never blocks.
func wakeUp(ch chan<- struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
