package marathonsim

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

// threeAgents: a1 and a2 on rack r1, a3 on rack r2; 4 CPUs each.
func threeAgents(o *Options) {
	o.Agents = []Agent{
		{Hostname: "a1", CPUs: 4, Mem: 4096, Disk: 10000, Attributes: map[string]string{"rack": "r1", "tier": "large-1"}},
		{Hostname: "a2", CPUs: 4, Mem: 4096, Disk: 10000, Attributes: map[string]string{"rack": "r1", "tier": "small-1"}},
		{Hostname: "a3", CPUs: 4, Mem: 4096, Disk: 10000, Attributes: map[string]string{"rack": "r2", "tier": "large-2"}},
	}
}

func hostsOf(ts []TaskState) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Host)
	}
	slices.Sort(out)
	return out
}

// TestConstraintPlacement places tasks under each operator and checks
// where they land; what cannot be placed waits and holds the deployment.
func TestConstraintPlacement(t *testing.T) {
	tests := []struct {
		name        string
		gen         Generation
		constraints [][]string
		instances   int
		wantHosts   []string // sorted hosts of the placed tasks
		wantQueued  int
	}{
		{"UNIQUE hostname", Gen15, [][]string{{"hostname", "UNIQUE"}}, 3, []string{"a1", "a2", "a3"}, 0},
		{"UNIQUE hostname, one too many", Gen15, [][]string{{"hostname", "UNIQUE"}}, 4, []string{"a1", "a2", "a3"}, 1},
		{"CLUSTER rack", Gen15, [][]string{{"rack", "CLUSTER", "r2"}}, 2, []string{"a3", "a3"}, 0},
		{"LIKE tier", Gen15, [][]string{{"tier", "LIKE", "large-.*"}}, 2, []string{"a1", "a3"}, 0},
		{"UNLIKE hostname", Gen15, [][]string{{"hostname", "UNLIKE", "a[12]"}}, 2, []string{"a3", "a3"}, 0},
		{"MAX_PER rack", Gen15, [][]string{{"rack", "MAX_PER", "1"}}, 3, []string{"a1", "a3"}, 1},
		{"IS rack", Gen15, [][]string{{"rack", "IS", "r1"}}, 2, []string{"a1", "a2"}, 0},
		{"GROUP_BY hostname", Gen15, [][]string{{"hostname", "GROUP_BY"}}, 6, []string{"a1", "a1", "a2", "a2", "a3", "a3"}, 0},
		// Balanced over racks: r1, r2, then r1 again (a third task on r2
		// would unbalance them, and UNIQUE keeps a3 to one).
		{"GROUP_BY rack", Gen15, [][]string{{"rack", "GROUP_BY"}, {"hostname", "UNIQUE"}}, 3, []string{"a1", "a2", "a3"}, 0},
		{"lower-case operator 1.5", Gen15, [][]string{{"hostname", "unique"}}, 3, []string{"a1", "a2", "a3"}, 0},
		{"missing attribute", Gen15, [][]string{{"gpu", "CLUSTER", "yes"}}, 1, nil, 1},
		{"UNIQUE hostname 1.4", Gen14, [][]string{{"hostname", "UNIQUE"}}, 4, []string{"a1", "a2", "a3"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.gen, threeAgents)
			app := dockerApp("/c", "web:1", tt.instances)
			app["constraints"] = tt.constraints
			h.must(http.StatusCreated, "POST", "/v2/apps", app)
			h.advance(time.Minute)
			if got := hostsOf(h.sim.Tasks("/c")); !slices.Equal(got, tt.wantHosts) {
				t.Errorf("hosts %v, want %v", got, tt.wantHosts)
			}
			a := h.app("/c")
			if a.Queued != tt.wantQueued {
				t.Errorf("queued %d, want %d", a.Queued, tt.wantQueued)
			}
			if waiting := tt.wantQueued > 0; waiting == h.settled() {
				t.Errorf("deployment finished = %v with %d waiting", h.settled(), tt.wantQueued)
			}
		})
	}
}

// TestWaitingPlacementResumes: an instance that fits nowhere waits in the
// queue (GET /v2/queue shows it) until an agent that fits is added.
func TestWaitingPlacementResumes(t *testing.T) {
	h := newHarness(t, Gen15, threeAgents)
	app := dockerApp("/big", "web:1", 4)
	app["cpus"] = 3
	h.must(http.StatusCreated, "POST", "/v2/apps", app)
	h.advance(time.Hour)
	if a := h.app("/big"); a.TasksRunning != 3 || a.Queued != 1 || a.Deployment == "" {
		t.Fatalf("app %+v", a)
	}
	q := h.must(http.StatusOK, "GET", "/v2/queue", nil).obj(t)["queue"].([]any)
	if len(q) != 1 || q[0].(map[string]any)["count"] != jsonNumber(1) {
		t.Fatalf("queue %v", q)
	}
	if err := h.sim.AddAgent(Agent{Hostname: "a4", CPUs: 8, Mem: 8192, Disk: 10000}); err != nil {
		t.Fatal(err)
	}
	h.until("placed", time.Minute, h.settled)
	if a := h.app("/big"); a.TasksRunning != 4 {
		t.Fatalf("app %+v", a)
	}
}

// TestHostPorts: dynamic host ports come from the agent's range, fixed
// ones are honoured, and a fixed port can only be used once per agent.
func TestHostPorts(t *testing.T) {
	h := newHarness(t, Gen15, func(o *Options) {
		o.Agents = []Agent{{Hostname: "p1", CPUs: 8, Mem: 8192, Disk: 1000, Ports: []PortRange{{31000, 31002}}}}
	})
	h.create(map[string]any{"id": "/dyn", "cmd": "sleep 1", "cpus": 0.1, "mem": 16, "instances": 2,
		"portDefinitions": []any{map[string]any{"port": 0}}})
	for _, tk := range h.sim.Tasks("/dyn") {
		if len(tk.Ports) != 1 || tk.Ports[0] < 31000 || tk.Ports[0] > 31002 {
			t.Fatalf("task ports %v", tk.Ports)
		}
	}
	fixed := map[string]any{"id": "/fixed", "cpus": 0.1, "mem": 16, "instances": 2,
		"container": map[string]any{"docker": map[string]any{"image": "x", "network": "BRIDGE",
			"portMappings": []any{map[string]any{"containerPort": 80, "hostPort": 31002}}}}}
	h.must(http.StatusCreated, "POST", "/v2/apps", fixed)
	h.advance(time.Minute)
	ts := h.sim.Tasks("/fixed")
	if len(ts) != 1 || ts[0].Ports[0] != 31002 || h.app("/fixed").Queued != 1 {
		t.Fatalf("fixed-port tasks %+v queued %d", ts, h.app("/fixed").Queued)
	}
}
