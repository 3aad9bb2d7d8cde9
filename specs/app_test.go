package specs

import (
	"bytes"
	"encoding/json"

	"strings"
	"testing"
)

// appDoc is a manifest using every field of the app model.
const appDoc = `apiVersion: theseus/v1
kind: Group
metadata: {service: api, labels: [prod]}
spec:
  image: registry.example.com/api:2.0
  instances: 1
  forcePullImage: true
  privileged: false
  dockerParameters: [{key: log-driver, value: syslog}, {key: label, value: a=1}, {key: label, value: b=2}]
  user: app
  labels: {HAPROXY_GROUP: internal, HAPROXY_0_VHOST: api.example.com}
  networks: [{mode: container, name: overlay, labels: {tier: api}}]
  ports:
    - {name: http, containerPort: 8080, hostPort: 0, protocol: tcp, labels: {VIP_0: "/api:80"}}
    - {name: admin, containerPort: 9090}
  volumes:
    - {containerPath: /etc/app, hostPath: /srv/app, mode: RO}
    - {containerPath: /mnt/ext, external: {name: vol1, provider: dvdi, options: {"dvdi/driver": rexray}}, mode: RW}
  fetch: [{uri: "https://example.com/app.tgz"}, {uri: "https://example.com/run.sh", extract: false, executable: true, cache: true, destPath: run}]
  readinessChecks: [{name: ready, protocol: HTTP, path: /ready, portName: http, intervalSeconds: 10, timeoutSeconds: 5, httpStatusCodesForReady: [204, 200]}]
  killGracePeriodSeconds: 20
  killSelection: OLDEST_FIRST
  acceptedResourceRoles: ["slave_public", "*"]
  role: slave_public
  backoff: {seconds: 2, factor: 1.5, maxLaunchDelaySeconds: 600}
  unreachableStrategy: {inactiveAfterSeconds: 300, expungeAfterSeconds: 600}
  dependsOn: [{service: cassandra, labels: [prod]}, {service: auth, labels: [prod, eu]}]
  env:
    LOG_LEVEL: info
    DB_PASSWORD: {secretSource: /db/password}
`

func TestAppModelParses(t *testing.T) {
	groups, err := ParseAndValidate("api.yaml", []byte(appDoc))
	if err != nil {
		t.Fatal(err)
	}
	g := groups[0]
	s := g.Spec
	if !*s.ForcePullImage || len(s.DockerParameters) != 3 || s.User != "app" || s.Networks[0].Name != "overlay" ||
		*s.Ports[0].HostPort != 0 || s.Ports[1].HostPort != nil || s.Ports[0].Labels["VIP_0"] != "/api:80" ||
		s.Volumes[1].External.Options["dvdi/driver"] != "rexray" || s.Fetch[1].DestPath != "run" ||
		s.ReadinessChecks[0].PortName != "http" || *s.KillGracePeriodSeconds != 20 || s.Role != "slave_public" ||
		*s.Backoff.MaxLaunchDelaySeconds != 600 || *s.UnreachableStrategy.ExpungeAfterSeconds != 600 ||
		s.DependsOn[1].String() != "auth/eu.prod" || s.Env["DB_PASSWORD"] != (Value{SecretSource: "/db/password"}) {
		t.Fatalf("parsed spec: %+v", s)
	}
	back, err := Parse("api.json", g.Canonical())
	if err != nil || !bytes.Equal(back[0].Canonical(), g.Canonical()) {
		t.Fatalf("canonical form does not round-trip (%v):\n%s\n%s", err, g.Canonical(), back[0].Canonical())
	}
	// The one-pass decoder of stored values reads the same group.
	stored, err := DecodeStored(GroupKey{Service: "api", Labels: "prod"}, g.Canonical())
	if err != nil || !bytes.Equal(stored.Canonical(), g.Canonical()) {
		t.Fatalf("stored JSON: %v\n%s", err, stored.Canonical())
	}
	if got := s.Env["DB_PASSWORD"].String(); got != "(secret /db/password)" {
		t.Errorf("secret source prints as %q", got)
	}
}

