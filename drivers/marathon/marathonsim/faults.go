package marathonsim

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// FaultID identifies an injected fault, for Faults.Clear.
type FaultID uint64

// RequestFault describes how to mistreat the requests it matches. Delay,
// then Hang, then Status apply in that order: a fault with a Delay and a
// Status answers the error after the delay.
type RequestFault struct {
	// Method matches the HTTP method ("" matches any).
	Method string
	// Route matches the route ("" matches any), e.g. RouteApp.
	Route Route
	// Status, when not 0, is answered instead of serving the request, with
	// a Marathon-like body: JSON {"message": Message} or, for 502, Jetty's
	// HTML page.
	Status int
	// Message is the error message; a default fitting Status otherwise.
	Message string
	// Delay is added before the request is served (or failed), on the
	// simulator's clock: with a ManualClock the request waits until the
	// test advances the clock.
	Delay time.Duration
	// Hang makes the request wait, unanswered, until the fault is cleared
	// or the client gives up.
	Hang bool
	// Times limits the fault to the next Times matching requests; 0 means
	// until cleared.
	Times int
}

// Faults injects failures into a running simulator. All methods are safe
// for concurrent use.
type Faults struct{ s *Sim }

// Faults returns the simulator's fault injector.
func (s *Sim) Faults() *Faults { return &Faults{s: s} }

type requestFault struct {
	id       FaultID
	spec     RequestFault
	left     int           // remaining applications when spec.Times > 0
	released chan struct{} // closed when cleared, ends hangs
}

type imageFault struct {
	id           FaultID
	image        string // a glob, see MatchImage
	crashAfter   time.Duration
	crashMessage string // "" for DefaultCrashMessage
	crash        bool
	neverHealthy bool
	neverReady   bool
	fetchURI     string // the fault fails fetches of this URI instead
}

// faultState is guarded by its own mutex so that request matching does not
// contend with the simulation; the simulation reads it under Sim.mu
// (lock order: Sim.mu, then faultState.mu).
type faultState struct {
	mu            sync.Mutex
	next          FaultID
	requests      []*requestFault
	images        []*imageFault
	stalls        map[FaultID]string // app id ("" = every app)
	leaderUntil   time.Time          // no leader before this simulated time
	refuseStreams time.Time          // new event streams refused before this
}

func (f *faultState) init() { f.stalls = map[FaultID]string{} }

func (f *faultState) newID() FaultID {
	f.next++
	return f.next
}

// Add injects a request fault and returns its id.
func (f *Faults) Add(rf RequestFault) FaultID {
	fs := &f.s.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	r := &requestFault{id: fs.newID(), spec: rf, left: rf.Times, released: make(chan struct{})}
	fs.requests = append(fs.requests, r)
	return r.id
}

// FailRequests answers matching requests with status (and a Marathon-like
// body) for the next times requests, or until cleared when times is 0.
func (f *Faults) FailRequests(method string, route Route, status, times int) FaultID {
	return f.Add(RequestFault{Method: method, Route: route, Status: status, Times: times})
}

// DelayRequests adds d of simulated time before matching requests are
// served, for the next times requests (0: until cleared).
func (f *Faults) DelayRequests(method string, route Route, d time.Duration, times int) FaultID {
	return f.Add(RequestFault{Method: method, Route: route, Delay: d, Times: times})
}

// HangRequests makes matching requests wait unanswered until the fault is
// cleared or their client gives up.
func (f *Faults) HangRequests(method string, route Route) FaultID {
	return f.Add(RequestFault{Method: method, Route: route, Hang: true})
}

// CrashImage makes tasks of the docker images that the glob image
// matches (see MatchImage; a plain name matches itself) fail
// (TASK_FAILED, with DefaultCrashMessage) after running for after
// (Timings.CrashAfter when 0). Marathon relaunches them with backoff; a
// deployment waiting for them never finishes. A malformed glob matches
// nothing; AddImage refuses one.
func (f *Faults) CrashImage(image string, after time.Duration) FaultID {
	return f.addImage(&imageFault{image: image, crash: true, crashAfter: after})
}

