package reconciler

import (
	"context"
	"log/slog"
	"time"

	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/marathon"
	"theseus.dev/specs"
)

// Defaults of DiscoveryConfig.
const (
	DefaultDiscoverySweep       = 30 * time.Second
	DefaultDiscoveryStaleAfter  = 2 * time.Minute
	DefaultDiscoveryMinInterval = 250 * time.Millisecond
	DefaultDiscoveryBurst       = 10
	DefaultDiscoveryTimeout     = time.Minute
	DefaultDiscoveryMaxReads    = 32
	DefaultDiscoveryParallel    = 8
)

// DiscoveryMarathon is what the discovery syncer reads of Marathon.
// *marathon.Client implements it: List returns every app under the root
// with its tasks, Get one app with its tasks or an error matching
// marathon.ErrNotFound.
type DiscoveryMarathon interface {
	List(ctx context.Context) ([]marathon.App, error)
	Get(ctx context.Context, key specs.GroupKey) (marathon.App, error)
}

// DiscoveryStore is the /services tree. *etcd.Discovery implements it;
// see there for the guards and the revision key.
type DiscoveryStore interface {
	ReadTree(ctx context.Context) (*etcd.Tree, error)
	ReadGroup(ctx context.Context, k specs.GroupKey) (*etcd.GroupEntry, error)
	SyncGroup(ctx context.Context, fence etcd.Fence, have *etcd.GroupEntry, want etcd.GroupState) (etcd.SyncResult, error)
	SetGroupStale(ctx context.Context, fence etcd.Fence, have *etcd.GroupEntry, stale bool, at time.Time) (bool, error)
	DropGroup(ctx context.Context, fence etcd.Fence, have *etcd.GroupEntry) (bool, error)
}

// TreeCache is a copy of the tree that follows its changes, so that a
// sweep need not read the whole tree from etcd; *etcd.TreeCache
// implements it. ReadTree answers like DiscoveryStore.ReadTree, as of a
// revision no older than etcd's at the call; Run keeps the copy current
// until ctx ends.
type TreeCache interface {
	ReadTree(ctx context.Context) (*etcd.Tree, error)
	Run(ctx context.Context) error
}

// ConfigSource gives the config of a group as deployed, to mirror to
// /services/{service}/{labels}/config. The map must leave out secret
// values (specs.Value.Secret; PublicConfig does that). ok is false when
// the group's config is not known (no valid desired spec): the stored
// config is then kept as it is.
type ConfigSource interface {
	GroupConfig(k specs.GroupKey) (cfg map[string]string, ok bool)
}

// PublicConfig returns the values of cfg that are not secret: what may be
// mirrored to /services.
func PublicConfig(cfg map[string]specs.Value) map[string]string {
	out := make(map[string]string, len(cfg))
	for k, v := range cfg {
		if !v.Secret {
			out[k] = v.Value
		}
	}
	return out
}

// DiscoveryConfig configures a Discovery syncer.
type DiscoveryConfig struct {
	// Marathon is read for the apps and their tasks; required.
	Marathon DiscoveryMarathon
	// Store is the /services tree; required.
	Store DiscoveryStore
	// Cache, if set, is what sweeps read the tree from, instead of
	// Store.ReadTree; the syncer's Run runs it. One syncer at a time may
	// use it.
	Cache TreeCache
	// Configs gives each group's config; nil leaves configs as stored
	// (an empty one for a new group).
	Configs ConfigSource
	// Fence guards every write with the leadership; the zero Fence writes
	// unfenced (tests, tools).
	Fence etcd.Fence
	// Sweep is the period of the full sweep. Defaults to
	// DefaultDiscoverySweep.
	Sweep time.Duration
	// Tick, if set, replaces the periodic timer: a sweep runs at each
	// receive (tests).
	Tick <-chan time.Time
	// StaleAfter is how long Marathon may fail to list before every group
	// is marked stale. Defaults to DefaultDiscoveryStaleAfter.
	StaleAfter time.Duration
	// MinInterval and Burst pace the refreshes of one group prompted by
	// events: Burst of them may follow each other at once, then one per
	// MinInterval, so a lone task change is written at once and a long
	// burst of them in a few writes. Default to
	// DefaultDiscoveryMinInterval and DefaultDiscoveryBurst.
	MinInterval time.Duration
	Burst       int
	// Timeout bounds each Marathon call (a list can be large). Defaults
	// to DefaultDiscoveryTimeout.
	Timeout time.Duration
	// MaxReads is the number of groups due at once above which a sweep
	// replaces reading each; with many groups, a tenth of them (as of
	// the last sweep) if that is more. Defaults to
	// DefaultDiscoveryMaxReads.
	MaxReads int
	// Parallel is the number of groups a sweep writes, or refreshes
	// read and write, at once. Defaults to DefaultDiscoveryParallel.
	Parallel int
	// Now is the clock of revision timestamps and staleness; defaults to
	// time.Now.
	Now func() time.Time
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Hooks are told about sweeps and refreshes, for metrics; optional.
	Hooks DiscoveryHooks
}

// DiscoveryHooks let the daemon count what the syncer does. They are
// called on the syncer's goroutine and must not block.
type DiscoveryHooks struct {
	// Sweep is called after each full sweep, failed or not.
	Sweep func(SweepStats)
	// Refresh is called after each round of event-driven refreshes.
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

// RefreshStats describe one event-driven refresh of the groups due.
type RefreshStats struct {
	Duration time.Duration
	// Groups were read again; Written and Removed of them changed.
	Groups, Written, Removed int
	// Failed could not be read or written and are retried.
	Failed int
}

func (c *DiscoveryConfig) defaults() {
	if c.Sweep <= 0 {
		c.Sweep = DefaultDiscoverySweep
	}
	if c.StaleAfter <= 0 {
		c.StaleAfter = DefaultDiscoveryStaleAfter
	}
	if c.MinInterval <= 0 {
		c.MinInterval = DefaultDiscoveryMinInterval
	}
	if c.Burst <= 0 {
		c.Burst = DefaultDiscoveryBurst
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultDiscoveryTimeout
	}
	if c.MaxReads <= 0 {
		c.MaxReads = DefaultDiscoveryMaxReads
	}
	if c.Parallel <= 0 {
		c.Parallel = DefaultDiscoveryParallel
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}
