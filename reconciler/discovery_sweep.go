package reconciler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/marathon"
	"theseus.dev/specs"
)

// syncAttempts is how often a group write is tried when the group changed
// between the read and the write.
const syncAttempts = 3

// sweep rebuilds the tree from one Marathon list: every managed group is
// written if it differs from the tree, and every other group is dropped.
// A failed list leaves the tree alone, and marks it stale once the
// failures have lasted StaleAfter.
func (s *Discovery) sweep(ctx context.Context) SweepStats {
	start := time.Now()
	st := SweepStats{}
	st.Err = s.sweepInto(ctx, &st)
	st.Duration = time.Since(start)
	if s.cfg.Hooks.Sweep != nil {
		s.cfg.Hooks.Sweep(st)
	}
	return st
}

func (s *Discovery) sweepInto(ctx context.Context, st *SweepStats) error {
	s.mu.Lock()
	seq, rseq := s.seq, s.rseq
	s.mu.Unlock()
	defer s.forgetTouched(rseq)
	// newer reports that group k was refreshed after the list began: the
	// tree then holds a newer view of it than the list, and is left be.
	newer := func(k specs.GroupKey) func() bool {
		return func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			return s.touched[k] > rseq
		}
	}

	lctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	apps, err := s.cfg.Marathon.List(lctx)
	cancel()
	if err != nil {
		st.Stale = s.listFailed(ctx, err)
		return fmt.Errorf("discovery sweep: list Marathon: %w", err)
	}
	s.failingSince = time.Time{}
	read := s.cfg.Store.ReadTree
	if s.cfg.Cache != nil {
		read = s.cfg.Cache.ReadTree
	}
	tree, err := read(ctx)
	if err != nil {
		s.log.Warn("sweep: cannot read /services; retrying", "err", err)
		return fmt.Errorf("discovery sweep: %w", err)
	}
	want := make(map[specs.GroupKey]etcd.GroupState, len(apps))
	now := s.cfg.Now()
	for i := range apps {
		if a := &apps[i]; a.Managed {
			want[a.Key] = s.groupState(a, now)
			st.Containers += len(want[a.Key].Containers)
		}
	}
	st.Groups = len(want)

	var written, removed atomic.Int64
	var errs []error
	var errMu sync.Mutex
	par := newBounded(s.cfg.Parallel)
	run := func(f func() error) {
		par.Go(func() {
			if err := f(); err != nil {
				errMu.Lock()
				errs = append(errs, err)
				errMu.Unlock()
			}
		})
	}
	for k, w := range want {
		run(func() error {
			changed, err := s.write(ctx, tree.Group(k), w, newer(k))
			if changed {
				written.Add(1)
			}
			return err
		})
	}
	for k, g := range tree.Groups {
		if _, ok := want[k]; !ok {
			run(func() error {
				dropped, err := s.drop(ctx, g, newer(k))
				if dropped {
					removed.Add(1)
				}
				return err
			})
		}
	}
	par.Wait()
	st.Written, st.Removed = int(written.Load()), int(removed.Load())
	if err := errors.Join(errs...); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.log.Warn("sweep: some groups not written; retrying", "failed", len(errs), "err", errs[0])
		return fmt.Errorf("discovery sweep: %d group(s): %w", len(errs), err)
	}
	s.markedStale = false
	s.groups.Store(int64(st.Groups))
	s.mu.Lock()
	for k, q := range s.dirty {
		if q <= seq {
			delete(s.dirty, k) // the list is newer than the event
		}
	}
	s.mu.Unlock()
	if !s.synced.Swap(true) {
		s.log.Info("first sweep done", "groups", st.Groups, "containers", st.Containers, "written", st.Written, "removed", st.Removed)
	} else if st.Written+st.Removed > 0 {
		s.log.Debug("sweep", "written", st.Written, "removed", st.Removed)
	}
	return nil
}

// listFailed notes a failed Marathon list and, once failures have lasted
// StaleAfter, marks every group stale (once per outage). It returns the
// number of groups marked.
func (s *Discovery) listFailed(ctx context.Context, err error) int {
	now := s.cfg.Now()
	if s.failingSince.IsZero() {
		s.failingSince = now
	}
	if ctx.Err() != nil || s.markedStale || now.Sub(s.failingSince) < s.cfg.StaleAfter {
		s.log.Warn("cannot list Marathon; /services left as it is", "err", err)
		return 0
	}
	tree, terr := s.cfg.Store.ReadTree(ctx)
	if terr != nil {
		s.log.Warn("cannot list Marathon nor read /services", "err", err, "etcd", terr)
		return 0
	}
	n, failed := 0, 0
	for _, g := range tree.Groups {
		ok, serr := s.cfg.Store.SetGroupStale(ctx, s.cfg.Fence, g, true, now)
		switch {
		case serr != nil:
			failed++
		case ok:
			n++
		}
	}
	s.markedStale = failed == 0
	s.log.Warn("Marathon unreachable; /services kept and marked stale",
		"since", s.failingSince, "groups", n, "failed", failed, "err", err)
	return n
}

