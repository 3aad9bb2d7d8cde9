package marathon_test

import (
	"fmt"
	"strings"
	"testing"

	"theseus.dev/diff"
	"theseus.dev/drivers/marathon"
	"theseus.dev/drivers/marathon/marathonsim"
	"theseus.dev/sources"
)

// fieldCases set one field of the app model each, on a group with one
// HTTP port. plan is the path the plan shows it under; no14 marks what
// Marathon 1.4 cannot express.
var fieldCases = []struct {
	name, yaml, plan string
	no14             bool
}{
	{"forcePullImage", "forcePullImage: true", "spec.forcePullImage", false},
	{"privileged", "privileged: true", "spec.privileged", false},
	{"dockerParameters", "dockerParameters: [{key: log-driver, value: syslog}, {key: label, value: a=1}]", "spec.dockerParameters", false},
	{"user", "user: nobody", "spec.user", false},
	{"gpus", "gpus: 1\n  networks: [{mode: host}]\n  ports: [{name: http}]", "spec.gpus", false},
	{"labels", "labels: {HAPROXY_GROUP: external, HAPROXY_0_VHOST: web.example.com}", "spec.labels.HAPROXY_GROUP", false},
	{"host network", "networks: [{mode: host}]\n  ports: [{name: http}]", "spec.networks[0].mode", false},
	{"host network, fixed ports", "networks: [{mode: host}]\n  ports: [{name: http, hostPort: 31080}]", "spec.ports[0].hostPort", false},
	{"container network", "networks: [{mode: container, name: overlay, labels: {tier: web}}]", "spec.networks[0].name", false},
	{"container network, host port", "networks: [{mode: container, name: overlay}]\n  ports: [{name: http, containerPort: 80, hostPort: 0}]", "spec.networks[0].name", false},
	{"bridge network without ports", "networks: [{mode: container/bridge}]\n  ports: []", "spec.networks[0].mode", false},
	{"container network without ports", "networks: [{mode: container, name: overlay}]\n  ports: []", "spec.networks[0].name", false},
	{"bridge network labels", "networks: [{mode: container/bridge, labels: {tier: web}}]", "spec.networks[0].labels.tier", true},
	{"port labels", "ports: [{name: http, containerPort: 80, labels: {VIP_0: \"/web:80\"}}]", "spec.ports[0].labels.VIP_0", false},
	{"fixed host port", "ports: [{name: http, containerPort: 80, hostPort: 31080}]", "spec.ports[0].hostPort", false},
	{"host volume", "volumes: [{containerPath: /etc/web, hostPath: /srv/web, mode: RO}]", "spec.volumes[0].hostPath", false},
	{"persistent volume", "role: web\n  volumes: [{containerPath: data, persistent: {size: 512}}]", "spec.volumes[0].persistent.size", false},
	{"external volume", "volumes: [{containerPath: /data, external: {name: web-data, provider: dvdi, options: {dvdi/driver: rexray}}}]", "spec.volumes[0].external.name", false},
	{"fetch", "fetch: [{uri: \"https://x.example.com/a.tgz\"}, {uri: \"https://x.example.com/run\", extract: false, executable: true}]", "spec.fetch[0].uri", false},
	{"readinessChecks", "readinessChecks: [{portName: http, path: /ready, intervalSeconds: 10, timeoutSeconds: 5, httpStatusCodesForReady: [200, 204]}]", "spec.readinessChecks[0].path", false},
	{"killGracePeriodSeconds", "killGracePeriodSeconds: 20", "spec.killGracePeriodSeconds", false},
	{"killSelection", "killSelection: OLDEST_FIRST", "spec.killSelection", false},
	{"acceptedResourceRoles", "acceptedResourceRoles: [\"*\"]", "spec.acceptedResourceRoles", false},
	{"role", "role: web", "spec.role", true}, // Marathon 1.4 has no app roles
	{"backoff", "backoff: {seconds: 5, factor: 2, maxLaunchDelaySeconds: 600}", "spec.backoff.maxLaunchDelaySeconds", false},
	{"unreachableStrategy", "unreachableStrategy: {inactiveAfterSeconds: 60, expungeAfterSeconds: 120}", "spec.unreachableStrategy", false},
	{"unreachableStrategy disabled", "unreachableStrategy: disabled", "spec.unreachableStrategy", false},
	{"dependsOn", "dependsOn: [{service: db, labels: [dev]}]", "spec.dependsOn", false},
	{"env secretSource", "env: {DB_PASSWORD: {secretSource: /web/db-password}}", "spec.env.DB_PASSWORD", false},
}

// baseSpec is the group the cases start from and go back to.
const baseSpec = `apiVersion: theseus/v1
kind: Group
metadata: {service: web, labels: [dev]}
spec:
  image: nginx:1.27
  instances: 1
  cpus: 0.1
  mem: 64
  ports: [{name: http, containerPort: 80}]
`

// appModelSim is a simulator that takes every field: Marathon with its
// secrets, external volumes and GPU features.
func appModelSim(t *testing.T, gen marathonsim.Generation) *simClient {
	return newSimWith(t, marathonsim.Options{Generation: gen, EnabledFeatures: []string{marathonsim.FeatureSecrets,
		marathonsim.FeatureExternalVolumes, marathonsim.FeatureGPUResources}}, nil, marathon.Config{})
}

