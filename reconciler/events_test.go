package reconciler_test

import (
	"context"
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
