package mesos_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"theseus.dev/drivers/mesos"
)

// The driver's contract against Mesos's own bodies: each recorded body is
// served at its endpoint and what the driver reads from it is checked
// against the body read as plain JSON.

// serveFile answers path with a recorded body, and 404 otherwise.
func serveFile(t testing.TB, path, file string) *httptest.Server {
	t.Helper()
	body, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// generic reads a body as plain JSON.
func generic(t testing.TB, file string) any {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return v
}

func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }
func arr(v any) []any          { a, _ := v.([]any); return a }
func str(v any) string         { s, _ := v.(string); return s }
func num(v any) float64        { f, _ := v.(float64); return f }

// text is a JSON scalar as the driver keeps attributes: strings as they
// are, numbers printed.
func text(v any) string {
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return str(v)
}

// checkResources compares decoded resources with a recorded resource map.
func checkResources(t *testing.T, where string, got mesos.Resources, raw any) {
	t.Helper()
	m := obj(raw)
	if got.CPUs != num(m["cpus"]) || got.Mem != num(m["mem"]) || got.Disk != num(m["disk"]) || got.GPUs != num(m["gpus"]) {
		t.Errorf("%s: %+v, recorded %v", where, got, m)
	}
	if p := str(m["ports"]); p != "" && mesos.FormatRanges(got.Ports) != strings.ReplaceAll(p, ",  ", ", ") {
		t.Errorf("%s: ports %v, recorded %q", where, got.Ports, p)
	}
	for k, v := range m {
		switch k {
		case "cpus", "mem", "disk", "gpus", "ports":
		default:
			if got.Others[k] != text(v) {
				t.Errorf("%s: %s = %q, recorded %v", where, k, got.Others[k], v)
			}
		}
	}
}

func checkAgent(t *testing.T, where string, a mesos.Agent, raw map[string]any) {
	t.Helper()
	if a.ID != str(raw["id"]) || a.Hostname != str(raw["hostname"]) || a.PID != str(raw["pid"]) {
		t.Errorf("%s: %+v", where, a)
	}
	if pid := str(raw["pid"]); pid != "" && !strings.HasSuffix(pid, "@"+a.Addr) {
		t.Errorf("%s: address %q of pid %q", where, a.Addr, pid)
	}
	for k, v := range obj(raw["attributes"]) {
		if a.Attributes[k] != text(v) {
			t.Errorf("%s: attribute %s = %q, recorded %v", where, k, a.Attributes[k], v)
		}
	}
	checkResources(t, where+" resources", a.Resources, raw["resources"])
	checkResources(t, where+" used_resources", a.Used, raw["used_resources"])
	if u, ok := raw["unreserved_resources"]; ok {
		checkResources(t, where+" unreserved_resources", a.Unreserved, u)
	}
	for role, r := range obj(raw["reserved_resources"]) {
		checkResources(t, where+" reserved "+role, a.Reserved[role], r)
	}
	if active, ok := raw["active"].(bool); ok && active != a.Active {
		t.Errorf("%s: active %v, recorded %v", where, a.Active, active)
	}
}

// TestRecordedSlaves reads every recorded /master/slaves.
func TestRecordedSlaves(t *testing.T) {
	for _, f := range globRecorded(t, "master-slaves/*.json") {
		t.Run(filepath.Base(f), func(t *testing.T) {
			srv := serveFile(t, "/master/slaves", f)
			c := must[*mesos.Client](t)(mesos.New(mesos.Config{URLs: []string{srv.URL}}))
			agents := must[[]mesos.Agent](t)(c.Agents(ctx(t)))
			raws := arr(obj(generic(t, f))["slaves"])
			if len(agents) != len(raws) {
				t.Fatalf("%d agents, recorded %d", len(agents), len(raws))
			}
			byID := map[string]mesos.Agent{}
			for _, a := range agents {
				byID[a.ID] = a
			}
			for i, r := range raws {
				checkAgent(t, fmt.Sprintf("slaves[%d]", i), byID[str(obj(r)["id"])], obj(r))
			}
		})
	}
}

