package marathon_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"theseus.dev/diff"
	"theseus.dev/drivers/marathon"
	"theseus.dev/drivers/marathon/marathonsim"
	"theseus.dev/specs"
)

var generations = []marathonsim.Generation{marathonsim.Gen14, marathonsim.Gen15}

// recorded holds real Marathon bodies of both generations.
const recorded = "../../testdata/marathon"

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// agents can place every example spec: hosts named large-* and db-* for
// their LIKE constraints, four of each for UNIQUE, and a rack attribute
// for GROUP_BY.
func agents() []marathonsim.Agent {
	var out []marathonsim.Agent
	for _, p := range []string{"large", "db", "agent"} {
		for i := 1; i <= 4; i++ {
			out = append(out, marathonsim.Agent{Hostname: fmt.Sprintf("%s-%d", p, i), CPUs: 32, Mem: 128 << 10, Disk: 1 << 20, GPUs: 4,
				Ports:      []marathonsim.PortRange{{Begin: 31000, End: 32999}},
				Attributes: map[string]string{"rack": fmt.Sprintf("rack-%d", i%2+1)}})
		}
	}
	return out
}

// simClient is a simulator on a manual clock behind a real HTTP server,
// and a driver for it.
type simClient struct {
	sim *marathonsim.Sim
	clk *marathonsim.ManualClock
	srv *httptest.Server
	c   *marathon.Client

	mu      sync.Mutex
	arrived []string // "METHOD /path" of every request, as it arrives
}

// arrivals counts the requests that arrived with method and a path
// starting with prefix, answered or not.
func (s *simClient) arrivals(method, prefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.arrived {
		if strings.HasPrefix(r, method+" "+prefix) {
			n++
		}
	}
	return n
}

// newSim starts a simulator of gen; wrap, if set, stands between the
// server and it. cfg's URLs are filled in.
func newSim(t testing.TB, gen marathonsim.Generation, wrap func(http.Handler) http.Handler, cfg marathon.Config) *simClient {
	t.Helper()
	return newSimWith(t, marathonsim.Options{Generation: gen}, wrap, cfg)
}

// newSimWith is newSim with more of the simulator's options: its clock
// and agents are filled in.
func newSimWith(t testing.TB, o marathonsim.Options, wrap func(http.Handler) http.Handler, cfg marathon.Config) *simClient {
	t.Helper()
	clk := marathonsim.NewManualClock(epoch)
	o.Clock, o.Agents = clk, agents()
	sim, err := marathonsim.New(o)
	if err != nil {
		t.Fatal(err)
	}
	s := &simClient{sim: sim, clk: clk}
	var h http.Handler = sim
	if wrap != nil {
		h = wrap(sim)
	}
	inner := h
	h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.arrived = append(s.arrived, r.Method+" "+r.URL.Path)
		s.mu.Unlock()
		inner.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close(); _ = sim.Close() })
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	cfg.URLs = append(cfg.URLs, srv.URL)
	c, err := marathon.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.srv, s.c = srv, c
	return s
}

// settle runs simulated time until no deployment is left.
func (s *simClient) settle(t testing.TB) {
	t.Helper()
	if err := s.sim.RunUntil(func() bool { return len(s.sim.Deployments()) == 0 }, 5*time.Second, time.Hour); err != nil {
		t.Fatalf("deployments did not finish: %v", err)
	}
}

// raw returns the app as Marathon answers GET /v2/apps/{id}, as generic
// JSON.
func (s *simClient) raw(t testing.TB, id string) map[string]any {
	t.Helper()
	rec := httptest.NewRecorder()
	s.sim.ServeHTTP(rec, httptest.NewRequest("GET", "/v2/apps"+id, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", id, rec.Code, rec.Body)
	}
	var out struct {
		App map[string]any `json:"app"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	return out.App
}

func write(t testing.TB, g *specs.Group, rev int64) marathon.Write {
	t.Helper()
	d, err := diff.NewDesired(g, rev)
	if err != nil {
		t.Fatal(err)
	}
	return marathon.Write{Key: d.Key, Spec: d.Spec, Hash: d.Hash, Revision: rev}
}

// diffApp maps a driver App onto the diff's view of it, field for field.
func diffApp(a marathon.App) *diff.App {
	return &diff.App{ID: a.ID, Key: a.Key, Managed: a.Managed, Protected: a.Protected, SpecHash: a.SpecHash,
		Revision: a.Revision, Version: a.Version, Deployments: a.Deployments, Spec: a.Spec, SecretEnv: a.SecretEnv,
		DefaultRole: a.DefaultRole}
}

const webSpec = `apiVersion: theseus/v1
kind: Group
metadata: {service: web, labels: [dev]}
spec:
  image: nginx:1.27
  instances: 2
  cpus: 0.1
  mem: 64
  cmd: "nginx -g 'daemon off;'"
  env: {A: "1", B: "2", TOKEN: {value: s3cret, secret: true}}
  ports: [{name: http, containerPort: 80}]
  constraints: [[hostname, UNIQUE]]
  healthChecks: [{protocol: HTTP, portName: http, path: /healthz}]
`

func parse(t testing.TB, doc string) *specs.Group {
	t.Helper()
	gs, err := specs.ParseAndValidate("web.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return gs[0]
}

func taskIDs(a marathon.App) []string {
	var ids []string
	for _, t := range a.Tasks {
		ids = append(ids, t.ID)
	}
	return ids
}

// waitGoroutines waits, boundedly, for the number of goroutines to fall
// to at most n; the runtime needs a moment to retire finished ones.
func waitGoroutines(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, want at most %d:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond) // polling, bounded above; nothing to wait on
	}
}
