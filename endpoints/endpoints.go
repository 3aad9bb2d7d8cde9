// Package endpoints gives a Go service the endpoints of the services it
// talks to, as theseus publishes them in etcd, and tells it when they
// change. It needs only an etcd client: it does not pull in the daemon.
//
// theseus keeps one node per labeled group of a service:
//
//	/services/{service}/{labels}/revision                 changes once per update
//	/services/{service}/{labels}/config                   the group's config
//	/services/{service}/{labels}/containers/{name}/info   one container
//
// where {labels} is the group's label set, sorted, without duplicates and
// joined with ".". Every update of a group is one etcd transaction that
// also writes the revision key, so this package watches that key only and
// reads the group with one range request at one revision: a Group is
// always a state theseus wrote whole, never a mix of two. An update too
// large for one transaction marks the revision pending until it is
// complete; such a state is never returned.
//
// A Group's Stale flag says theseus could not check the containers against
// Marathon for a while: they are the last known ones. Containers that are
// not Ready (starting, or failing their health checks) are listed too;
// Ready and Addrs keep only those that should get traffic.
package endpoints

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// DefaultRequestTimeout bounds each etcd request when no other is given.
const DefaultRequestTimeout = 10 * time.Second

// ErrInvalidName is returned for a service or label that cannot be part of
// a key: names are lower-case DNS labels.
var ErrInvalidName = errors.New("endpoints: invalid name")

// Port is one published port of a container.
type Port struct {
	ContainerPort int    `json:"container_port"`
	HostPort      int    `json:"host_port"`
	Protocol      string `json:"protocol"`
	Name          string `json:"name,omitempty"`
}

// Endpoint is one container of a group.
type Endpoint struct {
	// Name is the container's name, its Marathon task id.
	Name string `json:"instance_name"`
	// Host is the agent it runs on; Port its first host port.
	Host string `json:"instance_host"`
	Port int    `json:"instance_port"`
	// Ports pair each container port with its host port.
	Ports []Port `json:"port_mappings"`
	// State is the task state (TASK_RUNNING, TASK_STAGING, ...), Health
	// "healthy", "unhealthy" or "unknown".
	State  string `json:"state,omitempty"`
	Health string `json:"health,omitempty"`
	// Ready is true when the container should get traffic: running, and
	// healthy if its group has health checks.
	Ready bool `json:"ready"`
	// AppVersion is the Marathon app version the container runs.
	AppVersion string `json:"app_version,omitempty"`
}

// Addr returns host:port for the container port named port, or numbered
// port (the container port), or for the first port when port is "". A
// port published on no host port (on a container network, reachable at
// the task's own address only) has none.
func (e Endpoint) Addr(port string) (string, bool) {
	if port == "" {
		if e.Port == 0 {
			return "", false
		}
		return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)), true
	}
	n, _ := strconv.Atoi(port)
	for _, p := range e.Ports {
		if p.Name == port || (n != 0 && p.ContainerPort == n) {
			if p.HostPort == 0 {
				return "", false
			}
			return net.JoinHostPort(e.Host, strconv.Itoa(p.HostPort)), true
		}
	}
	return "", false
}

// Group is one labeled group of a service as theseus last wrote it.
type Group struct {
	Service string
	// Labels are the group's labels, sorted.
	Labels []string
	// Exists is false when the group has no node: not deployed, or
	// deleted. Endpoints is then empty.
	Exists bool
	// Revision is the etcd mod revision of the group's revision key: it
	// changes with every update, and only then. Generation counts the
	// updates.
	Revision   int64
	Generation int64
	// Stale is set when theseus could not check the containers against
	// Marathon for a while.
	Stale bool
	// UpdatedAt is when theseus wrote the update.
	UpdatedAt time.Time
	// Config is the group's config as deployed (secrets left out).
	Config map[string]string
	// Endpoints are every container of the group, sorted by name.
	Endpoints []Endpoint
}

// Ready returns the endpoints that should get traffic.
func (g Group) Ready() []Endpoint {
	var out []Endpoint
	for _, e := range g.Endpoints {
		if e.Ready {
			out = append(out, e)
		}
	}
	return out
}

// Addrs returns host:port of every ready endpoint for the given port (see
// Endpoint.Addr), sorted.
func (g Group) Addrs(port string) []string {
	var out []string
	for _, e := range g.Ready() {
		if a, ok := e.Addr(port); ok {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out
}

// Client reads and watches the tree of one theseus installation. It is
// safe for concurrent use.
type Client struct {
	cli     *clientv3.Client
	prefix  string
	timeout time.Duration
	// after times the backoff before a watch is re-established; tests
	// replace it to see the waits without taking them.
	after func(time.Duration) <-chan time.Time
}

// Option configures a Client.
type Option func(*Client)

// WithPrefix reads the installation whose keys are under prefix ("" or
// "/name", theseusd's --prefix).
func WithPrefix(prefix string) Option { return func(c *Client) { c.prefix = prefix } }

// WithRequestTimeout bounds each etcd request. Defaults to
// DefaultRequestTimeout.
func WithRequestTimeout(d time.Duration) Option { return func(c *Client) { c.timeout = d } }

// New returns a Client over cli, which the caller keeps and closes.
func New(cli *clientv3.Client, opts ...Option) (*Client, error) {
	c := &Client{cli: cli, timeout: DefaultRequestTimeout, after: time.After}
	for _, o := range opts {
		o(c)
	}
	if c.prefix != "" && (!strings.HasPrefix(c.prefix, "/") || strings.HasSuffix(c.prefix, "/")) {
		return nil, fmt.Errorf("endpoints: prefix %q must start with '/' and not end with one", c.prefix)
	}
	if c.timeout <= 0 {
		c.timeout = DefaultRequestTimeout
	}
	return c, nil
}

// EncodeLabels returns the canonical form of a label set used in keys:
// sorted, without duplicates, joined with ".".
func EncodeLabels(labels []string) (string, error) {
	if len(labels) == 0 {
		return "", fmt.Errorf("%w: a group has at least one label", ErrInvalidName)
	}
	set := slices.Clone(labels)
	slices.Sort(set)
	set = slices.Compact(set)
	for _, l := range set {
		if err := validName(l); err != nil {
			return "", fmt.Errorf("label %w", err)
		}
	}
	return strings.Join(set, "."), nil
}

// validName checks a service name or label: a DNS label.
func validName(s string) error {
	if s == "" || len(s) > 63 {
		return fmt.Errorf("%w: %q must be 1 to 63 characters", ErrInvalidName, s)
	}
	for i, r := range s {
		alnum := r >= 'a' && r <= 'z' || r >= '0' && r <= '9'
		if !alnum && (r != '-' || i == 0 || i == len(s)-1) {
			return fmt.Errorf("%w: %q is not a DNS label (a-z, 0-9, inner -)", ErrInvalidName, s)
		}
	}
	return nil
}

func (c *Client) serviceDir(service string) string { return c.prefix + "/services/" + service + "/" }
