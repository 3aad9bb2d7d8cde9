package marathon

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"

	"theseus.dev/model"
	"theseus.dev/specs"
)

// TestDecodeEveryRecordedBody walks every file of the recorded Marathon
// bodies, tells its kind by its shape (not by its name, so that a body
// added later is read too) and reads it with the driver's decoder for
// that kind, checking what theseus uses against the JSON. A file of no
// known kind fails the test: a new kind of body needs a decoder, or a
// reason why the driver never reads it.
func TestDecodeEveryRecordedBody(t *testing.T) {
	kinds := map[string]int{}
	err := filepath.WalkDir(recorded, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(recorded, path)
		data := readRecorded(t, rel)
		kind := recordedKind(rel, data)
		kinds[kind]++
		t.Run(rel, func(t *testing.T) { decodeRecorded(t, kind, rel, data) })
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("kinds read: %v", kinds)
	for _, k := range []string{"apps", "app list", "tasks", "deployments", "event", "error", "result", "info", "event stream", "health check"} {
		if kinds[k] == 0 {
			t.Errorf("no recorded body of kind %q", k)
		}
	}
}

// statusInName is the HTTP status a recorded file's name gives, as in
// errors/409-app-already-exists.json or 08-PUT-v2-apps-test-409.response.json.
var statusInName = regexp.MustCompile(`(?:^|-)([1-5][0-9][0-9])(?:-|\.)`)

// recordedKind tells what a recorded file holds.
func recordedKind(rel string, data []byte) string {
	base := filepath.Base(rel)
	switch {
	case strings.HasPrefix(base, "LICENSE") || base == "NOTICE" || base == "README.md":
		return "notice"
	case strings.HasPrefix(rel, "schema"+string(filepath.Separator)):
		return "schema" // JSON Schema, not a body
	case strings.HasSuffix(base, ".yml"):
		return "fixture source" // its entries are the files of split/
	case strings.HasSuffix(base, ".http"):
		return "transcript" // TestReplayRecordedTranscripts
	case strings.HasSuffix(base, ".txt"):
		if bytes.Contains(data, []byte("data:")) {
			return "event stream"
		}
		return "text" // /ping's pong: Ping reads only the status
	}
	var v any
	if json.Unmarshal(data, &v) != nil {
		return "not JSON"
	}
	if list, ok := v.([]any); ok {
		for _, e := range list {
			if o, _ := e.(map[string]any); o != nil && (o["affectedApps"] != nil || o["currentActions"] != nil) {
				return "deployments"
			}
		}
		return "apps"
	}
	obj, _ := v.(map[string]any)
	has := func(k string) bool { _, ok := obj[k]; return ok }
	status := nameStatus(base)
	if strings.Contains(base, ".request.") {
		status = 0 // what was sent, not the answer
	}
	switch {
	case obj == nil:
		return "unknown"
	case has("eventType"):
		return "event"
	case status >= 400:
		return "error"
	case has("deploymentId") || len(obj) == 1 && has("version"):
		return "result"
	case has("tasks") || has("task"):
		return "tasks"
	case has("frameworkId") || has("marathon_config"):
		return "info"
	case has("protocol") && !has("id"):
		return "health check"
	case has("apps") && !has("id"):
		return "app list"
	case len(recordedApps(data)) > 0:
		return "apps"
	case has("versions"), has("leader"), has("callbackUrls"), has("steps"), len(obj) == 1 && has("message"):
		// Version lists, the leader, callback subscriptions, a dry run's
		// plan and the abdication's message: calls the driver never makes.
		return "not read"
	}
	return "unknown"
}

// nameStatus is the status statusInName finds in a file's name, or 0.
func nameStatus(base string) int {
	m := statusInName.FindStringSubmatch(base)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// decodeRecorded reads one recorded body of kind with the driver.
func decodeRecorded(t *testing.T, kind, rel string, data []byte) {
	switch kind {
	case "notice", "schema", "fixture source", "transcript", "text", "not read":
	case "apps":
		checkRecordedApps(t, rel, data)
	case "app list":
		checkRecordedAppList(t, rel, data)
	case "health check":
		// A healthChecks[] element alone, read as the check of an app.
		app := []byte(`{"id":"/hc","cmd":"true","healthChecks":[` + string(data) + `]}`)
		checkRecordedApps(t, rel, app)
	case "tasks":
		checkRecordedTasks(t, rel, data)
	case "deployments":
		checkRecordedDeployments(t, rel, data)
	case "event":
		name := ""
		if filepath.Base(filepath.Dir(rel)) == "events" {
			name = strings.TrimSuffix(filepath.Base(rel), ".json")
		}
		checkRecordedEvent(t, name, data)
	case "event stream":
		n := 0
		_ = readSSE(bytes.NewReader(data), maxEventData, func(name string, data []byte) {
			n++
			checkRecordedEvent(t, name, data)
		})
		if n == 0 {
			t.Error("no event in the stream")
		}
	case "error":
		checkRecordedError(t, nameStatus(filepath.Base(rel)), data)
	case "result":
		var want struct{ DeploymentID, Version string }
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatal(err)
		}
		if got := decodeResult(nil, data); got.DeploymentID != want.DeploymentID || got.Version != want.Version {
			t.Errorf("result %+v, want %+v", got, want)
		}
	case "info":
		var want struct {
			Version, Leader, FrameworkID string
			Elected                      bool
		}
		_ = json.Unmarshal(data, &want)
		in, err := decodeInfo(data)
		if err != nil || in.Version != want.Version || in.Leader != want.Leader || in.FrameworkID != want.FrameworkID ||
			in.Elected != want.Elected || in.Gen15 != gen15(want.Version) || in.MesosRole == "" {
			t.Errorf("info %+v, %v", in, err)
		}
	default:
		t.Errorf("no decoder for a body of kind %q", kind)
	}
}

// checkRecordedApps decodes every app of a body as GET /v2/apps/{id}
// reads one, and checks it against its JSON.
func checkRecordedApps(t *testing.T, where string, data []byte) {
	t.Helper()
	apps := recordedApps(data)
	if len(apps) == 0 {
		t.Errorf("%s: no app", where)
	}
	for _, raw := range apps {
		j, err := decodeOne[appJSON](bytes.NewReader(append(append([]byte(`{"app":`), raw...), '}')), "app")
		if err != nil {
			t.Errorf("%s: %v", where, err)
			continue
		}
		checkApp(t, filepath.Base(where), raw, convert("", specs.GroupKey{}, j))
	}
}

// checkRecordedAppList reads the apps of a list as List does: scanned as
// the answer streams in, each decoded alone.
func checkRecordedAppList(t *testing.T, where string, data []byte) {
	t.Helper()
	var raws struct{ Apps []json.RawMessage }
	if err := json.Unmarshal(data, &raws); err != nil {
		t.Fatal(err)
	}
	i := 0
	_, err := scanListArray(bytes.NewReader(data), "apps", nil, func(elem []byte) error {
		var j appJSON
		if err := jsonv2.Unmarshal(elem, &j, decodeOptions); err != nil {
			return err
		}
		if i < len(raws.Apps) {
			checkApp(t, filepath.Base(where), raws.Apps[i], convert("", specs.GroupKey{}, &j))
		}
		i++
		return nil
	})
	if err != nil || i != len(raws.Apps) {
		t.Errorf("%s: %d of %d apps listed: %v", where, i, len(raws.Apps), err)
	}
}

// checkRecordedError classifies an error answer of the given status as
// the driver does, and checks that the operator is told what Marathon
// said.
func checkRecordedError(t *testing.T, status int, data []byte) {
	t.Helper()
	var body struct {
		Message     string
		Deployments []struct{ ID string }
	}
	_ = json.Unmarshal(data, &body)
	var details []Detail
	_ = json.Unmarshal(data, &struct{ Details *[]Detail }{&details})
	err := (&Client{}).apiError("PUT", "/v2/apps/x", status, data, "/x")
	var api *APIError
	var locked *LockedError
	switch {
	case status == 404 && strings.Contains(body.Message, "does not exist"):
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), body.Message) {
			t.Errorf("404: %v, want ErrNotFound with %q", err, body.Message)
		}
		return
	case status == 409 && len(body.Deployments) > 0:
		if !errors.As(err, &locked) || locked.AppID != "/x" || len(locked.Deployments) != len(body.Deployments) || IsPermanent(err) {
			t.Fatalf("409 locked: %#v", err)
		}
		for i, d := range body.Deployments {
			if locked.Deployments[i] != d.ID || d.ID == "" {
				t.Errorf("locking deployment %d: %q, want %q", i, locked.Deployments[i], d.ID)
			}
		}
		return
	case !errors.As(err, &api):
		t.Fatalf("%d: %#v, want an APIError", status, err)
	}
	if api.Status != status || body.Message != "" && !strings.Contains(err.Error(), body.Message) {
		t.Errorf("%d: %v, want the message %q", status, err, body.Message)
	}
	if permanent := status == 400 || status == 422; IsPermanent(err) != permanent {
		t.Errorf("%d: permanent %v", status, !permanent)
	}
	if exists := errors.Is(err, model.ErrAppExists); exists != (status == 409) {
		t.Errorf("%d: matches ErrAppExists: %v", status, exists)
	}
	for _, d := range details {
		for _, e := range d.Errors {
			if !strings.Contains(err.Error(), d.Path+": ") || !strings.Contains(err.Error(), e) {
				t.Errorf("%d: %v, want %s: %s", status, err, d.Path, e)
			}
		}
	}
}