// TestAppModelValidation checks each of Marathon's rules on the app model:
// the error names the file, the line and the field, and says why.
func TestAppModelValidation(t *testing.T) {
	tests := []struct {
		name, spec, field, msg string
	}{
		{"two networks", "networks: [{mode: host}, {mode: container/bridge}]", "spec.networks", "joins one network"},
		{"unknown mode", "networks: [{mode: user}]", "spec.networks[0].mode", `got "user"`},
		{"container without name", "networks: [{mode: container}]", "spec.networks[0].name", "required for a container network"},
		{"host with name", "networks: [{mode: host, name: x}]", "spec.networks[0]", "host networks may not have names or labels"},
		{"bridge with name", "networks: [{mode: container/bridge, name: x}]", "spec.networks[0].name", "bridge networks may not have names"},
		{"host port with containerPort", "networks: [{mode: host}]\n  ports: [{name: http, containerPort: 80}]", "spec.ports[0].containerPort", "leave containerPort out"},
		{"host ports half fixed", "networks: [{mode: host}]\n  ports: [{name: a, hostPort: 8080}, {name: b}]", "spec.ports", "every port a fixed hostPort, or none"},
		{"host port twice", "networks: [{mode: host}]\n  ports: [{name: a, hostPort: 8080}, {name: b, hostPort: 8080}]", "spec.ports[1].hostPort", "used twice"},
		{"volume of two kinds", "volumes: [{containerPath: a, hostPath: /a, persistent: {size: 1}}]", "spec.volumes[0]", "exactly one of hostPath, persistent or external"},
		{"volume mode", "volumes: [{containerPath: /a, hostPath: /a, mode: rw}]", "spec.volumes[0].mode", `got "rw"`},
		{"persistent path with slash", "role: db\n  volumes: [{containerPath: /data, persistent: {size: 10}}]", "spec.volumes[0].containerPath", `must not contain "/"`},
		{"persistent size", "role: db\n  volumes: [{containerPath: data, persistent: {size: 0}}]", "spec.volumes[0].persistent.size", "at least 1"},
		{"persistent read-only", "role: db\n  volumes: [{containerPath: data, mode: RO, persistent: {size: 10}}]", "spec.volumes[0].mode", "always RW"},
		{"persistent maxSize on root", "role: db\n  volumes: [{containerPath: data, persistent: {size: 10, maxSize: 20}}]", "spec.volumes[0].persistent.maxSize", "only mount volumes"},
		{"persistent maxSize too small", "role: db\n  volumes: [{containerPath: data, persistent: {size: 10, type: mount, maxSize: 5}}]", "spec.volumes[0].persistent.maxSize", "larger than size"},
		{"persistent constraint on root", "role: db\n  volumes: [{containerPath: data, persistent: {size: 10, constraints: [[path, LIKE, x]]}}]", "spec.volumes[0].persistent.constraints", "root volumes"},
		{"persistent constraint operator", "role: db\n  volumes: [{containerPath: data, persistent: {size: 10, type: path, constraints: [[path, UNIQUE, x]]}}]", "spec.volumes[0].persistent.constraints[0]", "want [path, LIKE, regex]"},
		{"persistent without role", "volumes: [{containerPath: data, persistent: {size: 10}}]", "spec.role", "required for persistent volumes"},
		{"persistent with role *", "role: \"*\"\n  volumes: [{containerPath: data, persistent: {size: 10}}]", "spec.role", `"*" is unreserved`},
		{"persistent with surge", "role: db\n  upgrade: {maximumOverCapacity: 0.5}\n  volumes: [{containerPath: data, persistent: {size: 10}}]", "spec.upgrade.maximumOverCapacity", "must be 0 with persistent volumes"},
		{"persistent with high minimum", "role: db\n  upgrade: {minimumHealthCapacity: 1, maximumOverCapacity: 0}\n  volumes: [{containerPath: data, persistent: {size: 10}}]", "spec.upgrade.minimumHealthCapacity", "at most 0.5"},
		{"persistent reachable", "role: db\n  unreachableStrategy: {inactiveAfterSeconds: 1, expungeAfterSeconds: 2}\n  volumes: [{containerPath: data, persistent: {size: 10}}]", "spec.unreachableStrategy", `must be "disabled"`},
		{"persistent accepting a role", "role: db\n  acceptedResourceRoles: [db]\n  volumes: [{containerPath: data, persistent: {size: 10}}]", "spec.acceptedResourceRoles", `must be ["*"]`},
		{"external provider", "volumes: [{containerPath: /x, external: {name: v, provider: acme}}]", "spec.volumes[0].external.provider", "is unknown provider"},
		{"external without driver", "volumes: [{containerPath: /x, external: {name: v, provider: dvdi}}]", "spec.volumes[0].external.options", "dvdi/driver is required"},
		{"external size with docker", "volumes: [{containerPath: /x, external: {name: v, provider: dvdi, size: 5, options: {dvdi/driver: rexray}}}]", "spec.volumes[0].external.size", "leave size out"},
		{"external name twice", "volumes: [{containerPath: /x, external: {name: v, provider: dvdi, options: {dvdi/driver: r}}}, {containerPath: /y, external: {name: v, provider: dvdi, options: {dvdi/driver: r}}}]", "spec.volumes[1].external.name", "used twice"},
		{"external with two instances", "instances: 2\n  volumes: [{containerPath: /x, external: {name: v, provider: dvdi, options: {dvdi/driver: rexray}}}]", "spec.instances", "at most one task"},
		{"external with surge", "upgrade: {maximumOverCapacity: 0.5}\n  volumes: [{containerPath: /x, external: {name: v, provider: dvdi, options: {dvdi/driver: rexray}}}]", "spec.upgrade.maximumOverCapacity", "must be 0 with external volumes"},
		{"external with high minimum", "upgrade: {minimumHealthCapacity: 1, maximumOverCapacity: 0}\n  volumes: [{containerPath: /x, external: {name: v, provider: dvdi, options: {dvdi/driver: rexray}}}]", "spec.upgrade.minimumHealthCapacity", "at most 0.5 with external volumes"},
		{"external docker options", "volumes: [{containerPath: /x, external: {name: v, provider: dvdi, options: {dvdi/driver: rexray, dvdi/size: \"5\"}}}]", "spec.volumes[0].external.options", "only dvdi/driver"},
		{"external read-only with gpus", "gpus: 1\n  volumes: [{containerPath: /x, mode: RO, external: {name: v, provider: dvdi}}]", "spec.volumes[0].mode", "read-write"},
		{"fetch without uri", "fetch: [{extract: true}]", "spec.fetch[0].uri", "required"},
		{"fetch bad uri", "fetch: [{uri: \"http://a b\"}]", "spec.fetch[0].uri", "is not a URI"},
		{"two readiness checks", "ports: [{name: http, containerPort: 80}]\n  readinessChecks: [{portName: http}, {portName: http}]", "spec.readinessChecks", "at most one"},
		{"readiness without port", "readinessChecks: [{path: /ready}]", "spec.readinessChecks[0].portName", "required"},
		{"readiness unknown port", "ports: [{name: http, containerPort: 80}]\n  readinessChecks: [{portName: web}]", "spec.readinessChecks[0].portName", `no port is named "web"`},
		{"readiness port name with digit", "ports: [{name: 8080, containerPort: 80}]\n  readinessChecks: [{portName: \"8080\"}]", "spec.readinessChecks[0].portName", "must start with a letter"},
		{"readiness timeout", "ports: [{name: http, containerPort: 80}]\n  readinessChecks: [{portName: http, intervalSeconds: 5, timeoutSeconds: 5}]", "spec.readinessChecks[0].timeoutSeconds", "less than intervalSeconds (5)"},
		{"readiness protocol", "ports: [{name: http, containerPort: 80}]\n  readinessChecks: [{portName: http, protocol: TCP}]", "spec.readinessChecks[0].protocol", "HTTP or HTTPS"},
		{"readiness code", "ports: [{name: http, containerPort: 80}]\n  readinessChecks: [{portName: http, httpStatusCodesForReady: [42]}]", "spec.readinessChecks[0].httpStatusCodesForReady[0]", "100 to 999"},
		{"kill grace", "killGracePeriodSeconds: -1", "spec.killGracePeriodSeconds", "at least 0"},
		{"kill selection", "killSelection: youngest_first", "spec.killSelection", "YOUNGEST_FIRST or OLDEST_FIRST"},
		{"role with space", "role: \"a b\"", "spec.role", "white space"},
		{"accepted role twice", "acceptedResourceRoles: [\"*\", \"*\"]", "spec.acceptedResourceRoles[1]", "listed twice"},
		{"backoff factor", "backoff: {factor: 0.5}", "spec.backoff.factor", "at least 1"},
		{"backoff seconds", "backoff: {seconds: -1}", "spec.backoff.seconds", "at least 0"},
		{"unreachable half", "unreachableStrategy: {inactiveAfterSeconds: 10}", "spec.unreachableStrategy", "give both"},
		{"unreachable order", "unreachableStrategy: {inactiveAfterSeconds: 10, expungeAfterSeconds: 5}", "spec.unreachableStrategy.expungeAfterSeconds", "at least inactiveAfterSeconds"},
		{"unreachable word", "unreachableStrategy: off", "spec.unreachableStrategy", `want "disabled"`},
		{"gpus negative", "gpus: -1", "spec.gpus", "at least 0"},
		{"gpus with docker parameters", "gpus: 1\n  dockerParameters: [{key: a, value: b}]", "spec.dockerParameters", "Mesos containerizer"},
		{"gpus privileged", "gpus: 1\n  privileged: true", "spec.privileged", "Mesos containerizer"},
		{"docker parameter key", "dockerParameters: [{key: \"\", value: x}]", "spec.dockerParameters[0].key", "required"},
		{"theseus label", "labels: {theseus.io/managed: \"false\"}", "spec.labels.theseus.io/managed", "written by theseus"},
		{"single instance", "instances: 2\n  labels: {MARATHON_SINGLE_INSTANCE_APP: \"true\"}", "spec.instances", "at most one task"},
		{"migration labels", "labels: {DCOS_MIGRATION_API_VERSION: v1}", "spec.labels.DCOS_MIGRATION_API_VERSION", "must be v1"},
		{"depends on itself", "dependsOn: [{service: api, labels: [prod]}]", "spec.dependsOn[0]", "cannot depend on itself"},
		{"depends on bad label", "dependsOn: [{service: db, labels: [Prod]}]", "spec.dependsOn[0]", "upper-case"},
		{"depends twice", "dependsOn: [{service: db, labels: [a, b]}, {service: db, labels: [b, a]}]", "spec.dependsOn[1]", "listed twice"},
		{"secret source and value", "env: {A: {value: x, secretSource: /s}}", "spec.env.A", "not both"},
		{"empty secret source", "env: {A: {secretSource: \"\"}}", "spec.env.A.secretSource", "must not be empty"},
		{"secret source in config", "config: {a: {secretSource: /s}}", "spec.config.a", "config values are not sent to Marathon"},
		{"ignoreHttp1xx on a TCP check", "ports: [{name: http, containerPort: 80}]\n  healthChecks: [{protocol: TCP, ignoreHttp1xx: true}]", "spec.healthChecks[0].ignoreHttp1xx", "only HTTP and HTTPS checks"},
		{"ignoreHttp1xx on a Mesos check", "ports: [{name: http, containerPort: 80}]\n  healthChecks: [{protocol: MESOS_HTTP, ignoreHttp1xx: true}]", "spec.healthChecks[0].ignoreHttp1xx", "only HTTP and HTTPS checks"},
		{"delaySeconds on an HTTP check", "ports: [{name: http, containerPort: 80}]\n  healthChecks: [{protocol: HTTP, delaySeconds: 5}]", "spec.healthChecks[0].delaySeconds", "Marathon runs HTTP checks itself"},
		{"delaySeconds on a TCP check", "ports: [{name: http, containerPort: 80}]\n  healthChecks: [{protocol: TCP, delaySeconds: 30}]", "spec.healthChecks[0].delaySeconds", "Marathon runs TCP checks itself"},
		{"port label key", "ports: [{containerPort: 80, labels: {\"\": x}}]", "spec.ports[0].labels", "must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := "apiVersion: theseus/v1\nkind: Group\nmetadata: {service: api, labels: [prod]}\nspec:\n  image: x\n  " + tt.spec + "\n"
			groups, err := ParseAndValidate("bad.yaml", []byte(doc))
			if len(groups) != 0 {
				t.Fatalf("accepted:\n%s", doc)
			}
			var found *FieldError
			for _, e := range Errors(err) {
				if e.Field == tt.field && strings.Contains(e.Msg, tt.msg) {
					found = e
				}
			}
			if found == nil {
				t.Fatalf("no error at %s containing %q; got:\n%v", tt.field, tt.msg, err)
			}
			want := lineOfField(doc, tt.field)
			if want == 0 { // a missing field: the error points at the field that needs it
				want = lineOfField(doc, "spec.volumes")
			}
			if found.File != "bad.yaml" || found.Line != want {
				t.Errorf("%v: want bad.yaml line %d", found, want)
			}
		})
	}
}

