package diff

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"theseus.dev/model"
	"theseus.dev/specs"
)

// Desired is one group as /desired declares it.
type Desired struct {
	Key specs.GroupKey
	// Revision is the mod revision of the group's /desired key, its
	// generation.
	Revision int64
	// Spec is the normalised spec (specs.Normalize); Hash is specs.Hash of
	// it, or "" when it is left to SpecHash. Both are unset when Errors is
	// not empty.
	Spec specs.Spec
	Hash string
	// Errors lists why the stored spec is invalid. An invalid group is never
	// applied, and its app, if any, is left alone.
	Errors []string
	// Restart is the token of a restart request not yet carried out, or "".
	Restart string
	// Policy is theseus's own policy of the group (specs.Policy), its
	// deadline 0 when the spec sets none: never compared, never sent to
	// Marathon, but it decides what becomes of drift (see Group).
	Policy specs.Policy
}

// NewDesired returns the Desired form of a valid group stored at revision.
func NewDesired(g *specs.Group, revision int64) (Desired, error) {
	d, err := NewDesiredUnhashed(g, revision)
	if err != nil {
		return Desired{}, err
	}
	d.Hash = specs.Hash(d.Spec)
	return d, nil
}

// NewDesiredUnhashed is NewDesired but for the hash, which SpecHash
// computes where it is needed: a plan of thousands of groups needs it
// for the few it changes.
func NewDesiredUnhashed(g *specs.Group, revision int64) (Desired, error) {
	k, err := g.Key()
	if err != nil {
		return Desired{}, err
	}
	return Desired{Key: k, Revision: revision, Spec: specs.Normalize(g.Spec), Policy: g.Spec.Policy(0)}, nil
}

// TakeDesiredUnhashed is NewDesiredUnhashed for a caller that gives g up:
// the Desired shares g's maps (specs.NormalizeOwned).
func TakeDesiredUnhashed(g *specs.Group, revision int64) (Desired, error) {
	k, err := g.Key()
	if err != nil {
		return Desired{}, err
	}
	pol := g.Spec.Policy(0)
	return Desired{Key: k, Revision: revision, Spec: specs.NormalizeOwned(g.Spec), Policy: pol}, nil
}

// SpecHash returns the hash of the desired spec: Hash, or computed when
// it was left out.
func (d *Desired) SpecHash() string {
	if d.Hash != "" || !d.Valid() {
		return d.Hash
	}
	return specs.Hash(d.Spec)
}

// TakeDesired is NewDesired for a caller that gives g up: the Desired
// shares g's maps (specs.NormalizeOwned).
func TakeDesired(g *specs.Group, revision int64) (Desired, error) {
	d, err := TakeDesiredUnhashed(g, revision)
	if err != nil {
		return Desired{}, err
	}
	d.Hash = specs.Hash(d.Spec)
	return d, nil
}

// InvalidDesired returns the Desired form of a group whose stored spec does
// not parse or validate.
func InvalidDesired(k specs.GroupKey, revision int64, err error) Desired {
	d := Desired{Key: k, Revision: revision}
	for _, fe := range specs.Errors(err) {
		d.Errors = append(d.Errors, fe.Error())
	}
	return d
}

// Valid reports whether the desired spec can be applied.
func (d *Desired) Valid() bool { return len(d.Errors) == 0 }

// App is a Marathon app in the form diff compares (model.App): the fields
// a spec controls, read back from Marathon and normalised, plus what
// theseus needs to decide whether it may touch the app (Managed,
// Protected, SpecHash, Revision, Deployments, DefaultRole) and, for a
// plan, the config /services holds (Config, ConfigKnown).
type App = model.App

// Kind is what a plan does about one group.
type Kind string

// The kinds of action. Create, Update, Scale, Restart and Delete change
// Marathon; Config changes /services; the others report a group that is
// not in sync but is not acted on now.
const (
	Create  Kind = "create"  // desired group, no app: POST /v2/apps
	Update  Kind = "update"  // controlled fields differ: PUT, rolling deployment
	Scale   Kind = "scale"   // only instances differ: PUT instances, no restart
	Restart Kind = "restart" // a restart was requested: POST /v2/apps/{id}/restart
	Delete  Kind = "delete"  // managed app, no desired spec, pruning on
	// Rollback: a rollout theseus started failed; the last Synced spec
	// (Action.Restore) is written back: PUT of its full definition,
	// forced over the failed deployment. Decided by the controller from
	// the rollout's progress, never part of a plan.
	Rollback Kind = "rollback"
	// Config: only the config differs; no Marathon call, the discovery
	// syncer rewrites /services/{service}/{labels}/config.
	Config Kind = "config"
	// Wait: a deployment is in flight for the app; looked at again when it
	// ends. Changes lists what will be done then.
	Wait Kind = "wait"
	// Invalid: the desired spec is invalid; its app is left alone.
	Invalid Kind = "invalid"
	// Unmanaged: an app sits at the group's id but is not theseus's, or is
	// protected; theseus will not touch it.
	Unmanaged Kind = "unmanaged"
	// Orphan: a managed app has no desired spec, and pruning is off or was
	// refused by the guard.
	Orphan Kind = "orphan"
)

