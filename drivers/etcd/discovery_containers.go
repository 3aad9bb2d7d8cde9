package etcd

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/specs"
)

// ContainerOption modifies how a container is registered.
type ContainerOption func(*containerOpts)

type containerOpts struct {
	lease clientv3.LeaseID
}

// WithLease attaches the container's key to a lease, so that it goes away
// by itself when the daemon that registered it stops keeping the lease
// alive.
func WithLease(id clientv3.LeaseID) ContainerOption {
	return func(o *containerOpts) { o.lease = id }
}

func (o containerOpts) putOpts() []clientv3.OpOption {
	if o.lease == clientv3.NoLease {
		return nil
	}
	return []clientv3.OpOption{clientv3.WithLease(o.lease)}
}

func containerOptions(opts []ContainerOption) containerOpts {
	var o containerOpts
	for _, f := range opts {
		f(&o)
	}
	return o
}

// ServiceContainers returns every container of every group of the
// service, ordered by group and name. A container whose info does not
// decode is listed with Err set. An absent service is an error matching
// ErrServiceNotFound.
func (d *Discovery) ServiceContainers(ctx context.Context, service string) ([]Container, error) {
	if err := checkService(service); err != nil {
		return nil, err
	}
	kvs, err := d.listService(ctx, service)
	if err != nil {
		return nil, err
	}
	var out []Container
	for _, kv := range kvs {
		seg := d.splitTreeKey(string(kv.Key))
		if len(seg) != 5 || seg[2] != "containers" || seg[4] != "info" {
			continue
		}
		c := Container{Group: seg[1], Name: seg[3], ModRevision: kv.ModRevision}
		if info, err := decodeContainerInfo(kv.Value); err != nil {
			c.Err = fmt.Errorf("%s: %w", kv.Key, err)
		} else {
			c.Info = info
		}
		out = append(out, c)
	}
	return out, nil
}

// GroupContainerNames returns the names of the group's containers,
// sorted. An absent service or group is an error matching
// ErrServiceNotFound or ErrGroupNotFound.
func (d *Discovery) GroupContainerNames(ctx context.Context, service, encodedLabels string) ([]string, error) {
	if err := checkGroup(service, encodedLabels); err != nil {
		return nil, err
	}
	infos, err := d.groupContainers(ctx, service, encodedLabels)
	if err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(infos)), nil
}

// groupContainers reads the names of the group's containers with the mod
// revision of each one's info.
func (d *Discovery) groupContainers(ctx context.Context, service, group string) (map[string]int64, error) {
	kvs, err := d.listUnder(ctx, d.groupKey(service, group), d.containersDir(service, group), func() error {
		return d.absent(ctx, service, group, "")
	}, clientv3.WithKeysOnly())
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(kvs))
	for _, kv := range kvs {
		if seg := d.splitTreeKey(string(kv.Key)); len(seg) == 5 && seg[4] == "info" {
			out[seg[3]] = kv.ModRevision
		}
	}
	return out, nil
}

// ContainerExists reports whether the container is registered.
func (d *Discovery) ContainerExists(ctx context.Context, service, encodedLabels, name string) (bool, error) {
	if err := checkContainer(service, encodedLabels, name); err != nil {
		return false, err
	}
	return d.keyExists(ctx, d.infoKey(service, encodedLabels, name))
}

