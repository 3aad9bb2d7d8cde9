package etcd

import (
	"context"
	"fmt"
	"math"
	"os"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"theseus.dev/internal/backoff"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// DefaultTTL is the default session TTL of an election: how long a dead
// leader keeps the leadership before a standby takes over.
const DefaultTTL = 15 * time.Second

// ElectionConfig configures Campaign (model.ElectionConfig); a zero ID
// defaults to "hostname/pid" and a zero TTL to DefaultTTL.
type ElectionConfig = model.ElectionConfig

// leaderPrefix returns the election's key prefix; each candidate's key
// adds "/{lease id in hex}".
func (c *Client) leaderPrefix() string { return c.opts.Prefix + specs.TheseusDir + "leader" }

// Leadership is held by the one daemon that won the election. Its
// Context is the parent of all leader work: it is cancelled the moment
// the leadership ends, with context.Cause ErrLeadershipLost (the session
// expired or the key was deleted) or ErrResigned (Resign was called). The
// Fence guards the leader's etcd writes, so that a leader that has not
// noticed its loss yet still cannot write.
type Leadership struct {
	c     *Client
	sess  *concurrency.Session
	elect *concurrency.Election
	id    string
	fence Fence

	ctx    context.Context
	cancel context.CancelCauseFunc
	// stopped is closed when the goroutine watching the leader key ends.
	stopped chan struct{}
	// stopOnSession unregisters the end of the leadership on the end of
	// the session.
	stopOnSession func() bool

	once   sync.Once
	leadMu sync.Mutex
	lead   bool // reported to Hooks.Leader as true and not yet as false
}

// Campaign blocks until this process is the leader, or ctx ends. It
// grants a lease with cfg.TTL, keeps it alive in a session and campaigns
// under a context derived from that session, so a session that dies
// while waiting aborts the campaign instead of winning it later with no
// lease (docs/reliability.md). After winning it checks that the leader key
// still exists with this session's lease; if not, or if the session died,
// it starts over with a new session, after a backoff. Call Resign when
// done, whether or not the leadership was lost.
func (c *Client) Campaign(ctx context.Context, cfg ElectionConfig) (*Leadership, error) {
	if cfg.ID == "" {
		host, _ := os.Hostname()
		cfg.ID = fmt.Sprintf("%s/%d", host, os.Getpid())
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	ttl := int64(math.Ceil(cfg.TTL.Seconds()))
	bo := backoff.New(c.opts.RetryMin, c.opts.RetryMax)
	for {
		l, err := c.campaignOnce(ctx, cfg.ID, ttl)
		if err == nil {
			return l, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err := bo.Wait(ctx); err != nil {
			return nil, err
		}
	}
}

// Lead is Campaign for a caller that knows the leadership only as a
// model.Leadership.
func (c *Client) Lead(ctx context.Context, cfg ElectionConfig) (model.Leadership, error) {
	l, err := c.Campaign(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return l, nil
}

func (c *Client) campaignOnce(ctx context.Context, id string, ttl int64) (*Leadership, error) {
	// The lease is granted here, under ctx, rather than by NewSession,
	// which would grant it under the client's context and could not be
	// interrupted.
	gctx, cancel := c.reqCtx(ctx)
	grant, err := c.cli.Grant(gctx, ttl)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("election: grant lease: %w", err)
	}
	sess, err := concurrency.NewSession(c.cli, concurrency.WithLease(grant.ID), concurrency.WithTTL(int(ttl)))
	if err != nil {
		c.revoke(grant.ID)
		return nil, fmt.Errorf("election: session: %w", err)
	}
	campCtx, cancelCamp := context.WithCancel(sess.Ctx())
	stop := context.AfterFunc(ctx, cancelCamp)
	elect, err := c.campaign(campCtx, sess, id)
	stop()
	cancelCamp()
	if err != nil {
		c.closeSession(ctx, sess)
		return nil, fmt.Errorf("election: campaign: %w", err)
	}
	fence := Fence{Key: elect.Key(), Revision: elect.Rev()}
	if err := c.verifyLeader(ctx, sess, fence); err != nil {
		c.closeSession(ctx, sess)
		return nil, err
	}
	lctx, lcancel := context.WithCancelCause(context.Background())
	l := &Leadership{c: c, sess: sess, elect: elect, id: id, fence: fence,
		ctx: lctx, cancel: lcancel, stopped: make(chan struct{}), lead: true}
	c.opts.Hooks.leader(true)
	// The session's end ends the leadership at once, whatever the key
	// watch below is doing (its creation can hang on a cut connection).
	l.stopOnSession = context.AfterFunc(sess.Ctx(), func() {
		l.end(fmt.Errorf("%w: session ended", ErrLeadershipLost))
	})
	go l.guard()
	return l, nil
}

// campaign puts this candidate's key, bound to sess's lease, under the
// leader prefix and waits until every key created before it is gone, as
// concurrency.Election.Campaign does, until ctx ends. Unlike that, a
// cancelled campaign does not wait on etcd to remove its key (on a
// connection cut off from etcd that wait never ends): the caller revokes
// the lease, which removes it. A watch compacted meanwhile is looked at
// again rather than failing the campaign.
func (c *Client) campaign(ctx context.Context, sess *concurrency.Session, id string) (*concurrency.Election, error) {
	pfx := c.leaderPrefix() + "/"
	key := fmt.Sprintf("%s%x", pfx, sess.Lease())
	resp, err := c.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, id, clientv3.WithLease(sess.Lease()))).
		Else(clientv3.OpGet(key)).Commit()
	if err != nil {
		return nil, fmt.Errorf("put %s: %w", key, err)
	}
	rev := resp.Header.Revision
	if !resp.Succeeded {
		rev = resp.Responses[0].GetResponseRange().Kvs[0].CreateRevision
	}
	opts := append(clientv3.WithLastCreate(), clientv3.WithMaxCreateRev(rev-1))
	for {
		older, err := c.cli.Get(ctx, pfx, opts...)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", pfx, err)
		}
		if len(older.Kvs) == 0 {
			return concurrency.ResumeElection(sess, c.leaderPrefix(), key, rev), nil
		}
		if err := waitDelete(ctx, c.cli, string(older.Kvs[0].Key), older.Header.Revision); err != nil {
			return nil, err
		}
	}
}

