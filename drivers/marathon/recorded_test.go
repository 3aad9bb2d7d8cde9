package marathon

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestDecodeRecordedTasks decodes every recorded task list.
func TestDecodeRecordedTasks(t *testing.T) {
	files := append(globRecorded(t, "go-marathon-v0.7.1/split/*tasks*.json"),
		append(globRecorded(t, "transcripts-v0.10.1/*tasks*.response.json"), filepath.Join(recorded, "docs-examples/tasks.json"))...)
	total := 0
	for _, f := range files {
		data, _ := os.ReadFile(f)
		total += checkRecordedTasks(t, f, data)
	}
	var tasks []Task
	_ = decodeList(bytes.NewReader(readRecorded(t, "docs-examples/tasks.json")), "tasks", func(j *taskJSON) { tasks = append(tasks, toTask(j, false)) })
	if total < 8 || len(tasks) != 2 || tasks[1].AppID != "/tools/docker/registry" || tasks[1].Ports[0] != 31721 ||
		tasks[1].State != "TASK_RUNNING" || tasks[1].StartedAt.Format("2006-01-02T15:04:05.000Z") != "2015-08-19T21:26:50.864Z" {
		t.Errorf("%d tasks; docs sample %+v", total, tasks)
	}
}

// TestDecodeRecordedDeployments decodes the recorded deployment lists of
// every generation: steps as [[...]] (before 1.0), with "type" (1.1.1)
// and with "action".
func TestDecodeRecordedDeployments(t *testing.T) {
	for _, f := range []string{"docs-examples/deployments.json", "go-marathon-v0.7.1/split/28-GET-v2-deployments.json",
		"go-marathon-v0.7.1/split/29-GET-v2-deployments--v1.1.1.json"} {
		checkRecordedDeployments(t, f, readRecorded(t, f))
	}
}

// TestDecodeRecordedEvents decodes every recorded event and checks the
// fields theseus uses against its JSON.
func TestDecodeRecordedEvents(t *testing.T) {
	for _, f := range globRecorded(t, "events/*.json") {
		data, _ := os.ReadFile(f)
		checkRecordedEvent(t, strings.TrimSuffix(filepath.Base(f), ".json"), data)
	}
	ev, ok := DecodeEvent("/prod", "", []byte(`{"eventType":"status_update_event","appId":"/prod/web/dev","taskStatus":"TASK_RUNNING","ports":[31000]}`))
	if !ok || !ev.KeyOK || ev.Key.String() != "web/dev" {
		t.Errorf("event under the root: %+v", ev)
	}
	if ev, ok := DecodeEvent("", "huge_event", nil); !ok || ev.Type != "huge_event" {
		t.Errorf("event too large to read: %+v, %v", ev, ok)
	}
	if _, ok := DecodeEvent("", "", []byte("not json")); ok {
		t.Error("garbage without a name decoded")
	}
}

// checkRecordedEvent decodes the data of an event named name ("" when
// the stream gave no name) and checks the fields theseus uses against
// its JSON.
func checkRecordedEvent(t *testing.T, name string, data []byte) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	str := func(v any) string { s, _ := v.(string); return s }
	obj := func(v any) map[string]any { o, _ := v.(map[string]any); return o }
	typ := cmpS(str(m["eventType"]), name)
	ev, ok := DecodeEvent("", name, data)
	app := cmpS(str(m["appId"]), cmpS(str(m["runSpecId"]), str(obj(m["appDefinition"])["id"])))
	var apps []string // the apps a deployment event's plan names
	var actions []any
	for _, step := range sliceOf(obj(m["plan"])["steps"]) {
		actions = append(actions, step)
		actions = append(actions, sliceOf(obj(step)["actions"])...)
	}
	for _, a := range append(actions, sliceOf(obj(m["currentStep"])["actions"])...) {
		if id := str(obj(a)["app"]); id != "" && !slices.Contains(apps, id) {
			apps = append(apps, id)
		}
	}
	if app == "" && len(apps) == 1 {
		app = apps[0]
	}
	alive, hasAlive := m["alive"].(bool)
	if healthy, ok := m["healthy"].(bool); ok {
		alive, hasAlive = healthy, true
	}
	if !ok || string(ev.Type) != typ || ev.AppID != app ||
		ev.TaskID != cmpS(str(m["taskId"]), str(m["instanceId"])) || ev.TaskStatus != str(m["taskStatus"]) ||
		ev.Host != str(m["host"]) || ev.Timestamp.IsZero() != (str(m["timestamp"]) == "") ||
		hasAlive != (ev.Alive != nil) || hasAlive && *ev.Alive != alive {
		t.Errorf("%s: %+v", typ, ev)
	}
	if ports, _ := m["ports"].([]any); len(ev.Ports) != len(ports) {
		t.Errorf("%s: ports %v", typ, ev.Ports)
	}
	if strings.HasPrefix(typ, "deployment_") {
		id := cmpS(str(obj(m["plan"])["id"]), str(m["id"]))
		if ev.DeploymentID != id || id == "" {
			t.Errorf("%s: deployment %q, want %q", typ, ev.DeploymentID, id)
		}
		if !slices.Equal(ev.Apps, apps) {
			t.Errorf("%s: apps %v, want %v", typ, ev.Apps, apps)
		}
	}
	// Under the root "/my-app" is not a group; under "" neither (one
	// segment): no key either way.
	if ev.KeyOK {
		t.Errorf("%s: key %v", typ, ev.Key)
	}
}

