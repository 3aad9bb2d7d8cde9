package endpoints

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// revisionValue is the value of a group's revision key.
type revisionValue struct {
	Generation int64     `json:"generation"`
	Stale      bool      `json:"stale"`
	Pending    bool      `json:"pending"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// scope is what one read or watch covers: one group, or every group of a
// service.
type scope struct {
	service string
	labels  string // "" for the whole service
	dir     string // the range read: the group's or the service's keys
}

func (c *Client) groupScope(service string, labels []string) (scope, error) {
	if err := validName(service); err != nil {
		return scope{}, fmt.Errorf("service %w", err)
	}
	enc, err := EncodeLabels(labels)
	if err != nil {
		return scope{}, err
	}
	return scope{service: service, labels: enc, dir: c.serviceDir(service) + enc + "/"}, nil
}

func (c *Client) serviceScope(service string) (scope, error) {
	if err := validName(service); err != nil {
		return scope{}, fmt.Errorf("service %w", err)
	}
	return scope{service: service, dir: c.serviceDir(service)}, nil
}

// snapshot is a scope read at one revision.
type snapshot struct {
	rev     int64
	groups  []Group // sorted by labels; for a group scope exactly one
	pending bool    // some group is half-written: do not use
}

// read reads the scope at revision rev (0: the current one) in one range
// request. The first read is linearizable and requires an etcd leader, so
// a member cut off from its cluster does not answer from a stale view.
func (c *Client) read(ctx context.Context, sc scope, rev int64) (snapshot, error) {
	rctx, cancel := context.WithTimeout(clientv3.WithRequireLeader(ctx), c.timeout)
	defer cancel()
	opts := []clientv3.OpOption{clientv3.WithPrefix()}
	if rev > 0 {
		opts = append(opts, clientv3.WithRev(rev))
	}
	resp, err := c.cli.Get(rctx, sc.dir, opts...)
	if err != nil {
		return snapshot{}, fmt.Errorf("endpoints: read %s: %w", sc.dir, err)
	}
	s := snapshot{rev: resp.Header.Revision}
	if rev > 0 {
		s.rev = rev
	}
	groups := map[string]*Group{}
	if sc.labels != "" {
		groups[sc.labels] = c.newGroup(sc.service, sc.labels)
	}
	sdir := c.serviceDir(sc.service)
	for _, kv := range resp.Kvs {
		rest := strings.TrimPrefix(string(kv.Key), sdir)
		labels, sub, _ := strings.Cut(rest, "/")
		if sc.labels == "" && (labels == "" || validLabels(labels) != nil) {
			continue
		}
		g := groups[labels]
		if g == nil {
			g = c.newGroup(sc.service, labels)
			groups[labels] = g
		}
		if add(g, sub, kv) {
			s.pending = true
		}
	}
	for _, l := range slices.Sorted(maps.Keys(groups)) {
		g := groups[l]
		slices.SortFunc(g.Endpoints, func(a, b Endpoint) int { return strings.Compare(a.Name, b.Name) })
		if !g.Exists {
			if sc.labels == "" {
				continue // keys without a revision: not a group theseus wrote
			}
			g.Endpoints, g.Config = nil, map[string]string{}
		}
		s.groups = append(s.groups, *g)
	}
	return s, nil
}

func (c *Client) newGroup(service, labels string) *Group {
	return &Group{Service: service, Labels: strings.Split(labels, "."), Config: map[string]string{}}
}

// Label sets theseus never writes: more than maxLabels labels, or one
// label that Marathon refuses as the last segment of an app id.
const maxLabels = 16

func reservedLabel(s string) bool {
	switch s {
	case "restart", "tasks", "versions":
		return true
	}
	return false
}

// validLabels checks an encoded label set: valid names, in the canonical
// order (sorted, without duplicates), the only one theseus writes, and
// neither too many nor reserved. Keys of another spelling
// ("frontend.dev", "dev.dev", "tasks") were put by hand, and theseus,
// which never writes them, never removes them either: read as groups,
// they would be served for good.
func validLabels(enc string) error {
	labels := strings.Split(enc, ".")
	if len(labels) > maxLabels || len(labels) == 1 && reservedLabel(enc) {
		return fmt.Errorf("%w: label set %q is not one theseus writes", ErrInvalidName, enc)
	}
	for i, l := range labels {
		if err := validName(l); err != nil {
			return err
		}
		if i > 0 && labels[i-1] >= l {
			return fmt.Errorf("%w: labels %q are not in canonical order (sorted, without duplicates)", ErrInvalidName, enc)
		}
	}
	return nil
}

// add files one key of a group, given its path below the group's node;
// it reports a pending revision. Values that do not decode are skipped:
// the writer replaces them at its next update.
func add(g *Group, sub string, kv *mvccpb.KeyValue) (pending bool) {
	switch {
	case sub == "revision":
		var r revisionValue
		if json.Unmarshal(kv.Value, &r) != nil {
			return false
		}
		g.Exists, g.Revision, g.Generation, g.Stale, g.UpdatedAt = true, kv.ModRevision, r.Generation, r.Stale, r.UpdatedAt
		return r.Pending
	case sub == "config":
		cfg := map[string]string{}
		if json.Unmarshal(kv.Value, &cfg) == nil && cfg != nil {
			g.Config = cfg
		}
	case containerName(sub) != "":
		var e Endpoint
		if json.Unmarshal(kv.Value, &e) == nil {
			if e.Name == "" {
				e.Name = containerName(sub)
			}
			g.Endpoints = append(g.Endpoints, e)
		}
	}
	return false
}

// containerName returns the container a key's path below its group's
// node is the info of, "" if it is none: only containers/{name}/info is,
// as the writer lays it out; a deeper key under containers/ was put by
// hand, and the writer removes it.
func containerName(sub string) string {
	rest, ok := strings.CutPrefix(sub, "containers/")
	if !ok {
		return ""
	}
	name, ok := strings.CutSuffix(rest, "/info")
	if !ok || strings.Contains(name, "/") {
		return ""
	}
	return name
}

// Get returns the group of service with the given labels (in any order).
// A group that does not exist is returned with Exists false, not as an
// error. If an update of the group is being written in several
// transactions, Get waits for its end (or ctx).
func (c *Client) Get(ctx context.Context, service string, labels ...string) (Group, error) {
	sc, err := c.groupScope(service, labels)
	if err != nil {
		return Group{}, err
	}
	s, err := c.settled(ctx, sc)
	if err != nil {
		return Group{}, err
	}
	return s.groups[0], nil
}

// Service returns every group of the service, sorted by labels, read at
// one revision; none if the service does not exist.
func (c *Client) Service(ctx context.Context, service string) ([]Group, error) {
	sc, err := c.serviceScope(service)
	if err != nil {
		return nil, err
	}
	s, err := c.settled(ctx, sc)
	return s.groups, err
}

// settled reads the scope and, while some group is pending, waits for the
// next change and reads again.
func (c *Client) settled(ctx context.Context, sc scope) (snapshot, error) {
	s, err := c.read(ctx, sc, 0)
	for err == nil && s.pending {
		var rev int64
		if rev, err = c.nextChange(ctx, sc, s.rev); err == nil {
			s, err = c.read(ctx, sc, rev)
		}
	}
	return s, err
}
