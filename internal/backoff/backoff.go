// Package backoff is the one jittered exponential backoff of theseus:
// the drivers (etcd watches and lists, Marathon calls and its event
// stream) and the control loops retry with it.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff doubles a wait from Min up to Max and draws each wait from
// [d/2, d], so that daemons that failed together do not retry in step.
// Its zero value waits nothing; build one with New.
type Backoff struct {
	min, max, cur time.Duration
}

// New returns a Backoff whose first wait is at most min.
func New(min, max time.Duration) *Backoff {
	return &Backoff{min: min, max: max, cur: min}
}

// Next returns the wait before the next attempt and grows the backoff.
func (b *Backoff) Next() time.Duration {
	d := b.cur
	b.cur = min(b.cur*2, b.max)
	half := d / 2
	return half + rand.N(half+1)
}

// Reset returns to the shortest wait after a success.
func (b *Backoff) Reset() { b.cur = b.min }

// Wait waits for the next backoff; it returns ctx's error if ctx ends
// first.
func (b *Backoff) Wait(ctx context.Context) error { return Sleep(ctx, b.Next()) }

// Sleep waits d; it returns ctx's error if ctx ends first.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
