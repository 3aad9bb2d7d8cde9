package etcd

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/specs"
)

// CreateService creates the service's node. An existing service is an
// error matching ErrServiceExists.
func (d *Discovery) CreateService(ctx context.Context, service string) error {
	if err := checkService(service); err != nil {
		return err
	}
	key := d.serviceKey(service)
	rctx, cancel := d.c.reqCtx(ctx)
	defer cancel()
	resp, err := d.c.cli.Txn(rctx).If(missing(key)).
		Then(clientv3.OpPut(key, mustJSON(serviceMarker{Service: service}))).Commit()
	if err != nil {
		return fmt.Errorf("create service %s: %w", service, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("service %s: %w", service, ErrServiceExists)
	}
	return nil
}

// CreateGroup creates the group's node with its config, and the service's
// node if it does not exist yet, in one transaction. An existing group is
// an error matching ErrGroupExists (use SetGroupConfig to change its
// config).
func (d *Discovery) CreateGroup(ctx context.Context, service, encodedLabels string, config map[string]string) error {
	if err := checkGroup(service, encodedLabels); err != nil {
		return err
	}
	labels, _ := specs.DecodeLabels(encodedLabels) // checked above
	skey, gkey := d.serviceKey(service), d.groupKey(service, encodedLabels)
	if config == nil {
		config = map[string]string{}
	}
	rctx, cancel := d.c.reqCtx(ctx)
	defer cancel()
	resp, err := d.c.cli.Txn(rctx).If(missing(gkey)).Then(
		// Create the service node only if missing: rewriting it would
		// wake every watcher of the service for nothing.
		clientv3.OpTxn([]clientv3.Cmp{missing(skey)},
			[]clientv3.Op{clientv3.OpPut(skey, mustJSON(serviceMarker{Service: service}))}, nil),
		clientv3.OpPut(gkey, mustJSON(groupMarker{Service: service, Labels: labels})),
		clientv3.OpPut(d.configKey(service, encodedLabels), mustJSON(config)),
	).Commit()
	if err != nil {
		return fmt.Errorf("create group %s/%s: %w", service, encodedLabels, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("group %s/%s: %w", service, encodedLabels, ErrGroupExists)
	}
	return nil
}

// RemoveService removes the service with all its groups and containers in
// one transaction. An absent service is an error matching
// ErrServiceNotFound.
func (d *Discovery) RemoveService(ctx context.Context, service string) error {
	if err := checkService(service); err != nil {
		return err
	}
	key := d.serviceKey(service)
	rctx, cancel := d.c.reqCtx(ctx)
	defer cancel()
	resp, err := d.c.cli.Txn(rctx).If(exists(key)).Then(
		clientv3.OpDelete(key),
		clientv3.OpDelete(d.serviceDir(service), clientv3.WithPrefix()),
	).Commit()
	if err != nil {
		return fmt.Errorf("remove service %s: %w", service, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("service %s: %w", service, ErrServiceNotFound)
	}
	return nil
}

// RemoveGroup removes the group with its config and containers in one
// transaction; the service stays. An absent service or group is an error
// matching ErrServiceNotFound or ErrGroupNotFound.
func (d *Discovery) RemoveGroup(ctx context.Context, service, encodedLabels string) error {
	if err := checkGroup(service, encodedLabels); err != nil {
		return err
	}
	key := d.groupKey(service, encodedLabels)
	rctx, cancel := d.c.reqCtx(ctx)
	defer cancel()
	resp, err := d.c.cli.Txn(rctx).If(exists(key)).Then(
		clientv3.OpDelete(key),
		clientv3.OpDelete(d.groupDir(service, encodedLabels), clientv3.WithPrefix()),
	).Commit()
	if err != nil {
		return fmt.Errorf("remove group %s/%s: %w", service, encodedLabels, err)
	}
	if !resp.Succeeded {
		return d.absent(ctx, service, encodedLabels, "")
	}
	return nil
}

// ServiceExists reports whether the service's node exists.
func (d *Discovery) ServiceExists(ctx context.Context, service string) (bool, error) {
	if err := checkService(service); err != nil {
		return false, err
	}
	return d.keyExists(ctx, d.serviceKey(service))
}

// GroupExists reports whether the group's node exists.
func (d *Discovery) GroupExists(ctx context.Context, service, encodedLabels string) (bool, error) {
	if err := checkGroup(service, encodedLabels); err != nil {
		return false, err
	}
	return d.keyExists(ctx, d.groupKey(service, encodedLabels))
}

func (d *Discovery) keyExists(ctx context.Context, key string) (bool, error) {
	rctx, cancel := d.c.reqCtx(ctx)
	defer cancel()
	resp, err := d.c.cli.Get(rctx, key, clientv3.WithCountOnly())
	if err != nil {
		return false, fmt.Errorf("get %s: %w", key, err)
	}
	return resp.Count > 0, nil
}

// ServiceNames returns the names of all services, sorted.
func (d *Discovery) ServiceNames(ctx context.Context) ([]string, error) {
	kvs, _, err := d.c.rangeAll(ctx, d.root(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, err
	}
	var names []string
	for _, kv := range kvs {
		if seg := d.splitTreeKey(string(kv.Key)); len(seg) == 1 {
			names = append(names, seg[0])
		}
	}
	return names, nil // key order is name order
}

// ServiceGroups returns the encoded label sets of the service's groups,
// sorted. An absent service is an error matching ErrServiceNotFound.
func (d *Discovery) ServiceGroups(ctx context.Context, service string) ([]string, error) {
	if err := checkService(service); err != nil {
		return nil, err
	}
	kvs, err := d.listService(ctx, service, clientv3.WithKeysOnly())
	if err != nil {
		return nil, err
	}
	var groups []string
	for _, kv := range kvs {
		if seg := d.splitTreeKey(string(kv.Key)); len(seg) == 2 {
			groups = append(groups, seg[1])
		}
	}
	slices.Sort(groups)
	return groups, nil
}

// listService reads everything under the service's node at the revision
// at which the node was found, or returns ErrServiceNotFound.
func (d *Discovery) listService(ctx context.Context, service string, opts ...clientv3.OpOption) ([]*mvccpb.KeyValue, error) {
	return d.listUnder(ctx, d.serviceKey(service), d.serviceDir(service), func() error {
		return fmt.Errorf("service %s: %w", service, ErrServiceNotFound)
	}, opts...)
}

// listUnder reads the keys under dir at the revision at which the node
// was found to exist, so that the listing and the existence check are one
// snapshot. It returns notFound() if the node does not exist.
func (d *Discovery) listUnder(ctx context.Context, node, dir string, notFound func() error, opts ...clientv3.OpOption) ([]*mvccpb.KeyValue, error) {
	var err error
	for range listAttempts {
		var rev int64
		rev, err = d.nodeRevision(ctx, node)
		if err != nil {
			return nil, err
		}
		if rev == 0 {
			return nil, notFound()
		}
		var kvs []*mvccpb.KeyValue
		kvs, _, err = d.c.rangeAt(ctx, dir, rev, opts)
		if err == nil {
			return kvs, nil
		}
		if !errors.Is(err, rpctypes.ErrCompacted) {
			break
		}
	}
	return nil, fmt.Errorf("list %s: %w", dir, err)
}

// nodeRevision reads a node and returns the revision it was read at, or
// 0 if the node does not exist.
func (d *Discovery) nodeRevision(ctx context.Context, node string) (int64, error) {
	rctx, cancel := d.c.reqCtx(ctx)
	defer cancel()
	resp, err := d.c.cli.Get(rctx, node, clientv3.WithCountOnly())
	if err != nil {
		return 0, fmt.Errorf("get %s: %w", node, err)
	}
	if resp.Count == 0 {
		return 0, nil
	}
	return resp.Header.Revision, nil
}

// GroupConfig returns the group's config. An absent service or group is
// an error matching ErrServiceNotFound or ErrGroupNotFound.
func (d *Discovery) GroupConfig(ctx context.Context, service, encodedLabels string) (map[string]string, error) {
	if err := checkGroup(service, encodedLabels); err != nil {
		return nil, err
	}
	gkey, ckey := d.groupKey(service, encodedLabels), d.configKey(service, encodedLabels)
	rctx, cancel := d.c.reqCtx(ctx)
	defer cancel()
	resp, err := d.c.cli.Txn(rctx).If(exists(gkey)).Then(clientv3.OpGet(ckey)).Commit()
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", ckey, err)
	}
	if !resp.Succeeded {
		return nil, d.absent(ctx, service, encodedLabels, "")
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	if len(kvs) == 0 {
		return map[string]string{}, nil
	}
	cfg, err := decodeConfig(kvs[0].Value)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ckey, err)
	}
	return cfg, nil
}

// SetGroupConfig replaces the group's config. An absent service or group
// is an error matching ErrServiceNotFound or ErrGroupNotFound.
func (d *Discovery) SetGroupConfig(ctx context.Context, service, encodedLabels string, config map[string]string) error {
	if err := checkGroup(service, encodedLabels); err != nil {
		return err
	}
	if config == nil {
		config = map[string]string{}
	}
	gkey, ckey := d.groupKey(service, encodedLabels), d.configKey(service, encodedLabels)
	rctx, cancel := d.c.reqCtx(ctx)
	defer cancel()
	resp, err := d.c.cli.Txn(rctx).If(exists(gkey)).Then(clientv3.OpPut(ckey, mustJSON(config))).Commit()
	if err != nil {
		return fmt.Errorf("put %s: %w", ckey, err)
	}
	if !resp.Succeeded {
		return d.absent(ctx, service, encodedLabels, "")
	}
	return nil
}