// checkRecordedTasks decodes a task list, or the one task a kill answers,
// as GET /v2/apps/{id} reads its tasks.
func checkRecordedTasks(t *testing.T, where string, data []byte) int {
	t.Helper()
	var raws struct {
		Tasks []map[string]any
		Task  map[string]any
	}
	if err := json.Unmarshal(data, &raws); err != nil {
		t.Fatal(err)
	}
	if raws.Task != nil { // DELETE of one task
		j, err := decodeOne[taskJSON](bytes.NewReader(data), "task")
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		checkTask(t, filepath.Base(where), raws.Task, toTask(j, true), true)
		return 1
	}
	i := 0
	err := decodeList(bytes.NewReader(data), "tasks", func(j *taskJSON) {
		checkTask(t, filepath.Base(where), raws.Tasks[i], toTask(j, true), true)
		i++
	})
	if err != nil || i != len(raws.Tasks) {
		t.Errorf("%s: %d of %d tasks: %v", where, i, len(raws.Tasks), err)
	}
	return i
}

// checkRecordedDeployments decodes GET /v2/deployments.
func checkRecordedDeployments(t *testing.T, where string, data []byte) {
	t.Helper()
	var raws []struct {
		ID, Version             string
		AffectedApps            []string
		CurrentStep, TotalSteps int
		CurrentActions          []struct{ Action, App string }
	}
	if err := json.Unmarshal(data, &raws); err != nil {
		t.Fatal(err)
	}
	got, err := decodeDeployments(data)
	if err != nil || len(got) != len(raws) || len(got) == 0 {
		t.Fatalf("%s: %+v, %v", where, got, err)
	}
	for i, d := range got {
		r := raws[i]
		if d.ID != r.ID || d.ID == "" || d.Version != r.Version || !slices.Equal(d.AffectedApps, r.AffectedApps) ||
			d.CurrentStep != r.CurrentStep || d.TotalSteps != r.TotalSteps || len(d.CurrentActions) != len(r.CurrentActions) {
			t.Errorf("%s: %+v", where, d)
			continue
		}
		for k, a := range d.CurrentActions {
			if a.Action != r.CurrentActions[k].Action || a.App != r.CurrentActions[k].App || a.Action == "" {
				t.Errorf("%s: action %+v", where, a)
			}
		}
	}
}