// TestHealthCheckFieldsMarathonKeeps: delaySeconds is taken where
// Marathon keeps it (the checks Mesos runs) or at its default, and
// ignoreHttp1xx false on any check.
func TestHealthCheckFieldsMarathonKeeps(t *testing.T) {
	for _, hc := range []string{
		"{protocol: HTTP, delaySeconds: 15}",
		"{protocol: MESOS_HTTP, delaySeconds: 5}",
		"{protocol: MESOS_TCP, delaySeconds: 5}",
		"{protocol: COMMAND, command: \"true\", delaySeconds: 5}",
		"{protocol: TCP, ignoreHttp1xx: false}",
		"{protocol: HTTPS, ignoreHttp1xx: true}",
	} {
		doc := "apiVersion: theseus/v1\nkind: Group\nmetadata: {service: api, labels: [prod]}\nspec:\n  image: x\n" +
			"  ports: [{name: http, containerPort: 80}]\n  healthChecks: [" + hc + "]\n"
		if _, err := ParseAndValidate("ok.yaml", []byte(doc)); err != nil {
			t.Errorf("%s refused: %v", hc, err)
		}
	}
}

// lineOfField is the line the tests above put a field on: the line of
// the spec's first field under spec is 5, and each "\n" in the fragment
// moves on one.
func lineOfField(doc, field string) int {
	top := strings.SplitN(strings.TrimPrefix(field, "spec."), ".", 2)[0]
	top, _, _ = strings.Cut(top, "[")
	for i, l := range strings.Split(doc, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), top+":") {
			return i + 1
		}
	}
	return 0
}

