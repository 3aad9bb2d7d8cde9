package mesos_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"theseus.dev/drivers/marathon/marathonsim"
	"theseus.dev/drivers/mesos"
)

// recorded holds real Mesos bodies; the tests fail, not skip, without
// them.
const recorded = "../../testdata/mesos"

func readRecorded(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(recorded, name))
	if err != nil {
		t.Fatalf("recorded Mesos body: %v", err)
	}
	return data
}

func globRecorded(t testing.TB, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(recorded, pattern))
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded Mesos bodies %s in %s: %v", pattern, recorded, err)
	}
	return files
}

var epoch = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// simMesos is a simulated Marathon on a manual clock with its Mesos
// master and agents served, and a driver for them.
type simMesos struct {
	sim      *marathonsim.Sim
	clk      *marathonsim.ManualClock
	marathon string // the Marathon API's URL
	mesos    *marathonsim.MesosServer
	c        *mesos.Client
}

func newSimMesos(t testing.TB, opts marathonsim.MesosOptions, cfg mesos.Config) *simMesos {
	t.Helper()
	clk := marathonsim.NewManualClock(epoch)
	agents := marathonsim.UniformAgents(3, 8, 16384, marathonsim.PortRange{Begin: 31000, End: 31999})
	sim, err := marathonsim.New(marathonsim.Options{Clock: clk, Agents: agents})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	ms, err := sim.ListenMesos("127.0.0.1:0", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ms.Close(); srv.CloseClientConnections(); srv.Close(); _ = sim.Close() })
	cfg.URLs = append(cfg.URLs, ms.URL)
	c, err := mesos.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &simMesos{sim: sim, clk: clk, marathon: srv.URL, mesos: ms, c: c}
}

// webApp is a Marathon app of two bridged nginx tasks.
const webApp = `{"id":"/web/dev","instances":2,"cpus":0.1,"mem":64,
 "container":{"type":"DOCKER","docker":{"image":"nginx:1.27"},"portMappings":[{"containerPort":80,"hostPort":0,"name":"http"}]},
 "networks":[{"mode":"container/bridge"}],"labels":{"theseus.io/managed":"true","theseus.io/group":"web/dev"}}`

// createApp posts an app to the simulated Marathon and lets it run.
func (s *simMesos) createApp(t testing.TB, app string) {
	t.Helper()
	resp, err := http.Post(s.marathon+"/v2/apps", "application/json", bytes.NewReader([]byte(app)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create app: %s", resp.Status)
	}
	s.clk.Advance(10 * time.Second)
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// agentOf returns the agent a simulated task runs on.
func (s *simMesos) agentOf(t testing.TB, task marathonsim.TaskState) mesos.Agent {
	t.Helper()
	a, err := s.c.Agent(ctx(t), task.AgentID)
	if err != nil {
		t.Fatal(err)
	}
	if a.Hostname != task.Host {
		t.Fatalf("agent %s is %s, Marathon says %s", task.AgentID, a.Hostname, task.Host)
	}
	return a
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func approx(a, b float64) bool { return a-b < 1e-6 && b-a < 1e-6 }

func describe(v any) string { return fmt.Sprintf("%+v", v) }
