package reconciler_test

import (
	"reflect"
	"testing"
	"time"
)

// TestObservedAppsShareDesiredSpecs: once a group is in sync, the app the
// term's observer lists holds the spec the controller keeps from
// /desired, not an equal copy of it: the observer lists Marathon under
// the controller's known specs.
func TestObservedAppsShareDesiredSpecs(t *testing.T) {
	e := newEnv(t)
	d, _ := e.start(controllerOpts{id: "a"})
	k := key(t, "web", "dev")
	e.put(k, spec(k, "nginx:1.27", 2, `,"env":{"A":"1","B":"2"}`))
	e.eventually(30*time.Second, "the group in sync", func() bool { return e.converged(false) })
	c := d.Controller()
	if c == nil {
		t.Fatal("no controller")
	}
	// The app the controller wrote stands in the cache until a list
	// replaces it; wait for a list started after the group was in sync.
	after := c.ListsStarted() + 1
	e.eventually(10*time.Second, "the listed app holding its group's env map", func() bool {
		known, ok := c.KnownSpec(k)
		a, listed := c.ObservedApp(k)
		return c.ListsStarted() > after && ok && listed && len(a.Spec.Env) == 2 &&
			reflect.ValueOf(a.Spec.Env).UnsafePointer() == reflect.ValueOf(known.Env).UnsafePointer()
	})
}
