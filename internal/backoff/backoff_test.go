package backoff

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestNext: each wait lies in [d/2, d] while d doubles up to the cap, and
// Reset starts again from the shortest.
func TestNext(t *testing.T) {
	b := New(10*time.Millisecond, 80*time.Millisecond)
	for i, d := range []time.Duration{10, 20, 40, 80, 80} {
		d *= time.Millisecond
		if w := b.Next(); w < d/2 || w > d {
			t.Errorf("wait %d = %v, want within [%v, %v]", i, w, d/2, d)
		}
	}
	b.Reset()
	if w := b.Next(); w > 10*time.Millisecond {
		t.Errorf("after Reset: %v, want at most 10ms", w)
	}
}

// TestWaitEndsWithContext: a cancelled context ends the wait at once.
func TestWaitEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := New(time.Hour, time.Hour).Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait = %v, want context.Canceled", err)
	}
}
