package mesos_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"theseus.dev/drivers/mesos"
)

// TestNullValuesAreNotZeros: an attribute or a resource without a value
// (null, as trimmed bodies have) is left out, not read as a 0 that
// `agents` would show.
func TestNullValuesAreNotZeros(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"slaves": [{"id": "S0", "hostname": "a", "pid": "slave(1)@10.0.0.1:5051",
			"attributes": {"rack": null, "zone": "z1"}, "resources": {"cpus": 4, "mem": null, "vfs": null, "net": 10}}]}`))
	}))
	t.Cleanup(srv.Close)
	c := must[*mesos.Client](t)(mesos.New(mesos.Config{URLs: []string{srv.URL}}))
	agents := must[[]mesos.Agent](t)(c.Agents(ctx(t)))
	if len(agents) != 1 {
		t.Fatalf("agents %+v", agents)
	}
	a := agents[0]
	if _, ok := a.Attributes["rack"]; ok || a.Attributes["zone"] != "z1" {
		t.Errorf("attributes %v", a.Attributes)
	}
	if _, ok := a.Resources.Others["vfs"]; ok || a.Resources.Others["net"] != "10" || a.Resources.CPUs != 4 || a.Resources.Mem != 0 {
		t.Errorf("resources %+v", a.Resources)
	}
}
