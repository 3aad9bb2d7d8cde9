package diff

import (
	"slices"
	"strings"

	"theseus.dev/specs"
)

// DefaultMaxDeleteFraction is the share of managed apps one plan may delete
// before the prune guard refuses it.
const DefaultMaxDeleteFraction = 0.5

// Options steer a plan.
type Options struct {
	// Prune plans deletes of managed apps that have no desired spec. Off by
	// default: such apps are listed as orphans.
	Prune bool
	// MaxDeleteFraction is the prune guard: a plan that would delete more
	// than one app and more than this fraction of the managed apps is
	// refused, as when /desired was wiped by mistake. Defaults to
	// DefaultMaxDeleteFraction when zero.
	MaxDeleteFraction float64
	// AllowMassDelete lets a plan through the prune guard.
	AllowMassDelete bool
	// History is what the guard counts beside the plan's own deletes:
	// the daemon's recent deletions and a release of the guard.
	History PruneHistory
}

// Snapshot is the desired side of a plan: every group in /desired as read
// at one revision. An unreadable /desired has no Snapshot: callers must not
// plan from it, since an empty snapshot means "no groups wanted".
type Snapshot struct {
	Revision int64
	Groups   []Desired
}

// Compute returns the plan that brings actual to desired. It is pure:
// the same inputs give the same plan, actions sorted by group key. Apps
// whose key no desired group has are deleted only if they are managed and
// not protected, pruning is on and the prune guard lets the plan through.
func Compute(desired Snapshot, actual []App, opts Options) *Plan {
	at := make(map[specs.GroupKey]int, len(actual))
	for i := range actual {
		at[actual[i].Key] = i
	}
	plan := &Plan{DesiredRevision: desired.Revision, Actions: make([]Action, 0, 16)}
	matched := make([]bool, len(actual))
	for i := range desired.Groups {
		d := &desired.Groups[i]
		var a *App
		if j, ok := at[d.Key]; ok {
			a, matched[j] = &actual[j], true
		}
		if act, ok := Group(d, a, opts); ok {
			plan.Actions = append(plan.Actions, act)
		} else if a != nil && len(a.Deployments) > 0 {
			plan.Actions = append(plan.Actions, rollingOut(d, a))
		} else if short := tasksShort(d, a); short != "" {
			plan.Actions = append(plan.Actions, tasksMissing(d, a, short))
		}
	}
	managed, deletes := 0, 0
	for i := range actual {
		a := &actual[i]
		if a.Managed {
			managed++
		}
		if matched[i] {
			continue
		}
		if act, ok := Group(nil, a, opts); ok {
			plan.Actions = append(plan.Actions, act)
			if act.Kind == Delete && !opts.History.Has(a.Key) {
				deletes++
			}
		}
	}
	if err := PruneGuard(deletes, managed, len(desired.Groups), opts); err != nil {
		plan.RefuseDeletes(err.Error(), HeldBackReason)
	}
	slices.SortFunc(plan.Actions, func(a, b Action) int { return a.Key.Compare(b.Key) })
	return plan
}

// RefuseDeletes lists every delete of p as an orphan held back, reason
// saying why each is, and refused why the plan deletes nothing. Deletes
// are refused when what the plan read may not hold every spec: the prune
// guard's mass deletion, or spec files that could not be read.
func (p *Plan) RefuseDeletes(refused, reason string) {
	n := 0
	for i := range p.Actions {
		if a := &p.Actions[i]; a.Kind == Delete {
			a.Kind, a.Reason, a.Changes = Orphan, reason, nil
			a.HeldBack = HoldPruneRefused
			n++
		}
	}
	if n > 0 && p.PruneRefused == "" {
		p.PruneRefused = refused
	}
}

// rollingOut is the plan entry of a group whose app is defined as its
// spec says while a deployment still rolls it out: nothing is left to
// write, but the tasks do not run the spec yet, so the group is not in
// sync, and the entry is pending (held back until the deployment ends).
// The controller decides per group with Group, for which such a group
// has nothing to do; this is the plan's view only.
func rollingOut(d *Desired, a *App) Action {
	return Action{Key: d.Key, Revision: d.Revision, AppID: a.ID, Version: a.Version, Deployments: a.Deployments,
		Kind: Wait, HeldBack: HoldRollingOut, Spec: &d.Spec, Hash: d.SpecHash(),
		Reason: "deployment " + strings.Join(a.Deployments, ", ") + " is rolling out the spec; in sync when it ends"}
}

// tasksShort says how the app falls short of the spec's tasks: fewer
// running than it wants, or, with health checks, fewer healthy ("" when
// it does not). A group is in sync only with the tasks it wants.
func tasksShort(d *Desired, a *App) string {
	if a == nil || !d.Valid() || d.Spec.Instances == nil {
		return ""
	}
	return a.Counts.ShortOf(*d.Spec.Instances, len(d.Spec.HealthChecks) > 0)
}