// waitDelete returns once key is deleted after revision rev, or when its
// watch was compacted past (the caller reads it again), or an error when
// ctx ends or the watch fails otherwise.
func waitDelete(ctx context.Context, cli *clientv3.Client, key string, rev int64) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for wr := range cli.Watch(wctx, key, clientv3.WithRev(rev)) {
		if wr.CompactRevision != 0 {
			return nil
		}
		if err := wr.Err(); err != nil {
			return fmt.Errorf("watch %s: %w", key, err)
		}
		for _, ev := range wr.Events {
			if ev.Type == mvccpb.DELETE {
				return nil
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return fmt.Errorf("watch %s: closed", key)
}

// closeSessionTimeout bounds the revoke of a session's lease once the
// caller has stopped: a reachable etcd answers at once, and an
// unreachable one expires the lease after its TTL anyway.
const closeSessionTimeout = time.Second

// closeSession stops sess's keepalives and revokes its lease, which
// removes its keys, without waiting on etcd past ctx and the request
// timeout (closeSessionTimeout once ctx has ended): Session.Close would
// wait up to the TTL on a connection cut off from etcd.
func (c *Client) closeSession(ctx context.Context, sess *concurrency.Session) {
	sess.Orphan()
	var rctx context.Context
	var cancel context.CancelFunc
	if ctx.Err() != nil {
		rctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), closeSessionTimeout)
	} else {
		rctx, cancel = c.reqCtx(ctx)
	}
	defer cancel()
	_, _ = c.cli.Revoke(rctx, sess.Lease())
}

// verifyLeader checks that the leader key exists, was created by this
// campaign and is bound to this session's lease: Campaign can return
// success after the session died and etcd deleted the key.
func (c *Client) verifyLeader(ctx context.Context, sess *concurrency.Session, f Fence) error {
	rctx, cancel := c.reqCtx(ctx)
	defer cancel()
	resp, err := c.cli.Get(rctx, f.Key)
	if err != nil {
		return fmt.Errorf("election: verify leadership: %w", err)
	}
	if len(resp.Kvs) == 0 || resp.Kvs[0].CreateRevision != f.Revision || clientv3.LeaseID(resp.Kvs[0].Lease) != sess.Lease() {
		return fmt.Errorf("election: won with a dead session: %w", ErrLeadershipLost)
	}
	if sess.Ctx().Err() != nil {
		return fmt.Errorf("election: session ended: %w", ErrLeadershipLost)
	}
	return nil
}

func (c *Client) revoke(id clientv3.LeaseID) {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.RequestTimeout)
	defer cancel()
	_, _ = c.cli.Revoke(ctx, id)
}

// guard ends the leadership when the leader key is deleted; it returns
// when the leadership ends, for whatever reason.
func (l *Leadership) guard() {
	defer close(l.stopped)
	next := l.fence.Revision + 1
	bo := backoff.New(l.c.opts.RetryMin, l.c.opts.RetryMax)
	for {
		wctx, cancel := context.WithCancel(l.ctx)
		wch := l.c.cli.Watch(wctx, l.fence.Key, clientv3.WithRev(next))
		compacted, lost := l.watchKey(wch, &next, bo)
		cancel()
		if lost != nil {
			l.end(lost)
			return
		}
		if l.ctx.Err() != nil {
			return
		}
		// The watch closed for another reason; look at the key itself
		// before watching again, in case its delete was compacted away.
		gone, rev := l.keyGone()
		if gone {
			l.end(ErrLeadershipLost)
			return
		}
		if compacted && rev > 0 {
			// The key was there at rev: watch on from there at once. A
			// watch from next again would only be compacted again, and
			// the leader would be left without one.
			next = rev + 1
			l.c.opts.Hooks.watchRestart(RestartCompacted)
			continue
		}
		if bo.Wait(l.ctx) != nil {
			return
		}
	}
}

