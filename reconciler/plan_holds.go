package reconciler

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"

	"theseus.dev/diff"
	"theseus.dev/specs"
)

// historyReads is how many histories a plan reads at once.
const historyReads = 16

// holdBack holds back, as the controller does, the changes of p that
// rollout safety keeps from Marathon: those of paused groups, and those
// of a revision whose rollout failed. Only the groups with a change to
// make have their history read.
func holdBack(ctx context.Context, p *diff.Plan, src PlanSources) error {
	paused := map[specs.GroupKey]*specs.Pause{}
	if src.Pauses != nil {
		entries, _, err := src.Pauses.List(ctx)
		if err != nil {
			return fmt.Errorf("read the pauses: %w", err)
		}
		for _, e := range entries {
			paused[e.Key] = e.Pause
			if e.Pause == nil {
				paused[e.Key] = &specs.Pause{By: "unknown", Reason: "the pause record does not decode"}
			}
		}
	}
	var read []*diff.Action
	for i := range p.Actions {
		a := &p.Actions[i]
		switch {
		case paused[a.Key] != nil:
			holds(a, paused[a.Key], "", "")
		case src.History != nil && a.Revision > 0 && (a.Acts() || a.Kind == diff.Wait):
			read = append(read, a)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(historyReads)
	for _, a := range read {
		g.Go(func() error {
			h, err := src.History.Get(gctx, a.Key)
			if err != nil {
				return fmt.Errorf("read the history of %s: %w", a.Key, err)
			}
			if e := h.Entry(a.Revision); e != nil {
				holds(a, nil, e.Outcome, e.Reason)
			}
			return nil
		})
	}
	return g.Wait()
}
