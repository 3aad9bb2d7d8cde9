package marathon_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"theseus.dev/drivers/marathon"
	"theseus.dev/drivers/marathon/marathonsim"
)

// TestHungMemberPassedOver: with a Marathon member that accepts
// connections and never answers listed first, a call that spent its time
// on it fails, and the calls after it go to the member that answers.
// Every call went to the hung member, so that a daemon given it first
// never listed Marathon, never reconciled and stayed not ready.
func TestHungMemberPassedOver(t *testing.T) {
	s := newSim(t, marathonsim.Gen15, nil, marathon.Config{})
	stop := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(func() { close(stop); hung.Close() })
	c, err := marathon.New(marathon.Config{URLs: []string{hung.URL, s.srv.URL}, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	_, _ = c.List(ctx) // may spend its time on the hung member
	for i := range 3 {
		if _, err := c.List(ctx); err != nil {
			t.Fatalf("list %d after the first: %v", i+1, err)
		}
	}
	if _, err := c.Create(ctx, write(t, parse(t, webSpec), 1)); err != nil {
		t.Fatalf("create: %v", err)
	}
}
