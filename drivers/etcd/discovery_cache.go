package etcd

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/metadata"

	"theseus.dev/internal/backoff"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// catchUpTimeout bounds how long TreeCache.ReadTree waits for the watch
// to deliver the changes made before the call, before it reads the tree
// from etcd instead.
const catchUpTimeout = 2 * time.Second

// TreeCache is a copy of /services kept current by a watch, so that the
// discovery sweep compares Marathon's list with memory rather than read
// the whole tree from etcd each time: at 50,000 containers that read was
// most of a sweep's time and all of the load it put on etcd. Build one
// with NewTreeCache, run it with Run, and read it with ReadTree, which
// answers like Discovery.ReadTree.
type TreeCache struct {
	d *Discovery
	// fallbacks counts the reads of etcd made because the watch did not
	// catch up in time.
	fallbacks atomic.Int64

	mu sync.Mutex
	// rev is the revision up to which every change is applied; 0 while
	// Run has not read the tree.
	rev int64
	// live is set while the watch runs: only then does a progress
	// request reach it, and is the cache read.
	live     bool
	groups   map[specs.GroupKey]*GroupEntry // an entry is replaced, never changed
	services map[string]bool
	moved    chan struct{} // closed when rev or live change, then replaced
}

// NewTreeCache returns a cache of the tree; it answers from etcd until
// Run has read the tree and its watch runs.
func (d *Discovery) NewTreeCache() *TreeCache {
	return &TreeCache{d: d, moved: make(chan struct{})}
}

// Run reads the tree and follows its changes until ctx ends, then
// returns ctx's error. A watch that breaks resumes where it stopped; one
// whose revision was compacted meanwhile reads the tree again. While Run
// is not running, ReadTree reads etcd.
func (c *TreeCache) Run(ctx context.Context) error {
	defer c.reset(nil)
	bo := backoff.New(c.d.c.opts.RetryMin, c.d.c.opts.RetryMax)
	for {
		if c.current() == 0 {
			t, err := c.d.ReadTree(ctx)
			if err != nil {
				if err := bo.Wait(ctx); err != nil {
					return err
				}
				continue
			}
			c.reset(t)
		}
		reason := c.follow(ctx, bo)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.d.c.opts.Hooks.watchRestart(reason)
		if reason == RestartCompacted {
			c.reset(nil)
			c.d.c.opts.Hooks.relist()
			continue
		}
		if err := bo.Wait(ctx); err != nil {
			return err
		}
	}
}

// ReadTree returns the tree as of a revision no older than etcd's when
// it was called, like Discovery.ReadTree: it asks etcd for its revision
// and waits for the watch to bring the cache there. While the watch does
// not run, or when it does not catch up within a few seconds, it reads
// the tree from etcd. The tree is the caller's; the cache does not
// change it afterwards.
func (c *TreeCache) ReadTree(ctx context.Context) (*Tree, error) {
	if !c.isLive() {
		return c.d.ReadTree(ctx)
	}
	rctx, cancel := c.d.c.reqCtx(ctx)
	resp, err := c.d.c.cli.Get(rctx, c.d.root(), clientv3.WithCountOnly())
	cancel()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", c.d.root(), err)
	}
	want := resp.Header.Revision
	timeout := time.NewTimer(catchUpTimeout)
	defer timeout.Stop()
	// Nothing may change under /services for a long while; a progress
	// report tells the cache that it is current. Asked again now and
	// then, in case an answer is lost to a reconnect.
	ask := time.NewTimer(0)
	defer ask.Stop()
	for {
		t, moved := c.snapshot(want)
		if t != nil {
			return t, nil
		}
		select {
		case <-ask.C:
			pctx, pcancel := context.WithTimeout(c.streamCtx(ctx), c.d.c.opts.RequestTimeout)
			_ = c.d.c.cli.RequestProgress(pctx)
			pcancel()
			ask.Reset(catchUpTimeout / 8)
		case <-moved:
			if !c.isLive() {
				return c.d.ReadTree(ctx) // Run stopped or relists
			}
		case <-timeout.C:
			c.fallbacks.Add(1)
			return c.d.ReadTree(ctx)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// streamCtx puts the cache's watch on a gRPC stream of its own: etcd
// answers a progress request only once every watch of the stream is
// current, and the cache should not wait for the others, nor wake them.
func (c *TreeCache) streamCtx(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(clientv3.WithRequireLeader(ctx), "theseus-watch", "services")
}

func (c *TreeCache) current() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rev
}

func (c *TreeCache) isLive() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.live
}

// setLive marks the watch running or not, and wakes the readers.
func (c *TreeCache) setLive(live bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.live = live
	c.signal()
}

// reset replaces the cache's content with t, or empties it (nil).
func (c *TreeCache) reset(t *Tree) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rev, c.live, c.groups, c.services = 0, false, nil, nil
	if t != nil {
		c.rev, c.groups, c.services = t.Revision, make(map[specs.GroupKey]*GroupEntry, len(t.Groups)), map[string]bool{}
		for k, g := range t.Groups {
			c.groups[k] = digested(g)
		}
		for _, s := range t.Services {
			c.services[s] = true
		}
	}
	c.signal()
}

