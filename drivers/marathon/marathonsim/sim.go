package marathonsim

import (
	"cmp"
	"errors"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Sim is a simulated Marathon. It is an http.Handler serving Marathon's v2
// REST API and event stream; its Go methods inspect the simulated state
// and inject faults. All state has one owner, the mutex mu: HTTP handlers
// and clock ticks take it in turn, so the simulation is sequential and
// deterministic for a given order of calls.
//
// A Sim must be closed with Close, which ends its clock driver, event
// streams and hung requests.
type Sim struct {
	opts  Options
	gen   Generation
	clock Clock

	mu         sync.RWMutex
	now        time.Time // simulated time the state has been advanced to
	timers     timerHeap
	timerSeq   uint64
	wakeNeeded bool
	rng        *rand.Rand
	ipSeq      int

	apps      map[string]*app
	appOrder  []string // sorted app ids; nil when it must be rebuilt
	groups    map[string]int
	tasks     map[string]*task
	agents    []*agent
	agentRR   int
	svcPorts  map[int]string // service port → app id
	svcCursor int
	// externalInUse maps an external volume to the task it is attached to.
	externalInUse map[string]*task

	regexCache map[string]*regexp.Regexp

	deployments map[string]*deployment
	depOrder    []*deployment
	depSeq      uint64
	locks       map[string]*deployment // app id → the deployment holding it

	pending    []*app // apps with queued launches, in queue order
	offerDirty bool
	dirtyDeps  map[*deployment]bool
	rootVer    time.Time

	changed chan struct{} // closed and replaced when the state changes
	dirty   bool

	bus    *eventBus
	faults faultState
	log    requestLog
	mesos  mesosState // what Mesos under the simulated Marathon reports

	// observe, when set (by tests of this package), runs under mu after
	// every settled change, to check invariants at every instant.
	observe func()

	closeOnce sync.Once
	closed    chan struct{}
	wake      func()
	stopClock func()
	wg        sync.WaitGroup
}

// New returns a running simulator. It steps on opts.Clock until Close.
func New(opts Options) (*Sim, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Sim{
		opts:          o,
		gen:           o.Generation,
		clock:         o.Clock,
		now:           o.Clock.Now(),
		rng:           rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)),
		apps:          map[string]*app{},
		groups:        map[string]int{},
		tasks:         map[string]*task{},
		svcPorts:      map[int]string{},
		externalInUse: map[string]*task{},
		svcCursor:     servicePortMin,
		deployments:   map[string]*deployment{},
		locks:         map[string]*deployment{},
		dirtyDeps:     map[*deployment]bool{},
		changed:       make(chan struct{}),
		closed:        make(chan struct{}),
	}
	s.rootVer = s.now
	s.bus = newEventBus(o.EventBuffer)
	s.faults.init()
	s.log.init(o.RequestLogSize)
	for _, a := range o.Agents {
		if err := s.addAgentLocked(a); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	s.scheduleHeartbeat()
	s.scheduleScaleCheck()
	s.mu.Unlock()
	s.wake, s.stopClock = s.clock.start(s.tick)
	return s, nil
}

// ErrClosed is returned by methods called after Close.
var ErrClosed = errors.New("marathonsim: simulator closed")

// Close stops the simulator: the clock driver, every event stream and
// every hung request end. It is safe to call more than once.
func (s *Sim) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.stopClock()
		s.mu.Lock()
		s.bus.closeAll()
		s.mu.Unlock()
		s.faults.releaseAll()
		s.wg.Wait()
	})
	return nil
}

func (s *Sim) isClosed() bool {
	select {
	case <-s.closed:
		return true
	default:
		return false
	}
}

// tick is the clock's entry point: advance the state to now.
func (s *Sim) tick(now time.Time) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isClosed() {
		return time.Time{}, false
	}
	s.runDue(now)
	s.notifyLocked()
	s.wakeNeeded = false
	return s.nextDeadline()
}

// lock takes the state for a change: it catches the state up with the
// clock first, so that a request sees everything that happened before it.
// unlock publishes the change and wakes the clock driver when a new
// earliest timer was scheduled.
func (s *Sim) lock() {
	s.mu.Lock()
	s.runDue(s.clock.Now())
}

func (s *Sim) unlock() {
	s.settle()
	s.notifyLocked()
	wake := s.wakeNeeded
	s.wakeNeeded = false
	s.mu.Unlock()
	if wake {
		s.wake()
	}
}

