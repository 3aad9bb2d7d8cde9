package reconciler

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"theseus.dev/diff"
	"theseus.dev/internal/parallel"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// DesiredLister reads all of /desired at one revision.
// *etcd.DesiredStore implements it.
type DesiredLister interface {
	List(ctx context.Context) (*model.DesiredSnapshot, error)
}

// AppLister lists Marathon's apps under the root in one call.
type AppLister interface {
	List(ctx context.Context) ([]model.App, error)
}

// DesiredSnapshot is s in diff's form. Keys that name no group are left
// out: they cannot be acted on (the controller logs them). The specs are
// normalised on every CPU, and hashed only where a plan needs it. It
// takes the maps of s's specs: s is not to be used after.
func DesiredSnapshot(s *model.DesiredSnapshot) diff.Snapshot {
	all := make([]diff.Desired, len(s.Entries))
	parallel.For(len(s.Entries), func(i int) {
		if e := &s.Entries[i]; !e.Key.IsZero() {
			all[i] = unhashedDesiredOf(e)
		}
	})
	out := diff.Snapshot{Revision: s.Revision, Groups: all[:0]}
	for i := range s.Entries {
		if !s.Entries[i].Key.IsZero() {
			out.Groups = append(out.Groups, all[i])
		}
	}
	return out
}

// GroupsSnapshot is a set of spec files in diff's form, as a sync of them
// would store them: `theseusd plan --dir`.
func GroupsSnapshot(groups []*specs.Group) (diff.Snapshot, error) {
	out := diff.Snapshot{Groups: make([]diff.Desired, 0, len(groups))}
	for _, g := range groups {
		d, err := diff.NewDesired(g, 0)
		if err != nil {
			return diff.Snapshot{}, err
		}
		out.Groups = append(out.Groups, d)
	}
	return out, nil
}

// ConfigReader reads the config /services holds for groups: those it
// has, leaving out the rest. *etcd.Discovery implements it.
type ConfigReader interface {
	GroupConfigs(ctx context.Context, keys []specs.GroupKey) (map[specs.GroupKey]map[string]string, error)
}

// PlanSources are what a plan is made from.
type PlanSources struct {
	// Desired is read unless Local is set: Local is a snapshot of spec
	// files instead of /desired.
	Desired DesiredLister
	Local   *diff.Snapshot
	// Apps is Marathon.
	Apps AppLister
	// Configs, when set, is read for the config of every group that has a
	// managed app, so that a change of config shows; nil leaves config out.
	Configs ConfigReader
	// OnlyLocal limits the apps to the groups of Local: the plan of a few
	// files, with no orphans of the groups they do not name.
	OnlyLocal bool
	// Pauses and History, when set, are read for what rollout safety holds
	// back: the change of a paused group, and one of a revision whose
	// rollout failed (RolledBack or Failed in its history).
	Pauses  PauseLister
	History HistoryReader
	// NewRevisions are groups of Local that writing it would give a new
	// revision (Local.NewRevisions): the history of the revision they
	// have now does not count, as the one they would get has not been
	// rolled out; a fix of a quarantined revision is planned as a change.
	NewRevisions map[specs.GroupKey]bool
	// Statuses, when set, is read for the groups whose app's revision
	// label is not their /desired revision: labels that a scale by
	// theseus left (the status's scaled) count as the spec's own, as the
	// controller takes them, so that a change made outside theseus to
	// such an app is drift in the plan too.
	Statuses StatusReader
}

// StatusReader reads the statuses of groups, leaving out those without
// one or with one that does not decode. *etcd.StatusStore implements it.
type StatusReader interface {
	GetMany(ctx context.Context, keys []specs.GroupKey) (map[specs.GroupKey]*specs.Status, error)
}

// Plan computes what the controller would do now: /desired (or a local
// snapshot, when desired is nil) against Marathon, config left out.
func Plan(ctx context.Context, desired DesiredLister, local *diff.Snapshot, apps AppLister, opts diff.Options) (*diff.Plan, error) {
	return PlanFrom(ctx, PlanSources{Desired: desired, Local: local, Apps: apps}, opts)
}

// PlanFrom computes what the controller would do now, from src.
// /desired, the config of /services and the pauses are read while
// Marathon lists its apps.
func PlanFrom(ctx context.Context, src PlanSources, opts diff.Options) (*diff.Plan, error) {
	var (
		snap                         diff.Snapshot
		badKeys                      []string
		cfgs                         map[specs.GroupKey]map[string]string
		paused                       map[specs.GroupKey]*specs.Pause
		desiredErr, cfgErr, pauseErr error
	)
	var wg sync.WaitGroup
	wg.Go(func() {
		snap, badKeys, desiredErr = readDesired(ctx, src)
		if desiredErr == nil && src.Configs != nil {
			cfgs, cfgErr = src.Configs.GroupConfigs(ctx, validKeys(snap))
		}
	})
	if src.Pauses != nil {
		wg.Go(func() { paused, pauseErr = readPauses(ctx, src.Pauses) })
	}
	list, err := src.Apps.List(ctx)
	wg.Wait()
	// Whichever failed first, the error is the same for the same faults.
	switch {
	case desiredErr != nil:
		return nil, desiredErr
	case err != nil:
		return nil, fmt.Errorf("list Marathon apps: %w", err)
	case cfgErr != nil:
		return nil, fmt.Errorf("read the config of /services: %w", cfgErr)
	case pauseErr != nil:
		return nil, pauseErr
	}
	apps := list
	if src.Local != nil && src.OnlyLocal {
		apps = onlyGroups(apps, snap)
	}
	if src.Configs != nil {
		withConfigs(apps, snap, cfgs)
	}
	if src.Statuses != nil {
		if err := withScaledLabels(ctx, src.Statuses, snap, apps); err != nil {
			return nil, err
		}
	}
	p := diff.Compute(snap, apps, opts)
	p.Errors = badKeys
	if err := holdBack(ctx, p, paused, src.History, src.NewRevisions); err != nil {
		return nil, err
	}
	return p, nil
}

