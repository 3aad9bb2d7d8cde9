package etcd

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/model"
	"theseus.dev/specs"
)

// Discovery is the service-discovery tree under /services, which
// containers watch for the endpoints of the services they talk to.
//
// etcd v3 has no directories, so the "directory" nodes of docs/design.md are
// marker keys holding a small JSON object:
//
//	/services/{service}                  {"service":"web"}
//	/services/{service}/{labels}         {"service":"web","labels":["dev","frontend"]}
//	/services/{service}/{labels}/config  {"upstream":"api"}    (the group's config, strings)
//	/services/{service}/{labels}/containers/{name}/info        specs.ContainerInfo JSON
//	/services/{service}/{labels}/revision                      GroupRevision JSON
//
// A service or group exists exactly when its marker does. Keys are built
// from names that cannot contain "/": a service name and label set are
// checked by specs (DNS labels, canonical label encoding), a container
// name may not contain "/" or control characters. Every change that
// touches several keys (creating a group under a new service, removing a
// service with all it holds, replacing a group's containers) is one
// transaction, so a watcher never sees half of it.
//
// The revision key is the group's change signal. The discovery syncer
// writes a group with SyncGroup only, which puts the revision key in the
// same transaction as the containers and config it changes (and only
// when something changed), so a client watches that one key and reloads
// the group once per consistent update: one range read of
// /services/{service}/{labels}/ at one revision gives the revision with
// the containers and config it describes. A revision marked Pending
// belongs to an update too large for one transaction (more than
// MaxTxnOps keys) that is still being written: readers wait for the next
// one. ReadTree and ReadGroup read what SyncGroup, SetGroupStale and
// DropGroup take back, guarded by what was read. The older per-key
// operations (RegisterContainer and the like) do not touch the revision
// key; the syncer repairs what they change at its next sweep.
type Discovery struct {
	c *Client
}

// Discovery returns the service-discovery driver.
func (c *Client) Discovery() *Discovery { return &Discovery{c: c} }

// Container is one container of a service as read from the tree.
type Container struct {
	Group string // encoded labels of its group
	Name  string
	Info  specs.ContainerInfo
	// ModRevision is the revision of the last write of its info.
	ModRevision int64
	// Err is set, matching ErrCorrupt, when the info does not decode;
	// the container is listed anyway.
	Err error
}

type serviceMarker struct {
	Service string `json:"service"`
}

type groupMarker struct {
	Service string   `json:"service"`
	Labels  []string `json:"labels"`
}

func (d *Discovery) root() string { return d.c.opts.Prefix + specs.ServicesDir }

func (d *Discovery) serviceKey(s string) string       { return d.root() + s }
func (d *Discovery) serviceDir(s string) string       { return d.root() + s + "/" }
func (d *Discovery) groupKey(s, g string) string      { return d.serviceDir(s) + g }
func (d *Discovery) groupDir(s, g string) string      { return d.serviceDir(s) + g + "/" }
func (d *Discovery) configKey(s, g string) string     { return d.groupDir(s, g) + "config" }
func (d *Discovery) containersDir(s, g string) string { return d.groupDir(s, g) + "containers/" }
func (d *Discovery) infoKey(s, g, n string) string    { return d.containersDir(s, g) + n + "/info" }

// checkService validates a service name.
func checkService(s string) error {
	if err := specs.ValidName(s); err != nil {
		return fmt.Errorf("%w: service %w", ErrInvalidName, err)
	}
	return nil
}

// checkGroup validates a service name and an encoded label set.
func checkGroup(s, g string) error {
	if err := checkService(s); err != nil {
		return err
	}
	if _, err := specs.DecodeLabels(g); err != nil {
		return fmt.Errorf("%w: group of %s: %w", ErrInvalidName, s, err)
	}
	return nil
}

// MaxContainerNameLength is the longest container name accepted.
const MaxContainerNameLength = specs.MaxContainerNameLength

// checkContainer validates a service, group and container name.
func checkContainer(s, g, n string) error {
	if err := checkGroup(s, g); err != nil {
		return err
	}
	return ValidContainerName(n)
}

// ValidContainerName checks that a container name can be a key segment
// (specs.ValidContainerName). The error matches ErrInvalidName.
func ValidContainerName(n string) error {
	if err := specs.ValidContainerName(n); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidName, err)
	}
	return nil
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Only plain structs, maps of strings and specs.ContainerInfo
		// are marshalled here; they cannot fail.
		panic(fmt.Sprintf("etcd: marshal %T: %v", v, err))
	}
	return string(b)
}

// decodeConfig decodes a group's config value: a JSON object of strings.
func decodeConfig(data []byte) (map[string]string, error) { return model.DecodeConfig(data) }

// decodeContainerInfo decodes a container's info value.
func decodeContainerInfo(data []byte) (specs.ContainerInfo, error) {
	return model.DecodeContainerInfo(data)
}

// absent works out, after a transaction found the key it needed missing,
// which level of the tree is missing, so that the error says the most
// useful thing: the service, else the group, else the container.
func (d *Discovery) absent(ctx context.Context, s, g, n string) error {
	rctx, cancel := d.c.reqCtx(ctx)
	defer cancel()
	ops := []clientv3.Op{clientv3.OpGet(d.serviceKey(s), clientv3.WithCountOnly())}
	if g != "" {
		ops = append(ops, clientv3.OpGet(d.groupKey(s, g), clientv3.WithCountOnly()))
	}
	resp, err := d.c.cli.Txn(rctx).Then(ops...).Commit()
	if err != nil {
		return fmt.Errorf("services: %w", err)
	}
	switch {
	case resp.Responses[0].GetResponseRange().Count == 0:
		return fmt.Errorf("service %s: %w", s, ErrServiceNotFound)
	case g != "" && resp.Responses[1].GetResponseRange().Count == 0:
		return fmt.Errorf("group %s/%s: %w", s, g, ErrGroupNotFound)
	case n != "":
		return fmt.Errorf("container %s of group %s/%s: %w", n, s, g, ErrContainerNotFound)
	case g != "":
		// The group appeared after the failed transaction; report the
		// level that was asked about.
		return fmt.Errorf("group %s/%s: %w", s, g, ErrGroupNotFound)
	}
	return fmt.Errorf("service %s: %w", s, ErrServiceNotFound)
}

// exists is a transaction compare that holds when key exists.
func exists(key string) clientv3.Cmp {
	return clientv3.Compare(clientv3.CreateRevision(key), ">", 0)
}

// missing is a transaction compare that holds when key does not exist.
func missing(key string) clientv3.Cmp {
	return clientv3.Compare(clientv3.CreateRevision(key), "=", 0)
}

// splitTreeKey splits a key under /services into its segments.
func (d *Discovery) splitTreeKey(key string) []string {
	rest, ok := strings.CutPrefix(key, d.root())
	if !ok {
		return nil
	}
	return strings.Split(rest, "/")
}
