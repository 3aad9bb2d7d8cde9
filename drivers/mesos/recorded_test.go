package mesos_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	// A draining or deactivated agent (1.9+) is not active, whatever
	// its "active" says.
	if active, ok := raw["active"].(bool); ok && (active && raw["deactivated"] != true) != a.Active {
		t.Errorf("%s: active %v, recorded %v (deactivated %v)", where, a.Active, active, raw["deactivated"])
	}
}

// TestRecordedSlaves reads every recorded /master/slaves, and the agents
// of /master/state-summary, which are the same but for task counters.
func TestRecordedSlaves(t *testing.T) {
	for _, f := range append(globRecorded(t, "master-slaves/*.json"), globRecorded(t, "other/state-summary-*.json")...) {
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
		cs := obj(obj(s)["container_status"])
		if st.State != str(obj(s)["state"]) || (ts > 0 && st.Timestamp.Unix() != int64(ts)) ||
			st.ContainerID != str(obj(cs["container_id"])["value"]) || !slices.Equal(st.IPs, addresses(cs)) {
			t.Errorf("%s: status %d %+v, recorded %v", where, i, st, s)
		}
	}
}

// addresses are a recorded container status's addresses: each
// network's "ip_addresses", or its "ip_address" of Mesos 0.25.
func addresses(containerStatus map[string]any) []string {
	var out []string
	for _, ni := range arr(containerStatus["network_infos"]) {
		list := arr(obj(ni)["ip_addresses"])
		for _, ip := range list {
			out = append(out, str(obj(ip)["ip_address"]))
		}
		if ip := str(obj(ni)["ip_address"]); len(list) == 0 && ip != "" {
			out = append(out, ip)
		}
	}
	return out
}

