package marathon

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"theseus.dev/specs"
)

// decodeList streams the array under key of a JSON object (such as
// {"apps": [...]}) from r, decoding each element in turn and handing it
// to fn: the tests read recorded lists element by element with it.
func decodeList[T any](r io.Reader, key string, fn func(*T)) error {
	dec := jsontext.NewDecoder(r, decodeOptions)
	return readListArray(dec, key, func() error {
		var v T
		if err := jsonv2.UnmarshalDecode(dec, &v); err != nil {
			return err
		}
		fn(&v)
		return nil
	})
}

// recorded holds real Marathon bodies of both generations.
const recorded = "../../testdata/marathon"

func readRecorded(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(recorded, path))
	if err != nil {
		t.Fatalf("recorded Marathon body: %v", err)
	}
	return data
}

func globRecorded(t testing.TB, pattern string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(recorded, pattern))
	if len(files) == 0 {
		t.Fatalf("no recorded %s under %s", pattern, recorded)
	}
	return files
}

// recordedApps finds every app in a recorded body, whatever holds it: an
// app list, {"app": ...}, a bare app (a 201 answer or a definition), a
// list of definitions, a group tree, or the launch queue.
func recordedApps(data []byte) []json.RawMessage {
	var out []json.RawMessage
	var walk func(v json.RawMessage)
	walk = func(v json.RawMessage) {
		var list []json.RawMessage
		if json.Unmarshal(v, &list) == nil {
			for _, x := range list {
				walk(x)
			}
			return
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(v, &obj) != nil {
			return
		}
		for _, k := range []string{"apps", "app", "groups", "appDefinition", "*", "queue"} {
			if x, ok := obj[k]; ok {
				walk(x)
			}
		}
		for _, k := range []string{"cmd", "args", "container", "instances", "cpus", "mem"} {
			if _, ok := obj[k]; ok {
				out = append(out, v)
				return
			}
		}
	}
	walk(data)
	return out
}

// TestDecodeRecordedApps decodes every recorded app of both generations
// and checks each field theseus uses against the JSON it came from.
func TestDecodeRecordedApps(t *testing.T) {
	var files []string
	for _, dir := range []string{"docs-examples", "go-marathon-v0.7.1/split", "go-marathon-master", "transcripts-v0.10.1", "groups", "app-definitions", "events"} {
		files = append(files, globRecorded(t, dir+"/*.json")...)
	}
	total := 0
	for _, f := range files {
		if strings.Contains(f, "healthcheck-") {
			continue // single health checks, not apps
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range recordedApps(data) {
			total++
			j, err := decodeOne[appJSON](bytes.NewReader(append(append([]byte(`{"app":`), raw...), '}')), "app")
			if err != nil {
				t.Errorf("%s: %v", f, err)
				continue
			}
			checkApp(t, filepath.Base(f), raw, convert("", specs.GroupKey{}, j))
		}
	}
	t.Logf("%d recorded apps in %d files", total, len(files))
	if total < 40 {
		t.Errorf("only %d recorded apps found", total)
	}
}

// TestDecodeRecordedAppLists decodes the recorded app lists as List
// streams them.
func TestDecodeRecordedAppLists(t *testing.T) {
	for _, f := range []string{"docs-examples/app_list.json", "go-marathon-v0.7.1/split/03-GET-v2-apps.json",
		"go-marathon-master/03-GET-v2-apps.json", "go-marathon-v0.7.1/split/41-GET-marathon-v2-apps.json",
		"transcripts-v0.10.1/01-GET-v2-apps-200.response.json", "go-marathon-v0.7.1/split/04-GET-v2-apps--embed_apps.taskStats.json"} {
		t.Run(f, func(t *testing.T) {
			data := readRecorded(t, f)
			var raws struct{ Apps []json.RawMessage }
			if err := json.Unmarshal(data, &raws); err != nil {
				t.Fatal(err)
			}
			i := 0
			err := decodeList(bytes.NewReader(data), "apps", func(j *appJSON) {
				checkApp(t, f, raws.Apps[i], convert("", specs.GroupKey{}, j))
				i++
			})
			if err != nil || i != len(raws.Apps) {
				t.Errorf("%d of %d apps decoded: %v", i, len(raws.Apps), err)
			}
		})
	}
}

// TestDecodeRecordedSamples pins concrete values of a few recorded apps,
// one per shape.
func TestDecodeRecordedSamples(t *testing.T) {
	one := func(t *testing.T, f string) App {
		apps := recordedApps(readRecorded(t, f))
		j, err := decodeOne[appJSON](bytes.NewReader(append(append([]byte(`{"app":`), apps[0]...), '}')), "app")
		if err != nil {
			t.Fatal(err)
		}
		return convert("", specs.GroupKey{}, j)
	}
	t.Run("1.5+ networks and container.portMappings", func(t *testing.T) {
		a := one(t, "go-marathon-master/14-GET-v2-apps-fake-app.json")
		want := []specs.Port{{ContainerPort: 8080, Protocol: "tcp"}}
		if a.ID != "/fake-app" || a.Spec.Image != "python:3" || !reflect.DeepEqual(a.Spec.Ports, want) || *a.Spec.CPUs != 0.2 ||
			*a.Spec.Upgrade.MaximumOverCapacity != 1 || len(a.Tasks) != 2 || a.Tasks[0].Ports[0] != 31045 ||
			a.Tasks[0].Mappings[0] != (specs.PortMapping{ContainerPort: 8080, HostPort: 31045, Protocol: "tcp"}) ||
			a.Tasks[0].Health != "healthy" || a.LastTaskFailure.State != "TASK_FAILED" {
			t.Errorf("%+v", a)
		}
	})
	t.Run("1.4 docker.network and docker.portMappings", func(t *testing.T) {
		a := one(t, "go-marathon-v0.7.1/split/03-GET-v2-apps.json")
		want := []specs.Port{{ContainerPort: 8080, Protocol: "tcp"}, {ContainerPort: 161, Protocol: "udp"}}
		if a.ID != "/fake-app" || a.Spec.Image != "python:3" || !reflect.DeepEqual(a.Spec.Ports, want) {
			t.Errorf("%+v", a)
		}
	})
	t.Run("0.x host ports", func(t *testing.T) {
		a := one(t, "docs-examples/app_list.json")
		if a.Spec.Cmd != "env && sleep 60" || len(a.Spec.Ports) != 2 || len(a.Spec.Constraints) != 1 || !slices.Equal(a.Spec.Constraints[0], specs.Constraint{"hostname", "UNIQUE"}) ||
			a.Spec.Env["LD_LIBRARY_PATH"].Value != "/usr/local/lib/myLib" || !slices.Equal(a.Deployments, []string{"9538079c-3898-4e32-aa31-799bf9097f74"}) {
			t.Errorf("%+v", a)
		}
	})
}

// checkApp compares an App with the generic decoding of the JSON it was
// decoded from, field by field, applying Marathon's defaults.
func checkApp(t *testing.T, where string, raw json.RawMessage, a App) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	id, _ := m["id"].(string)
	errorf := func(format string, args ...any) { t.Helper(); t.Errorf(where+" "+id+": "+format, args...) }
	str := func(v any) string { s, _ := v.(string); return s }
	num := func(v any, def float64) float64 {
		switch v := v.(type) {
		case float64:
			return v
		case string: // numbers in strings, as HTTPie sent them to Marathon 0.x
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
		return def
	}
	obj := func(v any) map[string]any { o, _ := v.(map[string]any); return o }
	arr := func(v any) []any { a, _ := v.([]any); return a }

	if a.ID != id || a.Version != str(m["version"]) {
		errorf("id %q version %q", a.ID, a.Version)
	}
	if *a.Spec.Instances != int(num(m["instances"], 1)) || a.Counts.Wanted != *a.Spec.Instances ||
		*a.Spec.CPUs != num(m["cpus"], 1) || *a.Spec.Mem != num(m["mem"], 128) || *a.Spec.Disk != num(m["disk"], 0) {
		errorf("resources %d %g %g %g", *a.Spec.Instances, *a.Spec.CPUs, *a.Spec.Mem, *a.Spec.Disk)
	}
	if a.Spec.Cmd != str(m["cmd"]) || a.Spec.Image != str(obj(obj(m["container"])["docker"])["image"]) {
		errorf("cmd %q image %q", a.Spec.Cmd, a.Spec.Image)
	}
	if args := arr(m["args"]); len(a.Spec.Args) != len(args) {
		errorf("args %v", a.Spec.Args)
	}
	env := obj(m["env"])
	if len(a.Spec.Env) != len(env) {
		errorf("env %v", a.Spec.Env)
	}
	for k, v := range env {
		// A reference to a declared secret reads as its source, one to an
		// undeclared secret as its JSON text.
		got := a.Spec.Env[k].Value
		if src := a.Spec.Env[k].SecretSource; src != "" {
			got = src
		}
		if s, ok := v.(string); ok && got != s || !ok && !strings.Contains(got, "secret") {
			errorf("env %s = %q, want %v", k, got, v)
		}
	}
	labels := obj(m["labels"])
	if a.Managed != (labels[LabelManaged] == "true") && !a.Key.IsZero() || a.SpecHash != str(labels[LabelSpecHash]) {
		errorf("labels %v: managed %v hash %q", labels, a.Managed, a.SpecHash)
	}
	var constraints int
	for _, c := range arr(m["constraints"]) {
		if len(arr(c)) >= 2 {
			constraints++
		}
	}
	if len(a.Spec.Constraints) != constraints {
		errorf("constraints %v", a.Spec.Constraints)
	}
	container := obj(m["container"])
	mappings := arr(container["portMappings"])
	if len(mappings) == 0 {
		mappings = arr(obj(container["docker"])["portMappings"])
	}
	host := true
	if nets := arr(m["networks"]); len(nets) > 0 {
		host = str(obj(nets[0])["mode"]) == "host"
	} else if n := strings.ToUpper(str(obj(container["docker"])["network"])); n == "BRIDGE" || n == "USER" {
		host = false
	}
	wantPorts := len(mappings)
	switch {
	case wantPorts > 0:
		for i, pm := range mappings {
			p := a.Spec.Ports[i]
			if p.ContainerPort != int(num(obj(pm)["containerPort"], 0)) || p.Protocol != cmpS(str(obj(pm)["protocol"]), "tcp") || p.Name != str(obj(pm)["name"]) {
				errorf("port %d %+v from %v", i, p, pm)
			}
		}
	case host && m["portDefinitions"] != nil:
		wantPorts = len(arr(m["portDefinitions"]))
	case host:
		wantPorts = len(arr(m["ports"]))
	}
	if len(a.Spec.Ports) != wantPorts {
		errorf("ports %+v, want %d", a.Spec.Ports, wantPorts)
	}
	checks := arr(m["healthChecks"])
	if len(a.Spec.HealthChecks) != len(checks) {
		errorf("health checks %+v", a.Spec.HealthChecks)
	} else {
		for i, c := range checks {
			hc, h := a.Spec.HealthChecks[i], obj(c)
			proto := strings.ToUpper(cmpS(str(h["protocol"]), "HTTP"))
			if hc.Protocol != proto || *hc.GracePeriodSeconds != int(num(h["gracePeriodSeconds"], 300)) ||
				*hc.IntervalSeconds != int(num(h["intervalSeconds"], 60)) || *hc.TimeoutSeconds != int(num(h["timeoutSeconds"], 20)) ||
				*hc.MaxConsecutiveFailures != int(num(h["maxConsecutiveFailures"], 3)) ||
				proto != "COMMAND" && *hc.PortIndex != int(num(h["portIndex"], 0)) ||
				proto == "COMMAND" && hc.Command != str(obj(h["command"])["value"]) ||
				strings.Contains(proto, "HTTP") && hc.Path != cmpS(str(h["path"]), "/") {
				errorf("health check %d %+v from %v", i, hc, h)
			}
		}
	}
	us := obj(m["upgradeStrategy"])
	if *a.Spec.Upgrade.MinimumHealthCapacity != num(us["minimumHealthCapacity"], 1) || *a.Spec.Upgrade.MaximumOverCapacity != num(us["maximumOverCapacity"], 1) {
		errorf("upgrade %v %v", *a.Spec.Upgrade.MinimumHealthCapacity, *a.Spec.Upgrade.MaximumOverCapacity)
	}
	if a.Counts.Running != int(num(m["tasksRunning"], 0)) || a.Counts.Healthy != int(num(m["tasksHealthy"], 0)) ||
		a.Counts.Staged != int(num(m["tasksStaged"], 0)) || a.Counts.Unhealthy != int(num(m["tasksUnhealthy"], 0)) {
		errorf("counts %+v", a.Counts)
	}
	deps := arr(m["deployments"])
	if len(a.Deployments) != len(deps) {
		errorf("deployments %v", a.Deployments)
	}
	for i, d := range deps {
		if a.Deployments[i] != str(obj(d)["id"]) {
			errorf("deployment %d %q", i, a.Deployments[i])
		}
	}
	tasks := arr(m["tasks"])
	if len(a.Tasks) != len(tasks) {
		errorf("%d tasks", len(a.Tasks))
		return
	}
	outdated := 0
	changed := ts(str(obj(m["versionInfo"])["lastConfigChangeAt"]))
	for i, tv := range tasks {
		checkTask(t, where+" "+id, obj(tv), a.Tasks[i], len(checks) > 0)
		if v := ts(str(obj(tv)["version"])); str(obj(tv)["state"]) == "TASK_RUNNING" && !changed.IsZero() && !v.IsZero() && v.Before(changed) {
			outdated++
		}
	}
	if a.Outdated != outdated {
		errorf("%d outdated tasks, want %d", a.Outdated, outdated)
	}
	if f := obj(m["lastTaskFailure"]); f != nil {
		lf := a.LastTaskFailure
		if lf == nil || lf.TaskID != str(f["taskId"]) || lf.State != str(f["state"]) || lf.Message != str(f["message"]) ||
			lf.Host != str(f["host"]) || lf.Version != str(f["version"]) || !lf.Timestamp.Equal(ts(str(f["timestamp"]))) {
			errorf("last task failure %+v", lf)
		}
	}
}

// checkTask compares a Task with the generic decoding of its JSON.
func checkTask(t *testing.T, where string, m map[string]any, task Task, checked bool) {
	t.Helper()
	str := func(v any) string { s, _ := v.(string); return s }
	var ports []int
	for _, p := range sliceOf(m["ports"]) {
		ports = append(ports, int(p.(float64)))
	}
	if task.ID != str(m["id"]) || task.AppID != str(m["appId"]) || task.Host != str(m["host"]) || task.State != str(m["state"]) ||
		task.Version != str(m["version"]) || !slices.Equal(task.Ports, ports) ||
		!task.StagedAt.Equal(ts(str(m["stagedAt"]))) || !task.StartedAt.Equal(ts(str(m["startedAt"]))) {
		t.Errorf("%s: task %+v from %v", where, task, m)
	}
	if ips, _ := m["ipAddresses"].([]any); len(ips) > 0 && task.IP != str(ips[0].(map[string]any)["ipAddress"]) {
		t.Errorf("%s: task ip %q from %v", where, task.IP, ips)
	}
	health := "unknown"
	if results, _ := m["healthCheckResults"].([]any); checked && len(results) > 0 {
		health = "healthy"
		for _, r := range results {
			if alive, _ := r.(map[string]any)["alive"].(bool); !alive {
				health = "unhealthy"
			}
		}
	}
	if task.Health != health {
		t.Errorf("%s: task %s health %q, want %q", where, task.ID, task.Health, health)
	}
}

func ts(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

func cmpS(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func sliceOf(v any) []any {
	s, _ := v.([]any)
	return s
}

// TestOutdatedTasks: a running task started before the app's last config
// change runs an older definition; one started by a later scale does not.
func TestOutdatedTasks(t *testing.T) {
	task := func(state, version string) string {
		return `{"id":"t","appId":"/api/dev","state":"` + state + `","version":"` + version + `"}`
	}
	tests := []struct {
		name     string
		info     string
		tasks    []string
		outdated int
	}{
		{"all current", `{"lastConfigChangeAt":"2026-01-02T00:00:00.000Z","lastScalingAt":"2026-01-03T00:00:00.000Z"}`,
			[]string{task("TASK_RUNNING", "2026-01-02T00:00:00.000Z"), task("TASK_RUNNING", "2026-01-03T00:00:00.000Z")}, 0},
		{"one left by a cancelled deployment", `{"lastConfigChangeAt":"2026-01-02T00:00:00.000Z"}`,
			[]string{task("TASK_RUNNING", "2026-01-01T23:59:59.999Z"), task("TASK_RUNNING", "2026-01-02T00:00:00.000Z")}, 1},
		{"an old task not running", `{"lastConfigChangeAt":"2026-01-02T00:00:00.000Z"}`,
			[]string{task("TASK_KILLING", "2026-01-01T00:00:00.000Z")}, 0},
		{"no versionInfo (Marathon 0.x)", `null`,
			[]string{task("TASK_RUNNING", "2026-01-01T00:00:00.000Z")}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"app":{"id":"/api/dev","versionInfo":` + tt.info + `,"tasks":[` + strings.Join(tt.tasks, ",") + `]}}`
			j, err := decodeOne[appJSON](strings.NewReader(body), "app")
			if err != nil {
				t.Fatal(err)
			}
			if got := convert("", specs.GroupKey{}, j).Outdated; got != tt.outdated {
				t.Errorf("Outdated = %d, want %d", got, tt.outdated)
			}
		})
	}
}
