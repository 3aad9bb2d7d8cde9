package endpoints

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Backoff bounds between attempts to re-establish a watch.
const (
	retryMin = 100 * time.Millisecond
	retryMax = 10 * time.Second
)

// Watch calls fn with the group of service with the given labels, then
// again each time theseus updates it, until ctx ends; then it returns
// nil. fn runs on the calling goroutine, once per update (updates that
// happen while fn runs are taken together) and only with states theseus
// wrote whole. A group deleted, or not deployed yet, is delivered with
// Exists false.
//
// A failure of the first read is returned at once, so that a wrong
// address or prefix shows. After that Watch hides every way an etcd watch
// ends: a dropped connection or a member without a leader re-establishes
// it after a jittered backoff, and a compacted history is read again
// whole, so no update is lost for good.
func (c *Client) Watch(ctx context.Context, service string, labels []string, fn func(Group)) error {
	sc, err := c.groupScope(service, labels)
	if err != nil {
		return err
	}
	return c.watch(ctx, sc, func(s snapshot) { fn(s.groups[0]) })
}

// WatchService is Watch for every group of a service at once: fn gets all
// its groups, sorted by labels, read at one revision, each time any of
// them is updated, added or removed.
func (c *Client) WatchService(ctx context.Context, service string, fn func([]Group)) error {
	sc, err := c.serviceScope(service)
	if err != nil {
		return err
	}
	return c.watch(ctx, sc, func(s snapshot) { fn(s.groups) })
}

// signature identifies the groups' updates in a snapshot: a group's
// revision changes with every update and only then.
func signature(s snapshot) []string {
	out := make([]string, len(s.groups))
	for i, g := range s.groups {
		out[i] = fmt.Sprintf("%s@%d", strings.Join(g.Labels, "."), g.Revision)
	}
	return out
}

func (c *Client) watch(ctx context.Context, sc scope, deliver func(snapshot)) error {
	s, err := c.settled(ctx, sc)
	if err != nil {
		return err
	}
	deliver(s)
	last, rev := signature(s), s.rev
	wait := retryMin
	for ctx.Err() == nil {
		var established, compacted bool
		rev, last, established, compacted = c.follow(ctx, sc, rev, last, deliver)
		if ctx.Err() != nil {
			break
		}
		if established {
			// Every watch ends with an error; only the failures since
			// the last one etcd took count towards the backoff.
			wait = retryMin
		}
		if compacted {
			// The history to resume from is gone: read everything again.
			if s, err := c.settled(ctx, sc); err == nil {
				rev = s.rev
				if sig := signature(s); !slices.Equal(sig, last) {
					deliver(s)
					last = sig
				}
				continue
			}
		}
		select {
		case <-ctx.Done():
		case <-c.after(wait/2 + rand.N(wait/2+1)):
		}
		wait = min(wait*2, retryMax)
	}
	return nil
}

// follow watches the scope's revision keys from rev+1 until the watch
// ends, delivering each settled state that differs from the last one. It
// returns how far it got, whether etcd took the watch, and whether it
// ended because the history was compacted.
func (c *Client) follow(ctx context.Context, sc scope, rev int64, last []string, deliver func(snapshot)) (_ int64, _ []string, established, compacted bool) {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	key, opts := c.watchKey(sc)
	opts = append(opts, clientv3.WithRev(rev+1), clientv3.WithProgressNotify(), clientv3.WithCreatedNotify())
	for wr := range c.cli.Watch(wctx, key, opts...) {
		if err := wr.Err(); err != nil {
			return rev, last, established, errors.Is(err, rpctypes.ErrCompacted)
		}
		if wr.Created {
			// Its header is the current revision, not how far the
			// watch got.
			established = true
			continue
		}
		var latest int64
		for _, ev := range wr.Events {
			if c.isRevisionKey(sc, string(ev.Kv.Key)) && ev.Kv.ModRevision > rev {
				latest = ev.Kv.ModRevision
			}
		}
		if latest == 0 {
			rev = max(rev, wr.Header.Revision)
			continue
		}
		s, err := c.read(ctx, sc, latest)
		if errors.Is(err, rpctypes.ErrCompacted) {
			s, err = c.read(ctx, sc, 0)
		}
		if err != nil {
			// The watch resumes before latest, and its read fails the
			// same way until etcd answers again: a failure that counts
			// towards the backoff, however the watch began.
			return rev, last, false, false
		}
		rev = s.rev
		if s.pending {
			continue
		}
		if sig := signature(s); !slices.Equal(sig, last) {
			deliver(s)
			last = sig
		}
	}
	return rev, last, established, false
}

// nextChange waits for the next write of a revision key of the scope
// after rev and returns its revision, or 0 when the history is compacted
// (read the current state).
func (c *Client) nextChange(ctx context.Context, sc scope, rev int64) (int64, error) {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	key, opts := c.watchKey(sc)
	for wr := range c.cli.Watch(wctx, key, append(opts, clientv3.WithRev(rev+1))...) {
		if err := wr.Err(); err != nil {
			if errors.Is(err, rpctypes.ErrCompacted) {
				return 0, nil
			}
			return 0, fmt.Errorf("endpoints: watch %s: %w", key, err)
		}
		for _, ev := range wr.Events {
			if c.isRevisionKey(sc, string(ev.Kv.Key)) {
				return ev.Kv.ModRevision, nil
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("endpoints: watch closed")
}

// watchKey is what a watch of the scope covers: the group's revision key,
// or every key of the service (filtered by isRevisionKey).
func (c *Client) watchKey(sc scope) (string, []clientv3.OpOption) {
	if sc.labels != "" {
		return sc.dir + "revision", nil
	}
	return sc.dir, []clientv3.OpOption{clientv3.WithPrefix()}
}

func (c *Client) isRevisionKey(sc scope, key string) bool {
	rest, ok := strings.CutPrefix(key, c.serviceDir(sc.service))
	if !ok {
		return false
	}
	labels, sub, _ := strings.Cut(rest, "/")
	return sub == "revision" && (sc.labels == "" || labels == sc.labels)
}