// Mutates reports whether the action changes Marathon.
func (k Kind) Mutates() bool {
	switch k {
	case Create, Update, Scale, Restart, Delete, Rollback:
		return true
	}
	return false
}

// Hold says why a pending change is not carried out now. Every held-back
// action is still pending: the group is not in sync.
type Hold string

// The reasons an action is held back.
const (
	// HoldDeployment: a deployment is in flight for the app and a change
	// waits behind it (Wait).
	HoldDeployment Hold = "deployment"
	// HoldRollingOut: the app is defined as the spec says, but its
	// deployment is still rolling it out (Wait, with no changes): the
	// tasks do not run the spec yet.
	HoldRollingOut Hold = "rolling-out"
	// HoldTasksMissing: the app is defined as the spec says and no
	// deployment is in flight, but fewer of its tasks run, or pass their
	// health checks, than the spec wants (Wait, with no changes).
	HoldTasksMissing Hold = "tasks-missing"
	// HoldPruneOff: a managed app has no spec and pruning is off (Orphan).
	HoldPruneOff Hold = "pruning-off"
	// HoldPruneRefused: the prune guard refused the plan's deletes (Orphan).
	HoldPruneRefused Hold = "prune-refused"
	// HoldUnmanaged: an app theseus does not manage has the group's id
	// (Unmanaged).
	HoldUnmanaged Hold = "unmanaged"
	// HoldProtected: the app is labelled theseus.io/protect=true and
	// differs from its spec (Unmanaged).
	HoldProtected Hold = "protected"
	// HoldPaused: the group is paused (theseusd pause); nothing is written
	// to Marathon for it until it is resumed.
	HoldPaused Hold = "paused"
	// HoldQuarantined: the rollout of this /desired revision failed and
	// was rolled back, or could not be; it is not tried again until
	// /desired changes.
	HoldQuarantined Hold = "quarantined"
	// HoldDriftReport: the app was changed outside theseus and the
	// group's spec.drift is report: the change is left in place.
	HoldDriftReport Hold = "drift-report"
)

// holdText is how the text form names each hold.
var holdText = map[Hold]string{
	HoldDeployment:   "deployment in flight",
	HoldRollingOut:   "rolling out",
	HoldTasksMissing: "tasks missing",
	HoldPruneOff:     "pruning is off",
	HoldPruneRefused: "prune refused",
	HoldUnmanaged:    "not theseus's app",
	HoldProtected:    "protected",
	HoldPaused:       "paused",
	HoldQuarantined:  "quarantined",
	HoldDriftReport:  "drift reported, not healed",
}

// Change is one field that differs, as text. Old is nil for a field being
// added and New is nil for one being removed. Secret values never appear:
// they are replaced by specs.Redacted before a Change is made.
type Change struct {
	Path string  `json:"path"`
	Old  *string `json:"old,omitempty"`
	New  *string `json:"new,omitempty"`
}

// Action is what the plan does about one group.
type Action struct {
	Kind  Kind
	Key   specs.GroupKey
	AppID string
	// Changes are the differing fields, in a fixed order.
	Changes []Change
	// Reason explains waits, invalid and unmanaged groups, orphans and drift.
	Reason string
	// HeldBack, when set, says why the action is not carried out now,
	// although it is pending.
	HeldBack Hold
	// Drift is true when Marathon no longer matches the spec it was last
	// written from: someone changed the app outside theseus.
	Drift bool
	// Errors are the validation errors of an invalid spec.
	Errors []string
	// Revision is the /desired revision acted on; 0 for a delete.
	Revision int64
	// Version is the Marathon version of the app the action was planned
	// against, "" when there is no app. Part of the plan's check index.
	Version string
	// Deployments are the deployments being waited for, or, with Force,
	// written over.
	Deployments []string
	// AppRevision is the /desired revision the app's labels name (0:
	// none, or no app). Not part of the plan's text or JSON.
	AppRevision int64
	// Force makes an Update take the app over its deployments in flight,
	// which are of a rollout theseus judged failed (OverFailed).
	Force bool
	// Spec and Hash are the desired normalised spec and its hash, for the
	// executor of Create, Update and Scale. Not part of the plan's text or
	// JSON.
	Spec *specs.Spec
	Hash string
	// Restart is the token of the restart request this action carries out.
	Restart string
	// Restore is, for a Rollback, the revision and app version written
	// back. Spec and Hash are then those of the restored spec.
	Restore *Restore
}

// Restore is what a rollback writes back: the spec of an earlier
// revision of the group, the last that was Synced.
type Restore struct {
	Revision int64
	// Version is the Marathon app version that ran it when it was Synced.
	Version string
}