// TestDecodeRecordedErrors classifies every recorded error answer.
func TestDecodeRecordedErrors(t *testing.T) {
	c := &Client{}
	tests := []struct {
		file   string
		status int
		check  func(error) bool
	}{
		{"errors/404-app-does-not-exist.json", 404, func(err error) bool { return errors.Is(err, ErrNotFound) }},
		{"errors/404-deployment-does-not-exist.json", 404, func(err error) bool { return errors.Is(err, ErrNotFound) }},
		{"errors/409-app-locked-by-deployment.json", 409, func(err error) bool {
			var l *LockedError
			return errors.As(err, &l) && len(l.Deployments) > 0 && l.Deployments[0] != "" && l.AppID == "/x"
		}},
		{"transcripts-v0.10.1/08-PUT-v2-apps-test-409.response.json", 409, func(err error) bool {
			var l *LockedError
			return errors.As(err, &l) && len(l.Deployments) > 0
		}},
		{"errors/409-app-already-exists.json", 409, func(err error) bool {
			var a *APIError
			return errors.As(err, &a) && a.Status == 409 && strings.Contains(a.Message, "already exists") && !IsPermanent(err)
		}},
		{"errors/422-object-not-valid.json", 422, func(err error) bool {
			var a *APIError
			return errors.As(err, &a) && IsPermanent(err) && len(a.Details) > 0 && strings.Contains(err.Error(), a.Details[0].Path) &&
				strings.Contains(err.Error(), a.Details[0].Errors[0])
		}},
		{"errors/400-invalid-json.json", 400, func(err error) bool {
			var a *APIError
			return errors.As(err, &a) && IsPermanent(err) && a.Message != "" && len(a.Details) > 0
		}},
		{"errors/401-unauthorized.json", 401, func(err error) bool {
			var a *APIError
			return errors.As(err, &a) && !IsPermanent(err) && a.Message != ""
		}},
		{"errors/403-forbidden.json", 403, func(err error) bool {
			var a *APIError
			return errors.As(err, &a) && !IsPermanent(err) && a.Message != ""
		}},
	}
	for _, tt := range tests {
		err := c.apiError("PUT", "/v2/apps/x", tt.status, readRecorded(t, tt.file), "/x")
		if !tt.check(err) {
			t.Errorf("%s: %#v (%v)", tt.file, err, err)
		}
	}
	// A standby without a leader answers with Jetty's HTML page.
	err := c.apiError("GET", "/v2/apps", 502, []byte("<html><body><h2>HTTP ERROR 502</h2><pre>Could not determine the current leader</pre></body></html>"), "")
	if !strings.Contains(err.Error(), "Could not determine the current leader") || strings.Contains(err.Error(), "<") {
		t.Errorf("502 page: %v", err)
	}
	// Before 1.0 validation errors were {attribute, error}.
	err = c.apiError("POST", "/v2/apps", 422, []byte(`{"message":"Bean is not valid","errors":[{"attribute":"id","error":"path contains invalid characters"}]}`), "")
	if !IsPermanent(err) || !strings.Contains(err.Error(), "id: path contains invalid characters") {
		t.Errorf("old 422: %v", err)
	}
}

// TestDecodeRecordedResults reads every recorded answer of a deployment
// and /v2/info.
func TestDecodeRecordedResults(t *testing.T) {
	files := append(globRecorded(t, "go-marathon-v0.7.1/split/*-DELETE-v2-*.json"), globRecorded(t, "go-marathon-v0.7.1/split/*-PUT-v2-apps-*.json")...)
	files = append(files, globRecorded(t, "transcripts-v0.10.1/*-20[0-9].response.json")...)
	files = append(files, filepath.Join(recorded, "docs-examples/deployments_result.json"))
	n := 0
	for _, f := range files {
		data, _ := os.ReadFile(f)
		var want struct{ DeploymentID, Version string }
		if json.Unmarshal(data, &want) != nil || want.DeploymentID == "" {
			continue // not a deployment answer
		}
		n++
		if got := decodeResult(http.Header{}, data); got.DeploymentID != want.DeploymentID || got.Version != want.Version {
			t.Errorf("%s: %+v", f, got)
		}
	}
	if n < 8 {
		t.Errorf("only %d deployment answers", n)
	}
	if got := decodeResult(http.Header{"Marathon-Deployment-Id": {"d1"}}, nil); got.DeploymentID != "d1" {
		t.Errorf("202 without a body: %+v", got)
	}
	for f, gen := range map[string]bool{"docs-examples/info.json": true, "go-marathon-v0.7.1/split/39-GET-v2-info.json": false} {
		in, err := decodeInfo(readRecorded(t, f))
		if err != nil || in.Version == "" || in.Leader == "" || in.FrameworkID == "" || in.Name != "marathon" || in.Gen15 != gen {
			t.Errorf("%s: %+v, %v", f, in, err)
		}
	}
}

func TestGen15(t *testing.T) {
	for v, want := range map[string]bool{"1.10.17": true, "1.5.0-SNAPSHOT": true, "v1.6.322": true, "2.0.0": true,
		"1.4.13": false, "0.15.3": false, "1.1.1": false, "": false, "unknown": false} {
		if gen15(v) != want {
			t.Errorf("gen15(%q) = %v", v, !want)
		}
	}
}
