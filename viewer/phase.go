package viewer

import (
	"fmt"
	"strings"

	"theseus.dev/diff"
	"theseus.dev/drivers/marathon"
	"theseus.dev/specs"
)

// phaseOf decides the phase shown for a group, in this order:
//
//  1. no desired spec: Deleting while the controller deletes the app,
//     Stalled when the prune guard refused to, otherwise Orphaned (a
//     managed app nobody wants);
//  2. an invalid spec: Invalid, with its validation errors;
//  3. no status, or a status of an older /desired revision: Pending;
//  4. Invalid (a limit of the daemon's own refused the spec), Stalled,
//     RolledBack, Failed or Paused as the status says: it needs a human,
//     or holds theseus back, whatever else holds;
//  5. Drifted when Marathon no longer runs what theseus wrote: the app's
//     fields differ from the spec while its spec-hash label still equals
//     the spec's hash (diff.Group's drift), or is the label a scale by
//     theseus left (the status's scaled), with no deployment in flight
//     (healed, or left in place with spec.drift: report);
//     or the status says Synced and the app is gone;
//  6. otherwise the status's phase.
//
// appsKnown is false when Marathon could not be read; rule 5 is skipped.
func phaseOf(p *parts, appsKnown bool) (Phase, string, []string) {
	var st *specs.Status
	if p.status != nil {
		st = p.status.Status
	}
	switch {
	case p.desired == nil:
		switch {
		case st != nil && st.Phase == specs.PhaseDeleting:
			return Deleting, st.Message, nil
		case st != nil && st.Phase == specs.PhaseStalled:
			return Stalled, stalledMessage(st), nil // the prune guard refused the delete
		}
		return Orphaned, "a managed app without a desired spec: only `theseusd run --prune` deletes it", nil
	case !p.desired.Valid():
		return Invalid, invalidMessage(p.desired.Errors), nil
	case p.status != nil && p.status.Err != nil:
		return Pending, fmt.Sprintf("the status cannot be read: %v", p.status.Err), nil
	case st == nil:
		return Pending, "not yet seen by the controller", nil
	case st.ObservedRevision < p.desired.ModRevision:
		return Pending, fmt.Sprintf("revision %d not yet seen by the controller (status is of revision %d)",
			p.desired.ModRevision, st.ObservedRevision), nil
	case st.Phase == specs.PhaseInvalid:
		// Valid by the viewer's check, refused by the controller's: a
		// limit of the daemon's own (run --max-instances, ...).
		return Invalid, refusedMessage(st), nil
	case st.Phase == specs.PhaseStalled:
		return Stalled, stalledMessage(st), nil
	case st.Phase == specs.PhaseRolledBack || st.Phase == specs.PhaseFailed || st.Phase == specs.PhasePaused:
		msg := st.Message
		if appsKnown && p.app == nil && st.AppID != "" {
			// Deleted by hand, or a Marathon that lost its state: what
			// the status says runs does not.
			until := "/desired changes"
			if st.Phase == specs.PhasePaused {
				until = "the group is resumed"
			}
			msg += "; the app is gone from Marathon, so nothing runs, and nothing is created until " + until
		}
		return Phase(st.Phase), msg, nil
	}
	if appsKnown {
		if drift := driftOf(p.desired.Group, p.desired.ModRevision, p.app, st.Scaled); drift != nil {
			if p.desired.Group.Spec.Drift == specs.DriftReport {
				return Drifted, "Marathon no longer runs what theseus wrote (changed outside theseus); spec.drift is report, so it is left in place", drift
			}
			return Drifted, "Marathon no longer runs what theseus wrote (changed outside theseus); the controller puts it back", drift
		}
		if p.app == nil && st.Phase == specs.PhaseSynced && st.AppID != "" {
			return Drifted, "the app is gone from Marathon; the controller creates it again", nil
		}
		if short := shortOf(p.desired.Group, p.app); short != "" && st.Phase == specs.PhaseSynced {
			// Tasks failed or were lost since the controller last
			// wrote the status: the group does not run its spec now.
			return Progressing, short + " (the controller's status, Synced, is from before)", nil
		}
	}
	return Phase(st.Phase), st.Message, nil
}

// shortOf says how app falls short of running g's instances, healthy when
// g has health checks; "" when it does not, or there is no app.
func shortOf(g *specs.Group, app *marathon.App) string {
	if app == nil || g.Spec.Instances == nil {
		return ""
	}
	return app.Counts.ShortOf(*g.Spec.Instances, len(g.Spec.HealthChecks) > 0)
}

func invalidMessage(errs specs.ErrorList) string {
	if len(errs) == 1 {
		return "invalid spec: " + errs[0].Error()
	}
	return fmt.Sprintf("invalid spec: %d errors", len(errs))
}

// refusedMessage is invalidMessage for the errors the controller found.
func refusedMessage(st *specs.Status) string {
	switch len(st.Errors) {
	case 0:
		return st.Message
	case 1:
		return "invalid spec: " + st.Errors[0]
	}
	return fmt.Sprintf("invalid spec: %d errors", len(st.Errors))
}

func stalledMessage(st *specs.Status) string {
	msg := st.Message
	if st.LastError != "" {
		if msg != "" {
			msg += "; "
		}
		msg += st.LastError
	}
	return msg
}

// driftOf returns the changed fields, "path: marathon => desired", when
// the app was changed outside theseus, and nil otherwise. scaled is what
// the status says a scale by theseus left on the app's labels: such
// labels name the desired spec, as the controller takes them.
func driftOf(g *specs.Group, revision int64, a *marathon.App, scaled *specs.ScaledLabels) []string {
	if a == nil || !a.Managed || a.Protected || len(a.Deployments) > 0 {
		return nil
	}
	d, err := diff.NewDesired(g, revision)
	if err != nil {
		return nil
	}
	hash := a.SpecHash
	if scaled.Names(a.SpecHash, a.Revision, d.Hash) {
		hash = d.Hash
	}
	act, ok := diff.Group(&d, &diff.App{
		ID: a.ID, Key: a.Key, Managed: a.Managed, Protected: a.Protected,
		SpecHash: hash, Revision: a.Revision, Version: a.Version,
		Deployments: a.Deployments, Spec: a.Spec, SecretEnv: a.SecretEnv, DefaultRole: a.DefaultRole,
	}, diff.Options{})
	if !ok || !act.Drift {
		return nil
	}
	out := make([]string, 0, len(act.Changes))
	for _, c := range act.Changes {
		out = append(out, fmt.Sprintf("%s: %s => %s", c.Path, orNone(c.Old), orNone(c.New)))
	}
	return out
}

func orNone(s *string) string {
	switch {
	case s == nil:
		return "(none)"
	case *s == "":
		return `""`
	case strings.ContainsAny(*s, "\n\r"):
		return fmt.Sprintf("%q", *s)
	}
	return *s
}
