package reconciler

import (
	"context"
	"errors"
	"fmt"

	"theseus.dev/diff"
	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/marathon"
	"theseus.dev/specs"
)

// DesiredLister reads all of /desired at one revision.
// *etcd.DesiredStore implements it.
type DesiredLister interface {
	List(ctx context.Context) (*etcd.Snapshot, error)
}

// AppLister lists Marathon's apps under the root in one call.
type AppLister interface {
	List(ctx context.Context) ([]marathon.App, error)
}

// DesiredSnapshot is s in diff's form. Keys that name no group are left
// out: they cannot be acted on (the controller logs them).
func DesiredSnapshot(s *etcd.Snapshot) diff.Snapshot {
	out := diff.Snapshot{Revision: s.Revision, Groups: make([]diff.Desired, 0, len(s.Entries))}
	for i := range s.Entries {
		e := &s.Entries[i]
		switch {
		case e.Key.IsZero():
		case !e.Valid():
			out.Groups = append(out.Groups, diff.InvalidDesired(e.Key, e.ModRevision, e.Errors))
		default:
			d, err := diff.NewDesired(e.Group, e.ModRevision)
			if err != nil {
				d = diff.InvalidDesired(e.Key, e.ModRevision, err)
			}
			out.Groups = append(out.Groups, d)
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

// DiffApps is apps in diff's form.
func DiffApps(apps []marathon.App) []diff.App {
	out := make([]diff.App, len(apps))
	for i := range apps {
		out[i] = toDiffApp(&apps[i])
	}
	return out
}

// Plan computes what the controller would do now: /desired (or a local
// snapshot, when desired is nil) against Marathon.
func Plan(ctx context.Context, desired DesiredLister, local *diff.Snapshot, apps AppLister, opts diff.Options) (*diff.Plan, error) {
	var snap diff.Snapshot
	if local != nil {
		snap = *local
	} else {
		s, err := desired.List(ctx)
		if err != nil {
			return nil, fmt.Errorf("read /desired: %w", err)
		}
		snap = DesiredSnapshot(s)
	}
	list, err := apps.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list Marathon apps: %w", err)
	}
	return diff.Compute(snap, DiffApps(list), opts), nil
}

// Writer makes the Marathon calls of a plan.
type Writer interface {
	Create(ctx context.Context, w marathon.Write) (marathon.Result, error)
	Update(ctx context.Context, w marathon.Write) (marathon.Result, error)
	Scale(ctx context.Context, key specs.GroupKey, instances int) (marathon.Result, error)
	Restart(ctx context.Context, key specs.GroupKey) (marathon.Result, error)
	Delete(ctx context.Context, key specs.GroupKey) (marathon.Result, error)
}

// Executed is the outcome of one action of Execute.
type Executed struct {
	Action diff.Action
	Result marathon.Result
	Err    error
}

// Execute carries out every action of p that changes Marathon, in plan
// order, and reports each. It goes on after a failed action (groups are
// independent) and returns an error if any failed.
func Execute(ctx context.Context, m Writer, p *diff.Plan, report func(Executed)) error {
	var errs []error
	for _, act := range p.Actions {
		if !act.Kind.Mutates() {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		var res marathon.Result
		var err error
		switch act.Kind {
		case diff.Create:
			res, err = m.Create(ctx, marathon.Write{Key: act.Key, Spec: *act.Spec, Hash: act.Hash, Revision: act.Revision})
		case diff.Update:
			res, err = m.Update(ctx, marathon.Write{Key: act.Key, Spec: *act.Spec, Hash: act.Hash, Revision: act.Revision})
		case diff.Scale:
			res, err = m.Scale(ctx, act.Key, *act.Spec.Instances)
		case diff.Restart:
			res, err = m.Restart(ctx, act.Key)
		case diff.Delete:
			res, err = m.Delete(ctx, act.Key)
		}
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
