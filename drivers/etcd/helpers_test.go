package etcd_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/etcd/etcdtest"
	"theseus.dev/specs"
	"theseus.dev/specs/specstest"
)

// minimalJSON is the smallest spec docs/design.md requires to work with
// `etcdctl put /desired/web/dev`.
const minimalJSON = `{"apiVersion":"theseus/v1","kind":"Group","metadata":{"service":"web","labels":["dev"]},"spec":{"image":"nginx:1.27","instances":2,"cpus":0.1,"mem":64}}`

// fastOptions keep retries short so that tests of failure paths are fast.
func fastOptions() etcd.Options {
	return etcd.Options{RetryMin: 5 * time.Millisecond, RetryMax: 50 * time.Millisecond}
}

// start returns an embedded etcd and a theseus client for it.
func start(t testing.TB, opts etcd.Options) (*etcdtest.Etcd, *etcd.Client) {
	t.Helper()
	e := etcdtest.Start(t)
	return e, e.Theseus(t, opts)
}

func key(t testing.TB, service string, labels ...string) specs.GroupKey {
	return specstest.Key(t, service, labels...)
}

// specJSON returns a valid spec of the group with the given instances.
func specJSON(k specs.GroupKey, instances int) []byte { return specstest.JSON(k, instances) }

// group parses a spec made by specJSON.
func group(t testing.TB, k specs.GroupKey, instances int) *specs.Group {
	return specstest.Group(t, k, instances)
}

// counter counts hook calls by name; safe for concurrent use.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) inc(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[name]++
}

func (c *counter) get(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[name]
}

func (c *counter) hooks() etcd.Hooks {
	return etcd.Hooks{
		WatchRestart: func(r etcd.RestartReason) { c.inc("restart:" + string(r)) },
		Relist:       func() { c.inc("relist") },
		Leader: func(l bool) {
			if l {
				c.inc("leader:true")
			} else {
				c.inc("leader:false")
			}
		},
	}
}

// within returns a context that ends after d, for waits that must not
// hang a broken test.
func within(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// putValue writes v at key k as a user would, bypassing the driver.
func putValue(t *testing.T, e *etcdtest.Etcd, k, v string) {
	t.Helper()
	if _, err := e.Client.Put(t.Context(), k, v); err != nil {
		t.Fatal(err)
	}
}