// TestAppModelNormalize: fields at Marathon's one default normalise to
// unset, elements of lists get their defaults, and implicit networks
// disappear, so that a spec means the same however it says it.
func TestAppModelNormalize(t *testing.T) {
	explicit := Normalize(Spec{Image: "x",
		ForcePullImage: ptr(false), Privileged: ptr(false), GPUs: ptr(0), KillSelection: KillYoungestFirst,
		Networks: []Network{{Mode: NetworkBridge}}, Ports: []Port{{ContainerPort: 80, HostPort: ptr(0)}},
		Backoff:             &Backoff{Seconds: ptr(1), Factor: ptr(1.15)},
		UnreachableStrategy: &UnreachableStrategy{InactiveAfterSeconds: ptr(0), ExpungeAfterSeconds: ptr(0)},
	})
	implicit := Normalize(Spec{Image: "x", Ports: []Port{{ContainerPort: 80}}})
	if a, b := jsonString(t, explicit), jsonString(t, implicit); a != b || Hash(explicit) != Hash(implicit) {
		t.Errorf("explicit defaults differ from none:\n%s\n%s", a, b)
	}

	n := Normalize(Spec{Image: "x", Role: "db",
		Networks:              []Network{{Mode: NetworkContainer, Name: "overlay"}},
		Ports:                 []Port{{Name: "http", ContainerPort: 80, HostPort: ptr(0)}, {Name: "b", ContainerPort: 81}},
		Volumes:               []Volume{{ContainerPath: "data", Persistent: &PersistentVolume{Size: 5}}},
		Fetch:                 []Fetch{{URI: "http://x/a.tgz"}},
		ReadinessChecks:       []ReadinessCheck{{PortName: "http", HTTPStatusCodesForReady: []int{204, 200, 204}}},
		AcceptedResourceRoles: []string{"z", "*"},
		UnreachableStrategy:   &UnreachableStrategy{Disabled: true},
		DependsOn:             []Dependency{{Service: "web", Labels: []string{"b", "a"}}, {Service: "db", Labels: []string{"x"}}},
	})
	got := jsonString(t, Spec{Networks: n.Networks, Ports: n.Ports, Volumes: n.Volumes, Fetch: n.Fetch,
		ReadinessChecks: n.ReadinessChecks, AcceptedResourceRoles: n.AcceptedResourceRoles,
		UnreachableStrategy: n.UnreachableStrategy, DependsOn: n.DependsOn, Upgrade: n.Upgrade})
	want := `{"image":"","ports":[{"name":"http","containerPort":80,"hostPort":0,"protocol":"tcp"},{"name":"b","containerPort":81,"protocol":"tcp"}],` +
		`"upgrade":{"minimumHealthCapacity":0.5,"maximumOverCapacity":0},"networks":[{"mode":"container","name":"overlay"}],` +
		`"volumes":[{"containerPath":"data","mode":"RW","persistent":{"size":5,"type":"root"}}],` +
		`"fetch":[{"uri":"http://x/a.tgz","extract":true,"executable":false,"cache":false}],` +
		`"readinessChecks":[{"name":"readinessCheck","protocol":"HTTP","path":"/","portName":"http","intervalSeconds":30,"timeoutSeconds":10,"httpStatusCodesForReady":[200,204],"preserveLastResponse":false}],` +
		`"acceptedResourceRoles":["*","z"],"dependsOn":[{"service":"db","labels":["x"]},{"service":"web","labels":["a","b"]}]}`
	if got != want {
		t.Errorf("normalised:\n%s\nwant\n%s", got, want)
	}
	// A resident group's disabled unreachable strategy is Marathon's own
	// default for it: unset.
	if n.UnreachableStrategy != nil {
		t.Errorf("unreachableStrategy of a resident group: %+v", n.UnreachableStrategy)
	}
	if !bytes.Equal(jsonOf(t, Normalize(n)), jsonOf(t, n)) {
		t.Error("Normalize is not idempotent")
	}
}