// signal wakes the readers waiting for rev to move; c.mu is held.
func (c *TreeCache) signal() {
	close(c.moved)
	c.moved = make(chan struct{})
}

// snapshot returns the tree if the cache holds every change up to rev,
// and otherwise a channel that is closed when the cache moves.
func (c *TreeCache) snapshot(rev int64) (*Tree, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.live || c.rev < rev {
		return nil, c.moved
	}
	t := &Tree{Revision: c.rev, Services: slices.Sorted(maps.Keys(c.services)), Groups: maps.Clone(c.groups)}
	for k, g := range t.Groups {
		if g.ServiceExists != c.services[k.Service] {
			fixed := *g
			fixed.ServiceExists = !g.ServiceExists
			t.Groups[k] = &fixed
		}
	}
	return t, nil
}

// follow watches the tree from the revision after the cache's until the
// watch ends, applying each change, and says why it ended.
func (c *TreeCache) follow(ctx context.Context, bo *backoff.Backoff) RestartReason {
	defer c.setLive(false)
	reason, _ := c.d.c.watchPrefix(c.streamCtx(ctx), c.d.root(), c.current()+1, bo,
		func() { c.setLive(true) }, // the watch is taken: progress requests reach it
		func(wr clientv3.WatchResponse) error { c.apply(wr); return nil })
	return reason
}

// apply files one watch response: its events, or, for a progress report,
// the revision up to which nothing more changed.
func (c *TreeCache) apply(wr clientv3.WatchResponse) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rev := responseRevision(wr)
	if rev <= c.rev {
		return
	}
	fresh := map[specs.GroupKey]bool{} // entries copied for this response
	for _, ev := range wr.Events {
		c.applyEvent(ev, fresh)
	}
	c.rev = rev
	c.signal()
}

func (c *TreeCache) applyEvent(ev *clientv3.Event, fresh map[specs.GroupKey]bool) {
	seg := c.d.splitTreeKey(string(ev.Kv.Key))
	put := ev.Type == mvccpb.PUT
	switch {
	case len(seg) == 1:
		if checkService(seg[0]) == nil {
			if put {
				c.services[seg[0]] = true
			} else {
				delete(c.services, seg[0])
			}
		}
		return
	case len(seg) < 2 || checkGroup(seg[0], seg[1]) != nil:
		return
	}
	k := specs.GroupKey{Service: seg[0], Labels: seg[1]}
	g := c.groups[k]
	switch {
	case g == nil && !put:
		return
	case g == nil:
		g = model.NewGroupEntry(k, ev.Kv.ModRevision)
		g.InfoDigests = true
	case !fresh[k]:
		g = cloneEntry(g)
	}
	fresh[k] = true
	g.ReadRevision, g.ServiceExists = ev.Kv.ModRevision, c.services[k.Service]
	if put {
		addKey(g, seg, ev.Kv) // digests the info: the cache's entries hold digests
	} else {
		removeKey(g, string(ev.Kv.Key), seg)
	}
	if emptyEntry(g) {
		delete(c.groups, k)
		return
	}
	c.groups[k] = g
}

// digested returns g, read from etcd, as the cache keeps it: with the
// digests of its containers' info, which is all a sweep compares.
func digested(g *GroupEntry) *GroupEntry {
	if g.InfoDigests {
		return g
	}
	n := *g
	n.Infos, n.InfoDigests = slices.Clone(g.Infos), true
	for i := range n.Infos {
		n.Infos[i].Value = model.InfoDigest(n.Infos[i].Value)
	}
	return &n
}

// clone copies an entry so that the copy can change without the
// original, which readers may hold, changing.
func cloneEntry(g *GroupEntry) *GroupEntry {
	n := *g
	n.Infos, n.Others = slices.Clone(g.Infos), maps.Clone(g.Others)
	return &n
}

// remove forgets one deleted key of the group, given the key and its
// segments below /services; the counterpart of add.
func removeKey(g *GroupEntry, key string, seg []string) {
	switch {
	case len(seg) == 2:
		g.Exists, g.Marker = false, ""
	case len(seg) == 3 && seg[2] == "config":
		g.ConfigJSON = nil
	case len(seg) == 3 && seg[2] == RevisionKeyName:
		g.Revision, g.RevisionModRev = GroupRevision{}, 0
	case isInfoKey(seg):
		g.DeleteInfo(seg[3])
	default:
		delete(g.Others, key)
	}
	if emptyEntry(g) {
		g.MaxModRev = 0
	}
}

// empty reports whether the group has none of the keys ReadTree files.
func emptyEntry(g *GroupEntry) bool {
	return !g.Exists && g.ConfigJSON == nil && g.RevisionModRev == 0 && len(g.Infos) == 0 && len(g.Others) == 0
}
