package marathonsim

import (
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// gens runs a test once per response generation.
func gens(t *testing.T, fn func(t *testing.T, gen Generation)) {
	for _, gen := range []Generation{Gen14, Gen15} {
		t.Run("marathon-"+gen.String(), func(t *testing.T) { fn(t, gen) })
	}
}

// acceptedBody is a request body Marathon accepts, taken from the
// recorded data.
type acceptedBody struct {
	name   string
	method string
	path   string
	body   any
	// prepare runs before the request (e.g. create the app a PATCH
	// changes).
	prepare func(h *harness)
	want    int
}

// acceptedBodies lists every request body of the reference data that
// Marathon accepts: app definitions, single health checks (wrapped into an
// app), the docs' PATCH and PUT /v2/apps bodies, the valid transcript
// requests, the apps of the group trees, and the AppInfo fixtures of
// go-marathon sent back as definitions (read-only fields are ignored on
// POST).
func acceptedBodies(t *testing.T) []acceptedBody {
	var out []acceptedBody
	post := func(name string, body any) {
		out = append(out, acceptedBody{name: name, method: "POST", path: "/v2/apps", body: body, want: http.StatusCreated})
	}
	for _, f := range refGlob(t, "app-definitions/*.json") {
		if strings.HasPrefix(filepath.Base(f), "healthcheck-") {
			post(f, map[string]any{"id": "/hc", "cmd": "sleep 1000", "healthChecks": []any{refJSON(t, f)}})
			continue
		}
		post(f, refJSON(t, f))
	}
	// Not recorded: the Mesos containerizer runs an AppC image without a
	// cmd, as it runs a Docker one (AppValidation).
	post("appc image without cmd", map[string]any{"id": "/appc", "container": map[string]any{"type": "MESOS",
		"appc": map[string]any{"image": "coreos.com/etcd:v2.0.0"}}})
	out = append(out, acceptedBody{
		name: "docs-examples/app_patch.json", method: "PATCH", path: "/v2/apps/foo",
		body:    refJSON(t, "docs-examples/app_patch.json"),
		prepare: func(h *harness) { h.create(map[string]any{"id": "/foo", "cmd": "sleep 100"}) },
		want:    http.StatusOK,
	})
	out = append(out, acceptedBody{
		name: "docs-examples/apps_create.json", method: "PUT", path: "/v2/apps",
		body: refJSON(t, "docs-examples/apps_create.json"), want: http.StatusOK,
	})
	post("transcripts-v0.10.1/00-POST-v2-apps-201.request.json", refJSON(t, "transcripts-v0.10.1/00-POST-v2-apps-201.request.json"))
	// The group body of a PUT /v2/groups/test/project: its app, with the
	// id made absolute, is an app definition of its own.
	for i, a := range groupApps(refJSON(t, "transcripts-v0.10.1/19-PUT-v2-groups-test-project-200.request.json")) {
		app := a.(map[string]any)
		app["id"] = "/test/project/" + app["id"].(string)
		post("transcripts-v0.10.1/19-PUT-v2-groups-test-project-200.request.json#"+itoa(i), app)
	}
	for _, f := range []string{
		"groups/benchmark-real-155_100.json", "groups/examples-Group-1.json", "groups/sleep-group.json",
		"docs-examples/group.json", "transcripts-v0.10.1/15-GET-v2-groups-200.response.json",
		"go-marathon-v0.7.1/split/20-GET-v2-groups.json", "go-marathon-v0.7.1/split/21-GET-v2-groups-test.json",
	} {
		for i, a := range groupApps(refJSON(t, f)) {
			post(f+"#"+itoa(i), a)
		}
	}
	for _, f := range []string{
		"go-marathon-v0.7.1/split/02-POST-v2-apps.json",
		"transcripts-v0.10.1/00-POST-v2-apps-201.response.json",
	} {
		post(f, refJSON(t, f))
	}
	for _, f := range []string{
		"go-marathon-v0.7.1/split/03-GET-v2-apps.json", "go-marathon-v0.7.1/split/41-GET-marathon-v2-apps.json",
		"go-marathon-master/03-GET-v2-apps.json", "transcripts-v0.10.1/01-GET-v2-apps-200.response.json",
	} {
		for i, a := range refJSON(t, f).(map[string]any)["apps"].([]any) {
			if _, resident := a.(map[string]any)["residency"]; !resident { // see TestContractRejectsResidencyWithoutVolumes
				post(f+"#"+itoa(i), a)
			}
		}
	}
	post("go-marathon-v0.7.1/split/14-GET-v2-apps-fake-app.json", refJSON(t, "go-marathon-v0.7.1/split/14-GET-v2-apps-fake-app.json").(map[string]any)["app"])
	for i, q := range refJSON(t, "go-marathon-v0.7.1/split/35-GET-v2-queue.json").(map[string]any)["queue"].([]any) {
		post("go-marathon-v0.7.1/split/35-GET-v2-queue.json#"+itoa(i), q.(map[string]any)["app"])
	}
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestContractAcceptsRecordedRequests sends every body Marathon accepts and
// expects Marathon's success status, in both generations.
// The bodies use secrets and external volumes: Marathon takes them with
// those features enabled.
func TestContractAcceptsRecordedRequests(t *testing.T) {
	gens(t, func(t *testing.T, gen Generation) {
		for _, c := range acceptedBodies(t) {
			t.Run(c.name, func(t *testing.T) {
				h := newHarness(t, gen, allFeatures)
				if c.prepare != nil {
					c.prepare(h)
				}
				r := h.do(c.method, c.path, c.body)
				if r.status != c.want {
					t.Fatalf("%s %s: status %d, want %d: %s", c.method, c.path, r.status, c.want, r.body)
				}
			})
		}
	})
}

// TestContractRejectsInvalidRecordedRequests covers the recorded request
// bodies a current Marathon refuses, with the answer it gives.
func TestContractRejectsInvalidRecordedRequests(t *testing.T) {
	tests := []struct {
		name   string
		method string
		path   string
		file   string
		body   any // instead of file
		// prepare: the transcript's 409 came from a locked app; a current
		// Marathon reads the body first and refuses the string.
		prepare    func(h *harness)
		wantStatus int
		// typeError: a body that does not read as an app, 400 up to 1.4
		// and 422 from 1.5 on.
		typeError bool
		wantPath  string
		wantError string
	}{
		{
			// Marathon 0.10 coerced "2" to a number; play-json does not.
			name: "instances as a string", method: "PUT", path: "/v2/apps/test",
			file:      "transcripts-v0.10.1/08-PUT-v2-apps-test-409.request.json",
			prepare:   lockedApp("/test"),
			typeError: true, wantPath: "/instances", wantError: errExpNumber,
		},
		{
			name: "cpus, mem and instances as strings", method: "PUT", path: "/v2/apps/my-app",
			file:      "transcripts-v0.10.1/06-PUT-v2-apps-my-app-200.request.json",
			typeError: true, wantPath: "/cpus", wantError: errExpNumber,
		},
		{
			// The RAML example is hand-written: it asks for an IP address
			// next to ports, with discovery on a Docker container. Those
			// are errors of the deprecated fields, and Marathon reports
			// them alone (its other error, cmd and args both given, is
			// never reached).
			name: "docs example with cmd and args", method: "POST", path: "/v2/apps",
			file:       "docs-examples/app.json",
			wantStatus: http.StatusUnprocessableEntity, wantPath: "/", wantError: "cannot specify both an IP address and port",
		},
		{
			// An AppInfo of a 1.x list sent back: it echoes a value-less
			// UNIQUE as ["hostname","UNIQUE",""] (the protobuf default),
			// and its own constraint validation refuses the empty value.
			name: "app list element sent back", method: "POST", path: "/v2/apps",
			body:       refJSON(t, "docs-examples/app_list.json").(map[string]any)["apps"].([]any)[0],
			wantStatus: http.StatusUnprocessableEntity, wantPath: "/constraints(0)", wantError: "",
		},
	}
	gens(t, func(t *testing.T, gen Generation) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				h := newHarness(t, gen)
				if tt.prepare != nil {
					tt.prepare(h)
				}
				body := tt.body
				if tt.file != "" {
					body = refBytes(t, tt.file)
				}
				r := h.do(tt.method, tt.path, body)
				status := tt.wantStatus
				if tt.typeError {
					status = typeErrorStatus(gen)
				}
				if r.status != status {
					t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
				}
				want := tt.wantError
				if want == "" {
					want = constraintError([]string{"hostname", "UNIQUE", ""}, gen)
				}
				if !hasDetail(t, r, tt.wantPath, want) {
					t.Fatalf("details lack %s: %q: %s", tt.wantPath, want, r.body)
				}
			})
		}
	})
}

