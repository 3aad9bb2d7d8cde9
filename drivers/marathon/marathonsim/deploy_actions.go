package marathonsim

import (
	"math"
	"slices"
)

// startAction runs when the step holding act begins.
func (s *Sim) startAction(d *deployment, act *action) {
	act.started = true
	a := act.app
	switch act.kind {
	case actStart:
		// Marathon starts an app with 0 instances; ScaleApplication
		// follows.
	case actScale:
		s.startScale(act)
	case actRestart:
		s.startRestart(act)
	case actStop:
		s.dequeue(a, a.queue)
		for _, t := range slices.Clone(a.tasks) {
			t.doomed = true
			s.killTask(t)
		}
	}
	s.dirtyDeps[d] = true
}

// evalAction moves act on and reports whether it is done.
func (s *Sim) evalAction(act *action) bool {
	switch act.kind {
	case actStart:
		return true
	case actScale:
		return s.evalScale(act)
	case actRestart:
		return s.evalRestart(act)
	case actStop:
		if len(act.app.tasks) > 0 {
			return false
		}
		if act.app.removed && !act.terminated {
			act.terminated = true
			s.publishAppTerminated(act.appID)
		}
		return true
	}
	return true
}

// goalRunning returns the app's tasks that are meant to keep running.
func goalRunning(a *app) []*task {
	out := make([]*task, 0, len(a.tasks))
	for _, t := range a.tasks {
		if t.goalRunning() {
			out = append(out, t)
		}
	}
	return out
}

// startScale is TaskStartActor / TaskKillActor: launch the missing
// instances, or kill the surplus (the tasks named by a kill-and-scale
// request first, then per killSelection). Running tasks are not touched
// otherwise: a scale never restarts anything.
func (s *Sim) startScale(act *action) {
	a := act.app
	running := goalRunning(a)
	act.preexisting = make(map[*task]bool, len(running))
	for _, t := range running {
		act.preexisting[t] = true
	}
	n := a.def.Instances
	for _, t := range act.toKill {
		if t.goalRunning() && s.tasks[t.id] == t {
			t.doomed = true
			s.killTask(t)
		}
	}
	running = goalRunning(a)
	have := len(running) + a.queue
	if have > n {
		s.dequeue(a, have-n)
	}
	if surplus := len(running) - n; surplus > 0 {
		for _, t := range scaleDownOrder(running, a.def.KillSelection)[:surplus] {
			t.doomed = true
			s.killTask(t)
		}
	}
}

// scaleDownOrder sorts tasks in the order Marathon kills them when scaling
// down: not yet running first, then by killSelection (youngest or oldest
// first by staging time).
func scaleDownOrder(ts []*task, killSelection string) []*task {
	out := slices.Clone(ts)
	slices.SortStableFunc(out, func(x, y *task) int {
		rx, ry := x.state == taskRunning, y.state == taskRunning
		if rx != ry {
			if !rx {
				return -1
			}
			return 1
		}
		c := x.stagedAt.Compare(y.stagedAt)
		if killSelection == "OLDEST_FIRST" {
			return c
		}
		return -c
	})
	return out
}

func (s *Sim) evalScale(act *action) bool {
	a := act.app
	n := a.def.Instances
	running := goalRunning(a)
	if missing := n - len(running) - a.queue; missing > 0 {
		// Instances that failed while scaling are relaunched.
		s.queueLaunch(a, missing)
	}
	if len(running) != n || a.queue > 0 || len(running) != len(a.tasks) {
		return false
	}
	for _, t := range running {
		if !act.preexisting[t] && !t.ok() {
			return false
		}
	}
	return true
}

// startRestart computes TaskReplaceActor's ignition strategy (Marathon's
// TaskReplaceActor.scala): with n instances, minHealthy = ceil(n × minimumHealthCapacity)
// and maxCapacity = floor(n × (1 + maximumOverCapacity)); of H healthy
// instances, H − minHealthy are killed at once, as are unhealthy old ones;
// when minHealthy == maxCapacity ≤ running instances, one extra instance
// is allowed so that progress is possible (a resident app, which cannot
// run an extra instance, kills one more instead); instances above n are
// killed.
func (s *Sim) startRestart(act *action) {
	a := act.app
	s.resetBackoff(a)
	n := a.def.Instances
	us := a.def.UpgradeStrategy
	// Double arithmetic exactly as Marathon's Scala: 10 × 0.3 is
	// 3.0000000000000004 there too, so minHealthy is 4.
	minHealthy := int(math.Ceil(float64(n) * us.MinimumHealthCapacity))
	maxCap := int(math.Floor(float64(n) * (1 + us.MaximumOverCapacity)))

	running := goalRunning(a)
	var oldHealthy, oldUnhealthy []*task
	healthy := 0
	for _, t := range running {
		if t.ok() {
			healthy++
		}
		if t.configVersion.Equal(a.lastConfigChangeAt) {
			continue
		}
		if t.ok() {
			oldHealthy = append(oldHealthy, t)
		} else {
			oldUnhealthy = append(oldUnhealthy, t)
		}
	}
	killNow := max(0, healthy-minHealthy) + len(oldUnhealthy)
	killNow = max(killNow, len(running)-n)
	if minHealthy == maxCap && maxCap <= len(running) {
		if a.def.Residency != nil {
			// A resident instance can only be replaced on its own
			// reservation: kill one more instead of starting one more.
			killNow = max(killNow, len(running)-minHealthy+1)
		} else {
			maxCap++
		}
	}
	// Unhealthy old instances go first, the others in killSelection order.
	act.oldQueue = append(oldUnhealthy, scaleDownOrder(oldHealthy, a.def.KillSelection)...)
	act.killNow = killNow
	act.maxCapacity = maxCap
}

// evalRestart is TaskReplaceActor's progress: one old instance is killed
// for every new instance that is healthy (beyond the kills allowed at
// once); new instances are started while old plus new stay within
// maxCapacity; a new instance that fails is replaced. Done when n new
// instances are healthy and no old one is left.
func (s *Sim) evalRestart(act *action) bool {
	a := act.app
	n := a.def.Instances
	var oldActive, newStarted, newOK int
	var newRunning []*task
	for _, t := range a.tasks {
		if !t.configVersion.Equal(a.lastConfigChangeAt) {
			oldActive++
			continue
		}
		if t.goalRunning() {
			newStarted++
			newRunning = append(newRunning, t)
			if t.ok() {
				newOK++
			}
		}
	}
	newStarted += a.queue

	// Kill old instances: the immediate ones, then one per healthy new.
	allowed := act.killNow + newOK
	for act.killsIssued < allowed && len(act.oldQueue) > 0 {
		t := act.oldQueue[0]
		act.oldQueue = act.oldQueue[1:]
		if s.tasks[t.id] != t || !t.goalRunning() {
			continue
		}
		t.doomed = true
		s.killTask(t)
		act.killsIssued++
	}
	// New instances above n (left by an earlier forced deployment) go.
	if extra := len(newRunning) - n; extra > 0 {
		for _, t := range scaleDownOrder(newRunning, a.def.KillSelection)[:extra] {
			t.doomed = true
			s.killTask(t)
		}
		newStarted -= extra
	}
	if start := min(n-newStarted, act.maxCapacity-oldActive-newStarted); start > 0 {
		s.queueLaunch(a, start)
	}
	return oldActive == 0 && newOK == n && a.queue == 0 && len(newRunning) == n && len(a.tasks) == n
}