// TestAppModelDefaultsOfVersions: values that are the default of some
// Marathon version match a spec that sets none.
func TestAppModelDefaultsOfVersions(t *testing.T) {
	for secs, want := range map[int]bool{3600: true, 300: true, 60: false} {
		if IsDefaultMaxLaunchDelay(secs) != want {
			t.Errorf("IsDefaultMaxLaunchDelay(%d) = %v", secs, !want)
		}
	}
	u := func(a, b int) *UnreachableStrategy {
		return &UnreachableStrategy{InactiveAfterSeconds: &a, ExpungeAfterSeconds: &b}
	}
	disabled := &UnreachableStrategy{Disabled: true}
	for _, tt := range []struct {
		u        *UnreachableStrategy
		resident bool
		want     bool
	}{
		{nil, false, true}, {u(0, 0), false, true}, {u(300, 600), false, true}, {u(1, 2), false, false},
		{disabled, false, false}, {disabled, true, true}, {u(0, 0), true, false},
	} {
		if got := IsDefaultUnreachable(tt.u, tt.resident); got != tt.want {
			t.Errorf("IsDefaultUnreachable(%+v, %v) = %v", tt.u, tt.resident, got)
		}
	}
}

func TestUnreachableStrategyJSON(t *testing.T) {
	for in, want := range map[string]string{
		`"disabled"`: `"disabled"`,
		`{"inactiveAfterSeconds":1,"expungeAfterSeconds":2}`: `{"inactiveAfterSeconds":1,"expungeAfterSeconds":2}`,
	} {
		var u UnreachableStrategy
		if err := json.Unmarshal([]byte(in), &u); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got, _ := json.Marshal(u); string(got) != want {
			t.Errorf("%s -> %s, want %s", in, got, want)
		}
	}
	for _, bad := range []string{`"enabled"`, `{"inactiveAfterSeconds":1,"x":2}`, `1`, `[]`} {
		var u UnreachableStrategy
		if err := json.Unmarshal([]byte(bad), &u); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func jsonString(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
