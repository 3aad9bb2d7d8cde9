package reconciler

import (
	"context"
	"math/rand/v2"
	"time"
)

// backoff is a jittered exponential backoff between min and max: each wait
// is drawn from [d/2, d] as d doubles, so daemons that failed together do
// not retry in step.
type backoff struct {
	min, max, cur time.Duration
}

// next returns the wait before the next attempt and grows the backoff.
func (b *backoff) next() time.Duration {
	if b.cur < b.min {
		b.cur = b.min
	}
	d := b.cur
	b.cur = min(b.cur*2, b.max)
	half := d / 2
	return half + rand.N(half+1)
}

// reset returns to the shortest wait after a success.
func (b *backoff) reset() { b.cur = b.min }

// wait sleeps for the next backoff; false if ctx ended first.
func (b *backoff) wait(ctx context.Context) bool {
	t := time.NewTimer(b.next())
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
