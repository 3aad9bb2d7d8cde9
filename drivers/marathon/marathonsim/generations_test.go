package marathonsim

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// The answers where Marathon 1.10 and 1.4 were measured to differ from
// what the simulator used to say.

// TestOmitEmpty15: 1.10 leaves out of an app the lists and maps its RAML
// marks omitEmpty when they are empty; 1.4 writes them all.
func TestOmitEmpty15(t *testing.T) {
	omitted := []string{"constraints", "dependencies", "readinessChecks", "secrets", "env", "healthChecks", "fetch"}
	gens(t, func(t *testing.T, gen Generation) {
		h := newHarness(t, gen)
		h.create(map[string]any{"id": "/bare", "cmd": "sleep 100", "portDefinitions": []any{map[string]any{"port": 0, "name": "p"}}})
		app := h.must(http.StatusOK, "GET", "/v2/apps/bare", nil).obj(t)["app"].(map[string]any)
		for _, k := range omitted {
			if _, ok := app[k]; ok == (gen == Gen15) {
				t.Errorf("%s: present %v", k, ok)
			}
		}
		_, labels := app["portDefinitions"].([]any)[0].(map[string]any)["labels"]
		if labels == (gen == Gen15) {
			t.Errorf("portDefinitions[0].labels: present %v", labels)
		}

		// When not empty they are written.
		full := map[string]any{"id": "/full", "cmd": "sleep 100", "env": map[string]string{"A": "1"},
			"constraints": [][]string{{"hostname", "UNIQUE"}}, "dependencies": []string{"/bare"},
			"fetch":           []any{map[string]any{"uri": "http://x/a"}},
			"portDefinitions": []any{map[string]any{"port": 0, "name": "p", "labels": map[string]string{"VIP_0": "/x:80"}}},
			"healthChecks":    []any{map[string]any{"protocol": "TCP"}},
			"readinessChecks": []any{map[string]any{"portName": "p"}}}
		h.create(full)
		app = h.must(http.StatusOK, "GET", "/v2/apps/full", nil).obj(t)["app"].(map[string]any)
		for _, k := range []string{"constraints", "dependencies", "readinessChecks", "env", "healthChecks", "fetch"} {
			if _, ok := app[k]; !ok {
				t.Errorf("%s missing though not empty", k)
			}
		}
	})
}

// TestRole: 1.9+ writes every app's role, Marathon's --mesos_role for an
// app that names none; 1.4 has no roles and echoes none.
func TestRole(t *testing.T) {
	gens(t, func(t *testing.T, gen Generation) {
		h := newHarness(t, gen, func(o *Options) { o.MesosRole = "slave_public" })
		h.create(map[string]any{"id": "/dev/a", "cmd": "sleep 100"})
		h.create(map[string]any{"id": "/dev/b", "cmd": "sleep 100", "role": "dev"})
		for id, want := range map[string]string{"/dev/a": "slave_public", "/dev/b": "dev"} {
			role, ok := h.must(http.StatusOK, "GET", "/v2/apps"+id, nil).obj(t)["app"].(map[string]any)["role"]
			if gen == Gen14 && ok || gen == Gen15 && role != want {
				t.Errorf("%s: role %v (present %v)", id, role, ok)
			}
		}
		info := h.must(http.StatusOK, "GET", "/v2/info", nil).obj(t)["marathon_config"].(map[string]any)
		if info["mesos_role"] != "slave_public" {
			t.Errorf("/v2/info mesos_role %v", info["mesos_role"])
		}
	})
}

// TestPostAnswer: the 201 of a POST is the new app with zero counts and
// its deployment; 1.10 writes only its version there, 1.4 its versionInfo
// too.
func TestPostAnswer(t *testing.T) {
	gens(t, func(t *testing.T, gen Generation) {
		h := newHarness(t, gen)
		r := h.must(http.StatusCreated, "POST", "/v2/apps", map[string]any{"id": "/p", "cmd": "sleep 100"})
		app := r.obj(t)
		_, info := app["versionInfo"]
		if app["version"] == nil || info != (gen == Gen14) || app["tasksRunning"] != jsonNumber(0) ||
			len(app["deployments"].([]any)) != 1 {
			t.Errorf("POST answer %s", r.body)
		}
		// Every other answer carries versionInfo.
		if _, ok := h.must(http.StatusOK, "GET", "/v2/apps/p", nil).obj(t)["app"].(map[string]any)["versionInfo"]; !ok {
			t.Error("GET lacks versionInfo")
		}
	})
}

