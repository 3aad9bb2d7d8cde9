package marathon_test

import (
	"context"
	"errors"
	"testing"

	"theseus.dev/drivers/marathon"
	"theseus.dev/drivers/marathon/marathonsim"
)

// TestWriteGuard: under WithWriteGuard every write asks the guard just
// before it is sent; a refusal sends nothing and comes back wrapped;
// reads do not ask it.
func TestWriteGuard(t *testing.T) {
	s := newSim(t, marathonsim.Gen15, nil, marathon.Config{})
	w := write(t, parse(t, webSpec), 1)
	refused := errors.New("no longer the leader")
	asked := 0
	deny := marathon.WithWriteGuard(t.Context(), func(context.Context) error { asked++; return refused })
	if _, err := s.c.Create(deny, w); !errors.Is(err, refused) {
		t.Fatalf("Create under a refusing guard: %v", err)
	}
	if _, err := s.c.List(deny); err != nil {
		t.Fatal(err)
	}
	if n := s.arrivals("POST", "/v2/apps"); n != 0 || asked != 1 {
		t.Errorf("%d creates arrived and the guard was asked %d times; want none and once", n, asked)
	}
	allow := marathon.WithWriteGuard(t.Context(), func(context.Context) error { asked++; return nil })
	if _, err := s.c.Create(allow, w); err != nil {
		t.Fatal(err)
	}
	if _, err := s.c.Scale(deny, w.Key, 3); !errors.Is(err, refused) {
		t.Errorf("Scale under a refusing guard: %v", err)
	}
	if _, err := s.c.Delete(deny, w.Key); !errors.Is(err, refused) {
		t.Errorf("Delete under a refusing guard: %v", err)
	}
	if n := s.arrivals("POST", "/v2/apps") + s.arrivals("PUT", "/v2/apps") + s.arrivals("DELETE", "/v2/apps"); n != 1 {
		t.Errorf("%d writes arrived, want the one allowed", n)
	}
}
