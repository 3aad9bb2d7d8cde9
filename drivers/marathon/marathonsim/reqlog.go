package marathonsim

import (
	"net/http"
	"sync"
	"time"
)

// Request is one request the simulator received.
type Request struct {
	// Time is the simulated time it arrived.
	Time   time.Time
	Method string
	Route  Route
	// Path and Query are as sent.
	Path  string
	Query string
	// Status is the status answered; 0 when the request ended without an
	// answer (a hung request whose client gave up).
	Status int
}

// RequestKey groups requests for counting.
type RequestKey struct {
	Method string
	Route  Route
	Status int
}

type requestLog struct {
	mu      sync.Mutex
	size    int
	entries []Request
	counts  map[RequestKey]int
}

func (l *requestLog) init(size int) {
	l.size = size
	l.counts = map[RequestKey]int{}
}

func (l *requestLog) add(r Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.counts[RequestKey{r.Method, r.Route, r.Status}]++
	if len(l.entries) >= l.size {
		// Keep the newest half; amortised O(1) per request.
		n := copy(l.entries, l.entries[len(l.entries)-l.size/2:])
		l.entries = l.entries[:n]
	}
	l.entries = append(l.entries, r)
}

// Requests returns the requests received so far, oldest first (at most
// Options.RequestLogSize of the newest).
func (s *Sim) Requests() []Request {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	out := make([]Request, len(s.log.entries))
	copy(out, s.log.entries)
	return out
}

// RequestCounts returns how many requests were answered per method, route
// and status since the start or the last ResetRequests.
func (s *Sim) RequestCounts() map[RequestKey]int {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	out := make(map[RequestKey]int, len(s.log.counts))
	for k, v := range s.log.counts {
		out[k] = v
	}
	return out
}

// RequestCount counts requests by method and route; "" matches any.
func (s *Sim) RequestCount(method string, route Route) int {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	n := 0
	for k, v := range s.log.counts {
		if (method == "" || k.Method == method) && (route == "" || k.Route == route) {
			n += v
		}
	}
	return n
}

// WriteCount counts requests that can change state: every method but GET
// and HEAD.
func (s *Sim) WriteCount() int {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	n := 0
	for k, v := range s.log.counts {
		if k.Method != http.MethodGet && k.Method != http.MethodHead {
			n += v
		}
	}
	return n
}

// ResetRequests forgets the requests and counters recorded so far.
func (s *Sim) ResetRequests() {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	s.log.entries = nil
	clear(s.log.counts)
}