// NeverHealthyImage makes the health checks of tasks of the docker images
// that the glob image matches fail for ever. With maxConsecutiveFailures
// > 0 Marathon kills and relaunches them; a deployment waiting for them
// stays, holding its lock. Tasks of groups without health checks are not
// affected.
func (f *Faults) NeverHealthyImage(image string) FaultID {
	return f.addImage(&imageFault{image: image, neverHealthy: true})
}

// NeverReadyImage makes the readiness checks of tasks of the docker
// images that the glob image matches never pass: a deployment waiting for
// them stays, holding its lock.
func (f *Faults) NeverReadyImage(image string) FaultID {
	return f.addImage(&imageFault{image: image, neverReady: true})
}

// FailFetch makes the Mesos fetcher fail to download uri: tasks of apps
// that fetch it fail while staging (TASK_FAILED) and are relaunched with
// backoff.
func (f *Faults) FailFetch(uri string) FaultID {
	return f.addImage(&imageFault{fetchURI: uri})
}

func (f *Faults) addImage(im *imageFault) FaultID {
	fs := &f.s.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	im.id = fs.newID()
	fs.images = append(fs.images, im)
	return im.id
}

// StallDeployments freezes every deployment affecting appID ("" for all
// apps): it stays at its current step, holding its lock, until the fault
// is cleared. Tasks keep running, failing and being replaced as usual.
func (f *Faults) StallDeployments(appID string) FaultID {
	fs := &f.s.faults
	fs.mu.Lock()
	id := fs.newID()
	fs.stalls[id] = appID
	fs.mu.Unlock()
	return id
}

// Clear removes a fault. Requests hung by it are released and served.
// Deployments it stalled resume.
func (f *Faults) Clear(id FaultID) {
	s := f.s
	s.mu.Lock()
	fs := &s.faults
	fs.mu.Lock()
	fs.requests = slices.DeleteFunc(fs.requests, func(r *requestFault) bool {
		if r.id == id {
			close(r.released)
			return true
		}
		return false
	})
	healed := fs.removeImages(func(im *imageFault) bool { return im.id == id })
	delete(fs.stalls, id)
	fs.mu.Unlock()
	s.heal(healed)
	s.resumeAll()
	s.unlockNoCatchUp()
}

// ClearAll removes every fault, including a leader change in progress and
// a refusal of event streams.
func (f *Faults) ClearAll() {
	s := f.s
	s.mu.Lock()
	fs := &s.faults
	fs.mu.Lock()
	for _, r := range fs.requests {
		close(r.released)
	}
	fs.requests = nil
	healed := fs.removeImages(func(*imageFault) bool { return true })
	clear(fs.stalls)
	fs.leaderUntil = time.Time{}
	fs.refuseStreams = time.Time{}
	fs.mu.Unlock()
	s.heal(healed)
	s.resumeAll()
	s.unlockNoCatchUp()
}

// DropEventStreams ends every open /v2/events stream now and refuses new
// ones (503) for refuseFor of simulated time.
func (f *Faults) DropEventStreams(refuseFor time.Duration) {
	s := f.s
	s.lock()
	s.faults.mu.Lock()
	s.faults.refuseStreams = s.now.Add(refuseFor)
	s.faults.mu.Unlock()
	s.bus.closeAll()
	s.unlock()
}

// LoseLeadership simulates a leader change lasting d of simulated time:
// every event stream ends; every call but /ping answers 502 "Could not
// determine the current leader" (GET /v2/leader answers 404 "There is no
// leader"); deployments do not progress. Then service resumes with the
// state intact and deployments continuing. Tasks keep running throughout,
// as they do on Mesos.
func (f *Faults) LoseLeadership(d time.Duration) {
	s := f.s
	s.lock()
	until := s.now.Add(d)
	s.faults.mu.Lock()
	s.faults.leaderUntil = until
	s.faults.mu.Unlock()
	s.bus.closeAll()
	s.at(until, s.resumeAll)
	s.markChanged()
	s.unlock()
}

