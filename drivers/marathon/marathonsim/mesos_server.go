package marathonsim

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Routes of the simulated Mesos master and agents, for the request log
// and for faults. A fault applies to them only when it names one of
// them: a fault without a route stays Marathon's.
const (
	RouteMesosSlaves     Route = "/master/slaves"
	RouteMesosState      Route = "/master/state"
	RouteMesosTasks      Route = "/master/tasks"
	RouteAgentState      Route = "/slave(1)/state"
	RouteAgentFilesRead  Route = "/files/read"
	RouteAgentStatistics Route = "/monitor/statistics"
	RouteMesosUnknown    Route = "mesos unknown"
)

// MesosOptions configure ListenMesos.
type MesosOptions struct {
	// Wrap, when set, wraps the master's and every agent's handler, for
	// example to require credentials.
	Wrap func(http.Handler) http.Handler
}

// MesosServer serves the Mesos master under the simulated Marathon, and
// each agent on an address of its own, as Mesos agents serve theirs. The
// master's answers name the agents' addresses in their pids
// ("slave(1)@127.0.0.1:40123").
type MesosServer struct {
	// URL is the master's base URL, e.g. "http://127.0.0.1:5050".
	URL  string
	Addr net.Addr

	sim    *Sim
	opts   MesosOptions
	host   string // where agents listen
	master *http.Server
	done   chan error

	mu     sync.Mutex
	agents map[string]*agentServer // hostname →
	closed bool
}

type agentServer struct {
	addr string
	srv  *http.Server
	done chan error
}

// ListenMesos serves the simulator's Mesos master on addr ("127.0.0.1:0"
// picks a free port) and its agents on free ports of the same host, until
// the MesosServer is closed. Closing it does not close the Sim.
func (s *Sim) ListenMesos(addr string, opts MesosOptions) (*MesosServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("marathonsim: mesos: listen on %s: %w", addr, err)
	}
	host := "127.0.0.1"
	if ta, ok := ln.Addr().(*net.TCPAddr); ok && !ta.IP.IsUnspecified() {
		host = ta.IP.String()
	}
	m := &MesosServer{URL: "http://" + ln.Addr().String(), Addr: ln.Addr(), sim: s, opts: opts, host: host,
		done: make(chan error, 1), agents: map[string]*agentServer{}}
	m.master = &http.Server{Handler: m.wrap(http.HandlerFunc(m.serveMaster)), ReadHeaderTimeout: 10 * time.Second}
	if err := m.ensureAgents(); err != nil {
		ln.Close()
		return nil, err
	}
	go func() { m.done <- serveUntilClosed(m.master, ln) }()
	return m, nil
}

func serveUntilClosed(srv *http.Server, ln net.Listener) error {
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func (m *MesosServer) wrap(h http.Handler) http.Handler {
	if m.opts.Wrap != nil {
		return m.opts.Wrap(h)
	}
	return h
}

// ensureAgents starts a server for every agent that has none yet: agents
// added after ListenMesos get theirs before the master names them.
func (m *MesosServer) ensureAgents() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	for _, a := range m.sim.Agents() {
		if m.agents[a.Hostname] != nil {
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(m.host, "0"))
		if err != nil {
			return fmt.Errorf("marathonsim: mesos agent %s: %w", a.Hostname, err)
		}
		hostname := a.Hostname
		as := &agentServer{addr: ln.Addr().String(), done: make(chan error, 1)}
		as.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second,
			Handler: m.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { m.serveAgent(w, r, hostname) }))}
		go func() { as.done <- serveUntilClosed(as.srv, ln) }()
		m.agents[hostname] = as
	}
	return nil
}

// AgentURL returns the base URL an agent serves at, "" for an unknown
// hostname.
func (m *MesosServer) AgentURL(hostname string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if as := m.agents[hostname]; as != nil {
		return "http://" + as.addr
	}
	return ""
}

func (m *MesosServer) view() *mesosView {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := &mesosView{masterAddr: m.Addr.String(), agentAddrs: make(map[string]string, len(m.agents))}
	for h, as := range m.agents {
		v.agentAddrs[h] = as.addr
	}
	return v
}

// Close stops the master and every agent server at once.
func (m *MesosServer) Close() error {
	m.mu.Lock()
	m.closed = true
	agents := m.agents
	m.agents = map[string]*agentServer{}
	m.mu.Unlock()
	err := m.master.Close()
	if serveErr := <-m.done; err == nil {
		err = serveErr
	}
	for _, as := range agents {
		aerr := as.srv.Close()
		if serveErr := <-as.done; aerr == nil {
			aerr = serveErr
		}
		err = errors.Join(err, aerr)
	}
	if err != nil {
		return fmt.Errorf("marathonsim: close mesos: %w", err)
	}
	return nil
}

