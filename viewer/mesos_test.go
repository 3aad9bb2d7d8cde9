package viewer_test

import (
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"theseus.dev/drivers/marathon/marathonsim"
	"theseus.dev/drivers/mesos"
	"theseus.dev/viewer"
	"theseus.dev/viewer/viewertest"
)

// TestAgents: the agents document counts, per agent, the tasks of each
// group Marathon placed there and the resources they use.
func TestAgents(t *testing.T) {
	f := viewertest.Start(t)
	f.Populate(t)
	l, err := viewer.LoadAgents(t.Context(), f.Mesos(t))
	if err != nil {
		t.Fatal(err)
	}
	sim := f.Sim.Agents()
	if len(l.Items) != len(sim) || l.Kind != viewer.KindAgentList {
		t.Fatalf("%d agents, the simulator has %d", len(l.Items), len(sim))
	}
	perGroup := map[string]int{}
	for i, a := range l.Items {
		s := sim[i]
		if a.Hostname != s.Hostname || a.CPUs.Used != s.UsedCPUs || a.Mem.Used != s.UsedMem || a.CPUs.Total != s.CPUs || a.Tasks != s.Tasks ||
			a.Attributes["rack"] != s.Attributes["rack"] || !a.Active {
			t.Errorf("agent %+v, simulator %+v", a, s)
		}
		n := a.Other
		for _, g := range a.Groups {
			perGroup[g.Key] += g.Tasks
			n += g.Tasks
		}
		if n != a.Tasks {
			t.Errorf("%s: groups and others count %d of %d tasks", a.Hostname, n, a.Tasks)
		}
	}
	for _, app := range f.Sim.Apps() {
		if key := app.Labels["theseus.io/group"]; key != "" && perGroup[key] != len(f.Sim.Tasks(app.ID)) {
			t.Errorf("%s: %d tasks on the agents, Marathon runs %d", key, perGroup[key], len(f.Sim.Tasks(app.ID)))
		}
	}
}

