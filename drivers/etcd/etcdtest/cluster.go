package etcdtest

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"theseus.dev/drivers/etcd/embedded"
)

// Cluster is a real etcd cluster of several embedded members, each behind
// its own Proxy for client traffic. Members can be partitioned from the
// others (raft messages between them are dropped, as by the integration
// framework's InjectPartition), stopped and restarted.
type Cluster struct {
	Members []*Etcd

	mu sync.Mutex // serialises partitions
}

// StartCluster starts n members (3 for a cluster that survives the loss
// of one) on free loopback ports with short raft timers, and waits until
// all serve. Everything is shut down by t.Cleanup.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	// The peer addresses must be known before any member starts, so
	// ports are picked free and then bound by etcd: another test can take
	// one in between. Then the members are started again on other ports.
	for attempt := 1; ; attempt++ {
		c, err := startCluster(t, n)
		if err == nil {
			return c
		}
		if !embedded.IsAddrInUse(err) || attempt == 5 {
			t.Fatalf("etcdtest: %v", err)
		}
	}
}

func startCluster(t testing.TB, n int) (*Cluster, error) {
	cfgs := make([]embedded.Config, n)
	var initial []string
	for i := range cfgs {
		peer, err := freeAddr()
		if err != nil {
			return nil, err
		}
		client, err := freeAddr()
		if err != nil {
			return nil, err
		}
		cfgs[i] = memberConfig(t)
		cfgs[i].Name = "m" + strconv.Itoa(i)
		cfgs[i].ClientAddr, cfgs[i].PeerAddr = client, peer
		// Short enough that a partition is noticed in well under a
		// second, long enough that two busy cores do not make the
		// members change leaders all the time.
		cfgs[i].TickMs, cfgs[i].ElectionMs = 25, 250
		initial = append(initial, cfgs[i].Name+"=http://"+peer)
	}
	c := &Cluster{Members: make([]*Etcd, n)}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range cfgs {
		cfgs[i].InitialCluster = strings.Join(initial, ",")
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			s, err := embedded.Start(ctx, cfgs[i])
			if err != nil {
				errs[i] = err
				return
			}
			c.Members[i], errs[i] = newEtcd(cfgs[i], s)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			for _, m := range c.Members {
				if m != nil {
					m.shutdown()
				}
			}
			return nil, fmt.Errorf("member %d: %w", i, err)
		}
	}
	for _, m := range c.Members {
		t.Cleanup(m.shutdown)
		m.Client = m.NewClient(t)
		m.admin = m.NewDirectClient(t)
	}
	return c, nil
}

// freeAddr returns a loopback address with a port free now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// Endpoints returns the proxy endpoints of the members, in order.
func (c *Cluster) Endpoints() []string {
	out := make([]string, len(c.Members))
	for i, m := range c.Members {
		out[i] = m.Endpoint()
	}
	return out
}

// NewClient returns a client of the members named by index, through their
// proxies, closed when the test ends.
func (c *Cluster) NewClient(t testing.TB, members ...int) *clientv3.Client {
	t.Helper()
	cfg := c.Members[0].ClientConfig()
	cfg.Endpoints = nil
	for _, i := range members {
		cfg.Endpoints = append(cfg.Endpoints, c.Members[i].Endpoint())
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		t.Fatalf("etcdtest: client: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// Isolate partitions member i from every other member: raft messages
// between them are dropped both ways, while clients still reach it. A
// member so cut off loses its leader after an election timeout and,
// asked to, says so ("no leader") instead of answering.
func (c *Cluster) Isolate(i int) { c.setCut(i, true) }

// Heal ends the partition of member i.
func (c *Cluster) Heal(i int) { c.setCut(i, false) }

func (c *Cluster) setCut(i int, cut bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for j, other := range c.Members {
		if j == i {
			continue
		}
		a, b := c.Members[i].server, other.server
		if a == nil || b == nil {
			panic(fmt.Sprintf("etcdtest: partition of member %d with a stopped member", i))
		}
		if cut {
			a.CutPeer(b.MemberID())
			b.CutPeer(a.MemberID())
		} else {
			a.MendPeer(b.MemberID())
			b.MendPeer(a.MemberID())
		}
	}
}

// Leader returns the index of the member that leads, or -1.
func (c *Cluster) Leader() int {
	for i, m := range c.Members {
		m.mu.Lock()
		s := m.server
		m.mu.Unlock()
		if s != nil && s.IsLeader() {
			return i
		}
	}
	return -1
}

// HasLeader reports whether member i runs and knows of a raft leader.
func (c *Cluster) HasLeader(i int) bool {
	m := c.Members[i]
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.server != nil && m.server.HasLeader()
}
