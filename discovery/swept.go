package discovery

import (
	"maps"

	"theseus.dev/model"
	"theseus.dev/specs"
)

// swept is what a sweep found a group to hold, having compared it: the
// app of the list (the observer's copy, which is the same *model.App from
// list to list while Marathon does not change it), the tree's entry it
// was compared with (the tree cache replaces an entry when the group
// changes, and never changes one), the config mirrored, and how many
// containers the app has. While the app, the entry and the config are
// what they were, comparing again would find the same: a quiet sweep of
// 10,000 groups compares none of them.
type swept struct {
	app        *model.App
	entry      *model.GroupEntry
	config     map[string]string
	containers int
}

// unchanged reports whether group k, listed as a, with have in the tree
// (nil: none), is as the last sweep found it; n is then the number of
// its containers.
func (s *Syncer) unchanged(k specs.GroupKey, a *model.App, have *model.GroupEntry) (n int, ok bool) {
	if have == nil {
		return 0, false
	}
	s.mu.Lock()
	m, ok := s.compared[k]
	s.mu.Unlock()
	if !ok || m.app != a || m.entry != have {
		return 0, false
	}
	var cfg map[string]string
	known := false // nil with known is an empty config
	if s.cfg.Configs != nil {
		cfg, known = s.cfg.Configs.GroupConfig(k)
	}
	if known != (m.config != nil) || !maps.Equal(cfg, m.config) {
		return 0, false
	}
	return m.containers, true
}

// noteSwept records that the sweep compared group k, listed as a, with
// have and wrote w if it differed (changed): a group written, or not
// compared, is compared again at the next sweep.
// It reports whether it remembers k.
func (s *Syncer) noteSwept(k specs.GroupKey, a *model.App, have *model.GroupEntry, w model.GroupState, changed bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if changed {
		delete(s.compared, k)
		return false
	}
	s.compared[k] = swept{app: a, entry: have, config: w.Config, containers: len(w.Containers)}
	return true
}

// forgetSwept forgets the groups a list no longer has as managed apps;
// listed is how many of those it remembers the sweep found as managed
// apps of the list, so that a sweep that found them all looks no further.
func (s *Syncer) forgetSwept(apps map[specs.GroupKey]*model.App, listed int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.compared) == listed {
		return
	}
	for k := range s.compared {
		if a := apps[k]; a == nil || !a.Managed {
			delete(s.compared, k)
		}
	}
}