// ContainerInfo returns the container's info. An absent service, group or
// container is an error matching ErrServiceNotFound, ErrGroupNotFound or
// ErrContainerNotFound; an info that does not decode one matching
// ErrCorrupt.
func (d *Discovery) ContainerInfo(ctx context.Context, service, encodedLabels, name string) (specs.ContainerInfo, error) {
	if err := checkContainer(service, encodedLabels, name); err != nil {
		return specs.ContainerInfo{}, err
	}
	key := d.infoKey(service, encodedLabels, name)
	rctx, cancel := d.c.reqCtx(ctx)
	defer cancel()
	resp, err := d.c.cli.Get(rctx, key)
	if err != nil {
		return specs.ContainerInfo{}, fmt.Errorf("get %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return specs.ContainerInfo{}, d.absent(ctx, service, encodedLabels, name)
	}
	info, err := decodeContainerInfo(resp.Kvs[0].Value)
	if err != nil {
		return specs.ContainerInfo{}, fmt.Errorf("%s: %w", key, err)
	}
	return info, nil
}

// SetContainerInfo replaces the info of a registered container, keeping
// its lease. An absent service, group or container is an error matching
// ErrServiceNotFound, ErrGroupNotFound or ErrContainerNotFound.
func (d *Discovery) SetContainerInfo(ctx context.Context, service, encodedLabels, name string, info specs.ContainerInfo) error {
	if err := checkContainer(service, encodedLabels, name); err != nil {
		return err
	}
	key := d.infoKey(service, encodedLabels, name)
	rctx, cancel := d.c.reqCtx(ctx)
	defer cancel()
	resp, err := d.c.cli.Txn(rctx).If(exists(key)).
		Then(clientv3.OpPut(key, mustJSON(info), clientv3.WithIgnoreLease())).Commit()
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if !resp.Succeeded {
		return d.absent(ctx, service, encodedLabels, name)
	}
	return nil
}

// RegisterContainer adds the container to the group, or replaces its info
// if it is registered already. An absent service or group is an error
// matching ErrServiceNotFound or ErrGroupNotFound: a container never
// exists outside a group.
func (d *Discovery) RegisterContainer(ctx context.Context, service, encodedLabels, name string, info specs.ContainerInfo, opts ...ContainerOption) error {
	if err := checkContainer(service, encodedLabels, name); err != nil {
		return err
	}
	o := containerOptions(opts)
	key := d.infoKey(service, encodedLabels, name)
	rctx, cancel := d.c.reqCtx(ctx)
	defer cancel()
	resp, err := d.c.cli.Txn(rctx).If(exists(d.groupKey(service, encodedLabels))).
		Then(clientv3.OpPut(key, mustJSON(info), o.putOpts()...)).Commit()
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if !resp.Succeeded {
		return d.absent(ctx, service, encodedLabels, "")
	}
	return nil
}

// DeregisterContainer removes the container from the group. An absent
// service, group or container is an error matching ErrServiceNotFound,
// ErrGroupNotFound or ErrContainerNotFound.
func (d *Discovery) DeregisterContainer(ctx context.Context, service, encodedLabels, name string) error {
	if err := checkContainer(service, encodedLabels, name); err != nil {
		return err
	}
	key := d.infoKey(service, encodedLabels, name)
	rctx, cancel := d.c.reqCtx(ctx)
	defer cancel()
	resp, err := d.c.cli.Delete(rctx, key)
	if err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	if resp.Deleted == 0 {
		return d.absent(ctx, service, encodedLabels, name)
	}
	return nil
}

// replaceAttempts is how often ReplaceGroupContainers re-reads and
// retries when the group's containers changed while it worked.
const replaceAttempts = 5

// ReplaceGroupContainers makes the group's containers exactly the given
// set, in one transaction: containers not in the set are removed, new
// ones added, changed ones rewritten, and unchanged ones left alone (so
// their watchers stay quiet). The transaction is guarded by the
// containers read, so a concurrent register or deregister makes it retry
// rather than be overwritten. The change, plus one guard per unchanged
// container, must fit in MaxTxnOps; otherwise the error matches
// ErrTooManyOps. An absent service or group is an error matching
// ErrServiceNotFound or ErrGroupNotFound.
func (d *Discovery) ReplaceGroupContainers(ctx context.Context, service, encodedLabels string, containers map[string]specs.ContainerInfo, opts ...ContainerOption) error {
	if err := checkGroup(service, encodedLabels); err != nil {
		return err
	}
	for name := range containers {
		if err := checkContainer(service, encodedLabels, name); err != nil {
			return err
		}
	}
	o := containerOptions(opts)
	var err error
	for range replaceAttempts {
		err = d.replaceOnce(ctx, service, encodedLabels, containers, o)
		if !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("replace containers of %s/%s: %w", service, encodedLabels, err)
}

func (d *Discovery) replaceOnce(ctx context.Context, service, group string, want map[string]specs.ContainerInfo, o containerOpts) error {
	dir := d.containersDir(service, group)
	gkey := d.groupKey(service, group)
	// One read at one revision: the group node and its containers with
	// their values, to tell changed from unchanged.
	rctx, cancel := d.c.reqCtx(ctx)
	resp, err := d.c.cli.Txn(rctx).Then(clientv3.OpGet(gkey, clientv3.WithCountOnly()), clientv3.OpGet(dir, clientv3.WithPrefix())).Commit()
	cancel()
	if err != nil {
		return fmt.Errorf("read %s: %w", dir, err)
	}
	if resp.Responses[0].GetResponseRange().Count == 0 {
		return d.absent(ctx, service, group, "")
	}
	rev := resp.Header.Revision
	cmps := []clientv3.Cmp{
		exists(gkey),
		// No container written since the read (new ones included).
		clientv3.Compare(clientv3.ModRevision(dir), "<", rev+1).WithPrefix(),
	}
	var ops []clientv3.Op
	have := map[string]bool{}
	for _, kv := range resp.Responses[1].GetResponseRange().Kvs {
		seg := d.splitTreeKey(string(kv.Key))
		if len(seg) != 5 || seg[4] != "info" {
			continue
		}
		name := seg[3]
		have[name] = true
		info, ok := want[name]
		switch {
		case !ok:
			ops = append(ops, clientv3.OpDelete(string(kv.Key)))
		case string(kv.Value) == mustJSON(info) && clientv3.LeaseID(kv.Lease) == o.lease:
			// Unchanged: guard against its deletion, which the
			// prefix compare cannot see.
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(string(kv.Key)), "=", kv.ModRevision))
		default:
			ops = append(ops, clientv3.OpPut(string(kv.Key), mustJSON(info), o.putOpts()...))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if !have[name] {
			ops = append(ops, clientv3.OpPut(d.infoKey(service, group, name), mustJSON(want[name]), o.putOpts()...))
		}
	}
	if len(ops) == 0 {
		return nil
	}
	if len(ops) > MaxTxnOps || len(cmps) > MaxTxnOps {
		return fmt.Errorf("replace containers of %s/%s: %d changes and %d guards: %w (at most %d each)",
			service, group, len(ops), len(cmps), ErrTooManyOps, MaxTxnOps)
	}
	rctx, cancel = d.c.reqCtx(ctx)
	defer cancel()
	tresp, err := d.c.cli.Txn(rctx).If(cmps...).Then(ops...).Commit()
	if err != nil {
		return fmt.Errorf("replace containers of %s/%s: %w", service, group, err)
	}
	if !tresp.Succeeded {
		return &ConflictError{Conflicts: []Conflict{{Key: dir, Expected: rev}}}
	}
	return nil
}
