package reconciler

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sync/errgroup"

	"theseus.dev/diff"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// historyReads is how many histories a plan reads at once.
const historyReads = 16

// readPauses returns the pause of every paused group; a record that does
// not decode pauses its group too.
func readPauses(ctx context.Context, pauses PauseLister) (map[specs.GroupKey]*specs.Pause, error) {
	entries, _, err := pauses.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the pauses: %w", err)
	}
	paused := make(map[specs.GroupKey]*specs.Pause, len(entries))
	for _, e := range entries {
		paused[e.Key] = e.Pause
		if e.Pause == nil {
			paused[e.Key] = &specs.Pause{By: "unknown", Reason: "the pause record does not decode"}
		}
	}
	return paused, nil
}

// holdBack holds back, as the controller does, the changes of p that
// rollout safety keeps from Marathon: those of paused groups, and those
// of a revision whose rollout failed (when history is set), except a
// group fresh holds, whose change is to a revision not yet rolled out.
// A change waiting behind the deployment of a failed rollout is forced
// over it (overFailed).
// Only the groups with a change to make have their history read: all at
// once if history is a HistoriesReader.
func holdBack(ctx context.Context, p *diff.Plan, paused map[specs.GroupKey]*specs.Pause, history HistoryReader, fresh map[specs.GroupKey]bool) error {
	var read []*diff.Action
	for i := range p.Actions {
		a := &p.Actions[i]
		switch {
		case paused[a.Key] != nil:
			holds(a, paused[a.Key], "", "")
		case history != nil && a.Revision > 0 && (!fresh[a.Key] && (a.Acts() || a.Kind == diff.Wait) || mayOverFail(a, fresh[a.Key])):
			read = append(read, a)
		}
	}
	if len(read) == 0 {
		return nil
	}
	if many, ok := history.(HistoriesReader); ok {
		done, err := holdBackFailed(ctx, many, read, fresh)
		if done || err != nil {
			return err
		}
		// A history does not decode: read them one by one, for the
		// error that names its group.
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(historyReads)
	for _, a := range read {
		g.Go(func() error {
			h, err := history.Get(gctx, a.Key)
			if err != nil {
				return fmt.Errorf("read the history of %s: %w", a.Key, err)
			}
			holdFailed(a, h, fresh[a.Key])
			return nil
		})
	}
	return g.Wait()
}

// holdBackFailed holds back the actions of read whose revision failed,
// reading every history at once. It reports false, with no error, if a
// history does not decode.
func holdBackFailed(ctx context.Context, many HistoriesReader, read []*diff.Action, fresh map[specs.GroupKey]bool) (bool, error) {
	keys := make([]specs.GroupKey, len(read))
	for i, a := range read {
		keys[i] = a.Key
	}
	hs, err := many.GetMany(ctx, keys)
	switch {
	case errors.Is(err, model.ErrCorrupt):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("read the histories of %d groups: %w", len(keys), err)
	}
	for _, a := range read {
		holdFailed(a, hs[a.Key], fresh[a.Key])
	}
	return true, nil
}

// holdFailed holds a back if h says its revision's rollout failed (not
// for a fresh revision, which has not rolled out), and otherwise forces
// it over the deployment of a failed rollout that it waits behind, as
// the controller does.
func holdFailed(a *diff.Action, h *specs.History, fresh bool) {
	if e := h.Entry(a.Revision); e != nil && !fresh {
		holds(a, nil, e.Outcome, e.Reason)
	}
	overFailedBy(a, h, fresh)
}