// mesosReply is an answer of a Mesos endpoint: JSON, or a line of text
// (Mesos's errors).
type mesosReply struct {
	status int
	body   []byte
	text   bool
}

func mesosJSON(w *jsonBuf) mesosReply { return mesosReply{status: http.StatusOK, body: w.b} }

func mesosText(status int, msg string) mesosReply {
	return mesosReply{status: status, body: []byte(msg + "\n"), text: true}
}

func (rp mesosReply) write(w http.ResponseWriter) {
	switch {
	case rp.text:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	case rp.body != nil:
		w.Header().Set("Content-Type", "application/json")
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(rp.body)))
	w.WriteHeader(rp.status)
	_, _ = w.Write(rp.body)
}

// begin logs a Mesos request and applies a fault that names its route; ok
// false when the fault answered (or the request ended) in its place.
func (m *MesosServer) begin(w http.ResponseWriter, r *http.Request, route Route) (*recorder, bool) {
	s := m.sim
	rec := &recorder{ResponseWriter: w, s: s, entry: Request{
		Time: s.clock.Now(), Method: r.Method, Route: route, Path: r.URL.Path, Query: r.URL.RawQuery,
	}}
	if s.isClosed() {
		mesosText(http.StatusServiceUnavailable, "Mesos is shutting down").write(rec)
		return rec, false
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET")
		mesosText(http.StatusMethodNotAllowed, "Expecting one of { 'GET' }, but received '"+r.Method+"'").write(rec)
		return rec, false
	}
	f := s.faults.matchRoute(r.Method, route)
	if f == nil {
		return rec, true
	}
	if f.spec.Delay > 0 && !s.waitSim(r.Context(), f.spec.Delay) {
		return rec, false
	}
	if f.spec.Hang {
		select {
		case <-f.released:
		case <-r.Context().Done():
			return rec, false
		case <-s.closed:
			return rec, false
		}
	}
	if f.spec.Status != 0 {
		msg := f.spec.Message
		if msg == "" && f.spec.Status == http.StatusServiceUnavailable {
			msg = "No leader elected"
		}
		mesosText(f.spec.Status, msg).write(rec)
		return rec, false
	}
	return rec, true
}

func (m *MesosServer) serveMaster(w http.ResponseWriter, r *http.Request) {
	route := RouteMesosUnknown
	switch p := strings.TrimSuffix(r.URL.Path, "/"); p {
	case "/master/slaves":
		route = RouteMesosSlaves
	case "/master/state":
		route = RouteMesosState
	case "/master/tasks":
		route = RouteMesosTasks
	}
	rec, ok := m.begin(w, r, route)
	defer rec.finish()
	if !ok {
		return
	}
	if route != RouteMesosUnknown {
		if err := m.ensureAgents(); err != nil {
			mesosText(http.StatusServiceUnavailable, err.Error()).write(rec)
			return
		}
	}
	var rp mesosReply
	switch route {
	case RouteMesosSlaves:
		rp = m.sim.masterSlaves(r, m.view())
	case RouteMesosState:
		rp = m.sim.masterState(m.view())
	case RouteMesosTasks:
		rp = m.sim.masterTasks(r)
	default:
		rp = mesosReply{status: http.StatusNotFound}
	}
	rp.write(rec)
}

func (m *MesosServer) serveAgent(w http.ResponseWriter, r *http.Request, hostname string) {
	route := RouteMesosUnknown
	switch strings.TrimSuffix(r.URL.Path, "/") {
	case "/state", "/slave(1)/state":
		route = RouteAgentState
	case "/files/read":
		route = RouteAgentFilesRead
	case "/monitor/statistics", "/slave(1)/monitor/statistics":
		route = RouteAgentStatistics
	}
	rec, ok := m.begin(w, r, route)
	defer rec.finish()
	if !ok {
		return
	}
	a := m.sim.agentByHostname(hostname)
	var rp mesosReply
	switch {
	case a == nil:
		rp = mesosText(http.StatusServiceUnavailable, "Agent has been removed")
	case route == RouteAgentState:
		rp = m.sim.agentState(a, m.view())
	case route == RouteAgentFilesRead:
		rp = m.sim.filesRead(r, a)
	case route == RouteAgentStatistics:
		rp = m.sim.agentStatistics(a)
	default:
		rp = mesosReply{status: http.StatusNotFound}
	}
	rp.write(rec)
}

// agentByHostname returns the agent named hostname, or nil.
func (s *Sim) agentByHostname(hostname string) *agent {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, a := range s.agents {
		if a.Hostname == hostname {
			return a
		}
	}
	return nil
}

// matchRoute is match for the Mesos routes: only faults that name the
// route apply.
func (f *faultState) matchRoute(method string, route Route) *requestFault {
	return f.matchWhere(method, func(r Route) bool { return r == route })
}
