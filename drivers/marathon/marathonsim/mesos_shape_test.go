package marathonsim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The simulated Mesos against Mesos's own bodies (testdata/mesos): every
// key a recorded body has, the simulator writes too, with a value of the
// same JSON type, at every level. Keys a 1.10 master no longer writes, or
// writes only in states the simulator does not model, are listed with
// the reason.

// mesosAbsent are the recorded keys the simulator leaves out.
var mesosAbsent = map[string]string{
	".slaves[].reregistered_time":                          "only after an agent registers again",
	".frameworks[].tasks[].statuses[].healthy":             "Mesos health checks; Marathon's are its own",
	".frameworks[].reregistered_time":                      "only after the framework registers again",
	".frameworks[].principal":                              "the simulated Marathon has no principal",
	".frameworks[].labels":                                 "the simulated Marathon sets none",
	".frameworks[].executors[]":                            "Marathon's tasks run under the command executor, which the master does not list",
	".frameworks[].tasks[].discovery.ports.ports[].labels": "only ports with labels (VIPs) have them",
	".slaves[].offered_resources_full[]":                   "the simulator has no outstanding offers",
	".frameworks[].executors[].tasks[].statuses[].container_status.network_infos[].ip_address": "before 1.0; ip_addresses since",
	"[].container_id":         "only /containers writes it; /monitor/statistics does not",
	".external_log_file":      "a master flag the simulator does not set",
	".cluster":                "a master flag the simulator does not set",
	".log_dir":                "a master flag the simulator does not set",
	".completed_frameworks[]": "Marathon never unregisters",
}

// mesosMaps hold data-keyed objects: only that they are objects counts.
var mesosMaps = []string{"attributes", "flags", "reserved_resources", "reserved_resources_full", "used_resources", "offered_resources",
	"resources", "unreserved_resources", "labels", "leader_info"}

// checkMesosShape compares the sim's value with the recorded one at path.
func checkMesosShape(t *testing.T, path string, rec, sim any) {
	t.Helper()
	if _, ok := mesosAbsent[path]; ok {
		return
	}
	if rec == nil {
		return // recorded null: anything goes
	}
	rt, st := jsonType(rec), jsonType(sim)
	if rt != st {
		t.Errorf("%s: the simulator writes a %s, Mesos a %s", path, st, rt)
		return
	}
	for _, m := range mesosMaps {
		if strings.HasSuffix(path, "."+m) {
			return
		}
	}
	switch r := rec.(type) {
	case map[string]any:
		s := sim.(map[string]any)
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range r {
				if !yield(k) {
					return
				}
			}
		}) {
			p := path + "." + k
			sv, ok := s[k]
			if !ok {
				if _, absent := mesosAbsent[p]; !absent {
					t.Errorf("%s: Mesos writes it, the simulator does not", p)
				}
				continue
			}
			checkMesosShape(t, p, r[k], sv)
		}
	case []any:
		s := sim.([]any)
		if len(r) > 0 && len(s) == 0 {
			if _, absent := mesosAbsent[path+"[]"]; !absent {
				t.Errorf("%s: empty in the simulator", path)
			}
			return
		}
		// Each recorded element against what the simulator's elements
		// write between them (a key only some tasks have, such as labels).
		union := mergeShapes(s)
		for _, re := range r {
			checkMesosShape(t, path+"[]", re, union)
		}
	}
}

// mergeShapes folds values into one with every key any of them has.
func mergeShapes(vs []any) any {
	var out any
	for _, v := range vs {
		out = mergeShape(out, v)
	}
	return out
}

func mergeShape(a, b any) any {
	ma, okA := a.(map[string]any)
	mb, okB := b.(map[string]any)
	switch {
	case a == nil:
		return b
	case okA && okB:
		out := map[string]any{}
		for k, v := range ma {
			out[k] = v
		}
		for k, v := range mb {
			out[k] = mergeShape(out[k], v)
		}
		return out
	}
	aa, okA := a.([]any)
	ab, okB := b.([]any)
	if okA && okB {
		return append(slices.Clone(aa), ab...)
	}
	return a
}

func mesosRecorded(t *testing.T, rel string) any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(filepath.Dir(refDir(t)), "mesos", rel))
	if err != nil {
		t.Fatalf("recorded Mesos body: %v", err)
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// mesosFixture runs a simulator with a bridged app and a host-networked
// one, a failed task and the Mesos servers.
func mesosFixture(t *testing.T) (*Sim, *ManualClock, *MesosServer) {
	t.Helper()
	clk := NewManualClock(time.Time{})
	s, err := New(Options{Clock: clk, Seed: 1, Agents: UniformAgents(3, 8, 16384, PortRange{31000, 31999})})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := s.ListenMesos("127.0.0.1:0", MesosOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ms.Close(); _ = s.Close() })
	for _, app := range []string{
		`{"id":"/web/dev","instances":3,"cpus":0.1,"mem":64,"labels":{"team":"web"},
		  "container":{"type":"DOCKER","docker":{"image":"nginx:1.27"},"portMappings":[{"containerPort":80,"hostPort":0,"name":"http"}]},
		  "networks":[{"mode":"container/bridge"}]}`,
		`{"id":"/jobs/worker","instances":1,"cpus":0.5,"mem":128,"cmd":"sleep 1000","portDefinitions":[{"port":0,"name":"admin"}]}`,
	} {
		req := httptest.NewRequest("POST", "/v2/apps", strings.NewReader(app))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			t.Fatalf("create: %d %s", rec.Code, rec.Body)
		}
	}
	clk.Advance(20 * time.Second)
	if err := s.FailTask(s.Tasks("/web/dev")[0].ID, "out of memory"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Second)
	return s, clk, ms
}

func mesosGet(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

func mesosGetJSON(t *testing.T, url string) any {
	t.Helper()
	code, body := mesosGet(t, url)
	var v any
	if code != http.StatusOK || json.Unmarshal(body, &v) != nil {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	return v
}

// TestMesosShapes compares each endpoint with the newest recorded body
// of its kind.
func TestMesosShapes(t *testing.T) {
	s, _, ms := mesosFixture(t)
	task := s.Tasks("/jobs/worker")[0]
	agent := ms.AgentURL(task.Host)
	for _, tc := range []struct{ rel, url string }{
		{"master-slaves/dcosb-1.0.3-agents.json", ms.URL + "/master/slaves"},
		{"master-state/dcos-ui-1.2.0-healthy-tasks.json", ms.URL + "/master/state"},
		{"master-state/mesos-docs-example-1.4.json", ms.URL + "/master/state"},
		{"agent-state/dcos-ui-0.27.0.json", agent + "/slave(1)/state"},
		{"monitor-statistics/mesos-docs-example.json", agent + "/monitor/statistics"},
		{"other/containers-dcos-metrics-cgroups.json", agent + "/monitor/statistics"},
	} {
		t.Run(tc.rel, func(t *testing.T) {
			checkMesosShape(t, "", mesosRecorded(t, tc.rel), mesosGetJSON(t, tc.url))
		})
	}
}