// typeErrorStatus is the status of a body that does not read as an app.
func typeErrorStatus(gen Generation) int {
	if gen == Gen15 {
		return http.StatusUnprocessableEntity
	}
	return http.StatusBadRequest
}

// allFeatures enables every feature of Marathon's --enable_features.
func allFeatures(o *Options) {
	o.EnabledFeatures = []string{FeatureSecrets, FeatureExternalVolumes, FeatureGPUResources}
}

// TestContractRejectsResidencyWithoutVolumes: go-marathon's hand-kept
// fixtures declare a residency without persistent volumes, which
// Marathon refuses in both generations.
func TestContractRejectsResidencyWithoutVolumes(t *testing.T) {
	bodies := map[string]any{
		"go-marathon-master/02-POST-v2-apps.json":         refJSON(t, "go-marathon-master/02-POST-v2-apps.json"),
		"go-marathon-master/14-GET-v2-apps-fake-app.json": refJSON(t, "go-marathon-master/14-GET-v2-apps-fake-app.json").(map[string]any)["app"],
	}
	gens(t, func(t *testing.T, gen Generation) {
		want := "App must contain persistent volumes and define residency"
		if gen == Gen14 {
			want = "AppDefinition must contain persistent volumes and define residency"
		}
		for name, body := range bodies {
			h := newHarness(t, gen, allFeatures)
			r := h.do("POST", "/v2/apps", body)
			if r.status != http.StatusUnprocessableEntity || !hasDetail(t, r, "/", want) {
				t.Errorf("%s: %d %s", name, r.status, r.body)
			}
		}
	})
}

