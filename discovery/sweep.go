package discovery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"theseus.dev/internal/observe"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// syncAttempts is how often a group write is tried when the group changed
// between the read and the write.
const syncAttempts = 3

// sweep rebuilds the tree from one list of Marathon: every managed group
// is written if it differs from the tree, and every other group is
// dropped. A failed list leaves the tree alone, and marks it stale once
// the failures have lasted StaleAfter.
func (s *Syncer) sweep(ctx context.Context, l *observe.Listing) SweepStats {
	start := time.Now()
	st := SweepStats{}
	st.Err = s.sweepInto(ctx, l, &st)
	st.Duration = time.Since(start) + l.Duration
	if s.cfg.Hooks.Sweep != nil {
		s.cfg.Hooks.Sweep(st)
	}
	return st
}

func (s *Syncer) sweepInto(ctx context.Context, l *observe.Listing, st *SweepStats) error {
	if l.Err != nil {
		st.Stale = s.listFailed(ctx, l.Err)
		return fmt.Errorf("discovery sweep: %w", l.Err)
	}
	defer s.forgetTouched(l.Gen)
	// newer reports that group k was refreshed with a view no older than
	// the list: the tree then holds it, and is left be.
	newer := func(k specs.GroupKey) func() bool {
		return func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			return s.refreshedSince(k, l.Gen)
		}
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
	now := s.cfg.Now()
	for _, a := range l.Apps {
		if a.Managed {
			st.Groups++
		}
	}
	// The tree is walked first, with each group's app looked up once: a
	// group is dropped, left as the last sweep found it, or compared.
	// Groups the tree lacks are looked for only if some are missing.
	var work []specs.GroupKey // the managed groups the sweep compares
	var drop []*model.GroupEntry
	inTree, kept := 0, 0
	for k, have := range tree.Groups {
		a, ok := l.Apps[k]
		if !ok || !a.Managed {
			drop = append(drop, have)
			continue
		}
		inTree++
		if n, ok := s.unchanged(k, a, have); ok {
			st.Containers += n
			kept++
			continue
		}
		work = append(work, k)
	}
	if inTree < st.Groups {
		for k, a := range l.Apps {
			if _, ok := tree.Groups[k]; !ok && a.Managed {
				work = append(work, k)
			}
		}
	}

	var written, removed, noted atomic.Int64
	var errs []error
	var errMu sync.Mutex
	var g errgroup.Group
	g.SetLimit(s.cfg.Parallel)
	run := func(f func() error) {
		g.Go(func() error {
			if err := f(); err != nil {
				errMu.Lock()
				errs = append(errs, err)
				errMu.Unlock()
			}
			return nil
		})
	}
	var containers atomic.Int64
	for _, k := range work {
		a := l.Apps[k]
		w := s.groupState(a, now)
		containers.Add(int64(len(w.Containers)))
		have := tree.Group(k)
		run(func() error {
			changed, err := s.write(ctx, have, w, newer(k))
			if changed {
				written.Add(1)
			}
			// A group left to a refresh, which may yet fail, was not
			// compared: like one written, it is compared next time.
			if err == nil && s.noteSwept(k, a, have, w, changed || newer(k)()) {
				noted.Add(1)
			}
			return err
		})
	}
	for _, g := range drop {
		run(func() error {
			dropped, err := s.drop(ctx, g, newer(g.Key))
			if dropped {
				removed.Add(1)
			}
			return err
		})
	}
	_ = g.Wait()
	st.Written, st.Removed = int(written.Load()), int(removed.Load())
	st.Containers += int(containers.Load())
	if err := errors.Join(errs...); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.log.Warn("sweep: some groups not written; retrying", "failed", len(errs), "err", errs[0])
		return fmt.Errorf("discovery sweep: %d group(s): %w", len(errs), err)
	}
	s.markedStale = false
	s.forgetSwept(l.Apps, kept+int(noted.Load()))
	s.groups.Store(int64(st.Groups))
	s.mu.Lock()
	for k, q := range s.dirty {
		// The list is newer than the event, and the sweep did not leave
		// the group to a refresh that may yet fail.
		if q <= l.Seq && !s.refreshedSince(k, l.Gen) {
			delete(s.dirty, k)
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
func (s *Syncer) listFailed(ctx context.Context, err error) int {
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
func (s *Syncer) write(ctx context.Context, have *model.GroupEntry, w model.GroupState, superseded func() bool) (bool, error) {
	k := have.Key // have is nil after a read that failed
	for attempt := 1; ; attempt++ {
		if superseded != nil && superseded() {
			return false, nil
		}
		res, err := s.cfg.Store.SyncGroup(ctx, s.cfg.Fence, have, w)
		if err == nil || !errors.Is(err, model.ErrConflict) || attempt == syncAttempts {
			if err != nil {
				return false, fmt.Errorf("write %s: %w", k, err)
			}
			return res.Changed, nil
		}
		if have, err = s.cfg.Store.ReadGroup(ctx, k); err != nil {
			return false, fmt.Errorf("read %s: %w", k, err)
		}
	}
}

// drop removes the group, re-reading it when it changed since have was
// read; like write, it gives up when superseded.
func (s *Syncer) drop(ctx context.Context, have *model.GroupEntry, superseded func() bool) (bool, error) {
	k := have.Key
	for attempt := 1; ; attempt++ {
		if superseded != nil && superseded() {
			return false, nil
		}
		ok, err := s.cfg.Store.DropGroup(ctx, s.cfg.Fence, have)
		if err == nil || !errors.Is(err, model.ErrConflict) || attempt == syncAttempts {
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

// refreshedSince reports whether group k was last refreshed with a view
// known to be no older than list gen. Called with s.mu held.
func (s *Syncer) refreshedSince(k specs.GroupKey, gen uint64) bool {
	t, ok := s.touched[k]
	return ok && t.lists >= gen
}

// forgetTouched forgets the refreshes whose views are not known to be
// as new as list gen, which its sweep has made old news.
func (s *Syncer) forgetTouched(gen uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, t := range s.touched {
		if t.lists < gen {
			delete(s.touched, k)
		}
	}
}

// groupState is what the tree should hold for a managed app.
func (s *Syncer) groupState(a *model.App, now time.Time) model.GroupState {
	w := model.GroupState{Containers: make(map[string]specs.ContainerInfo, len(a.Tasks)), At: now}
	checked := len(a.Spec.HealthChecks) > 0
	for i := range a.Tasks {
		t := &a.Tasks[i]
		if terminal(t.State) {
			continue
		}
		if err := specs.ValidContainerName(t.ID); err != nil {
			s.log.Warn("task left out of /services: its id cannot be a key", "group", a.Key, "err", err)
			continue
		}
		w.Containers[t.ID] = containerInfo(t, checked, a.Spec.Ports)
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
// runs and, if the app has health checks, passes them. ports are the
// app's: on host networking, its port definitions, whose names and
// protocols the task's host ports take in order.
func containerInfo(t *model.Task, checked bool, ports []specs.Port) specs.ContainerInfo {
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
		// Host networking: each host port is the container's port, named
		// as its port definition so that a client finds it by name, as
		// on a bridge. A task with another number of ports (of an older
		// definition) keeps them unnamed rather than misnamed.
		named := len(ports) == len(t.Ports)
		info.PortMappings = make([]specs.PortMapping, 0, len(t.Ports))
		for i, p := range t.Ports {
			pm := specs.PortMapping{ContainerPort: p, HostPort: p, Protocol: specs.DefaultProtocol}
			if named {
				pm.Name, pm.Protocol = ports[i].Name, cmp.Or(ports[i].Protocol, specs.DefaultProtocol)
			}
			info.PortMappings = append(info.PortMappings, pm)
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
