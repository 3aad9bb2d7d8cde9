package etcd

import (
	"context"
	"errors"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/internal/backoff"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// EventType says whether a key was written or deleted.
type EventType = model.DesiredEventType

// The event types.
const (
	EventPut    = model.EventPut
	EventDelete = model.EventDelete
)

// Event is one change to a /desired key (model.DesiredEvent).
type Event = model.DesiredEvent

// Update is one delivery of Watch (model.DesiredUpdate): a Snapshot that
// replaces what the consumer knew, or Events in revision order, or a
// progress report.
type Update = model.DesiredUpdate

// Sync lists /desired and delivers it as a snapshot, then watches from the
// snapshot's revision on, like Watch. It returns when ctx ends (with
// ctx's error) or when fn returns an error (with that error). A failed
// initial list is retried with backoff, never delivered as empty.
func (d *DesiredStore) Sync(ctx context.Context, fn func(Update) error) error {
	snap, err := d.relist(ctx, backoff.New(d.c.opts.RetryMin, d.c.opts.RetryMax))
	if err != nil {
		return err
	}
	if err := fn(Update{Snapshot: snap, Revision: snap.Revision}); err != nil {
		return err
	}
	return d.Watch(ctx, snap.Revision+1, fn)
}

// Watch delivers every change to /desired from revision fromRev on, in
// revision order, each exactly once, until ctx ends (returning ctx's
// error) or fn returns an error (returning it). fn runs on the calling
// goroutine; Watch starts none that outlive it.
//
// Watch hides every way an etcd watch can end:
//   - the connection drops or the member restarts: the client resumes by
//     itself from the last revision seen;
//   - the channel closes, the member loses its leader (the watch requires
//     one, so a partitioned member cannot feed it a stale view), or the
//     watch goes silent past Options.StallTimeout: it is re-established
//     from the last revision seen + 1 after a jittered backoff;
//   - the revision to resume from was compacted: /desired is listed again
//     and delivered as a Snapshot, and the watch goes on from the
//     snapshot's revision + 1, so nothing is missed or repeated.
//
// None of these ever reads as "desired is empty". Each restart and relist
// is reported to Options.Hooks.
func (d *DesiredStore) Watch(ctx context.Context, fromRev int64, fn func(Update) error) error {
	next := fromRev
	bo := backoff.New(d.c.opts.RetryMin, d.c.opts.RetryMax)
	for {
		reason, err := d.watchOnce(ctx, &next, bo, fn)
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d.c.opts.Hooks.watchRestart(reason)
		if reason == RestartCompacted {
			snap, err := d.relist(ctx, bo)
			if err != nil {
				return err
			}
			d.c.opts.Hooks.relist()
			if err := fn(Update{Snapshot: snap, Revision: snap.Revision}); err != nil {
				return err
			}
			next = snap.Revision + 1
			continue
		}
		if err := bo.Wait(ctx); err != nil {
			return err
		}
	}
}

// relist lists /desired until it succeeds or ctx ends.
func (d *DesiredStore) relist(ctx context.Context, bo *backoff.Backoff) (*Snapshot, error) {
	for {
		snap, err := d.List(ctx)
		if err == nil {
			return snap, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err := bo.Wait(ctx); err != nil {
			return nil, err
		}
	}
}

// watchOnce runs one etcd watch from *next until it ends, delivering its
// events and advancing *next past each. It returns why the watch ended,
// or fn's error.
func (d *DesiredStore) watchOnce(ctx context.Context, next *int64, bo *backoff.Backoff, fn func(Update) error) (RestartReason, error) {
	return d.c.watchPrefix(clientv3.WithRequireLeader(ctx), d.dir(), *next, bo, nil, func(wr clientv3.WatchResponse) error {
		u := Update{Revision: responseRevision(wr)}
		if len(wr.Events) > 0 {
			u.Events = make([]Event, len(wr.Events))
			for i, ev := range wr.Events {
				u.Events[i] = d.event(ev)
			}
		}
		if u.Revision < *next-1 {
			return nil // a progress report from before fromRev
		}
		*next = u.Revision + 1
		return fn(u)
	})
}

// watchChanges calls changed after each change of the keys under prefix
// (and once when it starts, and after a gap it cannot account for),
// until ctx ends; it then returns ctx's error. It is for readers that
// read everything again on a change, so it says only that one happened.
func (c *Client) watchChanges(ctx context.Context, prefix string, changed func()) error {
	bo := backoff.New(c.opts.RetryMin, c.opts.RetryMax)
	for {
		// changed is said once etcd has taken the watch, not before: a
		// reader's list made earlier could miss a change made between
		// it and the watch's start revision.
		_, err := c.watchPrefix(clientv3.WithRequireLeader(ctx), prefix, 0, bo, changed, func(wr clientv3.WatchResponse) error {
			if len(wr.Events) > 0 {
				changed()
			}
			return nil
		})
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := bo.Wait(ctx); err != nil {
			return err
		}
	}
}

// watchPrefix runs one etcd watch of the keys under prefix from revision
// from until it ends, handing each response to fn on the calling
// goroutine, and returns why the watch ended, or fn's error. created, if
// not nil, is called once etcd has taken the watch. ctx carries the
// stream's metadata (WithRequireLeader, a stream of its own). A stuck
// stream ends the watch: a creation that takes longer than
// Options.StallTimeout, or silence past it that a progress request does
// not break.
func (c *Client) watchPrefix(ctx context.Context, prefix string, from int64, bo *backoff.Backoff,
	created func(), fn func(clientv3.WatchResponse) error) (RestartReason, error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	timeout := c.opts.StallTimeout
	creating := time.AfterFunc(timeout, cancel)
	wch := c.cli.Watch(wctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(from), clientv3.WithProgressNotify())
	if !creating.Stop() {
		return RestartClosed, nil
	}
	if created != nil {
		created()
	}
	stall := time.NewTimer(timeout)
	defer stall.Stop()
	asked := false // a progress report was requested and has not come
	for {
		select {
		case <-stall.C:
			if asked {
				return RestartClosed, nil
			}
			// A healthy watch answers a progress request even when
			// nothing changes; silence after it means the stream is
			// stuck.
			asked = true
			pctx, pcancel := context.WithTimeout(wctx, timeout)
			_ = c.cli.RequestProgress(pctx)
			pcancel()
			stall.Reset(timeout)
		case wr, ok := <-wch:
			if !ok {
				return RestartClosed, nil
			}
			if err := wr.Err(); err != nil || wr.Canceled {
				return restartReason(err), nil
			}
			asked = false
			stall.Reset(timeout)
			bo.Reset()
			if err := fn(wr); err != nil {
				return "", err
			}
		}
	}
}

// responseRevision is the revision up to which a watch response is
// complete: its last event's, as the header can be ahead of the events,
// or for a progress report the header's.
func responseRevision(wr clientv3.WatchResponse) int64 {
	if n := len(wr.Events); n > 0 {
		return wr.Events[n-1].Kv.ModRevision
	}
	return wr.Header.Revision
}

func (d *DesiredStore) event(ev *clientv3.Event) Event {
	if ev.Type == mvccpb.PUT {
		return Event{Type: EventPut, Entry: d.decode(ev.Kv)}
	}
	e := Entry{EtcdKey: string(ev.Kv.Key), ModRevision: ev.Kv.ModRevision}
	if k, err := specs.ParseDesiredKey(d.c.opts.Prefix, e.EtcdKey); err == nil {
		e.Key = k
	} else {
		e.Errors = specs.ErrorList{{File: e.EtcdKey, Msg: err.Error()}}
	}
	return Event{Type: EventDelete, Entry: e}
}

func restartReason(err error) RestartReason {
	switch {
	case errors.Is(err, rpctypes.ErrCompacted):
		return RestartCompacted
	case errors.Is(err, rpctypes.ErrNoLeader), errors.Is(err, rpctypes.ErrGRPCNoLeader):
		return RestartNoLeader
	default:
		return RestartClosed
	}
}