// checkTask compares a decoded task with a recorded one.
func checkTask(t *testing.T, where string, got mesos.Task, raw map[string]any) {
	t.Helper()
	if got.ID != str(raw["id"]) || got.Name != str(raw["name"]) || got.State != str(raw["state"]) ||
		got.AgentID != str(raw["slave_id"]) || got.ExecutorID != str(raw["executor_id"]) ||
		(str(raw["framework_id"]) != "" && got.FrameworkID != str(raw["framework_id"])) {
		t.Errorf("%s: %+v", where, got)
	}
	checkResources(t, where+" resources", got.Resources, raw["resources"])
	labels := arr(raw["labels"])
	if len(got.Labels) > len(labels) {
		t.Errorf("%s: labels %v, recorded %v", where, got.Labels, labels)
	}
	for _, l := range labels {
		if got.Labels[str(obj(l)["key"])] == "" && str(obj(l)["value"]) != "" {
			t.Errorf("%s: label %v missing from %v", where, l, got.Labels)
		}
	}
	statuses := arr(raw["statuses"])
	if len(got.Statuses) != len(statuses) {
		t.Fatalf("%s: %d statuses, recorded %d", where, len(got.Statuses), len(statuses))
	}
	for i, s := range statuses {
		st := got.Statuses[i]
		ts := num(obj(s)["timestamp"])
		if st.State != str(obj(s)["state"]) || (ts > 0 && st.Timestamp.Unix() != int64(ts)) ||
			st.ContainerID != str(obj(obj(obj(s)["container_status"])["container_id"])["value"]) {
			t.Errorf("%s: status %d %+v, recorded %v", where, i, st, s)
		}
	}
}

// TestRecordedState reads every recorded /master/state.
func TestRecordedState(t *testing.T) {
	for _, f := range globRecorded(t, "master-state/*.json") {
		t.Run(filepath.Base(f), func(t *testing.T) {
			srv := serveFile(t, "/master/state", f)
			c := must[*mesos.Client](t)(mesos.New(mesos.Config{URLs: []string{srv.URL}}))
			st := must[*mesos.State](t)(c.State(ctx(t)))
			raw := obj(generic(t, f))
			if st.Version != str(raw["version"]) || st.Leader != str(raw["leader"]) || len(st.Agents) != len(arr(raw["slaves"])) {
				t.Errorf("state %s %s, %d agents", st.Version, st.Leader, len(st.Agents))
			}
			for _, r := range arr(raw["slaves"]) {
				a, err := mesos.FindAgent(st.Agents, str(obj(r)["id"]))
				if err != nil {
					t.Fatal(err)
				}
				checkAgent(t, "slave "+a.ID, a, obj(r))
			}
			// Running tasks first, then unreachable, then completed, each
			// framework in turn.
			n := 0
			fws := append(arr(raw["frameworks"]), arr(raw["completed_frameworks"])...)
			for _, list := range []string{"tasks", "unreachable_tasks", "completed_tasks"} {
				for _, fw := range fws {
					for _, r := range arr(obj(fw)[list]) {
						if n >= len(st.Tasks) {
							t.Fatalf("%d tasks, recorded more", len(st.Tasks))
						}
						tk := st.Tasks[n]
						n++
						checkTask(t, list+" "+str(obj(r)["id"]), tk, obj(r))
						if tk.Framework != str(obj(fw)["name"]) {
							t.Errorf("task %s: framework %q", tk.ID, tk.Framework)
						}
					}
				}
			}
			if len(st.Tasks) != n {
				t.Errorf("%d tasks, recorded %d", len(st.Tasks), n)
			}
		})
	}
}

// agentServer serves a recorded body at an agent's path; the agent's pid
// names the server.
func agentServer(t *testing.T, path, file string) (*mesos.Client, mesos.Agent) {
	t.Helper()
	srv := serveFile(t, path, file)
	u, _ := url.Parse(srv.URL)
	c := must[*mesos.Client](t)(mesos.New(mesos.Config{URLs: []string{"http://127.0.0.1:1"}}))
	return c, mesos.Agent{ID: "S0", Hostname: "agent", PID: "slave(1)@" + u.Host, Addr: u.Host}
}