// tasksMissing is the plan entry of a group whose app is defined as its
// spec says, with no deployment in flight, but without the tasks the
// spec wants: tasks that crash or fail their health checks after a
// rollout ended, or lost with their agent. Nothing is left to write, and
// Marathon replaces them on its own, but the group is not in sync, and
// the entry is pending (held back until the tasks are back). Like
// rollingOut, the plan's view only.
func tasksMissing(d *Desired, a *App, short string) Action {
	return Action{Key: d.Key, Revision: d.Revision, AppID: a.ID, Version: a.Version,
		Kind: Wait, HeldBack: HoldTasksMissing, Spec: &d.Spec, Hash: d.SpecHash(),
		Reason: short + ", no deployment in flight: not in sync until the rest are back"}
}

// Group returns the action for one group, given its desired form (nil when
// /desired has no spec for it) and its app (nil when Marathon has none), and
// false when the group is in sync. The prune guard is not applied here; see
// Compute and PruneGuard. The config is compared only when a's ConfigKnown
// says it was read from /services.
func Group(d *Desired, a *App, opts Options) (Action, bool) {
	act := Action{}
	switch {
	case d != nil:
		act.Key, act.Revision = d.Key, d.Revision
	case a != nil:
		act.Key = a.Key
	default:
		return act, false
	}
	if a != nil {
		act.AppID, act.Version, act.Deployments, act.AppRevision = a.ID, a.Version, a.Deployments, a.Revision
	}
	switch {
	case d != nil && !d.Valid():
		act.Kind, act.Errors = Invalid, d.Errors
		act.Reason = "the desired spec is invalid; the running app is left alone"
		if a == nil {
			act.Reason = "the desired spec is invalid; nothing is created"
		}
		return act, true
	case d == nil && (!a.Managed || a.Protected):
		return act, false // not ours to delete
	case a != nil && !a.Managed:
		act.Kind, act.Reason, act.HeldBack = Unmanaged, "an app that theseus does not manage already has this id; it is left alone", HoldUnmanaged
		return act, true
	case d == nil:
		if !opts.Prune {
			act.Kind, act.Reason, act.HeldBack = Orphan, "no desired spec; pruning is off, so the app stays", HoldPruneOff
			return act, true
		}
		// A delete shows what goes away in brief: listing every field of
		// the app would bury the rest of the plan.
		act.Kind, act.Changes = Delete, changes(summaryFields(&a.Spec), nil)
		return act, true
	case a == nil:
		// A new app starts fresh: a pending restart is done by creating it.
		act.Kind, act.Spec, act.Hash, act.Restart = Create, &d.Spec, d.SpecHash(), d.Restart
		act.Changes = changes(nil, append(flatten(&d.Spec, nil), configFields(d.Spec.Config)...))
		return act, true
	}
	same := sameSpec(&d.Spec, &a.Spec, a.DefaultRole)
	cfg := configChanges(d, a)
	if same && d.Restart == "" && len(cfg) == 0 {
		return act, false
	}
	hash := d.SpecHash()
	act.Spec, act.Hash = &d.Spec, hash
	switch {
	case same && d.Restart == "":
		// Config alone never goes to Marathon: /services is rewritten.
		act.Kind = Config
	case a.Protected:
		// Protected apps are never written; a difference is reported,
		// held back until the label goes.
		act.Kind, act.HeldBack = Unmanaged, HoldProtected
		act.Reason = "the app is protected (label theseus.io/protect=true); it is left alone"
	case same:
		act.Kind, act.Restart = Restart, d.Restart
	case onlyInstancesDiffer(&d.Spec, &a.Spec, a.DefaultRole):
		act.Kind = Scale
	default:
		act.Kind, act.Restart = Update, d.Restart // an update restarts every task anyway
	}
	if !same {
		eff := effectiveApp(&d.Spec, &a.Spec, a.DefaultRole)
		act.Changes = changes(flatten(&eff, a.SecretEnv), flatten(&d.Spec, a.SecretEnv))
		if a.SpecHash == hash && !secretOnly(act.Changes) && act.Kind != Unmanaged {
			act.Drift = true
			act.Reason = "Marathon no longer matches the spec it was written from (changed outside theseus)"
		}
	}
	act.Changes = append(act.Changes, cfg...)
	if len(a.Deployments) > 0 && act.Kind.Mutates() {
		act.Kind, act.HeldBack = Wait, HoldDeployment
		act.Reason = "deployment " + strings.Join(a.Deployments, ", ") + " in flight; looked at again when it ends"
	}
	if act.Drift && d.Policy.Drift == specs.DriftReport {
		act.Hold(HoldDriftReport, DriftReportReason)
	}
	return act, true
}

// DriftReportReason is the reason of drift held back by spec.drift: report.
const DriftReportReason = "Marathon no longer matches the spec it was written from (changed outside theseus); " +
	"spec.drift is report, so the change is left in place"

// secretOnly reports whether every change is of a secret value, which the
// spec hash deliberately does not cover.
func secretOnly(cs []Change) bool {
	for _, c := range cs {
		if c.New == nil || *c.New != redactedChanged {
			return false
		}
	}
	return len(cs) > 0
}
