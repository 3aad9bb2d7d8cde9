package etcd

import (
	"context"
	"math/rand/v2"
	"time"
)

// backoff is a jittered exponential backoff: each wait is drawn from
// [d/2, d] where d doubles from min up to max. The jitter keeps many
// daemons that lost etcd at once from retrying in step.
type backoff struct {
	min, max, cur time.Duration
}

func newBackoff(min, max time.Duration) *backoff {
	return &backoff{min: min, max: max, cur: min}
}

// next returns the wait before the next attempt and grows the backoff.
func (b *backoff) next() time.Duration {
	d := b.cur
	b.cur = min(b.cur*2, b.max)
	half := d / 2
	return half + rand.N(half+1)
}

// reset returns to the shortest wait after a success.
func (b *backoff) reset() { b.cur = b.min }

// wait sleeps for the next backoff or until ctx ends.
func (b *backoff) wait(ctx context.Context) error {
	t := time.NewTimer(b.next())
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
