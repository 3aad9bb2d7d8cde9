package reconciler_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"theseus.dev/drivers/marathon"
	"theseus.dev/reconciler"
	"theseus.dev/specs"
)

// countGets counts the controller's reads of single apps.
type countGets struct {
	reconciler.Marathon
	gets atomic.Int64
}

func (c *countGets) Get(ctx context.Context, k specs.GroupKey) (marathon.App, error) {
	c.gets.Add(1)
	return c.Marathon.Get(ctx, k)
}

// injected is an event stream that carries what the test sends.
type injected chan marathon.Event

func (s injected) Events(ctx context.Context, fn func(marathon.Event)) error {
	for {
		select {
		case ev := <-s:
			fn(ev)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// TestEventsCoalesced: a deployment sends Marathon's events for one app
// a few milliseconds apart (a status update per task and state, health
// changes, deployment steps); the controller reads the app once per burst,
// not once per event.
func TestEventsCoalesced(t *testing.T) {
	e := newEnv(t)
	counter := &countGets{}
	events := make(injected)
	e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"}, events: events, noDiscovery: true,
		marathon: func(m reconciler.Marathon) reconciler.Marathon { counter.Marathon = m; return counter }})
	k := key(t, "api", "g")
	e.putSpec(k, spec(k, "nginx:1.27", 1, ""))
	e.eventually(converge, "the group runs", running(e, k, 1))
	e.eventually(converge, "the status settles", func() bool { return e.statusTruthful(k) == "" })

	before := counter.gets.Load()
	tick := time.NewTicker(5 * time.Millisecond) // paces the burst, as Marathon would
	defer tick.Stop()
	for range 20 {
		events <- marathon.Event{Type: "status_update_event", AppID: specs.AppID("", k), Key: k, KeyOK: true}
		<-tick.C
	}
	e.eventually(converge, "the app is read again", func() bool { return counter.gets.Load() > before })
	// One read per EventDelay (50ms) at most, whatever the number of
	// events; a loaded machine stretches the burst, hence some room.
	e.holds(300*time.Millisecond, "a few reads for 20 events in 100ms", func() bool { return counter.gets.Load()-before <= 8 })
}

// TestCreateOnStaleCache: an app made by another client under a group's
// id, which the controller has not listed yet (no event, no resync), and
// then a spec for the group. The controller creates without reading the
// app first; Marathon refuses (409), the controller reads the app and
// leaves it alone as not its own, with no error recorded.
func TestCreateOnStaleCache(t *testing.T) {
	e := newEnv(t)
	events := make(injected)
	e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"}, events: events, noDiscovery: true, resync: time.Hour})
	ok, k := key(t, "api", "ok"), key(t, "api", "foreign")
	e.putSpec(ok, spec(ok, "nginx:1.27", 1, "")) // the controller runs
	e.eventually(converge, "the first group runs", running(e, ok, 1))
	if code, body := e.simRequest("POST", "/v2/apps", rawApp(k, map[string]string{"team": "other"})); code != http.StatusCreated {
		t.Fatalf("create by hand: %d %s", code, body)
	}
	before, _ := e.app(k)
	e.putSpec(k, spec(k, "nginx:1.28", 2, ""))
	e.eventually(converge, "reported as not managed", func() bool {
		st := e.status(k)
		return st != nil && st.Phase == specs.PhaseStalled && strings.Contains(st.Message, "does not manage") && st.LastError == ""
	})
	if n := len(e.writesTo("POST", "/v2/apps")); n != 2 { // the first group's, and the one by hand
		t.Errorf("%d creates succeeded, want 2", n)
	}
	refused := 0
	for _, w := range e.answered("POST", "/v2/apps") {
		if w.path == "/v2/apps" && w.status == http.StatusConflict {
			refused++
		}
	}
	if refused != 1 {
		t.Errorf("%d creates refused as existing, want 1: the create was not planned on the stale cache", refused)
	}
	if after, _ := e.app(k); !after.Version.Equal(before.Version) || after.Image != "nginx:1.20" {
		t.Errorf("the app was changed: %+v", after)
	}
}
