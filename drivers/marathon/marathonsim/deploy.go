package marathonsim

import (
	"slices"
	"strings"
	"time"
)

// actionKind is a deployment step action.
type actionKind int

const (
	actStart actionKind = iota
	actScale
	actRestart
	actStop
)

func (k actionKind) String() string {
	switch k {
	case actStart:
		return "StartApplication"
	case actScale:
		return "ScaleApplication"
	case actRestart:
		return "RestartApplication"
	case actStop:
		return "StopApplication"
	}
	return "UnknownAction"
}

// action is one app's part of a deployment step, with the state its
// execution keeps.
type action struct {
	kind  actionKind
	appID string
	app   *app

	started bool
	// ScaleApplication: tasks present when the step started (only the
	// ones launched since must become healthy) and tasks to kill first.
	preexisting map[*task]bool
	toKill      []*task
	// RestartApplication (TaskReplaceActor): old tasks in kill order, the
	// kills the ignition strategy allows at once, the capacity bound and
	// the kills issued so far.
	oldQueue    []*task
	killNow     int
	maxCapacity int
	killsIssued int
	// StopApplication: app_terminated_event was published.
	terminated bool
}

// deployment is a deployment plan in progress.
type deployment struct {
	seq      uint64 // creation order
	id       string
	version  time.Time
	steps    [][]*action
	current  int // index of the running step
	affected []string
	// original and target are the apps before and after, for rollback
	// (nil: the app did not exist / is deleted).
	original map[string]*appVersion
	target   map[string]*appVersion
}

// plan builds a deployment plan the way DeploymentPlan.apply orders it:
// stops, then starts of new apps, then scale and restart actions.
type plan struct {
	stops, starts, scales, restarts []*action
	original, target                map[string]*appVersion
	kill                            map[string][]*task
	// group is the group the change was made to, as group_change_success
	// names it: the app's parent for a change of one app, else the root.
	group string
}

func newPlan() *plan {
	return &plan{original: map[string]*appVersion{}, target: map[string]*appVersion{}, group: "/"}
}

// parentGroup returns the id of the group holding the app id.
func parentGroup(id string) string {
	if i := strings.LastIndexByte(id, '/'); i > 0 {
		return id[:i]
	}
	return "/"
}

func (p *plan) add(kind actionKind, a *app) {
	act := &action{kind: kind, appID: a.id, app: a}
	switch kind {
	case actStop:
		p.stops = append(p.stops, act)
	case actStart:
		p.starts = append(p.starts, act)
	case actScale:
		if p.kill != nil {
			act.toKill = p.kill[a.id]
		}
		p.scales = append(p.scales, act)
	case actRestart:
		p.restarts = append(p.restarts, act)
	}
}

// snapshot records an app's definition and versions.
func snapshot(a *app) *appVersion {
	if a == nil {
		return nil
	}
	return &appVersion{def: a.def, version: a.version, lastScaling: a.lastScalingAt, lastConfig: a.lastConfigChangeAt}
}

func (p *plan) steps() [][]*action {
	var out [][]*action
	for _, step := range [][]*action{p.stops, p.starts, append(slices.Clip(p.scales), p.restarts...)} {
		if len(step) > 0 {
			out = append(out, step)
		}
	}
	return out
}

