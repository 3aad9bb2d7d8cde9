package marathon

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"theseus.dev/specs"
)

const recorded = "../../../shared/marathon-api"

func readRecorded(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(recorded, path))
	if err != nil {
		t.Skipf("recorded Marathon bodies not found: %v", err)
	}
	return data
}

// TestDecodeRecordedApps decodes real app lists of both generations and
// checks the fields theseus uses.
func TestDecodeRecordedApps(t *testing.T) {
	tests := []struct {
		file string
		id   string
		want func(t *testing.T, a App)
	}{
		{"go-marathon-master/03-GET-v2-apps.json", "/fake-app", func(t *testing.T, a App) {
			// 1.5+: container.portMappings and networks.
			if a.Spec.Image != "python:3" || len(a.Spec.Ports) != 2 || a.Spec.Ports[0].ContainerPort != 8080 || a.Spec.Ports[1].Protocol != "udp" {
				t.Errorf("1.5+ app: image %q ports %+v", a.Spec.Image, a.Spec.Ports)
			}
		}},
		{"docs-examples/app_list.json", "", nil},
		{"go-marathon-v0.7.1/split/03-GET-v2-apps.json", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var list struct {
				Apps []appJSON `json:"apps"`
			}
			if err := json.Unmarshal(readRecorded(t, tt.file), &list); err != nil {
				t.Fatal(err)
			}
			if len(list.Apps) == 0 {
				t.Fatal("no apps decoded")
			}
			for i := range list.Apps {
				j := &list.Apps[i]
				a := convert("", j)
				if a.ID != j.ID || a.Version == "" || *a.Spec.Instances != j.Instances || *a.Spec.CPUs != j.CPUs || *a.Spec.Mem != j.Mem {
					t.Errorf("%s: id %q version %q instances %d cpus %g mem %g", j.ID, a.ID, a.Version, *a.Spec.Instances, *a.Spec.CPUs, *a.Spec.Mem)
				}
				if a.Counts.Running != j.TasksRunning || a.Counts.Healthy != j.TasksHealthy || len(a.Tasks) != len(j.Tasks) {
					t.Errorf("%s: counts %+v tasks %d", j.ID, a.Counts, len(a.Tasks))
				}
				for k, task := range a.Tasks {
					if task.ID == "" || task.Host == "" || len(task.Ports) != len(j.Tasks[k].Ports) {
						t.Errorf("%s: task %+v", j.ID, task)
					}
				}
				if tt.want != nil && a.ID == tt.id {
					tt.want(t, a)
				}
			}
		})
	}
}

// TestDecodeRecordedApp decodes single apps (GET /v2/apps/{id}) of 1.4
// shape: docker.network and docker.portMappings.
func TestDecodeRecordedApp(t *testing.T) {
	data := readRecorded(t, "go-marathon-v0.7.1/split/14-GET-v2-apps-fake-app.json")
	var one struct {
		App appJSON `json:"app"`
	}
	if err := json.Unmarshal(data, &one); err != nil {
		t.Fatal(err)
	}
	a := convert("", &one.App)
	if a.ID == "" || a.Spec.Image == "" && one.App.Container != nil && one.App.Container.Docker != nil {
		t.Errorf("decoded %+v", a)
	}
	if one.App.Container != nil && one.App.Container.Docker != nil && len(one.App.Container.Docker.PortMappings) != len(a.Spec.Ports) {
		t.Errorf("ports %+v from %+v", a.Spec.Ports, one.App.Container.Docker.PortMappings)
	}
}

// TestDecodeRecordedEvents decodes every recorded event.
func TestDecodeRecordedEvents(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(recorded, "events", "*.json"))
	if len(files) == 0 {
		t.Skip("recorded events not found")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ev, ok := DecodeEvent("", "", data)
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if !ok || string(ev.Type) != name {
			t.Errorf("%s: decoded as %q (ok %v)", name, ev.Type, ok)
		}
		switch name {
		case "status_update_event":
			if ev.AppID != "/my-app" || ev.TaskStatus != "TASK_RUNNING" || ev.Host == "" || len(ev.Ports) != 1 {
				t.Errorf("%s: %+v", name, ev)
			}
		case "health_status_changed_event", "instance_health_changed_event":
			if ev.AppID == "" || ev.TaskID == "" || ev.Alive == nil {
				t.Errorf("%s: %+v", name, ev)
			}
		case "deployment_success", "deployment_failed", "deployment_info", "deployment_step_success", "deployment_step_failure":
			if ev.DeploymentID == "" {
				t.Errorf("%s: no deployment id: %+v", name, ev)
			}
		}
	}
}

