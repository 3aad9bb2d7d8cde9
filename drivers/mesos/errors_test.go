package mesos_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"theseus.dev/drivers/marathon/marathonsim"
	"theseus.dev/drivers/mesos"
)

// requireAuth lets through only requests with Mesos's basic credentials.
func requireAuth(principal, secret string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if p, s, ok := r.BasicAuth(); !ok || p != principal || s != secret {
				w.Header().Set("WWW-Authenticate", `Basic realm="mesos"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// TestRetries: reads are retried on 503 (a master without a leader) and
// on a master that cannot be reached, moving to the next master; other
// errors are typed and not retried; a hung master ends at the timeout.
func TestRetries(t *testing.T) {
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + dead.Addr().String()
	dead.Close()
	s := newSimMesos(t, marathonsim.MesosOptions{}, mesos.Config{URLs: []string{deadURL}, Timeout: 5 * time.Second})
	s.createApp(t, webApp)

	f := s.sim.Faults().FailRequests("GET", marathonsim.RouteMesosSlaves, http.StatusServiceUnavailable, 2)
	if agents, err := s.c.Agents(ctx(t)); err != nil || len(agents) != 3 {
		t.Fatalf("agents after two 503s and a dead master: %d, %v", len(agents), err)
	}
	if n := s.sim.RequestCount("GET", marathonsim.RouteMesosSlaves); n != 3 {
		t.Errorf("%d requests of /master/slaves, want 3", n)
	}
	s.sim.Faults().Clear(f)

	s.sim.Faults().FailRequests("GET", marathonsim.RouteMesosState, http.StatusInternalServerError, 1)
	_, err = s.c.State(ctx(t))
	var ae *mesos.APIError
	if !errors.As(err, &ae) || ae.Status != 500 || mesos.IsPermanent(err) {
		t.Errorf("500: %v", err)
	}
	if n := s.sim.RequestCount("GET", marathonsim.RouteMesosState); n != 1 {
		t.Errorf("a 500 was asked %d times", n)
	}

	tk := s.sim.Tasks("/web/dev")[0]
	a := s.agentOf(t, tk)
	hang := s.sim.Faults().HangRequests("GET", marathonsim.RouteAgentStatistics)
	short := must[*mesos.Client](t)(mesos.New(mesos.Config{URLs: []string{s.mesos.URL}, Timeout: 200 * time.Millisecond}))
	start := time.Now()
	if _, err := short.Statistics(context.Background(), a); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("a hung agent: %v after %s", err, time.Since(start))
	}
	s.sim.Faults().Clear(hang)
	if _, err := short.Statistics(context.Background(), mesos.Agent{Hostname: "x", PID: "slave(1)"}); err == nil || !strings.Contains(err.Error(), "no address") {
		t.Errorf("an agent without an address: %v", err)
	}
}

// TestAuth: the principal and secret reach the master and the agents;
// without them the answer is a permanent error, asked once.
func TestAuth(t *testing.T) {
	s := newSimMesos(t, marathonsim.MesosOptions{Wrap: requireAuth("theseus", "s3:cret")}, mesos.Config{Principal: "theseus", Secret: "s3:cret"})
	s.createApp(t, webApp)
	tk := s.sim.Tasks("/web/dev")[0]
	a := s.agentOf(t, tk)
	if _, err := s.c.Statistics(ctx(t), a); err != nil {
		t.Errorf("statistics with credentials: %v", err)
	}
	anon := must[*mesos.Client](t)(mesos.New(mesos.Config{URLs: []string{s.mesos.URL}}))
	before := len(s.sim.Requests())
	_, err := anon.Agents(ctx(t))
	var ae *mesos.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized || !mesos.IsPermanent(err) {
		t.Errorf("without credentials: %v", err)
	}
	if n := len(s.sim.Requests()) - before; n != 0 {
		t.Errorf("%d requests got past the authenticator", n)
	}
}

// TestCredentialsInMasterURL: a principal and secret written into the
// master URL (http://principal:secret@master:5050) reach the agents too,
// as those of --mesos-principal do, and no error quotes the secret.
func TestCredentialsInMasterURL(t *testing.T) {
	s := newSimMesos(t, marathonsim.MesosOptions{Wrap: requireAuth("theseus", "s3:cret")}, mesos.Config{Principal: "theseus", Secret: "s3:cret"})
	s.createApp(t, webApp)
	u := must[*url.URL](t)(url.Parse(s.mesos.URL))
	u.User = url.UserPassword("theseus", "s3:cret")
	c := must[*mesos.Client](t)(mesos.New(mesos.Config{URLs: []string{u.String()}}))
	a, err := c.Agent(ctx(t), s.sim.Tasks("/web/dev")[0].Host)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Statistics(ctx(t), a); err != nil {
		t.Errorf("statistics with the credentials of the master URL: %v", err)
	}
	wrong := *u
	wrong.User = url.UserPassword("theseus", "wrong-s3cret")
	c = must[*mesos.Client](t)(mesos.New(mesos.Config{URLs: []string{wrong.String()}}))
	if _, err := c.Agents(ctx(t)); err == nil || strings.Contains(err.Error(), "wrong-s3cret") {
		t.Errorf("wrong credentials: %v", err)
	}
}

// TestRedirectToLeaderUnderAnotherName: a standby master redirects to
// the leader by its hostname ("//localhost:5050/...") while the masters
// are configured by address; with credentials that redirect is not
// followed, and the leader is asked at its configured address instead.
func TestRedirectToLeaderUnderAnotherName(t *testing.T) {
	slaves := readRecorded(t, "master-slaves/dcosb-1.0.3-agents.json")
	leader := httptest.NewServer(requireAuth("p", "s")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(slaves)
	})))
	t.Cleanup(leader.Close)
	lu := must[*url.URL](t)(url.Parse(leader.URL))
	var redirected atomic.Int32
	standby := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		redirected.Add(1)
		w.Header().Set("Location", "//localhost:"+lu.Port()+r.URL.RequestURI())
		w.WriteHeader(http.StatusTemporaryRedirect)
	}))
	t.Cleanup(standby.Close)
	c := must[*mesos.Client](t)(mesos.New(mesos.Config{URLs: []string{standby.URL, leader.URL}, Principal: "p", Secret: "s"}))
	for range 2 {
		if agents, err := c.Agents(ctx(t)); err != nil || len(agents) != 1 {
			t.Fatalf("agents through a standby that names the leader otherwise: %d, %v", len(agents), err)
		}
	}
	if n := redirected.Load(); n != 1 {
		t.Errorf("the standby was asked %d times; once found, the leader is asked first", n)
	}

	alone := must[*mesos.Client](t)(mesos.New(mesos.Config{URLs: []string{standby.URL}, Principal: "p", Secret: "s"}))
	if _, err := alone.Agents(ctx(t)); err == nil || !mesos.IsPermanent(err) || !strings.Contains(err.Error(), "localhost:"+lu.Port()) {
		t.Errorf("only the standby configured: %v", err)
	}
}

// TestTLSRedirectAndProxy: over TLS with a custom CA, a standby master's
// 307 to the leader ("//host:port/path", as Mesos 1.1+ sends) is followed
// with the credentials; agents are reached at their pid's address with
// the masters' scheme, or through the master's /agent/{id} proxy. A
// certificate that does not verify fails at once.
func TestTLSRedirectAndProxy(t *testing.T) {
	slaves := readRecorded(t, "master-slaves/dcosb-1.0.3-agents.json")
	stats := readRecorded(t, "monitor-statistics/mesos-docs-example.json")
	var leader *httptest.Server
	leader = httptest.NewUnstartedServer(requireAuth("p", "s")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/master/slaves":
			// The recorded agents, with their pid pointing here.
			u, _ := url.Parse(leader.URL)
			_, _ = w.Write([]byte(strings.ReplaceAll(string(slaves), "10.72.154.222:5051", u.Host)))
		case "/monitor/statistics", "/agent/f18fcd65-5c63-4dfb-b233-f289aac416c5-S43/monitor/statistics":
			_, _ = w.Write(stats)
		default:
			http.NotFound(w, r)
		}
	})))
	leader.Config.ErrorLog = log.New(io.Discard, "", 0)
	leader.StartTLS()
	t.Cleanup(leader.Close)
	lu, _ := url.Parse(leader.URL)
	standby := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "//"+lu.Host+r.URL.RequestURI())
		w.WriteHeader(http.StatusTemporaryRedirect)
	}))
	t.Cleanup(standby.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	var certs []byte
	for _, srv := range []*httptest.Server{leader, standby} {
		certs = append(certs, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})...)
	}
	if err := os.WriteFile(ca, certs, 0o600); err != nil {
		t.Fatal(err)
	}

	for _, proxy := range []bool{false, true} {
		// Credentials follow a redirect only to a configured master.
		c := must[*mesos.Client](t)(mesos.New(mesos.Config{URLs: []string{standby.URL, leader.URL}, Principal: "p", Secret: "s", CACert: ca, AgentProxy: proxy}))
		agents := must[[]mesos.Agent](t)(c.Agents(ctx(t)))
		if len(agents) != 1 || agents[0].Addr != lu.Host {
			t.Fatalf("agents %+v", agents)
		}
		a, err := mesos.FindAgent(agents, "f18fcd65-5c63-4dfb-b233-f289aac416c5-S43")
		if err != nil {
			t.Fatal(err)
		}
		if proxy {
			a.Addr = "" // reached through the master, at /agent/{id}
		}
		usage, err := c.Statistics(ctx(t), a)
		if err != nil || len(usage) != 1 || usage[0].Statistics.CPUsLimit != 8.25 {
			t.Errorf("proxy %v: statistics %+v, %v", proxy, usage, err)
		}
	}

	noCA := must[*mesos.Client](t)(mesos.New(mesos.Config{URLs: []string{leader.URL}, Principal: "p", Secret: "s", Timeout: 5 * time.Second}))
	start := time.Now()
	if _, err := noCA.Agents(ctx(t)); err == nil || time.Since(start) > 2*time.Second {
		t.Errorf("an unverified certificate: %v after %s", err, time.Since(start))
	}
	if _, err := mesos.New(mesos.Config{URLs: []string{"127.0.0.1:5050"}}); err == nil {
		t.Error("a master URL without a scheme was taken")
	}
	if _, err := mesos.New(mesos.Config{URLs: []string{"http://m:5050"}, CACert: filepath.Join(t.TempDir(), "none.pem")}); err == nil {
		t.Error("a missing CA file was taken")
	}
}

// TestDecodeErrors: an answer that is not Mesos's JSON is a permanent
// error that names the endpoint, asked once.
func TestDecodeErrors(t *testing.T) {
	for name, body := range map[string]string{
		"html":           "<html>gateway</html>",
		"wrong ports":    `{"slaves":[{"id":"S0","resources":{"ports":"31000-32000"}}]}`,
		"wrong number":   `{"slaves":[{"id":"S0","resources":{"cpus":"four"}}]}`,
		"no id":          `{"slaves":[{"hostname":"a"}]}`,
		"trailing bytes": `{"slaves":[]} {}`,
	} {
		t.Run(name, func(t *testing.T) {
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				_, _ = w.Write([]byte(body))
			}))
			defer srv.Close()
			c := must[*mesos.Client](t)(mesos.New(mesos.Config{URLs: []string{srv.URL}}))
			_, err := c.Agents(ctx(t))
			if err == nil || !mesos.IsPermanent(err) || !strings.Contains(err.Error(), "/master/slaves") || n.Load() != 1 {
				t.Errorf("%v (asked %d times)", err, n.Load())
			}
		})
	}
}

// TestOldStandbyMasterIsPassedOver: a Mesos 0.x master that does not
// lead answers /master/state and /master/slaves with its own, empty view
// rather than a redirect; the driver asks the next master instead of
// reporting a cluster without agents, and with no other master says
// which one leads.
func TestOldStandbyMasterIsPassedOver(t *testing.T) {
	const file = "master-state/dcos-ui-1.2.0-healthy-tasks.json"
	state := readRecorded(t, file)
	raw := obj(generic(t, filepath.Join(recorded, file)))
	slaves, err := json.Marshal(map[string]any{"slaves": raw["slaves"]})
	if err != nil {
		t.Fatal(err)
	}
	leader := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/master/slaves" {
			_, _ = w.Write(slaves)
			return
		}
		_, _ = w.Write(state)
	}))
	t.Cleanup(leader.Close)
	raw["pid"], raw["hostname"] = "master@10.0.4.59:5050", "10.0.4.59"
	raw["slaves"], raw["frameworks"], raw["completed_frameworks"] = []any{}, []any{}, []any{}
	delete(raw, "elected_time")
	own, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	standby := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/master/slaves" {
			_, _ = w.Write([]byte(`{"slaves": []}`))
			return
		}
		_, _ = w.Write(own)
	}))
	t.Cleanup(standby.Close)

	c := must[*mesos.Client](t)(mesos.New(mesos.Config{URLs: []string{standby.URL, leader.URL}, Timeout: 5 * time.Second}))
	st, err := c.State(ctx(t))
	if err != nil || len(st.Agents) != 2 || len(st.Tasks) == 0 {
		t.Fatalf("state through a standby: %+v, %v", st, err)
	}
	// /master/slaves does not name the leader: an empty answer is checked.
	c = must[*mesos.Client](t)(mesos.New(mesos.Config{URLs: []string{standby.URL, leader.URL}, Timeout: 5 * time.Second}))
	if agents, err := c.Agents(ctx(t)); err != nil || len(agents) != 2 {
		t.Fatalf("agents through a standby: %+v, %v", agents, err)
	}

	alone := must[*mesos.Client](t)(mesos.New(mesos.Config{URLs: []string{standby.URL}, Timeout: 300 * time.Millisecond}))
	st, err = alone.State(ctx(t))
	if err == nil || !strings.Contains(err.Error(), "master@10.0.4.58:5050") || !strings.Contains(err.Error(), standby.URL) {
		t.Errorf("only a standby: %+v, %v", st, err)
	}

	// A retry cut short by the timeout does not hide what the attempt
	// before it found: the standby answers once, then not in time.
	var asked atomic.Int32
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if asked.Add(1) > 1 {
			<-r.Context().Done()
			return
		}
		_, _ = w.Write(own)
	}))
	t.Cleanup(slow.Close)
	alone = must[*mesos.Client](t)(mesos.New(mesos.Config{URLs: []string{slow.URL}, Timeout: 2 * time.Second}))
	st, err = alone.State(ctx(t))
	if err == nil || !strings.Contains(err.Error(), "master@10.0.4.58:5050") {
		t.Errorf("only a standby, its second answer too late: %+v, %v; want the error naming the leader", st, err)
	}
}

// TestRedirectWithoutQuery: a Mesos 1.0 standby redirects to the leader
// with the path alone, leaving the query out; the query goes to the
// leader all the same, or a task past the first page of an older
// master's task list is not found.
func TestRedirectWithoutQuery(t *testing.T) {
	leader := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/master/tasks" {
			http.NotFound(w, r)
			return
		}
		// A master before 1.4: no task_id filter, pages of 100 unless
		// asked otherwise, 150 tasks in all.
		limit, offset := 100, 0
		if v := r.URL.Query().Get("limit"); v != "" {
			limit, _ = strconv.Atoi(v)
		}
		if v := r.URL.Query().Get("offset"); v != "" {
			offset, _ = strconv.Atoi(v)
		}
		var tasks []string
		for i := offset; i < min(offset+limit, 150); i++ {
			tasks = append(tasks, fmt.Sprintf(`{"id":"t-%d","name":"web","framework_id":"f","slave_id":"s","state":"TASK_RUNNING"}`, i))
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"tasks":[%s]}`, strings.Join(tasks, ","))
	}))
	t.Cleanup(leader.Close)
	lu, _ := url.Parse(leader.URL)
	standby := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "//"+lu.Host+r.URL.Path)
		w.WriteHeader(http.StatusTemporaryRedirect)
	}))
	t.Cleanup(standby.Close)
	c := must[*mesos.Client](t)(mesos.New(mesos.Config{URLs: []string{standby.URL}}))
	if task, err := c.Task(ctx(t), "t-120"); err != nil || task.ID != "t-120" {
		t.Errorf("a task on the second page, through a 1.0 standby: %+v, %v", task, err)
	}
}