// lockedBy returns the deployments holding any of ids.
func (s *Sim) lockedBy(ids []string) []*deployment {
	var out []*deployment
	for _, id := range ids {
		if d := s.locks[id]; d != nil && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// checkLocks answers 409 when a deployment holds one of ids and force is
// false; with force, the holding deployments are cancelled
// (deployment_failed) so that a new one can start from whatever mix of
// tasks they left.
func (s *Sim) checkLocks(ids []string, force bool) *apiError {
	held := s.lockedBy(ids)
	if len(held) == 0 {
		return nil
	}
	if !force {
		lockIDs := make([]string, len(held))
		for i, d := range held {
			lockIDs[i] = d.id
		}
		return errLocked(lockIDs)
	}
	for _, d := range held {
		s.cancelDeployment(d, "The deployment has been superseded by a forced deployment")
	}
	return nil
}

// startDeployment registers the plan p and starts its first step. The
// apps' definitions must already be the targets.
func (s *Sim) startDeployment(p *plan) *deployment {
	s.depSeq++
	d := &deployment{
		seq:      s.depSeq,
		id:       s.uuid(),
		version:  s.now.Truncate(time.Millisecond),
		steps:    p.steps(),
		original: p.original,
		target:   p.target,
	}
	for id := range p.target {
		d.affected = append(d.affected, id)
	}
	slices.Sort(d.affected)
	s.markChanged()
	s.rootVer = s.now
	if len(d.steps) == 0 {
		// Nothing to do: Marathon still answers with a deployment, which
		// succeeds at once.
		s.publishDeploymentEnd(EventDeploymentSuccess, d, "")
		s.publishGroupChange(p.group, d.version)
		return d
	}
	s.deployments[d.id] = d
	s.depOrder = append(s.depOrder, d)
	for _, id := range d.affected {
		s.locks[id] = d
	}
	s.startStep(d)
	s.dirtyDeps[d] = true
	s.publishGroupChange(p.group, d.version)
	return d
}

func (s *Sim) startStep(d *deployment) {
	s.publishStep(EventDeploymentInfo, d, d.current)
	for _, act := range d.steps[d.current] {
		if act.app != nil {
			s.activateHealthChecks(act.app)
			if act.kind == actStop {
				s.deactivateHealthChecks(act.app)
			}
		}
		s.startAction(d, act)
	}
}

// evalDeployment moves d on as far as the state allows: it evaluates the
// current step's actions and, when all are done, goes to the next step.
// There is no timeout: a step that cannot finish holds the deployment, and
// the lock on its apps, for ever.
func (s *Sim) evalDeployment(d *deployment) {
	if s.deployments[d.id] != d || s.faults.leaderless(s.now) || s.faults.stalled(d.affected) {
		return
	}
	for {
		done := true
		for _, act := range d.steps[d.current] {
			if !s.evalAction(act) {
				done = false
			}
		}
		if !done {
			return
		}
		s.publishStep(EventDeploymentStepSuccess, d, d.current)
		d.current++
		if d.current == len(d.steps) {
			s.finishDeployment(d)
			return
		}
		s.startStep(d)
	}
}

func (s *Sim) finishDeployment(d *deployment) {
	s.removeDeployment(d)
	s.publishDeploymentEnd(EventDeploymentSuccess, d, "")
	for _, id := range d.affected {
		if a := s.apps[id]; a != nil {
			// Tasks that died while the deployment held the app and that
			// it did not replace are rescheduled now.
			s.topUp(a)
		}
	}
}

func (s *Sim) removeDeployment(d *deployment) {
	delete(s.deployments, d.id)
	delete(s.dirtyDeps, d)
	if i := slices.Index(s.depOrder, d); i >= 0 {
		s.depOrder = slices.Delete(s.depOrder, i, i+1)
	}
	for _, id := range d.affected {
		if s.locks[id] == d {
			delete(s.locks, id)
		}
	}
	s.markChanged()
}

// cancelDeployment stops d where it is (deployment_failed). Instances it
// queued and that were not placed yet are dropped; tasks it is killing
// keep dying. The apps are left with whatever mix of old and new tasks
// exists.
func (s *Sim) cancelDeployment(d *deployment, reason string) {
	if s.deployments[d.id] != d {
		return
	}
	s.removeDeployment(d)
	for _, act := range d.steps[d.current] {
		if act.app != nil && act.kind != actStop {
			s.dequeue(act.app, act.app.queue)
		}
	}
	s.publishStep(EventDeploymentStepFailure, d, d.current)
	s.publishDeploymentEnd(EventDeploymentFailed, d, reason)
}

// rollback cancels d and starts the deployment that returns its apps to
// their state before d (DELETE /v2/deployments/{id} without force).
func (s *Sim) rollback(d *deployment) *deployment {
	s.cancelDeployment(d, "The deployment has been canceled and a rollback was started")
	p := newPlan()
	for _, id := range d.affected {
		orig := d.original[id]
		cur := s.apps[id]
		p.original[id] = snapshot(cur)
		p.target[id] = orig
		switch {
		case orig == nil && cur == nil:
		case orig == nil:
			s.deleteApp(cur)
			p.add(actStop, cur)
		case cur == nil:
			a := s.addApp(orig.def, orig)
			p.add(actStart, a)
			p.add(actScale, a)
		default:
			onlyScale := sameConfig(cur.def, orig.def)
			s.restoreApp(cur, orig)
			if onlyScale {
				p.add(actScale, cur)
			} else {
				p.add(actRestart, cur)
			}
		}
	}
	return s.startDeployment(p)
}
