package specs

import (
	"strings"
	"testing"
)

// TestBounds: every number above its bound is refused, naming the field
// and the bound; values at the bound pass.
func TestBounds(t *testing.T) {
	const head = "apiVersion: theseus/v1\nkind: Group\nmetadata: {service: web, labels: [dev]}\nspec:\n  image: nginx:1.27\n"
	for _, tc := range []struct {
		spec string
		want string // "" when valid
	}{
		{"  instances: 10000\n  cpus: 1024\n  mem: 4194304\n  disk: 67108864\n", ""},
		{"  instances: 1000000000\n", "spec.instances: 1000000000 is more than the limit of 10000 instances"},
		{"  cpus: 1e308\n", "spec.cpus: 1e+308 is more than the limit of 1024 CPUs"},
		{"  mem: 1e308\n", "spec.mem: 1e+308 is more than the limit of 4.194304e+06 MiB"},
		{"  disk: 67108865\n", "spec.disk: 6.7108865e+07 is more than the limit of 6.7108864e+07 MiB"},
		{"  constraints: [[rack, GROUP_BY, \"99999999999\"]]\n", "GROUP_BY value 99999999999 must be between 0 and the limit of 10000"},
		{"  constraints: [[hostname, MAX_PER, \"10001\"]]\n", "MAX_PER value 10001"},
		{"  ports: [{containerPort: 65536}]\n", "spec.ports[0].containerPort: must be between 1 and 65535"},
		{"  ports: [{containerPort: 80, hostPort: 70000}]\n", "spec.ports[0].hostPort: must be between 0 (any) and 65535"},
		{"  ports: [{containerPort: 80}]\n  healthChecks: [{gracePeriodSeconds: 86401}]\n", "gracePeriodSeconds: 86401 is more than the limit of 86400 seconds"},
		{"  ports: [{containerPort: 80}]\n  healthChecks: [{intervalSeconds: 100000}]\n", "intervalSeconds: 100000"},
		{"  ports: [{containerPort: 80}]\n  healthChecks: [{timeoutSeconds: 100000}]\n", "timeoutSeconds: 100000"},
		{"  ports: [{containerPort: 80}]\n  healthChecks: [{delaySeconds: 100000}]\n", "delaySeconds: 100000"},
		{"  ports: [{containerPort: 80}]\n  healthChecks: [{maxConsecutiveFailures: 10001}]\n", "maxConsecutiveFailures: 10001 is more than the limit of 10000"},
	} {
		_, err := ParseAndValidate("web.yaml", []byte(head+tc.spec))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.spec, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one with %q", tc.spec, err, tc.want)
		}
	}
}

// TestLimitsLower: a daemon may lower a limit, never raise it, and a
// group within the defaults can then be over the lowered ones.
func TestLimitsLower(t *testing.T) {
	d := DefaultLimits()
	l, err := Limits{Instances: 50, MemMiB: 1024}.Lower(d)
	if err != nil || l.Instances != 50 || l.MemMiB != 1024 || l.CPUs != d.CPUs {
		t.Fatalf("Lower = %+v, %v", l, err)
	}
	for _, bad := range []Limits{{Instances: 10_001}, {CPUs: 2048}, {Instances: -1}, {DiskMiB: -1}} {
		if _, err := bad.Lower(d); err == nil {
			t.Errorf("%+v was accepted as a lower limit", bad)
		}
	}
	gs, err := ParseAndValidate("web.yaml", []byte("apiVersion: theseus/v1\nkind: Group\nmetadata: {service: web, labels: [dev]}\nspec: {image: x, instances: 51, mem: 2048}\n"))
	if err != nil {
		t.Fatal(err)
	}
	err = CheckLimits(gs[0], l)
	for _, want := range []string{"web.yaml:4: spec.instances: 51 is more than the limit of 50 instances", "spec.mem: 2048 is more than the limit of 1024 MiB"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckLimits: %v, want %q", err, want)
		}
	}
}