// markChanged records that observable state changed.
func (s *Sim) markChanged() { s.dirty = true }

func (s *Sim) notifyLocked() {
	if s.appOrder == nil {
		s.sortedAppIDs()
	}
	if s.dirty {
		s.dirty = false
		close(s.changed)
		s.changed = make(chan struct{})
	}
}

// Changed returns a channel that is closed at the next change of the
// simulated state (a task or deployment moving on, an app changing). Use
// it to wait for a condition in scaled-time tests without sleeping:
//
//	for !cond() { select { case <-sim.Changed(): case <-ctx.Done(): … } }
func (s *Sim) Changed() <-chan struct{} {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.changed
}

// Now returns the simulated time the state has been advanced to.
func (s *Sim) Now() time.Time {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.now
}

// Generation returns the API generation the simulator answers in.
func (s *Sim) Generation() Generation { return s.gen }

// settle does the work that follows any change at the current instant:
// placing queued tasks on agents and moving deployments on. It loops
// because each can enable the other.
func (s *Sim) settle() {
	for range 64 {
		progressed := false
		if s.offerDirty {
			s.offerDirty = false
			s.placePending()
			progressed = true
		}
		if len(s.dirtyDeps) > 0 {
			deps := s.takeDirtyDeps()
			for _, d := range deps {
				s.evalDeployment(d)
			}
			progressed = true
		}
		if !progressed {
			if s.observe != nil {
				s.observe()
			}
			return
		}
	}
}

// takeDirtyDeps returns the deployments marked for evaluation, oldest
// first, and clears the marks.
func (s *Sim) takeDirtyDeps() []*deployment {
	deps := make([]*deployment, 0, len(s.dirtyDeps))
	for d := range s.dirtyDeps {
		deps = append(deps, d)
	}
	clear(s.dirtyDeps)
	slices.SortFunc(deps, func(x, y *deployment) int { return cmp.Compare(x.seq, y.seq) })
	return deps
}

// appChanged marks an app's deployment, if any, for evaluation.
func (s *Sim) appChanged(a *app) {
	s.markChanged()
	if d := s.locks[a.id]; d != nil {
		s.dirtyDeps[d] = true
	}
}

// sortedAppIDs returns the app ids in order; the slice is cached until the
// set of apps changes.
func (s *Sim) sortedAppIDs() []string {
	if s.appOrder == nil {
		s.appOrder = make([]string, 0, len(s.apps))
		for id := range s.apps {
			s.appOrder = append(s.appOrder, id)
		}
		slices.Sort(s.appOrder)
	}
	return s.appOrder
}

// orderAdd puts id in the sorted app ids, if they are built. Kept in
// place rather than rebuilt: a rebuild per create made creating n apps
// cost n sorts.
func (s *Sim) orderAdd(id string) {
	if s.appOrder == nil {
		return
	}
	if i, found := slices.BinarySearch(s.appOrder, id); !found {
		s.appOrder = slices.Insert(s.appOrder, i, id)
	}
}

// orderRemove takes id out of the sorted app ids, if they are built.
func (s *Sim) orderRemove(id string) {
	if s.appOrder == nil {
		return
	}
	if i, found := slices.BinarySearch(s.appOrder, id); found {
		s.appOrder = slices.Delete(s.appOrder, i, i+1)
	}
}

// uuid returns a random (seeded) RFC 4122 version 4 UUID.
func (s *Sim) uuid() string {
	var b [16]byte
	hi, lo := s.rng.Uint64(), s.rng.Uint64()
	for i := range 8 {
		b[i] = byte(hi >> (8 * i))
		b[8+i] = byte(lo >> (8 * i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	var out strings.Builder
	out.Grow(36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out.WriteByte('-')
		}
		out.WriteByte(hex[c>>4])
		out.WriteByte(hex[c&0xf])
	}
	return out.String()
}

// newVersion returns a version timestamp for a change of a at the current
// instant: millisecond precision (what Marathon reports) and strictly later
// than the app's previous version, so that two changes within one
// millisecond stay distinguishable.
func (s *Sim) newVersion(prev time.Time) time.Time {
	v := s.now.Truncate(time.Millisecond)
	if !v.After(prev) {
		v = prev.Add(time.Millisecond)
	}
	return v
}