// TestDecodeRecordedDeployments decodes GET /v2/deployments of Marathon 1.x.
func TestDecodeRecordedDeployments(t *testing.T) {
	var list []deploymentJSON
	if err := json.Unmarshal(readRecorded(t, "docs-examples/deployments.json"), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) == 0 || list[0].ID == "" || list[0].CurrentStep == 0 || len(list[0].CurrentActions) == 0 || list[0].CurrentActions[0].Action == "" {
		t.Errorf("decoded %+v", list)
	}
}

// TestReadSSE: the framing of server-sent events, with the recorded
// stream.
func TestReadSSE(t *testing.T) {
	var names []string
	in := string(readRecorded(t, "docs-examples/events.txt")) + ": comment\n\nevent: x\ndata: {\"a\":\ndata: 1}\n\n"
	err := readSSE(strings.NewReader(in), func(name string, data []byte) {
		if data != nil {
			names = append(names, name)
			if name == "x" && string(data) != "{\"a\":\n1}" {
				t.Errorf("multi-line data joined as %q", data)
			}
		}
	})
	if err == nil {
		t.Error("an ended stream is not reported")
	}
	if len(names) < 3 || names[0] != "event_stream_attached" || names[len(names)-1] != "x" {
		t.Errorf("events %v", names)
	}
}

func FuzzDecodeApps(f *testing.F) {
	for _, p := range []string{"docs-examples/app_list.json", "go-marathon-master/03-GET-v2-apps.json", "go-marathon-v0.7.1/split/03-GET-v2-apps.json"} {
		if data, err := os.ReadFile(filepath.Join(recorded, p)); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"apps":[{"id":"/web/dev","env":{"A":{"secret":"x"}},"container":{"docker":{"portMappings":[{}]}},"tasks":[{"ports":[]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		apps, err := decodeApps("", data)
		if err != nil {
			return
		}
		for _, a := range apps {
			if a.Key.IsZero() {
				t.Fatalf("listed an app whose id names no group: %q", a.ID)
			}
			_ = specs.Hash(a.Spec)
		}
	})
}

func FuzzReadSSE(f *testing.F) {
	if data, err := os.ReadFile(filepath.Join(recorded, "docs-examples/events.txt")); err == nil {
		f.Add(data)
	}
	f.Add([]byte("event: a\ndata: {}\n\n:\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = readSSE(strings.NewReader(string(data)), func(name string, d []byte) {
			DecodeEvent("", name, d)
		})
	})
}

// body10k is a GET /v2/apps answer of 10,000 apps with 5 tasks each, in
// Marathon 1.5+'s shape.
func body10k() []byte {
	var b strings.Builder
	b.WriteString(`{"apps":[`)
	for i := range 10000 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"/svc-%d/dev","instances":5,"cpus":0.1,"mem":64,"disk":0,"version":"2026-01-01T00:00:00.000Z",`+
			`"container":{"type":"DOCKER","docker":{"image":"nginx:1.27"},"portMappings":[{"containerPort":80,"hostPort":0,"servicePort":10000,"protocol":"tcp","name":"http"}]},`+
			`"networks":[{"mode":"container/bridge"}],"env":{"LOG_LEVEL":"info"},"labels":{"theseus.io/managed":"true","theseus.io/group":"svc-%d/dev","theseus.io/spec-hash":"abc","theseus.io/revision":"7"},`+
			`"constraints":[["hostname","UNIQUE"]],"healthChecks":[{"protocol":"HTTP","path":"/healthz","portIndex":0,"gracePeriodSeconds":30,"intervalSeconds":10,"timeoutSeconds":20,"maxConsecutiveFailures":3,"delaySeconds":15,"ignoreHttp1xx":false}],`+
			`"upgradeStrategy":{"minimumHealthCapacity":1,"maximumOverCapacity":1},"tasksStaged":0,"tasksRunning":5,"tasksHealthy":5,"tasksUnhealthy":0,"deployments":[],"tasks":[`, i, i)
		for k := range 5 {
			if k > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"id":"svc-%d_dev.instance-%d._app.1","appId":"/svc-%d/dev","host":"agent-%d","state":"TASK_RUNNING","ports":[%d],"version":"2026-01-01T00:00:00.000Z",`+
				`"stagedAt":"2026-01-01T00:00:01.000Z","startedAt":"2026-01-01T00:00:02.000Z","healthCheckResults":[{"alive":true}],"ipAddresses":[{"ipAddress":"10.0.0.%d","protocol":"IPv4"}]}`,
				i, k, i, k, 31000+k, k)
		}
		b.WriteString(`]}`)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// BenchmarkDecode10k decodes the list of 10,000 apps and 50,000 tasks.
func BenchmarkDecode10k(b *testing.B) {
	data := body10k()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		apps, err := decodeApps("", data)
		if err != nil || len(apps) != 10000 {
			b.Fatalf("%d apps, %v", len(apps), err)
		}
	}
}
