package marathonsim

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Route names a Marathon endpoint, for the request log and for matching
// faults.
type Route string

// Routes the simulator serves.
const (
	RoutePing        Route = "/ping"
	RouteApps        Route = "/v2/apps"
	RouteApp         Route = "/v2/apps/{id}"
	RouteAppRestart  Route = "/v2/apps/{id}/restart"
	RouteAppTasks    Route = "/v2/apps/{id}/tasks"
	RouteAppTask     Route = "/v2/apps/{id}/tasks/{taskId}"
	RouteAppVersions Route = "/v2/apps/{id}/versions"
	RouteAppVersion  Route = "/v2/apps/{id}/versions/{version}"
	RouteTasks       Route = "/v2/tasks"
	RouteTasksDelete Route = "/v2/tasks/delete"
	RouteDeployments Route = "/v2/deployments"
	RouteDeployment  Route = "/v2/deployments/{id}"
	RouteGroups      Route = "/v2/groups"
	RouteGroup       Route = "/v2/groups/{id}"
	RouteQueue       Route = "/v2/queue"
	RouteInfo        Route = "/v2/info"
	RouteLeader      Route = "/v2/leader"
	RouteEvents      Route = "/v2/events"
	// RouteUnknown is every path no resource serves.
	RouteUnknown Route = "unknown"
)

// routeMatch is a classified request path.
type routeMatch struct {
	route Route
	id    string // app, deployment or group id
	sub   string // task id or version
}

// classify maps a path to its route. App ids contain slashes, so the
// app sub-resources are recognised from the end of the path; an app id
// cannot end in restart, tasks or versions.
func classify(path string) routeMatch {
	path = strings.TrimSuffix(path, "/")
	switch path {
	case "/ping":
		return routeMatch{route: RoutePing}
	case "/v2/apps":
		return routeMatch{route: RouteApps}
	case "/v2/tasks":
		return routeMatch{route: RouteTasks}
	case "/v2/tasks/delete":
		return routeMatch{route: RouteTasksDelete}
	case "/v2/deployments":
		return routeMatch{route: RouteDeployments}
	case "/v2/groups":
		return routeMatch{route: RouteGroups}
	case "/v2/queue":
		return routeMatch{route: RouteQueue}
	case "/v2/info":
		return routeMatch{route: RouteInfo}
	case "/v2/leader":
		return routeMatch{route: RouteLeader}
	case "/v2/events":
		return routeMatch{route: RouteEvents}
	}
	if rest, ok := strings.CutPrefix(path, "/v2/apps/"); ok {
		segs := strings.Split(rest, "/")
		n := len(segs)
		join := func(k int) string { return "/" + strings.Join(segs[:k], "/") }
		switch {
		case segs[n-1] == "restart":
			return routeMatch{route: RouteAppRestart, id: join(n - 1)}
		case segs[n-1] == "tasks":
			return routeMatch{route: RouteAppTasks, id: join(n - 1)}
		case segs[n-1] == "versions":
			return routeMatch{route: RouteAppVersions, id: join(n - 1)}
		case n >= 2 && segs[n-2] == "tasks":
			return routeMatch{route: RouteAppTask, id: join(n - 2), sub: segs[n-1]}
		case n >= 2 && segs[n-2] == "versions":
			return routeMatch{route: RouteAppVersion, id: join(n - 2), sub: segs[n-1]}
		}
		return routeMatch{route: RouteApp, id: join(n)}
	}
	if rest, ok := strings.CutPrefix(path, "/v2/deployments/"); ok {
		return routeMatch{route: RouteDeployment, id: rest}
	}
	if rest, ok := strings.CutPrefix(path, "/v2/groups/"); ok {
		return routeMatch{route: RouteGroup, id: "/" + strings.Trim(rest, "/")}
	}
	return routeMatch{route: RouteUnknown}
}

// reply is a response built under the state lock and written after it is
// released, so that a slow client never holds up the simulation.
type reply struct {
	status int
	body   []byte
	header map[string]string
	err    *apiError
	empty  bool // no body at all (202 of a forced deployment cancel)
}

func jsonReply(status int, w *jsonBuf) reply { return reply{status: status, body: w.b} }

func errReply(e *apiError) reply { return reply{err: e} }

func (rp reply) write(w http.ResponseWriter) {
	if rp.err != nil {
		rp.err.write(w)
		return
	}
	for k, v := range rp.header {
		w.Header().Set(k, v)
	}
	if rp.empty {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(rp.status)
		return
	}
	writeJSON(w, rp.status, rp.body)
}

// recorder logs the status of a request when it is written.
type recorder struct {
	http.ResponseWriter
	s      *Sim
	entry  Request
	logged bool
}