// TestRecordedState reads every recorded /master/state, and the
// frameworks of /master/frameworks, whose tasks are the same.
func TestRecordedState(t *testing.T) {
	for _, f := range append(globRecorded(t, "master-state/*.json"), globRecorded(t, "other/frameworks-*.json")...) {
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

// fileAgent is a Mesos agent serving a recorded /state and
// /files/read of files held in memory, as FilesProcess::read answers:
// offset -1 (the default) is the size, a read is capped at 16 pages, a
// read at or past the end answers {"data": "", "offset": <size>}, and
// otherwise {"data": <bytes>, "offset": <offset asked>}, the data
// written as Mesos 1.x writes it, or 0.2x when old (see StoutString).
type fileAgent struct {
	mu    sync.Mutex
	state []byte
	files map[string][]byte
	old   bool // the escaping of the older json.hpp (0.2x)
	// afterRead, when set, runs after each read answered with data.
	afterRead func(files map[string][]byte)
}

func (f *fileAgent) set(path, content string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.files[path] = []byte(content)
}

func (f *fileAgent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.URL.Path {
	case "/state":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(f.state)
	case "/files/read":
		q := r.URL.Query()
		file, ok := f.files[q.Get("path")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		offset, length := int64(-1), int64(-1)
		if q.Has("offset") {
			offset, _ = strconv.ParseInt(q.Get("offset"), 10, 64)
		}
		if q.Has("length") {
			length, _ = strconv.ParseInt(q.Get("length"), 10, 64)
		}
		size := int64(len(file))
		if offset == -1 {
			offset = size
		}
		if length == -1 {
			length = size - offset
		}
		length = min(length, 16*4096)
		w.Header().Set("Content-Type", "application/json")
		if offset >= size {
			fmt.Fprintf(w, `{"data":"","offset":%d}`, size)
			return
		}
		data := file[offset:min(offset+length, size)]
		fmt.Fprintf(w, `{"data":%s,"offset":%d}`, mesos.StoutString(data, f.old), offset)
		if f.afterRead != nil {
			f.afterRead(f.files)
		}
	default:
		http.NotFound(w, r)
	}
}

// newFileAgent serves a recorded agent /state; the driver reaches the
// agent at the address of its pid.
func newFileAgent(t *testing.T, stateFile string, old bool) (*fileAgent, *mesos.Client, mesos.Agent, map[string]any) {
	t.Helper()
	f := &fileAgent{state: readRecorded(t, stateFile), files: map[string][]byte{}, old: old}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	var raw map[string]any
	if err := json.Unmarshal(f.state, &raw); err != nil {
		t.Fatal(err)
	}
	c := must[*mesos.Client](t)(mesos.New(mesos.Config{URLs: []string{"http://127.0.0.1:1"}}))
	a := mesos.Agent{ID: str(raw["id"]), Hostname: str(raw["hostname"]), PID: "slave(1)@" + u.Host, Addr: u.Host}
	return f, c, a, raw
}

// firstExecutor returns the task id and sandbox directory of the
// recorded body's first executor.
func firstExecutor(t *testing.T, raw map[string]any) (taskID, dir string) {
	t.Helper()
	e := obj(arr(obj(arr(raw["frameworks"])[0])["executors"])[0])
	return str(obj(arr(e["tasks"])[0])["id"]), str(e["directory"])
}

// TestLogFollowsRotatedFile: a task's stdout that is rotated
// (or truncated) and written again before the next poll. Mesos answers a
// read past the new end with {"data": "", "offset": <new size>}; the
// lines written to the new file from its start must be printed, not
// skipped by moving the offset to the new end.
func TestLogFollowsRotatedFile(t *testing.T) {
	f, c, a, raw := newFileAgent(t, "agent-state/dcos-ui-0.27.0.json", false)
	taskID, dir := firstExecutor(t, raw)
	f.set(dir+"/stdout", "one\ntwo\n")
	lf := must[*mesos.LogFile](t)(c.OpenLog(ctx(t), a, taskID, mesos.Stdout))
	if lines := must[[]string](t)(lf.Tail(ctx(t), -1)); !slices.Equal(lines, []string{"one", "two"}) {
		t.Fatalf("tail: %q", lines)
	}
	f.set(dir+"/stdout", "three\n") // rotated: the new file is shorter
	got := must[[]string](t)(lf.Next(ctx(t)))
	f.set(dir+"/stdout", "three\nfour\n")
	got = append(got, must[[]string](t)(lf.Next(ctx(t)))...)
	if want := []string{"three", "four"}; !slices.Equal(got, want) {
		t.Errorf("after the file was truncated, followed lines %q, want %q (the new file's first lines were skipped)", got, want)
	}
}

// TestLogFollowsFileTruncatedWhileRead: a file truncated between two
// reads of one Next. What was read of the old file is returned with the
// offset right after it, not the new size, so the next Next sees the
// file shorter and reads the new one from its start.
func TestLogFollowsFileTruncatedWhileRead(t *testing.T) {
	f, c, a, raw := newFileAgent(t, "agent-state/dcos-ui-0.27.0.json", false)
	taskID, dir := firstExecutor(t, raw)
	path := dir + "/stdout"
	long := strings.Repeat("x", 16*4096-1)
	f.set(path, long+"\nlost\n")
	lf := must[*mesos.LogFile](t)(c.OpenLog(ctx(t), a, taskID, mesos.Stdout))
	f.afterRead = func(files map[string][]byte) { files[path] = []byte("new\n") }
	got := must[[]string](t)(lf.Next(ctx(t)))
	if !slices.Equal(got, []string{long}) || lf.Offset() != int64(len(long))+1 {
		t.Fatalf("first read: lines %s, offset %d", summary(got), lf.Offset())
	}
	f.afterRead = nil
	if got := must[[]string](t)(lf.Next(ctx(t))); !slices.Equal(got, []string{"new"}) || lf.Offset() != 4 {
		t.Errorf("after the truncation: lines %q, offset %d", got, lf.Offset())
	}
}

// TestLogReadKeepsUTF8CharacterSplitAcrossReads: a log with a two-byte
// UTF-8 character straddling the 64 KiB cap of one /files/read. Mesos
// cuts the read at a byte, so the first answer ends with half of the
// character as a raw byte; the next read must start right after that
// byte. Counting the offset from the decoded string (where Go turned
// the lone byte into the 3-byte U+FFFD) skips bytes of the file.
func TestLogReadKeepsUTF8CharacterSplitAcrossReads(t *testing.T) {
	f, c, a, raw := newFileAgent(t, "agent-state/dcos-ui-0.27.0.json", false)
	_, dir := firstExecutor(t, raw)
	path := dir + "/stdout"
	content := strings.Repeat("a", 16*4096-1) + "é\nnext line\n"
	f.set(path, content)
	data, next, err := c.ReadFrom(ctx(t), a, path, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if next != int64(len(content)) {
		t.Errorf("offset after reading the whole file: %d, want its size %d", next, len(content))
	}
	if !bytes.Equal(data, []byte(content)) {
		got, _ := mesos.SplitLines(data)
		want, _ := mesos.SplitLines([]byte(content))
		t.Errorf("read lines %s, want %s", summary(got), summary(want))
	}
}

// summary shows lines short: long ones by their length and ends.
func summary(lines []string) string {
	out := make([]string, len(lines))
	for i, l := range lines {
		if len(l) > 24 {
			l = fmt.Sprintf("%q…(%d bytes)…%q", l[:4], len(l), l[len(l)-8:])
		} else {
			l = strconv.Quote(l)
		}
		out[i] = l
	}
	return "[" + strings.Join(out, ", ") + "]"
}

// TestLogReadOldAgentEscapedBytes: a Mesos 0.22.1 agent (the recorded
// /state of one) writes every byte of /files/read data above 0x7E as
// \u00XX, one escape per byte. "café" (63 61 66 C3 A9) comes as
// "caf\u00C3\u00A9": the bytes are C3 A9, not the runes U+00C3 U+00A9
// (4 bytes in UTF-8), and the offset must move by 2, not 4; counted as 4
// the next read starts 2 bytes too far and drops them.
func TestLogReadOldAgentEscapedBytes(t *testing.T) {
	f, c, a, raw := newFileAgent(t, "agent-state/none-0.22.1.json", true)
	taskID, dir := firstExecutor(t, raw)
	f.set(dir+"/stdout", "start\n")
	lf := must[*mesos.LogFile](t)(c.OpenLog(ctx(t), a, taskID, mesos.Stdout))
	if lines := must[[]string](t)(lf.Tail(ctx(t), -1)); !slices.Equal(lines, []string{"start"}) {
		t.Fatalf("tail: %q", lines)
	}
	// More than one read's worth (16 pages) is written: the second read
	// must start right after the first one's bytes.
	long := strings.Repeat("x", 70000)
	f.set(dir+"/stdout", "start\ncafé\n"+long+"\nlast\n")
	got := must[[]string](t)(lf.Next(ctx(t)))
	if want := []string{"café", long, "last"}; !slices.Equal(got, want) {
		t.Errorf("followed lines %s, want %s", summary(got), summary(want))
	}
}

// TestLogReadDataAsAgentsWriteIt: /files/read's data is read as the
// file's bytes however the agent wrote them: raw (Mesos 1.x, even half a
// character), one \u00XX per byte (0.2x), or, from an encoder that
// escapes characters (an escape above \u00FF, or raw UTF-8 beside a
// \u0080 to \u00FF escape, shows one), every escape a character.
func TestLogReadDataAsAgentsWriteIt(t *testing.T) {
	for _, tc := range []struct{ name, data, want string }{
		{"raw UTF-8", `"café\/x\n"`, "café/x\n"},
		{"raw half character", "\"caf\xc3\"", "caf\xc3"},
		{"control escapes", `"a\u0000\u001f\u007fb\t"`, "a\x00\x1f\x7fb\t"},
		{"escaped bytes", `"caf\u00C3\u00A9"`, "café"},
		{"escaped bytes lowercase", `"caf\u00c3\u00a9"`, "café"},
		{"escaped half character", `"caf\u00C3"`, "caf\xc3"},
		{"escaped Latin-1 byte", `"caf\u00E9"`, "caf\xe9"},
		{"escaped characters", `"caf\u00e9 \u4e2d \ud83d\ude00"`, "café 中 😀"},
		{"raw text with an escaped character", `"é\u0085"`, "é\u0085"},
		{"lone surrogate", `"\ud83d!"`, "\ufffd!"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, a := bodyServer(t, `{"data":`+tc.data+`,"offset":3}`)
			ch, err := c.ReadFile(ctx(t), a, "/x/stdout", 3, 0)
			if err != nil || string(ch.Data) != tc.want || ch.Offset != 3 {
				t.Errorf("%s read as %q at %d, %v; want %q", tc.data, ch.Data, ch.Offset, err, tc.want)
			}
		})
	}
	for _, body := range []string{`{"data":null,"offset":0}`, `{"data":12,"offset":0}`, `{"offset":0}`, `{"data":"\u00zz","offset":0}`} {
		c, a := bodyServer(t, body)
		if _, err := c.ReadFile(ctx(t), a, "/x/stdout", 0, 0); err == nil || !mesos.IsPermanent(err) {
			t.Errorf("%s: %v", body, err)
		}
	}
}

// bodyServer is an agent answering every request with body.
func bodyServer(t *testing.T, body string) (*mesos.Client, mesos.Agent) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	c := must[*mesos.Client](t)(mesos.New(mesos.Config{URLs: []string{"http://127.0.0.1:1"}}))
	return c, mesos.Agent{ID: "S0", Hostname: "agent", PID: "slave(1)@" + u.Host, Addr: u.Host}
}

// TestAgentByHostnamePrefersTheActiveOne: an agent that came back under a
// new id (its host rebooted) is listed beside its old, disconnected entry
// until the master removes it; by hostname, the one that answers is
// found, whichever id sorts first.
func TestAgentByHostnamePrefersTheActiveOne(t *testing.T) {
	raw := obj(generic(t, filepath.Join(recorded, "master-slaves/dcosb-1.0.3-agents.json")))
	old := obj(arr(raw["slaves"])[0])
	for _, newID := range []string{"f18fcd65-5c63-4dfb-b233-f289aac416c5-S42", "f18fcd65-5c63-4dfb-b233-f289aac416c5-S44"} {
		back := map[string]any{}
		for k, v := range old {
			back[k] = v
		}
		old["active"] = false
		back["id"], back["pid"], back["active"] = newID, "slave(1)@10.72.154.223:5051", true
		raw["slaves"] = []any{old, back}
		body, err := json.Marshal(raw)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) }))
		c := must[*mesos.Client](t)(mesos.New(mesos.Config{URLs: []string{srv.URL}}))
		a, err := c.Agent(ctx(t), "10.72.154.222")
		srv.Close()
		if err != nil || a.ID != newID || !a.Active {
			t.Errorf("new id %s: found %s (active %v), %v", newID, a.ID, a.Active, err)
		}
	}
}