// resumeAll re-evaluates every deployment (after a stall or a leader
// change ends).
func (s *Sim) resumeAll() {
	for _, d := range s.depOrder {
		s.dirtyDeps[d] = true
	}
	s.markChanged()
}

// unlockNoCatchUp ends a change started with a bare mu.Lock.
func (s *Sim) unlockNoCatchUp() { s.unlock() }

// removeImages removes the image faults drop picks and returns the globs
// of the never-healthy ones among them. Call with f.mu held.
func (f *faultState) removeImages(drop func(*imageFault) bool) (healed []string) {
	f.images = slices.DeleteFunc(f.images, func(im *imageFault) bool {
		if !drop(im) {
			return false
		}
		if im.neverHealthy {
			healed = append(healed, im.image)
		}
		return true
	})
	return healed
}

// heal lets the health checks of tasks of the images the given globs
// match pass again once their never-healthy fault is cleared, unless
// another never-healthy fault still matches them.
func (s *Sim) heal(globs []string) {
	if len(globs) == 0 {
		return
	}
	for _, t := range s.tasks {
		image := t.def.image()
		if slices.ContainsFunc(globs, func(g string) bool { return MatchImage(g, image) }) && !s.faults.neverHealthy(image) {
			s.setTaskHealth(t, true)
		}
	}
}

// match finds the fault for a request, consuming one use of it. Used-up
// faults stay listed (without matching) so that Clear still releases the
// requests they hung.
func (f *faultState) match(method string, route Route) *requestFault {
	return f.matchWhere(method, func(r Route) bool { return r == "" || r == route })
}

// matchWhere returns the first fault of method whose route matches, and
// counts the application.
func (f *faultState) matchWhere(method string, routeMatches func(Route) bool) *requestFault {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.requests {
		if r.spec.Method != "" && r.spec.Method != method {
			continue
		}
		if !routeMatches(r.spec.Route) {
			continue
		}
		if r.spec.Times > 0 {
			if r.left <= 0 {
				continue
			}
			r.left--
		}
		return r
	}
	return nil
}

func (f *faultState) releaseAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.requests {
		select {
		case <-r.released:
		default:
			close(r.released)
		}
	}
	f.requests = nil
}

func (f *faultState) leaderless(now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return now.Before(f.leaderUntil)
}

func (f *faultState) streamsRefused(now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return now.Before(f.refuseStreams)
}

func (f *faultState) stalled(appIDs []string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range f.stalls {
		if id == "" || slices.Contains(appIDs, id) {
			return true
		}
	}
	return false
}

// imageFault returns the fault of image that match picks, or nil.
func (f *faultState) imageFault(image string, match func(*imageFault) bool) *imageFault {
	if image == "" {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, im := range f.images {
		if im.fetchURI == "" && MatchImage(im.image, image) && match(im) {
			return im
		}
	}
	return nil
}

// crashes returns how long after it runs a task of image fails, and with
// which message, if a crash fault matches it.
func (f *faultState) crashes(image string) (after time.Duration, message string, crash bool) {
	if im := f.imageFault(image, func(im *imageFault) bool { return im.crash }); im != nil {
		return im.crashAfter, cmp.Or(im.crashMessage, DefaultCrashMessage), true
	}
	return 0, "", false
}

func (f *faultState) neverHealthy(image string) bool {
	return f.imageFault(image, func(im *imageFault) bool { return im.neverHealthy }) != nil
}

func (f *faultState) neverReady(image string) bool {
	return f.imageFault(image, func(im *imageFault) bool { return im.neverReady }) != nil
}

// fetchFails returns the first URI of fetch whose download fails.
func (f *faultState) fetchFails(fetch []fetchURI) (string, bool) {
	if len(fetch) == 0 {
		return "", false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, u := range fetch {
		for _, im := range f.images {
			if im.fetchURI != "" && im.fetchURI == u.URI {
				return u.URI, true
			}
		}
	}
	return "", false
}
