package reconciler

import (
	"context"
	"time"

	"theseus.dev/specs"
)

// aheadFresh is how old a confirming read made beside the read of the
// app may be when the write it guards is sent. The guard's read is there
// to stop a write of a daemon that no longer leads, of a spec that moved
// on or of a group just paused; made while Marathon answers the read of
// the app instead of after it, it is older by that read's time, a
// millisecond or two, which this bound keeps to the same order as the
// time the write itself takes to reach Marathon. Past it, as after a
// slow read, the guard reads again.
const aheadFresh = 20 * time.Millisecond

// ahead is a confirming read of a group's /desired revision and pause
// record started together with the read of its app from Marathon, so
// that a write waits for the slower of the two reads rather than for
// both in turn. Owned by the reconcile that started it, which waits for
// it before it returns.
type ahead struct {
	now  func() time.Time // the controller's clock
	done chan struct{}
	cf   *confirmation
	at   time.Time // when the read came back
}

// confirmAhead starts the confirming read of group k.
func (c *Controller) confirmAhead(ctx context.Context, k specs.GroupKey) *ahead {
	a := &ahead{now: c.cfg.Now, done: make(chan struct{})}
	go func() {
		defer close(a.done)
		a.cf = c.confirmNow(ctx, k)
		a.at = a.now()
	}()
	return a
}

// wait waits for the read to end; nil is a read never started.
func (a *ahead) wait() {
	if a != nil {
		<-a.done
	}
}

// take returns the read for a guard, once, if it succeeded and is fresh
// enough; nil when the guard must read again.
func (a *ahead) take() *confirmation {
	if a == nil {
		return nil
	}
	a.wait()
	cf := a.cf
	a.cf = nil
	if cf == nil || cf.err != nil || a.now().Sub(a.at) > aheadFresh {
		return nil
	}
	return cf
}
