// Package specstest builds group specs for the tests of the packages
// that store and sync them.
package specstest

import (
	"fmt"
	"strings"
	"testing"

	"theseus.dev/specs"
)

// Key returns the group key of service and labels.
func Key(t testing.TB, service string, labels ...string) specs.GroupKey {
	t.Helper()
	k, err := specs.NewGroupKey(service, labels)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// JSON returns a valid spec of the group with the given instances.
func JSON(k specs.GroupKey, instances int) []byte {
	labels := `"` + strings.Join(k.LabelSet(), `","`) + `"`
	return []byte(fmt.Sprintf(`{"apiVersion":"theseus/v1","kind":"Group","metadata":{"service":%q,"labels":[%s]},"spec":{"image":"nginx:1.27","instances":%d,"cpus":0.1,"mem":64}}`,
		k.Service, labels, instances))
}

// Group parses a spec made by JSON.
func Group(t testing.TB, k specs.GroupKey, instances int) *specs.Group {
	t.Helper()
	g, err := specs.DecodeStored(k, JSON(k, instances))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// Bench returns the spec of group svc{i}/dev.frontend as a benchmark
// stores it: a spec of the usual size, with env, config, a port, a
// constraint and a health check.
func Bench(i int) string {
	return fmt.Sprintf(`{"apiVersion":"theseus/v1","kind":"Group","metadata":{"service":"svc%05d","labels":["dev","frontend"]},`+
		`"spec":{"image":"nginx:1.27","instances":2,"cpus":0.1,"mem":64,"env":{"LOG_LEVEL":"info","REGION":"eu"},`+
		`"config":{"upstream":"api"},"ports":[{"name":"http","containerPort":80}],"constraints":[["hostname","UNIQUE"]],`+
		`"healthChecks":[{"protocol":"HTTP","portName":"http","path":"/healthz","gracePeriodSeconds":30}],`+
		`"upgrade":{"minimumHealthCapacity":1,"maximumOverCapacity":0.2}}}`, i)
}