// lockedApp creates an app whose deployment never finishes.
func lockedApp(id string) func(h *harness) {
	return func(h *harness) {
		h.sim.Faults().StallDeployments(id)
		h.must(http.StatusCreated, "POST", "/v2/apps", dockerApp(id, "busybox", 1))
	}
}

// hasDetail reports whether an error body lists msg at path.
func hasDetail(t *testing.T, r response, path, msg string) bool {
	t.Helper()
	details, _ := r.obj(t)["details"].([]any)
	for _, d := range details {
		m := d.(map[string]any)
		if m["path"] != path {
			continue
		}
		for _, e := range m["errors"].([]any) {
			if e == msg {
				return true
			}
		}
	}
	return false
}

// TestValidationErrors checks Marathon's validation rules and messages.
func TestValidationErrors(t *testing.T) {
	base := func(mod func(m map[string]any)) map[string]any {
		m := map[string]any{"id": "/v", "cmd": "sleep 100"}
		mod(m)
		return m
	}
	tests := []struct {
		name       string
		gen        Generation // 0: both
		body       any
		wantStatus int
		wantPath   string
		wantError  string
	}{
		{"upper-case id", 0, base(func(m map[string]any) { m["id"] = "/Web" }), 422, "/id", msgIDPattern},
		{"underscore id", 0, base(func(m map[string]any) { m["id"] = "/a_b" }), 422, "/id", msgIDPattern},
		{"dash at end", 0, base(func(m map[string]any) { m["id"] = "/a-" }), 422, "/id", msgIDPattern},
		{"reserved tasks", 0, base(func(m map[string]any) { m["id"] = "/a/tasks" }), 422, "/id", msgIDReserved},
		{"reserved restart", 0, base(func(m map[string]any) { m["id"] = "/restart" }), 422, "/id", msgIDReserved},
		{"root id", 0, base(func(m map[string]any) { m["id"] = "/" }), 422, "/id", msgIDEmpty},
		{"missing id", 0, map[string]any{"cmd": "sleep 1"}, 400, "/id", errPathMiss},
		{"no cmd, args or container", 0, map[string]any{"id": "/v"}, 422, "/", msgCmdArgsContainer},
		{"cmd and args", 0, base(func(m map[string]any) { m["args"] = []string{"x"} }), 422, "/", msgCmdArgsContainer},
		{"mesos container with docker and appc images", 0, map[string]any{"id": "/v", "container": map[string]any{"type": "MESOS",
			"docker": map[string]any{"image": "x"}, "appc": map[string]any{"image": "y"}}}, 422, "/", msgCmdArgsContainer},
		{"one-character cmd", 0, base(func(m map[string]any) { m["cmd"] = "x" }), 422, "/", msgEmptyCmd},
		{"negative instances", 0, base(func(m map[string]any) { m["instances"] = -1 }), 422, "/instances", "is less than 0"},
		{"fractional instances", 0, base(func(m map[string]any) { m["instances"] = 1.5 }), 400, "/instances", errExpInt},
		{"zero cpus", 0, base(func(m map[string]any) { m["cpus"] = 0 }), 422, "/cpus", "is less than 0.001"},
		{"negative mem", 0, base(func(m map[string]any) { m["mem"] = -1 }), 422, "/mem", "is less than 0"},
		{"minimumHealthCapacity above 1", 0, base(func(m map[string]any) {
			m["upgradeStrategy"] = map[string]any{"minimumHealthCapacity": 1.5}
		}), 422, "/upgradeStrategy/minimumHealthCapacity", "is greater than 1"},
		{"maximumOverCapacity below 0", 0, base(func(m map[string]any) {
			m["upgradeStrategy"] = map[string]any{"maximumOverCapacity": -0.5}
		}), 422, "/upgradeStrategy/maximumOverCapacity", "is less than 0"},
		{"constraint with one field", 0, base(func(m map[string]any) { m["constraints"] = [][]string{{"hostname"}} }), 422, "/constraints(0)", "Each constraint must have either 2 or 3 fields"},
		{"UNIQUE with value 1.5", Gen15, base(func(m map[string]any) { m["constraints"] = [][]string{{"hostname", "UNIQUE", "x"}} }), 422, "/constraints(0)", "UNIQUE does not accept a value"},
		{"UNIQUE with value 1.4", Gen14, base(func(m map[string]any) { m["constraints"] = [][]string{{"hostname", "UNIQUE", "x"}} }), 422, "/constraints(0)", "Value specified but not used"},
		{"LIKE without value 1.5", Gen15, base(func(m map[string]any) { m["constraints"] = [][]string{{"hostname", "LIKE"}} }), 422, "/constraints(0)", "LIKE and UNLIKE require a non-empty, regular expression value"},
		{"LIKE bad regex 1.5", Gen15, base(func(m map[string]any) { m["constraints"] = [][]string{{"hostname", "LIKE", "("}} }), 422, "/constraints(0)", "is not a valid regular expression"},
		{"MAX_PER not an int 1.5", Gen15, base(func(m map[string]any) { m["constraints"] = [][]string{{"rack", "MAX_PER", "x"}} }), 422, "/constraints(0)", "MAX_PER requires an integer value"},
		{"GROUP_BY not an int 1.5", Gen15, base(func(m map[string]any) { m["constraints"] = [][]string{{"rack", "GROUP_BY", "x"}} }), 422, "/constraints(0)", "GROUP BY must define an integer value or else no value at all"},
		{"unknown operator 1.5", Gen15, base(func(m map[string]any) { m["constraints"] = [][]string{{"rack", "NEAR"}} }), 422, "/constraints(0)", "operator must be one of the following UNIQUE, CLUSTER, GROUP_BY, LIKE, MAX_PER, UNLIKE or IS"},
		{"IS is unknown in 1.4", Gen14, base(func(m map[string]any) { m["constraints"] = [][]string{{"rack", "IS", "a"}} }), 422, "/constraints(0)", "Constraint operator must be one of the following UNIQUE, CLUSTER, GROUP_BY, LIKE, MAX_PER or UNLIKE"},
		{"health check port index out of range", 0, base(func(m map[string]any) {
			m["healthChecks"] = []any{map[string]any{"protocol": "HTTP", "portIndex": 1}}
		}), 422, "/healthChecks(0)", msgHealthPortIndex},
		{"health check without ports", 0, base(func(m map[string]any) {
			m["portDefinitions"] = []any{}
			m["healthChecks"] = []any{map[string]any{"protocol": "TCP"}}
		}), 422, "/healthChecks(0)", msgHealthPortIndex},
		{"portMappings with host networking", 0, map[string]any{
			"id": "/v", "networks": []any{map[string]any{"mode": "host"}},
			"container": map[string]any{"docker": map[string]any{"image": "x"}, "portMappings": []any{map[string]any{"containerPort": 80}}},
		}, 422, "/", msgPortMappingsHost},
		{"duplicate port names", 0, base(func(m map[string]any) {
			m["portDefinitions"] = []any{map[string]any{"port": 0, "name": "a"}, map[string]any{"port": 0, "name": "a"}}
		}), 422, "/portDefinitions", msgPortNamesUnique},
		{"duplicate mapping names", 0, map[string]any{
			"id": "/v", "container": map[string]any{"docker": map[string]any{"image": "x", "network": "BRIDGE", "portMappings": []any{
				map[string]any{"containerPort": 80, "name": "a"}, map[string]any{"containerPort": 81, "name": "a"}}}},
		}, 422, "/container/portMappings", msgPortNamesUnique},
		{"empty image", 0, map[string]any{"id": "/v", "container": map[string]any{"docker": map[string]any{"image": ""}}}, 422, "/container/docker/image", msgNotEmpty},
		{"wrong type", 0, map[string]any{"id": 5}, 400, "/id", errExpString},
		{"env value type", 0, base(func(m map[string]any) { m["env"] = map[string]any{"A": 1} }), 400, "/env/A", errExpString},
		{"labels not an object", 0, base(func(m map[string]any) { m["labels"] = []string{"a"} }), 400, "/labels", errExpObject},
	}
	for _, tt := range tests {
		for _, gen := range []Generation{Gen14, Gen15} {
			if tt.gen != 0 && tt.gen != gen {
				continue
			}
			t.Run(tt.name+"/"+gen.String(), func(t *testing.T) {
				h := newHarness(t, gen)
				r := h.do("POST", "/v2/apps", tt.body)
				status, msg, wantMsg := tt.wantStatus, tt.wantError, "Object is not valid"
				if key, ok := readTimeErrors[tt.name]; ok && gen == Gen15 {
					status, msg = http.StatusUnprocessableEntity, key
				}
				if status == http.StatusBadRequest {
					status, wantMsg = typeErrorStatus(gen), "Invalid JSON"
				}
				if key, ok := readTimeErrors[tt.name]; ok && gen == Gen15 || wantMsg == "Invalid JSON" {
					_, wantMsg = key, "Invalid JSON"
				}
				if r.status != status {
					t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
				}
				if !hasDetail(t, r, tt.wantPath, msg) {
					t.Fatalf("details lack %s: %q: %s", tt.wantPath, msg, r.body)
				}
				if msg := r.obj(t)["message"]; msg != wantMsg {
					t.Fatalf("message %q, want %q", msg, wantMsg)
				}
			})
		}
	}
}

// readTimeErrors are the rules of TestValidationErrors that Marathon 1.5+
// checks while reading the body, against the bounds and patterns of its
// RAML types: it answers 422 "Invalid JSON" with play-json's error key
// instead of its validation prose.
var readTimeErrors = map[string]string{
	"upper-case id": errPattern, "underscore id": errPattern, "dash at end": errPattern,
	"negative instances": errMin, "zero cpus": errMin, "negative mem": errMin,
	"minimumHealthCapacity above 1": errMax, "maximumOverCapacity below 0": errMin,
}

// TestInvalidJSONSyntax: a body that does not parse is a 400 whose details
// is the parser's message.
func TestInvalidJSONSyntax(t *testing.T) {
	h := newHarness(t, Gen15)
	for _, body := range []string{`{"id":`, ``, `[1,2`, `{"id":"/a"} trailing`} {
		r := h.do("POST", "/v2/apps", body)
		if r.status != http.StatusBadRequest {
			t.Fatalf("%q: status %d: %s", body, r.status, r.body)
		}
		m := r.obj(t)
		if m["message"] != "Invalid JSON" || jsonType(m["details"]) != "string" {
			t.Fatalf("%q: body %s", body, r.body)
		}
	}
}
