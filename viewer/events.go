package viewer

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"theseus.dev/drivers/marathon"
	"theseus.dev/specs"
)

// MaxEvents is the most events shown per group.
const MaxEvents = 12

// eventsOf reconstructs a group's recent events from the timestamps of
// what is read now: theseus keeps no event log, so these are the latest of
// each kind, not a history (docs/viewer.md). Newest first.
func eventsOf(st *specs.Status, app *marathon.App, dep *Deployment, deps map[string]marathon.Deployment) []Event {
	var out []Event
	add := func(t time.Time, typ EventType, format string, args ...any) {
		if !t.IsZero() {
			out = append(out, Event{Time: t.UTC(), Type: typ, Message: fmt.Sprintf(format, args...)})
		}
	}
	if st != nil {
		msg := ""
		if st.Message != "" {
			msg = ": " + st.Message
		}
		add(st.Since, EventPhase, "%s%s", st.Phase, msg)
		if st.LastAction != "" {
			add(st.LastActionAt, EventAction, "controller: %s%s", st.LastAction, actionRevision(st, app))
		}
	}
	if app != nil {
		add(parseVersion(app.Version), EventAppVersion, "app definition %s written", app.Version)
		for _, t := range app.Tasks {
			if !t.StartedAt.IsZero() {
				add(t.StartedAt, EventTaskStarted, "task %s started on %s", t.ID, t.Host)
			} else {
				add(t.StagedAt, EventTaskStarted, "task %s staged on %s", t.ID, t.Host)
			}
		}
		if f := app.LastTaskFailure; f != nil {
			add(f.Timestamp, EventTaskFailed, "task %s %s on %s: %s", f.TaskID, f.State, f.Host, f.Message)
		}
	}
	if dep != nil {
		at := parseVersion(dep.Version)
		if d, ok := deps[dep.ID]; ok && at.IsZero() {
			at = parseVersion(d.Version)
		}
		add(at, EventDeployment, "deployment %s began%s", dep.ID, stepSuffix(dep))
	}
	slices.SortStableFunc(out, func(a, b Event) int {
		return cmp.Or(b.Time.Compare(a.Time), cmp.Compare(a.Type, b.Type), cmp.Compare(a.Message, b.Message))
	})
	if len(out) > MaxEvents {
		out = out[:MaxEvents]
	}
	if out == nil {
		out = []Event{}
	}
	return out
}

// actionRevision names the /desired revision that the last action wrote,
// when it is known. A create or an update writes the whole definition with
// that revision as a label, so the app's label tells it. The status's
// observedRevision does not: every later status write moves it on (an
// invalid spec, the same spec put again) while the last action stays, and
// a scale leaves the label as it was.
func actionRevision(st *specs.Status, app *marathon.App) string {
	switch st.LastAction {
	case "create", "update":
		if app != nil && app.Managed && app.Revision > 0 {
			return fmt.Sprintf(" (revision %d)", app.Revision)
		}
	}
	return ""
}

func stepSuffix(d *Deployment) string {
	if s := stepText(d); s != "" {
		return ", now at step " + s
	}
	return ""
}

// stepText is a deployment's progress, e.g. "1/2 StartApplication".
func stepText(d *Deployment) string {
	if d == nil || d.TotalSteps == 0 {
		return ""
	}
	s := fmt.Sprintf("%d/%d", d.Step, d.TotalSteps)
	for i, a := range d.Actions {
		if i == 0 {
			s += " "
		} else {
			s += ","
		}
		s += a
	}
	return s
}

// parseVersion reads a Marathon version, which is a timestamp; zero when
// it is not one.
func parseVersion(v string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}
	}
	return t
}
