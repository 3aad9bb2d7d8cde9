package viewer

import (
	"testing"
	"time"

	"theseus.dev/drivers/marathon"
	"theseus.dev/specs"
)

// TestActionEventRevision: the Action event names the /desired revision
// the action wrote, never the status's observedRevision, which later
// status writes move on without acting (an invalid spec at revision 9
// leaves the create of revision 3 as the last action).
func TestActionEventRevision(t *testing.T) {
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	app := func(rev int64) *marathon.App {
		return &marathon.App{ID: "/web/dev", Managed: true, Revision: rev}
	}
	tests := []struct {
		name   string
		action string
		app    *marathon.App
		want   string
	}{
		{"create, then an invalid spec", "create", app(3), "controller: create (revision 3)"},
		{"update", "update", app(7), "controller: update (revision 7)"},
		{"scale leaves the label", "scale", app(3), "controller: scale"},
		{"restart", "restart", app(3), "controller: restart"},
		{"delete: no app", "delete", nil, "controller: delete"},
		{"app not ours", "create", &marathon.App{ID: "/web/dev", Revision: 3}, "controller: create"},
		{"app without a revision label", "update", app(0), "controller: update"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &specs.Status{Phase: specs.PhaseInvalid, ObservedRevision: 9, LastAction: tt.action, LastActionAt: at}
			var got []string
			for _, e := range eventsOf(st, tt.app, nil, nil) {
				if e.Type == EventAction {
					got = append(got, e.Message)
				}
			}
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("Action events %q, want [%q]", got, tt.want)
			}
		})
	}
}
