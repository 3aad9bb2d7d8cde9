package marathonsim

import (
	"sync"
	"time"
)

// Clock is the simulator's source of time. It is implemented only by
// ManualClock and ScaledClock: besides telling the time, a clock decides
// when the simulation steps.
type Clock interface {
	// Now returns the current simulated time.
	Now() time.Time

	// start makes the clock call run whenever simulated time may have
	// reached the deadline run last returned (ok false: none). wake tells
	// the clock that an earlier deadline may exist; stop ends the driving
	// and waits for it.
	start(run func(now time.Time) (next time.Time, ok bool)) (wake, stop func())
}

// ManualClock is a clock that moves only when told to. Advance steps every
// simulator attached to it up to the new time before it returns, so a test
// observes the state after exactly the simulated time it chose.
type ManualClock struct {
	step sync.Mutex // serialises Advance so simulators see time in order

	mu   sync.Mutex
	now  time.Time
	runs map[int]func(time.Time) (time.Time, bool)
	next int
}

// DefaultEpoch is the time a ManualClock created with a zero start begins
// at.
var DefaultEpoch = time.Date(2024, time.January, 1, 0, 0, 0, 0, time.UTC)

// NewManualClock returns a ManualClock at start (DefaultEpoch when zero).
func NewManualClock(start time.Time) *ManualClock {
	if start.IsZero() {
		start = DefaultEpoch
	}
	return &ManualClock{now: start.UTC(), runs: map[int]func(time.Time) (time.Time, bool){}}
}

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d (negative d is ignored) and runs
// every attached simulator up to the new time: timers fire in order, each
// at its own simulated instant.
func (c *ManualClock) Advance(d time.Duration) {
	if d < 0 {
		d = 0
	}
	c.step.Lock()
	defer c.step.Unlock()
	c.mu.Lock()
	c.now = c.now.Add(d)
	now := c.now
	runs := make([]func(time.Time) (time.Time, bool), 0, len(c.runs))
	for _, r := range c.runs {
		runs = append(runs, r)
	}
	c.mu.Unlock()
	for _, r := range runs {
		r(now)
	}
}

// AdvanceTo moves the clock to t if t is later than now; see Advance.
func (c *ManualClock) AdvanceTo(t time.Time) {
	c.Advance(t.Sub(c.Now()))
}

func (c *ManualClock) start(run func(time.Time) (time.Time, bool)) (wake, stop func()) {
	c.mu.Lock()
	id := c.next
	c.next++
	c.runs[id] = run
	c.mu.Unlock()
	return func() {}, func() {
		c.mu.Lock()
		delete(c.runs, id)
		c.mu.Unlock()
	}
}

// ScaledClock runs simulated time at a constant multiple of real time:
// with scale 1000, one real millisecond is one simulated second and a
// ten-minute rollout takes about 0.6 s. Scale 1 is real time. Each
// simulator attached to it runs a goroutine that sleeps until its next
// deadline.
type ScaledClock struct {
	start0 time.Time // simulated time at origin
	origin time.Time // real time (monotonic) at which simulated time was start0
	scale  float64
}

// NewScaledClock returns a clock that reads start now and then advances
// scale simulated seconds per real second. A zero start means time.Now();
// scale <= 0 means 1.
func NewScaledClock(start time.Time, scale float64) *ScaledClock {
	if start.IsZero() {
		start = time.Now()
	}
	if scale <= 0 {
		scale = 1
	}
	return &ScaledClock{start0: start.UTC(), origin: time.Now(), scale: scale}
}

// Now returns the simulated time.
func (c *ScaledClock) Now() time.Time {
	return c.start0.Add(time.Duration(float64(time.Since(c.origin)) * c.scale))
}

// Scale returns the number of simulated seconds per real second.
func (c *ScaledClock) Scale() float64 { return c.scale }

// RealDuration converts a simulated duration to the real time it takes.
func (c *ScaledClock) RealDuration(d time.Duration) time.Duration {
	return time.Duration(float64(d) / c.scale)
}

// maxRealSleep bounds how long a driver sleeps without looking at the
// clock, so that a simulator never oversleeps by much whatever happens to
// the timer it waits on.
const maxRealSleep = 250 * time.Millisecond

func (c *ScaledClock) start(run func(time.Time) (time.Time, bool)) (wake, stop func()) {
	wakeCh := make(chan struct{}, 1)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		timer := time.NewTimer(maxRealSleep)
		defer timer.Stop()
		for {
			now := c.Now()
			next, ok := run(now)
			sleep := maxRealSleep
			if ok {
				if d := c.RealDuration(next.Sub(now)); d < sleep {
					sleep = max(d, 0)
				}
			}
			timer.Reset(sleep)
			select {
			case <-done:
				return
			case <-wakeCh:
			case <-timer.C:
			}
		}
	})
	var once sync.Once
	return func() {
			select {
			case wakeCh <- struct{}{}:
			default:
			}
		}, func() {
			once.Do(func() { close(done) })
			wg.Wait()
		}
}