// Hold holds a pending change back for h, with reason: the action stays
// what it is (its changes listed) but is not carried out now. Only a
// change to Marathon, or one waiting behind a deployment, can be held;
// other actions are left as they are.
func (a *Action) Hold(h Hold, reason string) {
	if a.Kind.Mutates() || a.Kind == Wait {
		a.HeldBack, a.Reason = h, reason
	}
}

// Acts reports whether the action is carried out against Marathon now:
// it changes Marathon and is not held back.
func (a *Action) Acts() bool { return a.Kind.Mutates() && a.HeldBack == "" }

// HeldChange reports whether the action is a change held back now, that
// an apply leaves undone until its hold ends: a change to Marathon of a
// paused group or a quarantined revision, or changes waiting behind a
// deployment. An orphan that pruning keeps or an app theseus does not
// manage is not one: nothing is to be changed.
func (a *Action) HeldChange() bool {
	return a.HeldBack != "" && (a.Kind.Mutates() || a.Kind == Wait && len(a.Changes) > 0)
}

// HeldReason says why the action is held back: its reason, or the hold's
// name when it has none. It is empty when the action is not held back.
func (a *Action) HeldReason() string {
	if a.HeldBack == "" {
		return ""
	}
	return cmp.Or(a.Reason, string(a.HeldBack))
}

// Pending reports whether the action is a change still to be made, now
// or once it is no longer held back. Invalid groups are not pending: they
// are errors.
func (a *Action) Pending() bool {
	return a.Kind.Mutates() || a.Kind == Config || a.HeldBack != ""
}

// Plan is what to do to bring Marathon to /desired.
type Plan struct {
	// DesiredRevision is the revision /desired was read at; with each
	// action's Version it forms the check index of a saved plan.
	DesiredRevision int64
	// Actions are sorted by group key. Groups in sync are left out.
	Actions []Action
	// PruneRefused is set when the plan would have deleted apps but the
	// guard refused it; the deletes are then listed as Orphan.
	PruneRefused string
	// Scope, when not nil, is the plan of a set of spec files rather than
	// of /desired: every group of the files with the mod revision of its
	// /desired key when the plan was made (0: absent). Applying the files
	// with this plan as check index writes only if none moved.
	Scope []Scoped
	// Errors are problems of spec files that name no group, such as a
	// document that does not parse; like invalid groups, not planned.
	Errors []string
	// MarathonRoot, when known, is the --marathon-root of the Marathon
	// the plan was made against: a saved plan carried out against another
	// would act on other apps than it was made for.
	MarathonRoot *string
}

// Scoped is one group of a plan's Scope.
type Scoped struct {
	Key      specs.GroupKey
	Revision int64
}

// Counts tallies the actions of each kind.
func (p *Plan) Counts() map[Kind]int {
	c := make(map[Kind]int)
	for _, a := range p.Actions {
		c[a.Kind]++
	}
	return c
}

// Pending reports whether any change is pending: one that would change
// Marathon or /services now, or one held back. `theseusd plan` exits 2
// then, unless a group is invalid.
func (p *Plan) Pending() bool {
	for i := range p.Actions {
		if p.Actions[i].Pending() {
			return true
		}
	}
	return false
}

// Acts reports whether carrying out the plan would change Marathon now.
func (p *Plan) Acts() bool {
	for i := range p.Actions {
		if p.Actions[i].Acts() {
			return true
		}
	}
	return false
}

// Invalid counts the groups whose desired spec is invalid and the
// problems that name no group: `theseusd plan` exits 1 when there is any.
func (p *Plan) Invalid() int {
	n := len(p.Errors)
	for i := range p.Actions {
		if p.Actions[i].Kind == Invalid {
			n++
		}
	}
	return n
}

// InSync reports whether Marathon and /services match the desired specs
// with nothing pending and nothing invalid: `theseusd plan` exits 0.
func (p *Plan) InSync() bool { return !p.Pending() && p.Invalid() == 0 }

// OverFailed turns a change waiting behind a deployment into an update
// forced over it; the caller knows the deployment to be that of the
// rollout of revision failedRev, which theseus judged failed, and the
// change to be of another revision. Nothing is written for a failed
// revision again, so its deployment may never end, and a fix would wait
// behind it for ever. It reports whether it did.
func (a *Action) OverFailed(failedRev int64) bool {
	if a.Kind != Wait || a.HeldBack != HoldDeployment || a.Spec == nil {
		return false
	}
	// Only a change of the app's definition: a restart alone (with a
	// change of config, which /services takes) waits as before.
	if !slices.ContainsFunc(a.Changes, func(c Change) bool { return !strings.HasPrefix(c.Path, "spec.config.") }) {
		return false
	}
	a.Kind, a.HeldBack, a.Force = Update, "", true
	a.Reason = fmt.Sprintf("the rollout of revision %d failed; written over its deployment %s", failedRev, strings.Join(a.Deployments, ", "))
	return true
}