// Test14Answers: Marathon 1.4 writes acceptedResourceRoles only when there
// are some, and no ports, portDefinitions or requirePorts for an app with
// an ipAddress.
func Test14Answers(t *testing.T) {
	h := newHarness(t, Gen14)
	h.create(map[string]any{"id": "/plain", "cmd": "sleep 100"})
	h.create(map[string]any{"id": "/roles", "cmd": "sleep 100", "acceptedResourceRoles": []string{"*"}})
	h.create(map[string]any{"id": "/ip", "cmd": "sleep 100", "ipAddress": map[string]any{"networkName": "overlay"},
		"role": "ignored"})
	get := func(id string) map[string]any {
		return h.must(http.StatusOK, "GET", "/v2/apps"+id, nil).obj(t)["app"].(map[string]any)
	}
	if _, ok := get("/plain")["acceptedResourceRoles"]; ok {
		t.Error("acceptedResourceRoles written though empty")
	}
	if r := get("/roles")["acceptedResourceRoles"].([]any); len(r) != 1 || r[0] != "*" {
		t.Errorf("acceptedResourceRoles %v", r)
	}
	ip := get("/ip")
	for _, k := range []string{"ports", "portDefinitions", "requirePorts", "role"} {
		if _, ok := ip[k]; ok {
			t.Errorf("app with an ipAddress writes %s", k)
		}
	}
	if _, ok := get("/plain")["portDefinitions"]; !ok {
		t.Error("host app lost its portDefinitions")
	}
}

// TestReadTimeChecks: from 1.5 on, a type error is 422 "Invalid JSON";
// bounds and patterns of the RAML types are checked while reading, with
// play-json's keys; a body with errors in its deprecated fields gets those
// alone.
func TestReadTimeChecks(t *testing.T) {
	tests := []struct {
		name     string
		body     map[string]any
		path     string
		key15    string // 1.5+: the key, status 422 "Invalid JSON"
		status14 int
		msg14    string
	}{
		{"type", map[string]any{"id": "/a", "cmd": "sleep 1", "instances": "two"}, "/instances", errExpNumber, 400, errExpNumber},
		{"cpus below minimum", map[string]any{"id": "/a", "cmd": "sleep 1", "cpus": 0.0001}, "/cpus", errMin, 422, "is less than 0.001"},
		{"upper-case id", map[string]any{"id": "/A", "cmd": "sleep 1"}, "/id", errPattern, 422, msgIDPattern},
		{"health above one", map[string]any{"id": "/a", "cmd": "sleep 1", "upgradeStrategy": map[string]any{"minimumHealthCapacity": 2}},
			"/upgradeStrategy/minimumHealthCapacity", errMax, 422, "is greater than 1"},
		{"readiness port name", map[string]any{"id": "/a", "cmd": "sleep 1", "portDefinitions": []any{map[string]any{"port": 0, "name": "Web"}},
			"readinessChecks": []any{map[string]any{"portName": "Web"}}}, "/readinessChecks(0)/portName", errPattern, 0, ""},
		{"port above 65535", map[string]any{"id": "/a", "cmd": "sleep 1", "portDefinitions": []any{map[string]any{"port": 70000}}},
			"/portDefinitions(0)/port", errMax, 0, ""},
	}
	gens(t, func(t *testing.T, gen Generation) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				h := newHarness(t, gen)
				r := h.do("POST", "/v2/apps", tt.body)
				status, msg, message := http.StatusUnprocessableEntity, tt.key15, "Invalid JSON"
				if gen == Gen14 {
					if tt.status14 == 0 {
						return // not checked by 1.4
					}
					status, msg = tt.status14, tt.msg14
					if status == http.StatusUnprocessableEntity {
						message = "Object is not valid"
					}
				}
				if r.status != status || r.obj(t)["message"] != message || !hasDetail(t, r, tt.path, msg) {
					t.Fatalf("%d %s; want %d %q with %s: %s", r.status, r.body, status, message, tt.path, msg)
				}
			})
		}
		// Deprecated fields are checked first; their errors come alone.
		h := newHarness(t, gen)
		r := h.do("POST", "/v2/apps", map[string]any{"id": "/a", "cmd": "sleep 1", "args": []string{"x"},
			"ports": []int{80, 80}})
		details := r.obj(t)["details"].([]any)
		if r.status != http.StatusUnprocessableEntity || len(details) != 1 || !hasDetail(t, r, "/", "ports must be unique") {
			t.Fatalf("deprecated-field errors: %d %s", r.status, r.body)
		}
	})
}

