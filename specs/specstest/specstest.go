// Package specstest builds group specs for the tests of the packages
// that store and sync them.
package specstest

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unsafe"

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

// SharedFields names the fields of spec a that hold the same memory as
// b's (strings, maps, slices and pointers), not equal copies of it.
func SharedFields(a, b *specs.Spec) []string {
	var names []string
	va, vb := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	for i := range va.NumField() {
		if p := ref(va.Field(i)); p != nil && p == ref(vb.Field(i)) {
			names = append(names, va.Type().Field(i).Name)
		}
	}
	return names
}

// ref is what a string, map, slice or pointer field points to; nil for
// any other field, or one that points to nothing.
func ref(f reflect.Value) unsafe.Pointer {
	switch f.Kind() {
	case reflect.String:
		return unsafe.Pointer(unsafe.StringData(f.String()))
	case reflect.Map, reflect.Pointer, reflect.Slice:
		return f.UnsafePointer()
	}
	return nil
}
