package viewer

import (
	"context"
	"sync"
)

// flight is one read of the sources, shared by every load that asks while
// it runs: each open page polls every Refresh, and with thousands of
// groups a read takes long enough for polls to overlap; reads of their own
// would pile up, each holding a copy of every group, until they passed
// Timeout. The read ends when it is done or when no load waits for it any
// more.
type flight struct {
	done   chan struct{}
	cancel context.CancelFunc
	src    *sources
	err    error

	mu      sync.Mutex
	waiting int
	// lists are the lists built from src, by query, with their JSON:
	// the page and the API of one query are built and encoded once per
	// read, however many ask.
	lists map[string]*sharedList
}

// sharedList is a list built from a flight's read, with its JSON. Those
// who get it must not change it.
type sharedList struct {
	once sync.Once
	list *List
	body []byte
	etag string
	err  error
}

// sources returns the sources of the read in flight, or of one started
// now.
func (v *Viewer) sources(ctx context.Context) (*flight, error) {
	v.mu.Lock()
	f := v.flying
	if f == nil {
		// The read runs on a context of its own, so that a load that gives
		// up does not end it for the others; it ends when the last one
		// gives up (leave), or within Timeout (read).
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{done: make(chan struct{}), cancel: cancel}
		v.flying = f
		go func() {
			defer cancel()
			f.src, f.err = v.read(fctx)
			v.mu.Lock()
			if v.flying == f {
				v.flying = nil
			}
			v.mu.Unlock()
			close(f.done)
		}()
	}
	f.mu.Lock()
	f.waiting++
	f.mu.Unlock()
	v.mu.Unlock()
	select {
	case <-f.done:
		return f, f.err
	case <-ctx.Done():
		f.leave(v)
		return nil, ctx.Err()
	}
}

// leave is a load giving up on f; the last one to leave ends the read, and
// a later load starts a read of its own.
func (f *flight) leave(v *Viewer) {
	v.mu.Lock()
	defer v.mu.Unlock()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.waiting--
	if f.waiting == 0 {
		f.cancel()
		if v.flying == f {
			v.flying = nil
		}
	}
}

// list is the list q selects of f's read, built and encoded once.
func (f *flight) list(q Query) *sharedList {
	key := q.Service + "\x00" + q.Selector.String()
	f.mu.Lock()
	if f.lists == nil {
		f.lists = map[string]*sharedList{}
	}
	s := f.lists[key]
	if s == nil {
		s = &sharedList{}
		f.lists[key] = s
	}
	f.mu.Unlock()
	s.once.Do(func() {
		s.list = build(f.src, q)
		s.body, s.etag, s.err = encodeJSON(s.list)
	})
	return s
}