// TestDeploymentIDs: two simulators hand out different deployment ids, as
// two Marathons do; a seed makes them reproducible.
func TestDeploymentIDs(t *testing.T) {
	first := func(mod ...func(*Options)) string {
		h := newHarness(t, Gen15, mod...)
		r := h.must(http.StatusCreated, "POST", "/v2/apps", map[string]any{"id": "/d", "cmd": "sleep 100"})
		return r.header.Get("Marathon-Deployment-Id")
	}
	if a, b := first(), first(); a == b || len(a) != 36 || a[14] != '4' {
		t.Errorf("fresh simulators: %s and %s", a, b)
	}
	seed := func(o *Options) { o.Seed = 42 }
	if a, b := first(seed), first(seed); a != b {
		t.Errorf("seeded simulators: %s and %s", a, b)
	}
}

// TestSettingsRefuse: with Marathon 1.10's defaults (no features, role
// "*") the simulator refuses what 1.10 refuses, and takes it once the
// settings allow it.
func TestSettingsRefuse(t *testing.T) {
	resident := map[string]any{"id": "/db/node", "cmd": "sleep 100", "container": map[string]any{"type": "DOCKER",
		"docker": map[string]any{"image": "cassandra"}, "volumes": []any{map[string]any{"containerPath": "data", "mode": "RW",
			"persistent": map[string]any{"size": 100}}}}}
	external := map[string]any{"id": "/ext", "cmd": "sleep 100", "container": map[string]any{"type": "DOCKER",
		"docker": map[string]any{"image": "busybox"}, "volumes": []any{map[string]any{"containerPath": "/data", "mode": "RW",
			"external": map[string]any{"name": "v1", "provider": "dvdi", "options": map[string]string{"dvdi/driver": "rexray"}}}}}}
	secret := map[string]any{"id": "/s", "cmd": "sleep 100", "env": map[string]any{"PW": map[string]string{"secret": "pw"}},
		"secrets": map[string]any{"pw": map[string]string{"source": "/db/pw"}}}
	gpu := map[string]any{"id": "/g", "cmd": "sleep 100", "gpus": 1, "container": map[string]any{"type": "MESOS",
		"docker": map[string]any{"image": "cuda"}}}
	tests := []struct {
		name      string
		gen       Generation // 0: both
		body      map[string]any
		path, msg string
	}{
		{"resident with role *", Gen15, resident, "/role", msgResidentRole},
		{"role not valid", Gen15, map[string]any{"id": "/a/b", "cmd": "sleep 1", "role": "other"}, "/role", "got other, expected one of: [*, a]"},
		{"accepted role not the app's", Gen15, map[string]any{"id": "/a/b", "cmd": "sleep 1", "acceptedResourceRoles": []string{"x"}},
			"/acceptedResourceRoles", "acceptedResourceRoles can only contain * and *"},
		{"external volume", 0, external, "/container/volumes(0)", featureMessage(FeatureExternalVolumes)},
		{"secrets", 0, secret, "/secrets", featureMessage(FeatureSecrets)},
		{"env secret", 0, secret, "/env", msgEnvSecretsFeature},
		{"gpus", 0, gpu, "/", featureMessage(FeatureGPUResources)},
		{"gpus in docker", 0, map[string]any{"id": "/g", "gpus": 1, "container": map[string]any{"docker": map[string]any{"image": "cuda"}}},
			"/", msgGPUDocker},
	}
	for _, tt := range tests {
		gens(t, func(t *testing.T, gen Generation) {
			if tt.gen != 0 && tt.gen != gen {
				return
			}
			t.Run(tt.name, func(t *testing.T) {
				h := newHarness(t, gen)
				r := h.do("POST", "/v2/apps", tt.body)
				if r.status != http.StatusUnprocessableEntity || !hasDetail(t, r, tt.path, tt.msg) {
					t.Fatalf("%d %s; want %s: %s", r.status, r.body, tt.path, tt.msg)
				}
			})
		})
	}
	gens(t, func(t *testing.T, gen Generation) {
		h := newHarness(t, gen, allFeatures)
		for _, body := range []map[string]any{external, secret, gpu, resident} {
			if body["id"] == "/db/node" {
				body = clone(body)
				body["role"] = "db" // the role of its top-level group
			}
			h.must(http.StatusCreated, "POST", "/v2/apps", body)
		}
		if f := h.must(http.StatusOK, "GET", "/v2/info", nil).obj(t)["marathon_config"].(map[string]any)["features"].([]any); len(f) != 3 {
			t.Errorf("/v2/info features %v", f)
		}
	})
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestKillSelection: a scale-down kills the youngest tasks, or the oldest
// with OLDEST_FIRST.
func TestKillSelection(t *testing.T) {
	for _, sel := range []string{"YOUNGEST_FIRST", "OLDEST_FIRST"} {
		h := newHarness(t, Gen15)
		app := map[string]any{"id": "/k", "cmd": "sleep 100", "instances": 1, "killSelection": sel, "portDefinitions": []any{}}
		h.create(app)
		oldest := h.sim.Tasks("/k")[0].ID
		h.advance(time.Minute)
		h.must(http.StatusOK, "PUT", "/v2/apps/k", map[string]any{"instances": 3})
		h.until("scale up", time.Hour, h.settled)
		h.must(http.StatusOK, "PUT", "/v2/apps/k", map[string]any{"instances": 1})
		h.until("scale down", time.Hour, h.settled)
		left := h.sim.Tasks("/k")
		if len(left) != 1 || (left[0].ID == oldest) != (sel == "YOUNGEST_FIRST") {
			t.Errorf("%s kept %v, the oldest was %s", sel, left, oldest)
		}
	}
}

// TestKillGracePeriod: a killed task stays TASK_KILLING for its app's
// taskKillGracePeriodSeconds.
func TestKillGracePeriod(t *testing.T) {
	h := newHarness(t, Gen15)
	h.create(map[string]any{"id": "/g", "cmd": "sleep 100", "taskKillGracePeriodSeconds": 30, "portDefinitions": []any{}})
	id := h.sim.Tasks("/g")[0].ID
	h.must(http.StatusOK, "DELETE", "/v2/apps/g/tasks/"+id, nil)
	h.advance(29 * time.Second)
	if ts, ok := h.sim.Task(id); !ok || ts.State != "TASK_KILLING" {
		t.Fatalf("29s into a 30s grace period: %+v, %v", ts, ok)
	}
	h.advance(2 * time.Second)
	if _, ok := h.sim.Task(id); ok {
		t.Fatal("task outlived its grace period")
	}
}

// TestFetch: the fetcher's downloads lengthen staging; a download that
// fails fails the task, which Marathon relaunches.
func TestFetch(t *testing.T) {
	h := newHarness(t, Gen15)
	uris := []any{map[string]any{"uri": "http://x/a.tgz"}, map[string]any{"uri": "http://x/b"}}
	h.must(http.StatusCreated, "POST", "/v2/apps", map[string]any{"id": "/f", "cmd": "sleep 100", "fetch": uris, "portDefinitions": []any{}})
	h.advance(DefaultTimings().Staging + time.Second) // staging alone has passed, the fetches have not
	if ts := h.sim.Tasks("/f"); len(ts) != 1 || ts[0].State != "TASK_STAGING" {
		t.Fatalf("tasks while fetching: %+v", ts)
	}
	h.until("fetched", time.Minute, h.settled)

	h.sim.Faults().FailFetch("http://x/bad")
	h.must(http.StatusCreated, "POST", "/v2/apps", map[string]any{"id": "/bad", "cmd": "sleep 100",
		"fetch": []any{map[string]any{"uri": "http://x/bad"}}, "portDefinitions": []any{}})
	h.until("a failed fetch", time.Minute, func() bool {
		r := h.must(http.StatusOK, "GET", "/v2/apps/bad", nil).obj(t)["app"].(map[string]any)
		f, _ := r["lastTaskFailure"].(map[string]any)
		m, _ := f["message"].(string)
		return f["state"] == "TASK_FAILED" && strings.Contains(m, "Failed to fetch 'http://x/bad'")
	})
}
