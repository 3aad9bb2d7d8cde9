package marathonsim

import (
	"reflect"
	"slices"
	"time"
)

// addApp stores a new app. ver, when not nil, restores stored versions
// (rollback of a delete); otherwise the app gets a new version now.
func (s *Sim) addApp(def *appDef, ver *appVersion) *app {
	a := &app{id: def.ID, def: def}
	if ver != nil {
		a.version, a.lastScalingAt, a.lastConfigChangeAt = ver.version, ver.lastScaling, ver.lastConfig
	} else {
		v := s.newVersion(time.Time{})
		a.version, a.lastScalingAt, a.lastConfigChangeAt = v, v, v
	}
	s.apps[a.id] = a
	s.orderAdd(a.id)
	for _, g := range parentIDs(a.id) {
		s.groups[g]++
	}
	s.claimServicePorts(a.id, def, nil)
	s.recordVersion(a)
	s.markChanged()
	return a
}

// setDef gives a a new definition. A change of instances alone is a
// scaling (version = lastScalingAt = now); any other change is a config
// change (lastConfigChangeAt too), as Marathon's VersionInfo does.
func (s *Sim) setDef(a *app, def *appDef, scaleOnly bool) {
	prev := a.def
	a.def = def
	v := s.newVersion(a.version)
	a.version, a.lastScalingAt = v, v
	if !scaleOnly {
		a.lastConfigChangeAt = v
		s.resetBackoff(a)
	}
	s.claimServicePorts(a.id, def, prev)
	s.recordVersion(a)
	s.markChanged()
}

// restoreApp puts back a stored version (rollback).
func (s *Sim) restoreApp(a *app, v *appVersion) {
	prev := a.def
	a.def = v.def
	a.version, a.lastScalingAt, a.lastConfigChangeAt = v.version, v.lastScaling, v.lastConfig
	s.claimServicePorts(a.id, v.def, prev)
	s.refreshJSON(a)
	s.markChanged()
}

// deleteApp removes a from the app tree at once, as Marathon does; its
// tasks are killed by the StopApplication step that follows.
func (s *Sim) deleteApp(a *app) {
	if a.removed {
		return
	}
	a.removed = true
	delete(s.apps, a.id)
	s.orderRemove(a.id)
	for _, g := range parentIDs(a.id) {
		if s.groups[g]--; s.groups[g] <= 0 {
			delete(s.groups, g)
		}
	}
	s.releaseServicePorts(a.id, a.def)
	s.dequeue(a, a.queue)
	s.releaseReservations(a)
	s.markChanged()
}

// recordVersion stores the app's current definition in its history and
// refreshes its cached JSON.
func (s *Sim) recordVersion(a *app) {
	a.history = append(a.history, appVersion{def: a.def, version: a.version, lastScaling: a.lastScalingAt, lastConfig: a.lastConfigChangeAt})
	if len(a.history) > maxVersions {
		a.history = slices.Delete(a.history, 0, len(a.history)-maxVersions)
	}
	s.refreshJSON(a)
}

// sameConfig reports whether two definitions differ at most in instances,
// Marathon's isOnlyScaleChange.
func sameConfig(x, y *appDef) bool {
	c := *y
	c.Instances = x.Instances
	return reflect.DeepEqual(x, &c)
}

// topUp queues launches for instances an app is missing while no
// deployment drives it: after a deployment, and at every scale check.
func (s *Sim) topUp(a *app) {
	if a.removed || s.locks[a.id] != nil {
		return
	}
	if missing := a.def.Instances - len(goalRunning(a)) - a.queue; missing > 0 {
		s.queueLaunch(a, missing)
	}
}

// scheduleScaleCheck tops up every app periodically, as Marathon's
// scale_apps_interval does; it fixes apps left short by a forced
// deployment cancel.
func (s *Sim) scheduleScaleCheck() {
	var check func()
	check = func() {
		for _, id := range s.sortedAppIDs() {
			s.topUp(s.apps[id])
		}
		s.after(s.opts.ScaleCheckInterval, check)
	}
	s.after(s.opts.ScaleCheckInterval, check)
}

// groupConflict reports whether id clashes with the group tree: an app
// cannot live where a group is, nor under another app.
func (s *Sim) groupConflict(id string) bool {
	if s.groups[id] > 0 {
		return true
	}
	for _, g := range parentIDs(id) {
		if _, ok := s.apps[g]; ok {
			return true
		}
	}
	return false
}