// readDesired returns src's local snapshot, or /desired read now with the
// keys that name no group.
func readDesired(ctx context.Context, src PlanSources) (diff.Snapshot, []string, error) {
	if src.Local != nil {
		return *src.Local, nil, nil
	}
	s, err := src.Desired.List(ctx)
	if err != nil {
		return diff.Snapshot{}, nil, fmt.Errorf("read /desired: %w", err)
	}
	var badKeys []string
	for i := range s.Entries {
		if e := &s.Entries[i]; e.Key.IsZero() {
			badKeys = append(badKeys, e.Errors.Error())
		}
	}
	return DesiredSnapshot(s), badKeys, nil
}

// onlyGroups keeps the apps of the snapshot's groups.
func onlyGroups(apps []diff.App, snap diff.Snapshot) []diff.App {
	in := make(map[specs.GroupKey]bool, len(snap.Groups))
	for _, d := range snap.Groups {
		in[d.Key] = true
	}
	out := apps[:0]
	for _, a := range apps {
		if in[a.Key] {
			out = append(out, a)
		}
	}
	return out
}

// validKeys are the groups of the snapshot with a valid spec: the only
// ones whose config is compared.
func validKeys(snap diff.Snapshot) []specs.GroupKey {
	keys := make([]specs.GroupKey, 0, len(snap.Groups))
	for i := range snap.Groups {
		if snap.Groups[i].Valid() {
			keys = append(keys, snap.Groups[i].Key)
		}
	}
	return keys
}

// withConfigs gives every managed app of a group with a valid spec the
// config /services holds for it (none when it holds none).
func withConfigs(apps []diff.App, snap diff.Snapshot, cfgs map[specs.GroupKey]map[string]string) {
	valid := make(map[specs.GroupKey]bool, len(snap.Groups))
	for _, k := range validKeys(snap) {
		valid[k] = true
	}
	for i := range apps {
		if a := &apps[i]; a.Managed && valid[a.Key] {
			a.Config, a.ConfigKnown = cfgs[a.Key], true
		}
	}
}

// withScaledLabels gives each app whose labels a scale by theseus left
// (the status's scaled) its group's spec hash, as the controller's plan
// does (ownLabels). Only the statuses of groups whose app's revision
// label is not their /desired revision are read: after a scale it is the
// revision of the last full write.
func withScaledLabels(ctx context.Context, statuses StatusReader, snap diff.Snapshot, apps []diff.App) error {
	desired := make(map[specs.GroupKey]*diff.Desired, len(snap.Groups))
	for i := range snap.Groups {
		if d := &snap.Groups[i]; d.Valid() {
			desired[d.Key] = d
		}
	}
	var keys []specs.GroupKey
	for i := range apps {
		a := &apps[i]
		if d := desired[a.Key]; d != nil && a.Managed && a.SpecHash != "" && a.Revision != d.Revision {
			keys = append(keys, a.Key)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	sts, err := statuses.GetMany(ctx, keys)
	if err != nil {
		return fmt.Errorf("read /status: %w", err)
	}
	for i := range apps {
		a := &apps[i]
		if st := sts[a.Key]; st != nil {
			if h := desired[a.Key].SpecHash(); st.Scaled.Names(a.SpecHash, a.Revision, h) {
				a.SpecHash = h
			}
		}
	}
	return nil
}

// Executed is the outcome of one action of Execute.
type Executed struct {
	Action diff.Action
	Result model.Result
	Err    error
}

// Confirmer reads, just before a write, a group's /desired revision (0
// when absent) and its pause record (nil when it is not paused), fenced
// unless the fence is zero: DesiredSource's ConfirmUnpaused.
type Confirmer interface {
	ConfirmUnpaused(ctx context.Context, fence model.Fence, k specs.GroupKey) (int64, *specs.Pause, error)
}

// Execute carries out every action of p that changes Marathon, in plan
// order, and reports each. It goes on after a failed action (groups are
// independent) and returns an error if any failed. With confirm set,
// each write is sent only if, read just before it, the group's /desired
// key is still at the revision the action was planned from and the group
// is not paused, as the controller's writes are: a plan carried out
// action after action is not to write a spec that /desired no longer
// holds.
func Execute(ctx context.Context, m Writer, p *diff.Plan, confirm Confirmer, report func(Executed)) error {
	var errs []error
	for _, act := range p.Actions {
		if !act.Acts() {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		wctx := ctx
		if confirm != nil {
			// Unfenced: the process does not lead. The revision and pause
			// are checked as the controller's writeGuard checks them.
			wctx = model.WithWriteGuard(ctx, guard(confirm, model.Fence{}, act.Key, act.Revision))
		}
		res, err := Apply(wctx, m, act)
		if err != nil {
			err = fmt.Errorf("%s %s: %w", act.Kind, act.Key, err)
			errs = append(errs, err)
		}
		if report != nil {
			report(Executed{Action: act, Result: res, Err: err})
		}
	}
	return errors.Join(errs...)
}
