package marathon_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"theseus.dev/diff"
	"theseus.dev/drivers/marathon"
	"theseus.dev/drivers/marathon/marathonsim"
	"theseus.dev/specs"
)

var generations = []marathonsim.Generation{marathonsim.Gen14, marathonsim.Gen15}

// agents can place every example spec: hosts named large-* and db-* for
// their LIKE constraints, three of each for UNIQUE.
func agents() []marathonsim.Agent {
	var out []marathonsim.Agent
	for _, p := range []string{"large", "db", "agent"} {
		for i := 1; i <= 4; i++ {
			out = append(out, marathonsim.Agent{Hostname: fmt.Sprintf("%s-%d", p, i), CPUs: 32, Mem: 128 << 10, Disk: 1 << 20,
				Ports: []marathonsim.PortRange{{Begin: 31000, End: 32999}}, Attributes: map[string]string{"rack": fmt.Sprintf("rack-%d", i%2+1)}})
		}
	}
	return out
}

// simClient is a simulator on a manual clock behind a real HTTP server,
// and a driver for it.
type simClient struct {
	sim *marathonsim.Sim
	clk *marathonsim.ManualClock
	c   *marathon.Client
	url string
}

func newSim(t testing.TB, gen marathonsim.Generation, wrap func(http.Handler) http.Handler) *simClient {
	t.Helper()
	clk := marathonsim.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	sim, err := marathonsim.New(marathonsim.Options{Generation: gen, Clock: clk, Agents: agents()})
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = sim
	if wrap != nil {
		h = wrap(sim)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { _ = sim.Close(); srv.CloseClientConnections(); srv.Close() })
	c, err := marathon.New(marathon.Config{URLs: []string{srv.URL}, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return &simClient{sim: sim, clk: clk, c: c, url: srv.URL}
}

// settle runs simulated time until no deployment is left.
func (s *simClient) settle(t testing.TB) {
	t.Helper()
	if err := s.sim.RunUntil(func() bool { return len(s.sim.Deployments()) == 0 }, 5*time.Second, time.Hour); err != nil {
		t.Fatalf("deployments did not finish: %v", err)
	}
}

func write(t testing.TB, g *specs.Group, rev int64) marathon.Write {
	t.Helper()
	d, err := diff.NewDesired(g, rev)
	if err != nil {
		t.Fatal(err)
	}
	return marathon.Write{Key: d.Key, Spec: d.Spec, Hash: d.Hash, Revision: rev}
}

func diffApp(a marathon.App) *diff.App {
	return &diff.App{ID: a.ID, Key: a.Key, Managed: a.Managed, Protected: a.Protected, SpecHash: a.SpecHash,
		Revision: a.Revision, Version: a.Version, Deployments: a.Deployments, Spec: a.Spec, SecretEnv: a.SecretEnv}
}

// TestRoundTrip: every example spec, created through the driver and read
// back from the simulator in either generation, plans to nothing.
func TestRoundTrip(t *testing.T) {
	groups, err := specs.LoadPath("../../testdata/specs")
	if err != nil {
		t.Fatal(err)
	}
	for _, gen := range generations {
		t.Run(gen.String(), func(t *testing.T) {
			s := newSim(t, gen, nil)
			ctx := t.Context()
			for _, g := range groups {
				if _, err := s.c.Create(ctx, write(t, g, 7)); err != nil {
					t.Fatalf("create %s: %v", g.Metadata.Service, err)
				}
			}
			s.settle(t)
			apps, err := s.c.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(apps) != len(groups) {
				t.Fatalf("%d apps listed, want %d", len(apps), len(groups))
			}
			for _, g := range groups {
				d, _ := diff.NewDesired(g, 7)
				i := slices.IndexFunc(apps, func(a marathon.App) bool { return a.Key == d.Key })
				if i < 0 {
					t.Fatalf("%s not listed", d.Key)
				}
				a := apps[i]
				if !a.Managed || a.SpecHash != d.Hash || a.Revision != 7 || a.Counts.Running != *d.Spec.Instances {
					t.Errorf("%s: managed %v hash %q rev %d running %d", d.Key, a.Managed, a.SpecHash, a.Revision, a.Counts.Running)
				}
				if act, ok := diff.Group(&d, diffApp(a), diff.Options{}); ok {
					t.Errorf("%s: plan after create: %s %+v", d.Key, act.Kind, act.Changes)
				}
				got, err := s.c.Get(ctx, d.Key)
				if err != nil || got.Version != a.Version || len(got.Tasks) != len(a.Tasks) {
					t.Errorf("%s: Get = %+v, %v", d.Key, got, err)
				}
			}
		})
	}
}

const webSpec = `apiVersion: theseus/v1
kind: Group
metadata: {service: web, labels: [dev]}
spec:
  image: nginx:1.27
  instances: 2
  cpus: 0.1
  mem: 64
  env: {A: "1", B: "2", TOKEN: {value: s3cret, secret: true}}
  ports: [{name: http, containerPort: 80}]
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

// TestUpdateRemovesFields: an env var and a health check removed from the
// spec are gone after the update; a scale keeps the running tasks.
func TestUpdateRemovesFields(t *testing.T) {
	for _, gen := range generations {
		t.Run(gen.String(), func(t *testing.T) {
			s := newSim(t, gen, nil)
			ctx := t.Context()
			g := parse(t, webSpec)
			if _, err := s.c.Create(ctx, write(t, g, 1)); err != nil {
				t.Fatal(err)
			}
			s.settle(t)
			a, _ := s.c.Get(ctx, write(t, g, 1).Key)
			if !slices.Equal(a.SecretEnv, []string{"TOKEN"}) || len(a.Tasks) != 2 || a.Tasks[0].Mappings[0].ContainerPort != 80 {
				t.Fatalf("created app: %+v", a)
			}

			before := taskIDs(a)
			if _, err := s.c.Scale(ctx, a.Key, 3); err != nil {
				t.Fatal(err)
			}
			s.settle(t)
			a, _ = s.c.Get(ctx, a.Key)
			for _, id := range before {
				if !slices.Contains(taskIDs(a), id) {
					t.Errorf("scale replaced task %s", id)
				}
			}

			g2 := parse(t, webSpec)
			delete(g2.Spec.Env, "B")
			g2.Spec.HealthChecks = nil
			w := write(t, g2, 2)
			if _, err := s.c.Update(ctx, w); err != nil {
				t.Fatal(err)
			}
			s.settle(t)
			a, _ = s.c.Get(ctx, w.Key)
			if _, ok := a.Spec.Env["B"]; ok || len(a.Spec.HealthChecks) != 0 {
				t.Errorf("removed fields survived: env %v, health checks %v", a.Spec.Env, a.Spec.HealthChecks)
			}
			d, _ := diff.NewDesired(g2, 2)
			if act, ok := diff.Group(&d, diffApp(a), diff.Options{}); ok {
				t.Errorf("plan after update: %s %+v", act.Kind, act.Changes)
			}
		})
	}
}

func taskIDs(a marathon.App) []string {
	var ids []string
	for _, t := range a.Tasks {
		ids = append(ids, t.ID)
	}
	return ids
}

// TestErrors: Marathon's error answers become the driver's errors.
func TestErrors(t *testing.T) {
	s := newSim(t, marathonsim.Gen15, nil)
	ctx := t.Context()
	missing, _ := specs.NewGroupKey("nope", []string{"dev"})
	if _, err := s.c.Get(ctx, missing); !errors.Is(err, marathon.ErrNotFound) {
		t.Errorf("Get of an absent app: %v, want ErrNotFound", err)
	}
	if _, err := s.c.Delete(ctx, missing); !errors.Is(err, marathon.ErrNotFound) {
		t.Errorf("Delete of an absent app: %v, want ErrNotFound", err)
	}

	g := parse(t, webSpec)
	s.sim.Faults().NeverHealthyImage("nginx:1.27")
	if _, err := s.c.Create(ctx, write(t, g, 1)); err != nil {
		t.Fatal(err)
	}
	var locked *marathon.LockedError
	if _, err := s.c.Update(ctx, write(t, parse(t, webSpec), 2)); !errors.As(err, &locked) || len(locked.Deployments) != 1 {
		t.Errorf("update of an app being deployed: %v, want a LockedError with its deployment", err)
	}

	bad := write(t, parse(t, webSpec), 3)
	two := 2.0
	bad.Spec.Upgrade.MinimumHealthCapacity = &two
	bad.Key, _ = specs.NewGroupKey("bad", []string{"dev"})
	_, err := s.c.Create(ctx, bad)
	if !marathon.IsPermanent(err) || !containsAll(err.Error(), "422", "minimumHealthCapacity") {
		t.Errorf("invalid definition: %v, want a permanent 422 naming the field", err)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

// TestRetriesAndUnknownOutcome: reads are retried through 502s; a write
// that gets no answer is sent once and reported as of unknown outcome.
func TestRetriesAndUnknownOutcome(t *testing.T) {
	s := newSim(t, marathonsim.Gen15, nil)
	ctx := t.Context()
	s.sim.Faults().FailRequests("GET", marathonsim.RouteApps, http.StatusBadGateway, 3)
	if _, err := s.c.List(ctx); err != nil {
		t.Fatalf("List through three 502s: %v", err)
	}
	if n := s.sim.RequestCount("GET", marathonsim.RouteApps); n != 4 {
		t.Errorf("%d list requests, want 4", n)
	}

	s.sim.Faults().HangRequests("POST", marathonsim.RouteApps)
	c, err := marathon.New(marathon.Config{URLs: []string{s.url}, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Create(ctx, write(t, parse(t, webSpec), 1))
	var unknown *marathon.UnknownOutcomeError
	if !errors.As(err, &unknown) {
		t.Fatalf("hung create: %v, want UnknownOutcomeError", err)
	}
	if n := s.sim.RequestCount("POST", marathonsim.RouteApps); n > 1 {
		t.Errorf("the create was sent %d times", n)
	}
}

// TestEvents: the stream delivers a resync on attach, events for apps, and
// after a drop a new resync; it ends with its context.
func TestEvents(t *testing.T) {
	s := newSim(t, marathonsim.Gen15, nil)
	ctx, cancel := context.WithCancel(t.Context())
	events := make(chan marathon.Event, 1000)
	done := make(chan error, 1)
	go func() { done <- s.c.Events(ctx, func(e marathon.Event) { events <- e }) }()
	next := func(want func(marathon.Event) bool, what string) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case e := <-events:
				if want(e) {
					return
				}
			case <-timeout:
				t.Fatalf("no %s", what)
			}
		}
	}
	next(func(e marathon.Event) bool { return e.Type == marathon.EventResync }, "resync on attach")
	g := parse(t, webSpec)
	w := write(t, g, 1)
	if _, err := s.c.Create(t.Context(), w); err != nil {
		t.Fatal(err)
	}
	s.settle(t)
	next(func(e marathon.Event) bool { return e.KeyOK && e.Key == w.Key && e.TaskStatus == "TASK_RUNNING" }, "task event")
	s.sim.Faults().DropEventStreams(0)
	next(func(e marathon.Event) bool { return e.Type == marathon.EventResync }, "resync after the drop")
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Events returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Events did not end with its context")
	}
}

// BenchmarkList10k lists 10,000 apps with 50,000 tasks from the simulator
// over HTTP: one call, decoded.
func BenchmarkList10k(b *testing.B) {
	clk := marathonsim.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	sim, err := marathonsim.New(marathonsim.Options{Clock: clk,
		Agents: marathonsim.UniformAgents(50, 128, 512*1024, marathonsim.PortRange{Begin: 31000, End: 32999})})
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	for i := range 10000 {
		body := fmt.Sprintf(`{"id":"/svc-%d/dev","container":{"type":"DOCKER","docker":{"image":"nginx:1.27"}},"instances":5,"cpus":0.1,"mem":64,`+
			`"labels":{"theseus.io/managed":"true","theseus.io/group":"svc-%d/dev"},"env":{"LOG_LEVEL":"info"}}`, i, i)
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, httptest.NewRequest("POST", "/v2/apps", strings.NewReader(body)))
		if rec.Code != http.StatusCreated {
			b.Fatalf("create %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	clk.Advance(time.Minute)
	srv := httptest.NewServer(sim)
	defer srv.Close()
	c, err := marathon.New(marathon.Config{URLs: []string{srv.URL}, Timeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		apps, err := c.List(b.Context())
		if err != nil || len(apps) != 10000 {
			b.Fatalf("%d apps, %v", len(apps), err)
		}
	}
}