// TestMesosPages: the agents page and API, the group page's usage
// section with a link to each container's logs, and the log page and
// API: the last lines, then what follows an offset; a failed task's
// stderr says why it failed; a task of another group is refused.
func TestMesosPages(t *testing.T) {
	f := viewertest.Start(t)
	now := f.Populate(t)
	v := newViewer(t, f, viewer.Config{Now: func() time.Time { return now }, Mesos: f.Mesos(t)})
	h := v.Handler()

	res := get(t, h, "GET", "/api/v1/agents", nil)
	var l viewer.AgentList
	if res.StatusCode != http.StatusOK || json.Unmarshal([]byte(body(t, res)), &l) != nil || len(l.Items) == 0 || res.Header.Get("ETag") == "" {
		t.Fatalf("/api/v1/agents: %s", res.Status)
	}
	page := body(t, get(t, h, "GET", "/agents", nil))
	for _, a := range l.Items {
		if !strings.Contains(page, `data-hostname="`+a.Hostname+`"`) {
			t.Errorf("the agents page lacks %s", a.Hostname)
		}
	}
	if !strings.Contains(page, `href="/groups/haproxy/dev"`) || !strings.Contains(page, `data-api="/api/v1/agents"`) {
		t.Errorf("agents page:\n%s", page)
	}

	res = get(t, h, "GET", "/groups/haproxy/dev", nil)
	group := body(t, res)
	tasks := f.Sim.Tasks("/haproxy/dev")
	for _, tk := range tasks {
		link := "/groups/haproxy/dev/logs/" + tk.ID
		if !strings.Contains(group, `href="`+link+`"`) || !strings.Contains(group, `href="`+link+`?stream=stderr"`) {
			t.Errorf("the group page has no logs links of %s", tk.ID)
		}
	}
	if !strings.Contains(group, `id="usage"`) || !strings.Contains(group, "of asked") && !strings.Contains(group, "OF ASKED") {
		t.Errorf("no usage section:\n%s", group)
	}

	api := "/api/v1/groups/haproxy/dev/logs/" + tasks[0].ID
	var first viewer.LogLines
	if res := get(t, h, "GET", api, nil); res.StatusCode != http.StatusOK || json.Unmarshal([]byte(body(t, res)), &first) != nil ||
		len(first.Lines) == 0 || first.Offset <= 0 || first.Host != tasks[0].Host {
		t.Fatalf("log API: %s %+v", res.Status, first)
	}
	f.Clock.Advance(30 * time.Second)
	var next viewer.LogLines
	res = get(t, h, "GET", api+"?offset="+itoa(first.Offset), nil)
	if json.Unmarshal([]byte(body(t, res)), &next) != nil || len(next.Lines) < 5 || next.Offset <= first.Offset {
		t.Errorf("30s later: %+v", next)
	}
	logPage := body(t, get(t, h, "GET", "/groups/haproxy/dev/logs/"+tasks[0].ID, nil))
	if !strings.Contains(logPage, `id="log"`) || !strings.Contains(html.UnescapeString(logPage), next.Lines[len(next.Lines)-1]) || !strings.Contains(logPage, "/ui/logs.js") {
		t.Errorf("log page:\n%s", logPage)
	}

	failed := f.Sim.Apps()
	var failedTask string
	for _, a := range failed {
		if a.ID == "/ingestor/testing" {
			app, _ := f.Marathon.Get(t.Context(), viewertest.Key(t, "ingestor/testing"))
			if app.LastTaskFailure != nil {
				failedTask = app.LastTaskFailure.TaskID
			}
		}
	}
	if failedTask == "" {
		t.Fatal("ingestor/testing has no last task failure")
	}
	var stderr viewer.LogLines
	res = get(t, h, "GET", "/api/v1/groups/ingestor/testing/logs/"+url.PathEscape(failedTask)+"?stream=stderr", nil)
	if json.Unmarshal([]byte(body(t, res)), &stderr) != nil || len(stderr.Lines) == 0 ||
		!strings.Contains(stderr.Lines[len(stderr.Lines)-1], "exiting with status 1") {
		t.Errorf("the failed task's stderr: %s %+v", res.Status, stderr)
	}

	// A task that ended and that Marathon forgot is found in Mesos.
	gone := tasks[1].ID
	if err := f.Sim.KillTask(gone); err != nil {
		t.Fatal(err)
	}
	f.Clock.Advance(time.Second)
	var killed viewer.LogLines
	res = get(t, h, "GET", "/api/v1/groups/haproxy/dev/logs/"+gone, nil)
	if json.Unmarshal([]byte(body(t, res)), &killed) != nil || len(killed.Lines) == 0 ||
		!strings.HasPrefix(killed.Lines[len(killed.Lines)-1], "Command terminated with signal Terminated") {
		t.Errorf("the log of a killed task: %s %+v", res.Status, killed)
	}

	for _, tc := range []struct {
		target string
		code   int
	}{
		{"/api/v1/groups/haproxy/testing/logs/" + tasks[0].ID, http.StatusNotFound},
		{"/api/v1/groups/haproxy/testing/logs/" + gone, http.StatusNotFound},
		{"/api/v1/groups/haproxy/dev/logs/nope", http.StatusNotFound},
		{api + "?stream=stdin", http.StatusBadRequest},
		{api + "?offset=-3", http.StatusBadRequest},
		{"/api/v1/groups/nope/dev/logs/x", http.StatusNotFound},
	} {
		if res := get(t, h, "GET", tc.target, nil); res.StatusCode != tc.code {
			t.Errorf("%s: %s, want %d", tc.target, res.Status, tc.code)
		}
	}

	plain := newViewer(t, f, viewer.Config{Now: func() time.Time { return now }})
	if res := get(t, plain.Handler(), "GET", "/agents", nil); res.StatusCode != http.StatusBadGateway || !strings.Contains(body(t, res), "no Mesos master") {
		t.Errorf("agents page without Mesos: %s", res.Status)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestLogGoneFromMesos: a container whose log Mesos no longer has (its
// sandbox collected, its agent gone) answers 404, which the log page
// shows as "the container is gone"; it is not a Mesos that cannot be read.
func TestLogGoneFromMesos(t *testing.T) {
	f := viewertest.Start(t)
	now := f.Populate(t)
	v := newViewer(t, f, viewer.Config{Now: func() time.Time { return now }, Mesos: f.Mesos(t)})
	h := v.Handler()
	task := f.Sim.Tasks("/haproxy/dev")[0].ID
	f.Sim.Faults().FailRequests("GET", marathonsim.RouteAgentFilesRead, http.StatusNotFound, 0)
	for _, target := range []string{"/api/v1/groups/haproxy/dev/logs/" + task, "/groups/haproxy/dev/logs/" + task} {
		res := get(t, h, "GET", target, nil)
		if b := body(t, res); res.StatusCode != http.StatusNotFound || !strings.Contains(b, "gone") {
			t.Errorf("%s: %s, want 404 saying the log is gone:\n%s", target, res.Status, b)
		}
	}
}

// TestGroupUsageWithAnAgentThatDoesNotAnswer: an agent that takes the
// whole timeout to answer is a warning naming it; the usage of the
// containers on the other agents is still shown, with their log links.
func TestGroupUsageWithAnAgentThatDoesNotAnswer(t *testing.T) {
	f := viewertest.Start(t)
	now := f.Populate(t)
	var silent atomic.Pointer[string] // the address of the agent that does not answer
	ms, err := f.Sim.ListenMesos("127.0.0.1:0", marathonsim.MesosOptions{Wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if a := silent.Load(); a != nil && r.Host == *a {
				<-r.Context().Done()
				return
			}
			h.ServeHTTP(w, r)
		})
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ms.Close() })
	mc, err := mesos.New(mesos.Config{URLs: []string{ms.URL}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	tasks := f.Sim.Tasks("/haproxy/dev")
	down, err := mc.Agent(t.Context(), tasks[0].Host)
	if err != nil {
		t.Fatal(err)
	}
	silent.Store(&down.Addr)
	var up string
	for _, tk := range tasks {
		if tk.Host != down.Hostname {
			up = tk.ID
		}
	}
	if up == "" {
		t.Fatalf("every task of haproxy/dev runs on %s", down.Hostname)
	}

	v := newViewer(t, f, viewer.Config{Now: func() time.Time { return now }, Mesos: mc, Timeout: time.Second})
	page := html.UnescapeString(body(t, get(t, v.Handler(), "GET", "/groups/haproxy/dev", nil)))
	if !strings.Contains(page, `data-name="`+up+`" data-known="true"`) {
		t.Errorf("the usage of %s, on an agent that answers, is not shown:\n%s", up, page)
	}
	if !strings.Contains(page, "agent "+down.Hostname+" cannot be read") {
		t.Errorf("no warning names %s, which does not answer:\n%s", down.Hostname, page)
	}
	if !strings.Contains(page, `href="/groups/haproxy/dev/logs/`+tasks[0].ID+`"`) {
		t.Errorf("no log link of %s, on the agent that does not answer:\n%s", tasks[0].ID, page)
	}
}

// TestUsageOfAContainerOnAnAgentMesosDoesNotList: a container whose host
// the master does not list (an agent unreachable or removed) has no
// figures, and a warning says why.
func TestUsageOfAContainerOnAnAgentMesosDoesNotList(t *testing.T) {
	f := viewertest.Start(t)
	f.Populate(t)
	k := viewertest.Key(t, "haproxy/dev")
	tk := f.Sim.Tasks("/haproxy/dev")[0]
	l, err := viewer.LoadUsage(t.Context(), f.Mesos(t), []viewer.UsageTarget{
		{Key: k, Name: tk.ID, Host: tk.Host, State: "TASK_RUNNING", CPUsAsked: 0.1, MemMB: 64},
		{Key: k, Name: "haproxy_dev.gone", Host: "agent-gone", State: "TASK_UNREACHABLE", CPUsAsked: 0.1, MemMB: 64},
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range l.Items {
		if want := u.Host != "agent-gone"; u.Known != want {
			t.Errorf("%s on %s: known %v, want %v", u.Name, u.Host, u.Known, want)
		}
	}
	if !slices.ContainsFunc(l.Warnings, func(w string) bool { return strings.Contains(w, "agent-gone") }) {
		t.Errorf("no warning names agent-gone, which Mesos does not list: %q", l.Warnings)
	}
}

// TestAgentsCountOrphanTasks: after a Mesos master failover, until
// Marathon registers again, a master before 1.2 lists Marathon's running
// tasks as orphan tasks, its framework id under unregistered_frameworks;
// they still run on their agents and are counted there.
func TestAgentsCountOrphanTasks(t *testing.T) {
	data, err := os.ReadFile("../testdata/mesos/master-state/dcos-ui-0.23.0-marathon-1-task.json")
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	fw := raw["frameworks"].([]any)[0].(map[string]any)
	raw["orphan_tasks"], raw["unregistered_frameworks"], raw["frameworks"] = fw["tasks"], []any{fw["id"]}, []any{}
	body, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) }))
	t.Cleanup(srv.Close)
	mc, err := mesos.New(mesos.Config{URLs: []string{srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := viewer.LoadAgents(t.Context(), mc)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 1 || l.Items[0].Tasks != 1 || l.Items[0].Other != 1 {
		t.Errorf("agents with an orphan task running: %+v", l.Items)
	}
}