func (r *recorder) WriteHeader(status int) {
	if !r.logged {
		r.logged = true
		r.entry.Status = status
		r.s.log.add(r.entry)
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.logged {
		r.WriteHeader(http.StatusOK)
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flushing and
// deadlines for event streams).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) finish() {
	if !r.logged {
		r.logged = true
		r.s.log.add(r.entry)
	}
}

// ServeHTTP serves Marathon's REST API, and the simulator's own admin API
// under AdminPrefix.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, AdminPrefix) {
		s.serveAdmin(w, r)
		return
	}
	m := classify(r.URL.Path)
	rec := &recorder{ResponseWriter: w, s: s, entry: Request{
		Time: s.clock.Now(), Method: r.Method, Route: m.route, Path: r.URL.Path, Query: r.URL.RawQuery,
	}}
	defer rec.finish()
	if s.isClosed() {
		errMessage(http.StatusServiceUnavailable, "Marathon is shutting down").write(rec)
		return
	}
	if s.faults.leaderless(s.clock.Now()) {
		switch {
		case m.route == RoutePing:
			s.ping(rec, r)
		case m.route == RouteLeader && r.Method == http.MethodGet:
			errMessage(http.StatusNotFound, "There is no leader").write(rec)
		default:
			errNoLeader().write(rec)
		}
		return
	}
	rec.Header().Set("X-Marathon-Leader", "http://"+r.Host)
	if f := s.faults.match(r.Method, m.route); f != nil {
		if f.spec.Delay > 0 && !s.waitSim(r.Context(), f.spec.Delay) {
			return
		}
		if f.spec.Hang {
			select {
			case <-f.released:
			case <-r.Context().Done():
				return
			case <-s.closed:
				return
			}
		}
		if f.spec.Status != 0 {
			msg := f.spec.Message
			if msg == "" {
				msg = defaultFaultMessage(f.spec.Status)
			}
			e := errMessage(f.spec.Status, "%s", msg)
			e.html = f.spec.Status == http.StatusBadGateway
			e.write(rec)
			return
		}
	}
	s.dispatch(rec, r, m)
}

// waitSim blocks for d of simulated time; false if the request or the
// simulator ended first.
func (s *Sim) waitSim(ctx context.Context, d time.Duration) bool {
	done := make(chan struct{})
	s.lock()
	t := s.after(d, func() { close(done) })
	s.markChanged()
	s.unlock()
	select {
	case <-done:
		return true
	case <-ctx.Done():
	case <-s.closed:
	}
	s.mu.Lock()
	s.cancel(t)
	s.mu.Unlock()
	return false
}

func (s *Sim) dispatch(w http.ResponseWriter, r *http.Request, m routeMatch) {
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	var rp reply
	switch m.route {
	case RoutePing:
		s.ping(w, r)
		return
	case RouteEvents:
		if method != http.MethodGet {
			errMethodNotAllowed().write(w)
			return
		}
		s.serveEvents(w, r)
		return
	case RouteApps:
		switch method {
		case http.MethodGet:
			rp = s.listApps(r)
		case http.MethodPost:
			rp = s.postApp(r)
		case http.MethodPut, http.MethodPatch:
			rp = s.putApps(r, method == http.MethodPatch)
		default:
			rp = errReply(errMethodNotAllowed())
		}
	case RouteApp:
		switch method {
		case http.MethodGet:
			rp = s.getApp(r, m.id)
		case http.MethodPut, http.MethodPatch:
			rp = s.putApp(r, m.id, method == http.MethodPatch)
		case http.MethodDelete:
			rp = s.deleteAppHandler(r, m.id)
		default:
			rp = errReply(errMethodNotAllowed())
		}
	case RouteAppRestart:
		rp = s.only(method, http.MethodPost, func() reply { return s.restartApp(r, m.id) })
	case RouteAppTasks:
		switch method {
		case http.MethodGet:
			s.appTasks(w, r, m.id)
			return
		case http.MethodDelete:
			rp = s.killAppTasks(r, m.id)
		default:
			rp = errReply(errMethodNotAllowed())
		}
	case RouteAppTask:
		rp = s.only(method, http.MethodDelete, func() reply { return s.killAppTask(r, m.id, m.sub) })
	case RouteAppVersions:
		rp = s.only(method, http.MethodGet, func() reply { return s.appVersions(m.id) })
	case RouteAppVersion:
		rp = s.only(method, http.MethodGet, func() reply { return s.appVersion(m.id, m.sub) })
	case RouteTasks:
		if method != http.MethodGet {
			errMethodNotAllowed().write(w)
			return
		}
		s.allTasks(w, r)
		return
	case RouteTasksDelete:
		rp = s.only(method, http.MethodPost, func() reply { return s.deleteTasks(r) })
	case RouteDeployments:
		rp = s.only(method, http.MethodGet, s.listDeployments)
	case RouteDeployment:
		rp = s.only(method, http.MethodDelete, func() reply { return s.deleteDeployment(r, m.id) })
	case RouteGroups:
		rp = s.only(method, http.MethodGet, func() reply { return s.getGroup("/") })
	case RouteGroup:
		rp = s.only(method, http.MethodGet, func() reply { return s.getGroup(m.id) })
	case RouteQueue:
		rp = s.only(method, http.MethodGet, s.queueReply)
	case RouteInfo:
		rp = s.only(method, http.MethodGet, func() reply { return s.info(r) })
	case RouteLeader:
		switch method {
		case http.MethodGet:
			rp = s.leader(r)
		case http.MethodDelete:
			rp = s.abdicate()
		default:
			rp = errReply(errMethodNotAllowed())
		}
	default:
		rp = errReply(errURINotFound(s.gen))
	}
	rp.write(w)
}

func (s *Sim) only(method, want string, fn func() reply) reply {
	if method != want {
		return errReply(errMethodNotAllowed())
	}
	return fn()
}

// maxBody bounds request bodies (a PUT /v2/apps of many apps included).
const maxBody = 32 << 20

func readBody(r *http.Request) ([]byte, *apiError) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return nil, errMessage(http.StatusBadRequest, "Could not read the request body: %v", err)
	}
	return b, nil
}

// boolParam reads a boolean query parameter as JAX-RS does: "true"
// (any case) is true, anything else given is false.
func boolParam(r *http.Request, name string, def bool) bool {
	v, ok := r.URL.Query()[name]
	if !ok || len(v) == 0 {
		return def
	}
	return strings.EqualFold(v[0], "true")
}

// clientIP is the address reported in api_post_event and
// event_stream_attached.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
