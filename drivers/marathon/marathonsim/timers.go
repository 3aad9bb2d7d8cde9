package marathonsim

import (
	"container/heap"
	"time"
)

// timer is a function the simulation runs at a simulated instant.
type timer struct {
	at  time.Time
	seq uint64 // ties at the same instant run in scheduling order
	fn  func()
	idx int // position in the heap; -1 once run or cancelled
}

type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx = i
	h[j].idx = j
}
func (h *timerHeap) Push(x any) {
	t := x.(*timer)
	t.idx = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	n := len(old)
	t := old[n-1]
	old[n-1] = nil
	t.idx = -1
	*h = old[:n-1]
	return t
}

// at schedules fn at simulated time t (now if t is earlier). The caller
// holds s.mu.
func (s *Sim) at(t time.Time, fn func()) *timer {
	if t.Before(s.now) {
		t = s.now
	}
	s.timerSeq++
	tm := &timer{at: t, seq: s.timerSeq, fn: fn}
	heap.Push(&s.timers, tm)
	if s.timers[0] == tm {
		s.wakeNeeded = true
	}
	return tm
}

// after schedules fn d after the current simulated time.
func (s *Sim) after(d time.Duration, fn func()) *timer {
	return s.at(s.now.Add(d), fn)
}

// cancel removes a pending timer; cancelling nil, a fired or a cancelled
// timer does nothing.
func (s *Sim) cancel(t *timer) {
	if t == nil || t.idx < 0 {
		return
	}
	heap.Remove(&s.timers, t.idx)
	t.idx = -1
}

// runDue runs, in order, every timer due at or before now, each at its own
// instant, settling the simulation after each. The caller holds s.mu.
func (s *Sim) runDue(now time.Time) {
	for len(s.timers) > 0 && !s.timers[0].at.After(now) {
		t := heap.Pop(&s.timers).(*timer)
		if t.at.After(s.now) {
			s.now = t.at
		}
		t.fn()
		s.settle()
	}
	if now.After(s.now) {
		s.now = now
	}
	s.settle()
}

// nextDeadline returns the instant of the earliest pending timer.
func (s *Sim) nextDeadline() (time.Time, bool) {
	if len(s.timers) == 0 {
		return time.Time{}, false
	}
	return s.timers[0].at, true
}