// write makes the group hold w, re-reading it when it changed since have
// was read. It gives up, writing nothing, when superseded (if not nil)
// reports that a newer view of the group was written meanwhile.
func (s *Discovery) write(ctx context.Context, have *etcd.GroupEntry, w etcd.GroupState, superseded func() bool) (bool, error) {
	for attempt := 1; ; attempt++ {
		if superseded != nil && superseded() {
			return false, nil
		}
		res, err := s.cfg.Store.SyncGroup(ctx, s.cfg.Fence, have, w)
		if err == nil || !errors.Is(err, etcd.ErrConflict) || attempt == syncAttempts {
			if err != nil {
				return false, fmt.Errorf("write %s: %w", have.Key, err)
			}
			return res.Changed, nil
		}
		if have, err = s.cfg.Store.ReadGroup(ctx, have.Key); err != nil {
			return false, fmt.Errorf("read %s: %w", have.Key, err)
		}
	}
}

// drop removes the group, re-reading it when it changed since have was
// read; like write, it gives up when superseded.
func (s *Discovery) drop(ctx context.Context, have *etcd.GroupEntry, superseded func() bool) (bool, error) {
	k := have.Key
	for attempt := 1; ; attempt++ {
		if superseded != nil && superseded() {
			return false, nil
		}
		ok, err := s.cfg.Store.DropGroup(ctx, s.cfg.Fence, have)
		if err == nil || !errors.Is(err, etcd.ErrConflict) || attempt == syncAttempts {
			if err != nil {
				return false, fmt.Errorf("drop %s: %w", k, err)
			}
			return ok, nil
		}
		if have, err = s.cfg.Store.ReadGroup(ctx, k); err != nil {
			return false, fmt.Errorf("read %s: %w", k, err)
		}
	}
}

// bounded runs functions on goroutines of their own, at most n at once:
// a sweep's writes, a round of refreshes.
type bounded struct {
	sem chan struct{}
	wg  sync.WaitGroup
}

func newBounded(n int) *bounded { return &bounded{sem: make(chan struct{}, n)} }

// Go runs f once fewer than n run; it blocks until then.
func (b *bounded) Go(f func()) {
	b.sem <- struct{}{}
	b.wg.Go(func() {
		defer func() { <-b.sem }()
		f()
	})
}

// Wait waits for every f given to Go to return.
func (b *bounded) Wait() { b.wg.Wait() }

// forgetTouched forgets the refreshes that a sweep whose list began after
// refresh rseq has made old news.
func (s *Discovery) forgetTouched(rseq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, q := range s.touched {
		if q <= rseq {
			delete(s.touched, k)
		}
	}
}

// groupState is what the tree should hold for a managed app.
func (s *Discovery) groupState(a *marathon.App, now time.Time) etcd.GroupState {
	w := etcd.GroupState{Containers: make(map[string]specs.ContainerInfo, len(a.Tasks)), At: now}
	checked := len(a.Spec.HealthChecks) > 0
	for i := range a.Tasks {
		t := &a.Tasks[i]
		if terminal(t.State) {
			continue
		}
		if err := etcd.ValidContainerName(t.ID); err != nil {
			s.log.Warn("task left out of /services: its id cannot be a key", "group", a.Key, "err", err)
			continue
		}
		w.Containers[t.ID] = containerInfo(t, checked)
	}
	if s.cfg.Configs != nil {
		if cfg, ok := s.cfg.Configs.GroupConfig(a.Key); ok {
			w.Config = cfg
			if w.Config == nil {
				w.Config = map[string]string{}
			}
		}
	}
	return w
}

// containerInfo is the tree's record of one task. A task is ready when it
// runs and, if the app has health checks, passes them.
func containerInfo(t *marathon.Task, checked bool) specs.ContainerInfo {
	info := specs.ContainerInfo{
		InstanceHost: t.Host,
		PortMappings: t.Mappings,
		InstanceName: t.ID,
		State:        t.State,
		Health:       t.Health,
		AppVersion:   t.Version,
		Ready:        t.State == "TASK_RUNNING" && (!checked || t.Health == "healthy"),
	}
	if len(t.Ports) > 0 {
		info.InstancePort = t.Ports[0]
	}
	if len(info.PortMappings) == 0 {
		// Host networking: each host port is the container's port.
		info.PortMappings = make([]specs.PortMapping, 0, len(t.Ports))
		for _, p := range t.Ports {
			info.PortMappings = append(info.PortMappings, specs.PortMapping{ContainerPort: p, HostPort: p, Protocol: "tcp"})
		}
	}
	if info.Health == "" {
		info.Health = "unknown"
	}
	return info
}

// terminal reports whether a Mesos task state is final: the container is
// gone. Marathon lists only live tasks; this guards against one that was
// listed just as it ended.
func terminal(state string) bool {
	switch state {
	case "TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_LOST", "TASK_ERROR",
		"TASK_DROPPED", "TASK_GONE", "TASK_GONE_BY_OPERATOR":
		return true
	}
	return false
}
