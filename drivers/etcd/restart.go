package etcd

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/internal/backoff"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// restartDir holds the rolling restarts, one key per service: requested
// by `theseusd restart`, carried out and recorded by the leader.
const restartDir = "/theseus/restart/"

// RestartEntry is the restart of one service as read (model.RestartEntry).
type RestartEntry = model.RestartEntry

// RestartStore keeps the rolling restarts under /theseus/restart/.
type RestartStore struct{ c *Client }

// Restarts returns the store of the rolling restarts.
func (c *Client) Restarts() *RestartStore { return &RestartStore{c: c} }

func (s *RestartStore) dir() string               { return s.c.opts.Prefix + restartDir }
func (s *RestartStore) key(service string) string { return RestartKey(s.c.opts.Prefix, service) }

// RestartKey returns the etcd key of the rolling restart of service.
func RestartKey(prefix, service string) string { return prefix + restartDir + service }

// Get reads the restart of service; its State is nil when there is none.
func (s *RestartStore) Get(ctx context.Context, service string) (RestartEntry, error) {
	rctx, cancel := s.c.reqCtx(ctx)
	defer cancel()
	resp, err := s.c.cli.Get(rctx, s.key(service))
	if err != nil {
		return RestartEntry{}, fmt.Errorf("read restart of %s: %w", service, err)
	}
	if len(resp.Kvs) == 0 {
		return RestartEntry{Service: service}, nil
	}
	return s.decode(service, resp.Kvs[0])
}

// List reads every restart, in service order. A record that does not
// decode comes with its Err and no State, so that it holds up no other
// service's restart and the reader can say which key to mend.
func (s *RestartStore) List(ctx context.Context) ([]RestartEntry, error) {
	kvs, _, err := s.c.rangeAll(ctx, s.dir())
	if err != nil {
		return nil, err
	}
	out := make([]RestartEntry, 0, len(kvs))
	for _, kv := range kvs {
		service := strings.TrimPrefix(string(kv.Key), s.dir())
		e, err := s.decode(service, kv)
		if err != nil {
			e = RestartEntry{Service: service, ModRevision: kv.ModRevision, Err: err}
		}
		out = append(out, e)
	}
	return out, nil
}

func (s *RestartStore) decode(service string, kv *mvccpb.KeyValue) (RestartEntry, error) {
	var st specs.RestartState
	if err := json.Unmarshal(kv.Value, &st); err != nil {
		return RestartEntry{}, fmt.Errorf("restart of %s at %s: %w: %w", service, kv.Key, ErrCorrupt, err)
	}
	return RestartEntry{Service: service, State: &st, ModRevision: kv.ModRevision}, nil
}

// Put writes the restart of service if its key is still at mod revision
// prev (0: absent), fenced by fence unless it is the zero Fence (a
// request from the command line). It returns the new mod revision; a key
// changed since is an error matching ErrConflict, an ended leadership one
// matching ErrNotLeader.
func (s *RestartStore) Put(ctx context.Context, fence Fence, service string, st *specs.RestartState, prev int64) (int64, error) {
	data, err := json.Marshal(st)
	if err != nil {
		return 0, err
	}
	return s.c.swap(ctx, fence, s.key(service), prev, clientv3.OpPut(s.key(service), string(data)))
}

// Delete removes the restart of service if its key is still at mod
// revision prev: the command that followed it to its end clears it.
func (s *RestartStore) Delete(ctx context.Context, service string, prev int64) error {
	_, err := s.c.swap(ctx, Fence{}, s.key(service), prev, clientv3.OpDelete(s.key(service)))
	return err
}

// Watch calls changed after each change under /theseus/restart/ (and
// once when it starts, and after a gap it cannot account for), until ctx
// ends; it then returns ctx's error.
func (s *RestartStore) Watch(ctx context.Context, changed func()) error {
	return s.c.watchChanges(ctx, s.dir(), changed)
}

// Follow calls fn with each state of the restart of service from mod
// revision from on (a State of nil once it is removed), in order, until
// ctx ends or fn returns an error; it returns that error. With from 0 it
// starts with the state as it is now. A gap it cannot account for (its
// watch compacted past) is made up for by a read.
func (s *RestartStore) Follow(ctx context.Context, service string, from int64, fn func(RestartEntry) error) error {
	key := s.key(service)
	bo := backoff.New(s.c.opts.RetryMin, s.c.opts.RetryMax)
	for {
		if from == 0 {
			rctx, cancel := s.c.reqCtx(ctx)
			resp, err := s.c.cli.Get(rctx, key)
			cancel()
			if err != nil {
				if err := bo.Wait(ctx); err != nil {
					return err
				}
				continue
			}
			e := RestartEntry{Service: service}
			if len(resp.Kvs) > 0 {
				if e, err = s.decode(service, resp.Kvs[0]); err != nil {
					return err
				}
			}
			if err := fn(e); err != nil {
				return err
			}
			from = resp.Header.Revision + 1
		}
		reason, err := s.c.watchPrefix(clientv3.WithRequireLeader(ctx), key, from, bo, nil, func(wr clientv3.WatchResponse) error {
			for _, ev := range wr.Events {
				from = ev.Kv.ModRevision + 1
				if string(ev.Kv.Key) != key {
					continue
				}
				e := RestartEntry{Service: service}
				if ev.Type == mvccpb.PUT {
					var derr error
					if e, derr = s.decode(service, ev.Kv); derr != nil {
						return derr
					}
				}
				if err := fn(e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if reason == RestartCompacted {
			from = 0
		}
		if err := bo.Wait(ctx); err != nil {
			return err
		}
	}
}