// TestRecordedAgentState reads every recorded agent /state: its
// executors, their sandboxes and tasks.
func TestRecordedAgentState(t *testing.T) {
	for _, f := range globRecorded(t, "agent-state/*.json") {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, a := agentServer(t, "/state", f)
			st := must[*mesos.AgentState](t)(c.AgentState(ctx(t), a))
			raw := obj(generic(t, f))
			if st.ID != str(raw["id"]) || st.Hostname != str(raw["hostname"]) || st.PID != str(raw["pid"]) {
				t.Errorf("agent %+v", st)
			}
			i := 0
			for _, fw := range append(arr(raw["frameworks"]), arr(raw["completed_frameworks"])...) {
				for _, list := range []string{"executors", "completed_executors"} {
					for _, r := range arr(obj(fw)[list]) {
						e := st.Executors[i]
						i++
						re := obj(r)
						if e.ID != str(re["id"]) || e.Directory != str(re["directory"]) || e.ContainerID != str(re["container"]) ||
							e.FrameworkID != str(obj(fw)["id"]) || e.Completed != (list == "completed_executors") {
							t.Errorf("executor %+v, recorded %v", e, re)
						}
						checkResources(t, "executor "+e.ID, e.Resources, re["resources"])
						var tasks []any
						for _, l := range []string{"tasks", "queued_tasks", "completed_tasks"} {
							tasks = append(tasks, arr(re[l])...)
						}
						if len(e.Tasks) != len(tasks) {
							t.Fatalf("executor %s: %d tasks, recorded %d", e.ID, len(e.Tasks), len(tasks))
						}
						for k, rt := range tasks {
							checkTask(t, "task of "+e.ID, e.Tasks[k], obj(rt))
							if !e.Runs(str(obj(rt)["id"])) {
								t.Errorf("executor %s does not run %v", e.ID, obj(rt)["id"])
							}
						}
						if e.Directory != "" {
							for _, tk := range e.Tasks {
								sb := must[mesos.Sandbox](t)(c.Sandbox(ctx(t), a, tk.ID))
								if sb.Directory != e.Directory {
									t.Errorf("sandbox of %s: %q", tk.ID, sb.Directory)
								}
							}
						}
					}
				}
			}
			if len(st.Executors) != i {
				t.Errorf("%d executors, recorded %d", len(st.Executors), i)
			}
		})
	}
}

// TestRecordedStatistics reads every recorded /monitor/statistics (and
// the same entries of /containers).
func TestRecordedStatistics(t *testing.T) {
	files := append(globRecorded(t, "monitor-statistics/*.json"), globRecorded(t, "other/containers-*.json")...)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, a := agentServer(t, "/monitor/statistics", f)
			usage := must[[]mesos.Usage](t)(c.Statistics(ctx(t), a))
			raws := arr(generic(t, f))
			if len(usage) != len(raws) {
				t.Fatalf("%d entries, recorded %d", len(usage), len(raws))
			}
			for i, r := range raws {
				u, re := usage[i], obj(r)
				if u.ExecutorID != str(re["executor_id"]) || u.FrameworkID != str(re["framework_id"]) || u.Source != str(re["source"]) {
					t.Errorf("entry %d: %+v", i, u)
				}
				rs := obj(re["statistics"])
				if rs == nil {
					if u.Statistics != nil {
						t.Errorf("entry %d: statistics %+v, recorded none", i, u.Statistics)
					}
					continue
				}
				s := u.Statistics
				if s == nil || s.CPUsLimit != num(rs["cpus_limit"]) || s.CPUsUserTimeSecs != num(rs["cpus_user_time_secs"]) ||
					s.CPUsSystemTimeSecs != num(rs["cpus_system_time_secs"]) || s.MemRSSBytes != int64(num(rs["mem_rss_bytes"])) ||
					s.MemLimitBytes != int64(num(rs["mem_limit_bytes"])) || s.MemTotalBytes != int64(num(rs["mem_total_bytes"])) ||
					s.NetRxBytes != int64(num(rs["net_rx_bytes"])) || (num(rs["timestamp"]) > 0 && s.Timestamp.Unix() != int64(num(rs["timestamp"]))) {
					t.Errorf("entry %d: %+v, recorded %v", i, s, rs)
				}
				if s.MemBytes() <= 0 {
					t.Errorf("entry %d: no memory figure in %+v", i, s)
				}
			}
		})
	}
}

// TestRecordedFilesRead reads the recorded /files/read.
func TestRecordedFilesRead(t *testing.T) {
	for _, f := range globRecorded(t, "files-read/*.json") {
		c, a := agentServer(t, "/files/read", f)
		ch := must[mesos.Chunk](t)(c.ReadFile(ctx(t), a, "/var/lib/mesos/slave/x/stderr", 0, 0))
		raw := obj(generic(t, f))
		if string(ch.Data) != str(raw["data"]) || ch.Offset != int64(num(raw["offset"])) || len(ch.Data) == 0 {
			t.Errorf("%s: %+v", f, ch)
		}
		lines, rest := mesos.SplitLines(ch.Data)
		if len(lines) != strings.Count(str(raw["data"]), "\n") || len(rest) != 0 {
			t.Errorf("%s: lines %q, rest %q", f, lines, rest)
		}
	}
}