// TestAppModelFields: for every field, in both generations, a group
// written with it reads back as the same spec (the plan is empty), a plan
// to remove it shows the field, and after the update the field is gone
// from Marathon (the plan is empty again).
func TestAppModelFields(t *testing.T) {
	for _, gen := range generations {
		t.Run(gen.String(), func(t *testing.T) {
			for _, tc := range fieldCases {
				if tc.no14 && gen == marathonsim.Gen14 {
					continue
				}
				t.Run(tc.name, func(t *testing.T) {
					s := appModelSim(t, gen)
					ctx := t.Context()
					with := parse(t, withField(baseSpec, tc.yaml))
					w := write(t, with, 1)
					if _, err := s.c.Create(ctx, w); err != nil {
						t.Fatalf("create: %v", err)
					}
					s.settle(t)
					a, err := s.c.Get(ctx, w.Key)
					if err != nil {
						t.Fatal(err)
					}
					d, _ := diff.NewDesired(with, 1)
					if act, ok := diff.Group(&d, diffApp(a), diff.Options{}); ok {
						t.Fatalf("plan after create: %s %+v", act.Kind, act.Changes)
					}

					base := parse(t, baseSpec)
					back, _ := diff.NewDesired(base, 2)
					act, ok := diff.Group(&back, diffApp(a), diff.Options{})
					if !ok || act.Kind != diff.Update || !hasChange(act.Changes, tc.plan) {
						t.Fatalf("plan to remove %s: %v %s %+v", tc.name, ok, act.Kind, act.Changes)
					}
					w = write(t, base, 2)
					if _, err := s.c.Update(ctx, w); err != nil {
						t.Fatalf("update: %v", err)
					}
					s.settle(t)
					a, err = s.c.Get(ctx, w.Key)
					if err != nil {
						t.Fatal(err)
					}
					if act, ok := diff.Group(&back, diffApp(a), diff.Options{}); ok {
						t.Fatalf("plan after removing %s: %s %+v", tc.name, act.Kind, act.Changes)
					}
				})
			}
		})
	}
}

// withField adds the YAML lines of a field case to the base spec; a case
// that sets ports replaces the base's.
func withField(base, field string) string {
	if strings.Contains(field, "ports:") {
		base = strings.Replace(base, "  ports: [{name: http, containerPort: 80}]\n", "", 1)
	}
	return base + "  " + field + "\n"
}

func hasChange(cs []diff.Change, path string) bool {
	for _, c := range cs {
		if c.Path == path {
			return true
		}
	}
	return false
}

// TestAppModelEverything: the group using every field goes to Marathon
// and reads back as itself in both generations; its secret stays out of
// the plan.
func TestAppModelEverything(t *testing.T) {
	groups, err := sources.LoadPath("../../testdata/appmodel")
	if err != nil {
		t.Fatal(err)
	}
	g := groups[0]
	for _, gen := range generations {
		t.Run(gen.String(), func(t *testing.T) {
			s := appModelSim(t, gen)
			ctx := t.Context()
			w := write(t, g, 3)
			if _, err := s.c.Create(ctx, w); err != nil {
				t.Fatal(err)
			}
			a, err := s.c.Get(ctx, w.Key)
			if err != nil {
				t.Fatal(err)
			}
			d, _ := diff.NewDesired(g, 3)
			if act, ok := diff.Group(&d, diffApp(a), diff.Options{}); ok {
				t.Fatalf("plan after create: %s %+v", act.Kind, act.Changes)
			}
			// A plan from nothing lists it all, secret redacted.
			act, _ := diff.Group(&d, nil, diff.Options{})
			text := fmt.Sprint(act.Changes)
			if strings.Contains(text, "s3cret") || !hasChange(act.Changes, "spec.env.DB_PASSWORD") {
				t.Errorf("create plan: %s", text)
			}
		})
	}
}

// TestAppModelDefaultRole: a spec without a role matches an app in
// Marathon's --mesos_role, whatever it is; one with a role other than the
// app's does not.
func TestAppModelDefaultRole(t *testing.T) {
	s := newSimWith(t, marathonsim.Options{Generation: marathonsim.Gen15, MesosRole: "slave_public"}, nil, marathon.Config{})
	ctx := t.Context()
	g := parse(t, baseSpec)
	w := write(t, g, 1)
	if _, err := s.c.Create(ctx, w); err != nil {
		t.Fatal(err)
	}
	a, err := s.c.Get(ctx, w.Key)
	if err != nil || a.Spec.Role != "slave_public" || a.DefaultRole != "slave_public" {
		t.Fatalf("app role %q, default %q, %v", a.Spec.Role, a.DefaultRole, err)
	}
	d, _ := diff.NewDesired(g, 1)
	if act, ok := diff.Group(&d, diffApp(a), diff.Options{}); ok {
		t.Fatalf("spec without role against an app in the default role: %+v", act.Changes)
	}
	explicit := parse(t, withField(baseSpec, "role: slave_public"))
	d, _ = diff.NewDesired(explicit, 1)
	if act, ok := diff.Group(&d, diffApp(a), diff.Options{}); ok {
		t.Fatalf("spec naming the default role: %+v", act.Changes)
	}
	other := parse(t, withField(baseSpec, "role: web"))
	d, _ = diff.NewDesired(other, 1)
	if act, ok := diff.Group(&d, diffApp(a), diff.Options{}); !ok || !hasChange(act.Changes, "spec.role") {
		t.Fatalf("spec with another role: %v %+v", ok, act.Changes)
	}
}