// watchKey follows one watch of the leader key. It returns a non-nil
// cause when the leadership is lost, or nil when the watch ended, with
// whether it ended because the revision to watch from was compacted.
func (l *Leadership) watchKey(wch clientv3.WatchChan, next *int64, bo *backoff.Backoff) (compacted bool, lost error) {
	for {
		select {
		case <-l.ctx.Done():
			return false, nil
		case wr, ok := <-wch:
			if !ok {
				return false, nil
			}
			if wr.Canceled || wr.Err() != nil {
				return wr.CompactRevision != 0, nil
			}
			bo.Reset()
			for _, ev := range wr.Events {
				if ev.Type == mvccpb.DELETE {
					return false, fmt.Errorf("%w: leader key %s deleted", ErrLeadershipLost, l.fence.Key)
				}
				*next = ev.Kv.ModRevision + 1
			}
		}
	}
}

// keyGone reports whether the leader key is known to be gone or
// replaced, and the revision it was read at (0 if it could not be read);
// an error reading it is not taken as loss (the session and its TTL
// decide that).
func (l *Leadership) keyGone() (bool, int64) {
	ctx, cancel := l.c.reqCtx(l.ctx)
	defer cancel()
	resp, err := l.c.cli.Get(ctx, l.fence.Key)
	if err != nil {
		return false, 0
	}
	return len(resp.Kvs) == 0 || resp.Kvs[0].CreateRevision != l.fence.Revision, resp.Header.Revision
}

// end cancels the leadership context with cause and reports the loss.
func (l *Leadership) end(cause error) {
	l.cancel(cause)
	l.leadMu.Lock()
	was := l.lead
	l.lead = false
	l.leadMu.Unlock()
	if was {
		l.c.opts.Hooks.leader(false)
	}
}

// Context is cancelled when the leadership ends; derive all leader work
// from it. context.Cause tells ErrLeadershipLost from ErrResigned.
func (l *Leadership) Context() context.Context { return l.ctx }

// Done is closed when the leadership ends.
func (l *Leadership) Done() <-chan struct{} { return l.ctx.Done() }

// Fence returns the fence for the leader's etcd writes (StatusStore).
func (l *Leadership) Fence() Fence { return l.fence }

// ID returns the value of the leader key.
func (l *Leadership) ID() string { return l.id }

// Lease returns the lease the leader key is bound to.
func (l *Leadership) Lease() clientv3.LeaseID { return l.sess.Lease() }

// Resign ends the leadership: it cancels the leadership context, deletes
// the leader key and revokes the session's lease, so that a standby takes
// over at once instead of after the TTL. Stop leader work before calling
// it (or let the cancelled context stop it). It is safe to call more than
// once and after the leadership was lost.
func (l *Leadership) Resign(ctx context.Context) error {
	var err error
	l.once.Do(func() {
		l.end(ErrResigned)
		l.stopOnSession()
		<-l.stopped
		if l.sess.Ctx().Err() != nil {
			// The lease is gone, and the election key with it: there is
			// nothing to hand over, and on a connection cut off from
			// etcd a resign would only hold up the next campaign until
			// it timed out.
			l.sess.Orphan()
			return
		}
		rctx, cancel := l.c.reqCtx(ctx)
		defer cancel()
		if rerr := l.elect.Resign(rctx); rerr != nil {
			err = fmt.Errorf("election: resign: %w", rerr)
		}
		// Revoking the lease also deletes the key if Resign could not.
		// Its error is dropped: a lease that is already gone (the usual
		// reason for it to fail) is what Resign wants.
		l.c.closeSession(ctx, l.sess)
	})
	return err
}

// LeaderInfo describes the current leader.
type LeaderInfo struct {
	ID       string
	Key      string
	Revision int64
	Lease    clientv3.LeaseID
}

// Leader returns the current leader, or an error matching ErrNoLeader if
// no daemon holds the leadership.
func (c *Client) Leader(ctx context.Context) (LeaderInfo, error) {
	rctx, cancel := c.reqCtx(ctx)
	defer cancel()
	resp, err := c.cli.Get(rctx, c.leaderPrefix()+"/", clientv3.WithFirstCreate()...)
	if err != nil {
		return LeaderInfo{}, fmt.Errorf("election: leader: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return LeaderInfo{}, ErrNoLeader
	}
	kv := resp.Kvs[0]
	return LeaderInfo{ID: string(kv.Value), Key: string(kv.Key), Revision: kv.CreateRevision, Lease: clientv3.LeaseID(kv.Lease)}, nil
}
