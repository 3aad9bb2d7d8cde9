package etcd

import (
	"sync"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// decodeCache keeps the decoded form of each /desired key by mod
// revision. Strict decoding costs about 0.2 ms per spec, which makes a
// periodic relist of thousands of unchanged specs expensive; a key whose
// mod revision is unchanged holds the same bytes, so its decoded entry can
// be reused. Lookups check the mod revision, so a stale cache only costs
// a decode, never a wrong answer.
type decodeCache struct {
	mu sync.Mutex
	m  map[string]Entry // by etcd key
}

// get returns the cached entry for kv, with a copy of its group so that
// callers may modify what they receive.
func (c *decodeCache) get(kv *mvccpb.KeyValue) (Entry, bool) {
	c.mu.Lock()
	e, ok := c.m[string(kv.Key)]
	c.mu.Unlock()
	if !ok || e.ModRevision != kv.ModRevision {
		return Entry{}, false
	}
	if e.Group != nil {
		e.Group = e.Group.Clone()
	}
	return e, true
}

// put records a freshly decoded entry.
func (c *decodeCache) put(e Entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]Entry)
	}
	c.m[e.EtcdKey] = cacheable(e)
}

// retain drops every key that is not in a full listing, so that deleted
// keys do not linger.
func (c *decodeCache) retain(entries []Entry) {
	keep := make(map[string]bool, len(entries))
	for _, e := range entries {
		keep[e.EtcdKey] = true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.m {
		if !keep[k] {
			delete(c.m, k)
		}
	}
}

func (c *decodeCache) delete(key string) {
	c.mu.Lock()
	delete(c.m, key)
	c.mu.Unlock()
}

// cacheable returns e with a private copy of its group, so that a caller
// modifying the entry it was handed cannot change the cache.
func cacheable(e Entry) Entry {
	if e.Group != nil {
		e.Group = e.Group.Clone()
	}
	return e
}
