package marathonsim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestMesosFilesRead: /files/read answers as FilesProcess::read does: the
// query errors with Mesos's messages, the size for offset -1, nothing at
// or past the end, at most 16 pages, 404 for an unknown file.
func TestMesosFilesRead(t *testing.T) {
	s, clk, ms := mesosFixture(t)
	task := s.Tasks("/jobs/worker")[0]
	agent := ms.AgentURL(task.Host)
	s.mu.RLock()
	dir := s.sandboxDir(s.mesos.tasks[task.ID])
	s.mu.RUnlock()
	read := func(q string) (int, string) {
		code, body := mesosGet(t, agent+"/files/read?"+q)
		return code, string(body)
	}
	for _, tc := range []struct {
		query string
		code  int
		body  string
	}{
		{"", 400, "Expecting 'path=value' in query.\n"},
		{"path=" + dir + "/stdout&offset=hello", 400, "Failed to parse offset: Failed to convert 'hello' to number.\n"},
		{"path=" + dir + "/stdout&length=-2", 400, "Negative length provided: -2.\n"},
		{"path=" + dir, 400, "Cannot read a directory.\n"},
		{"path=" + dir + "/nope", 404, ""},
		{"path=/frameworks/other/executors/" + task.ID + "/runs/latest/stdout", 404, ""},
	} {
		if code, body := read(tc.query); code != tc.code || body != tc.body {
			t.Errorf("?%s: %d %q, want %d %q", tc.query, code, body, tc.code, tc.body)
		}
	}
	var size struct {
		Data   string `json:"data"`
		Offset int64  `json:"offset"`
	}
	_, body := read("path=" + url.QueryEscape(dir+"/stdout") + "&offset=-1")
	if json.Unmarshal([]byte(body), &size) != nil || size.Data != "" || size.Offset <= 0 {
		t.Fatalf("offset -1: %s", body)
	}
	_, whole := read("path=" + url.QueryEscape(dir+"/stdout") + "&offset=0")
	var all struct {
		Data   string `json:"data"`
		Offset int64  `json:"offset"`
	}
	if json.Unmarshal([]byte(whole), &all) != nil || int64(len(all.Data)) != size.Offset || !strings.HasPrefix(all.Data, "Received SUBSCRIBED event\n") ||
		!strings.Contains(all.Data, "/bin/sh -c sleep 1000\n") {
		t.Errorf("the whole stdout (size %d): %s", size.Offset, whole)
	}
	if _, past := read("path=" + url.QueryEscape(dir+"/stdout") + "&offset=999999"); !strings.Contains(past, `"data":""`) ||
		!strings.Contains(past, `"offset":`+jsonInt(size.Offset)) {
		t.Errorf("past the end: %s", past)
	}
	clk.Advance(10 * time.Hour) // 7,200 lines: more than one read
	_, big := read("path=" + url.QueryEscape(dir+"/stdout") + "&offset=0")
	var chunk struct{ Data string }
	if json.Unmarshal([]byte(big), &chunk) != nil || len(chunk.Data) != 16*4096 {
		t.Errorf("one read gave %d bytes, want 16 pages", len(chunk.Data))
	}
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestMesosTasksAndAgents: /master/tasks pages the tasks newest first (or
// oldest with order=asc) and finds one by id; the agents' used resources
// are their tasks'; statistics cover the tasks with a container.
func TestMesosTasksAndAgents(t *testing.T) {
	s, _, ms := mesosFixture(t)
	var body struct {
		Tasks []struct {
			ID, State string
			Statuses  []struct{ Timestamp float64 }
		}
	}
	get := func(q string) {
		t.Helper()
		raw, _ := json.Marshal(mesosGetJSON(t, ms.URL+"/master/tasks?"+q))
		body.Tasks = nil
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatal(err)
		}
	}
	get("")
	if n := len(body.Tasks); n != 5 { // 3 + 1 running, 1 failed
		t.Fatalf("%d tasks", n)
	}
	for i := 1; i < len(body.Tasks); i++ {
		if body.Tasks[i-1].Statuses[0].Timestamp < body.Tasks[i].Statuses[0].Timestamp {
			t.Errorf("not newest first: %+v", body.Tasks)
		}
	}
	newest := body.Tasks[0].ID
	get("order=asc&limit=2&offset=3")
	if len(body.Tasks) != 2 || body.Tasks[1].ID != newest {
		t.Errorf("asc, limit 2, offset 3: %+v", body.Tasks)
	}
	failed := ""
	get("limit=100")
	for _, tk := range body.Tasks {
		if tk.State == "TASK_FAILED" {
			failed = tk.ID
		}
	}
	get("task_id=" + url.QueryEscape(failed))
	if len(body.Tasks) != 1 || body.Tasks[0].State != "TASK_FAILED" {
		t.Errorf("task_id=%s: %+v", failed, body.Tasks)
	}
	if code, b := mesosGet(t, ms.URL+"/master/tasks?order=up"); code != http.StatusBadRequest {
		t.Errorf("order=up: %d %s", code, b)
	}

	for _, a := range s.Agents() {
		var st []map[string]any
		raw, _ := json.Marshal(mesosGetJSON(t, ms.AgentURL(a.Hostname)+"/monitor/statistics"))
		_ = json.Unmarshal(raw, &st)
		if len(st) != a.Tasks {
			t.Errorf("%s runs %d tasks, reports statistics of %d", a.Hostname, a.Tasks, len(st))
		}
	}
	if code, _ := mesosGet(t, ms.URL+"/master/nope"); code != http.StatusNotFound {
		t.Errorf("unknown master path: %d", code)
	}
	resp, err := http.Post(ms.URL+"/master/state", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /master/state: %s", resp.Status)
	}
}

// TestMesosAgentsAddedLater: an agent added after the servers started
// gets its own server before the master names it.
func TestMesosAgentsAddedLater(t *testing.T) {
	s, _, ms := mesosFixture(t)
	if err := s.AddAgent(Agent{Hostname: "late-1", CPUs: 4, Mem: 4096, Disk: 1000}); err != nil {
		t.Fatal(err)
	}
	body := mesosGetJSON(t, ms.URL+"/master/slaves").(map[string]any)
	slaves := body["slaves"].([]any)
	last := slaves[len(slaves)-1].(map[string]any)
	addr := strings.TrimPrefix(last["pid"].(string), "slave(1)@")
	if last["hostname"] != "late-1" || "http://"+addr != ms.AgentURL("late-1") {
		t.Fatalf("late agent %v, served at %q", last, ms.AgentURL("late-1"))
	}
	st := mesosGetJSON(t, "http://"+addr+"/state").(map[string]any)
	if st["hostname"] != "late-1" || len(st["frameworks"].([]any)) != 0 {
		t.Errorf("the late agent's state: %v", st)
	}
}

// TestMesosDeterministic: the Mesos answers are a function of the seed
// and the clock: two simulators driven alike answer alike.
func TestMesosDeterministic(t *testing.T) {
	a, _, ma := mesosFixture(t)
	b, _, mb := mesosFixture(t)
	sa := mesosGetJSON(t, ma.URL+"/master/tasks")
	sb := mesosGetJSON(t, mb.URL+"/master/tasks")
	ja, _ := json.Marshal(sa)
	jb, _ := json.Marshal(sb)
	if string(ja) != string(jb) {
		t.Errorf("the same simulation answers differently:\n%s\n%s", ja, jb)
	}
	ta, tb := a.Tasks(""), b.Tasks("")
	if len(ta) != len(tb) || ta[0].ID != tb[0].ID {
		t.Errorf("task ids differ: %v %v", ta, tb)
	}
}