// TestTaskFromMasterWithoutTaskFilter: a master before 1.4 ignores
// ?task_id= and answers its first page of /master/tasks, 100 tasks
// newest first unless ?limit= says otherwise; a task further down is
// found all the same.
func TestTaskFromMasterWithoutTaskFilter(t *testing.T) {
	const n = 150
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := 100
		if s := r.URL.Query().Get("limit"); s != "" {
			var err error
			if limit, err = strconv.Atoi(s); err != nil {
				http.Error(w, "Failed to parse limit: "+err.Error(), http.StatusBadRequest)
				return
			}
		}
		var tasks []map[string]any
		for i := n - 1; i >= 0 && len(tasks) < limit; i-- {
			tasks = append(tasks, map[string]any{"id": fmt.Sprintf("web.%03d", i), "state": "TASK_FAILED",
				"framework_id": "F-0000", "slave_id": "S0", "statuses": []any{map[string]any{"state": "TASK_FAILED", "timestamp": 1.7e9 + float64(i)}}})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"tasks": tasks})
	}))
	t.Cleanup(srv.Close)
	c := must[*mesos.Client](t)(mesos.New(mesos.Config{URLs: []string{srv.URL}}))
	for _, id := range []string{"web.149", "web.010"} {
		if tk, err := c.Task(ctx(t), id); err != nil || tk.ID != id {
			t.Errorf("task %s: %+v, %v", id, tk, err)
		}
	}
}
