package discovery

import (
	"context"
	"log/slog"
	"time"

	"theseus.dev/internal/engine"
	"theseus.dev/internal/observe"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// Defaults of Config.
const (
	DefaultStaleAfter  = 2 * time.Minute
	DefaultMinInterval = 250 * time.Millisecond
	DefaultBurst       = 10
	DefaultMaxReads    = 32
	DefaultParallel    = 8
)

// Apps is the shared view of Marathon the syncer follows
// (*observe.Observer): it subscribes to it, reads the apps of the groups
// it refreshes through it, and asks it for a full list when it needs
// one. A refresh reads Marathon (Read) when an event marked the app
// (Dirty), and takes the cached copy (Get) otherwise, telling which it
// did: a sweep goes by how new the refresh's view is known to be.
type Apps interface {
	Subscribe(observe.Subscriber)
	Dirty(k specs.GroupKey) bool
	Get(k specs.GroupKey) (*model.App, bool)
	Read(ctx context.Context, k specs.GroupKey) (*model.App, error)
	Resync()
	ListsStarted() uint64
}

// Store is the /services tree. *etcd.Discovery implements it: each
// write is one transaction with the group's revision key, guarded by
// the entry as read (model.ErrConflict when it changed since) and by
// the fence (model.ErrNotLeader once it no longer holds).
type Store interface {
	ReadTree(ctx context.Context) (*model.Tree, error)
	ReadGroup(ctx context.Context, k specs.GroupKey) (*model.GroupEntry, error)
	SyncGroup(ctx context.Context, fence model.Fence, have *model.GroupEntry, want model.GroupState) (model.SyncResult, error)
	SetGroupStale(ctx context.Context, fence model.Fence, have *model.GroupEntry, stale bool, at time.Time) (bool, error)
	DropGroup(ctx context.Context, fence model.Fence, have *model.GroupEntry) (bool, error)
}

// TreeCache is a copy of the tree that follows its changes, so that a
// sweep need not read the whole tree from etcd; *etcd.TreeCache
// implements it. ReadTree answers like Store.ReadTree, as of a revision
// no older than etcd's at the call; Run keeps the copy current until ctx
// ends.
type TreeCache interface {
	ReadTree(ctx context.Context) (*model.Tree, error)
	Run(ctx context.Context) error
}

// ConfigSource gives the config of a group as deployed, to mirror to
// /services/{service}/{labels}/config. The map must leave out secret
// values (specs.PublicConfig does that); nil with ok is an empty config,
// and the map is not changed by the syncer. ok is false when the group's config
// is not known (no valid desired spec): the stored config is then kept
// as it is.
type ConfigSource interface {
	GroupConfig(k specs.GroupKey) (cfg map[string]string, ok bool)
}

// Config configures a Syncer.
type Config struct {
	// Apps is the view of Marathon; required. The syncer subscribes to
	// it; Marathon is listed and read through it, so each list serves
	// every loop of the term.
	Apps Apps
	// Store is the /services tree; required.
	Store Store
	// Cache, if set, is what sweeps read the tree from, instead of
	// Store.ReadTree; the syncer's Run runs it. One syncer at a time may
	// use it.
	Cache TreeCache
	// Configs gives each group's config; nil leaves configs as stored
	// (an empty one for a new group).
	Configs ConfigSource
	// Fence guards every write with the leadership; the zero Fence writes
	// unfenced (tests, tools).
	Fence model.Fence
	// StaleAfter is how long Marathon may fail to list before every group
	// is marked stale. Defaults to DefaultStaleAfter.
	StaleAfter time.Duration
	// MinInterval and Burst pace the refreshes of one group prompted by
	// events: Burst of them may follow each other at once, then one per
	// MinInterval, so a lone task change is written at once and a long
	// burst of them in a few writes. Default to DefaultMinInterval and
	// DefaultBurst.
	MinInterval time.Duration
	Burst       int
	// MaxReads is the number of groups marked at once above which a
	// sweep replaces reading each; with many groups, a tenth of them (as
	// of the last sweep) if that is more. Defaults to DefaultMaxReads.
	MaxReads int
	// Parallel is the number of groups a sweep writes, or refreshes read
	// and write, at once. Defaults to DefaultParallel.
	Parallel int
	// Now is the clock of revision timestamps and staleness; defaults to
	// time.Now.
	Now func() time.Time
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Metrics, if set, counts the refreshes as the engine "discovery".
	Metrics *engine.Metrics
	// Hooks are told about sweeps and refreshes, for metrics; optional.
	Hooks Hooks
}

// Hooks let the daemon count what the syncer does. They are called on
// the syncer's goroutines and must not block.
type Hooks struct {
	// Sweep is called after each full sweep, failed or not.
	Sweep func(SweepStats)
	// Refresh is called after each event-driven refresh of a group.
	Refresh func(RefreshStats)
}

// SweepStats describe one full sweep.
type SweepStats struct {
	Duration time.Duration
	// Err is why the sweep failed; nil on success.
	Err error
	// Groups and Containers count the managed groups and their
	// containers Marathon reported.
	Groups, Containers int
	// Written and Removed count the groups written and dropped; Stale
	// those marked stale by a failed sweep.
	Written, Removed, Stale int
}

// RefreshStats describe one event-driven refresh of a group.
type RefreshStats struct {
	Duration time.Duration
	// Written or Removed say whether the group changed; Err why the
	// refresh failed (it is retried with backoff).
	Written, Removed bool
	Err              error
}

func (c *Config) defaults() {
	if c.StaleAfter <= 0 {
		c.StaleAfter = DefaultStaleAfter
	}
	if c.MinInterval <= 0 {
		c.MinInterval = DefaultMinInterval
	}
	if c.Burst <= 0 {
		c.Burst = DefaultBurst
	}
	if c.MaxReads <= 0 {
		c.MaxReads = DefaultMaxReads
	}
	if c.Parallel <= 0 {
		c.Parallel = DefaultParallel
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}
