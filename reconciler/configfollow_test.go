package reconciler_test

import (
	"testing"
	"time"
)

// TestConfigChangeReachesServicesAtOnce: a change of a group's config
// alone, which Marathon never hears of, is mirrored to
// /services/{service}/{labels}/config as soon as /desired has it, not at
// the next resync (an hour here).
func TestConfigChangeReachesServicesAtOnce(t *testing.T) {
	e := newEnv(t)
	e.startWith(daemonOpts{controllerOpts: controllerOpts{id: "a"}, resync: time.Hour})
	k := key(t, "web", "dev")
	config := func() string {
		cfg, err := e.store.Discovery().GroupConfig(t.Context(), "web", "dev")
		if err != nil {
			return err.Error()
		}
		return cfg["upstream"]
	}
	e.put(k, spec(k, "nginx:1.27", 1, `,"config":{"upstream":"api","token":{"value":"a","secret":true}}`))
	e.eventually(converge, "web/dev runs, its config in /services", func() bool {
		return e.converged(false) && config() == "api"
	})
	for _, upstream := range []string{"api2", "api3"} {
		e.put(k, spec(k, "nginx:1.27", 1, `,"config":{"upstream":"`+upstream+`","token":{"value":"a","secret":true}}`))
		e.eventually(10*time.Second, "/services holds upstream "+upstream, func() bool { return config() == upstream })
	}
	if n := len(e.writesTo("PUT", "/v2/apps")); n != 0 {
		t.Errorf("config changes wrote to Marathon %d times", n)
	}
}
