package mesos_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"theseus.dev/drivers/mesos"
)

// adminRouter answers as DC/OS's Admin Router, mounted at prefix: the
// leading master under prefix+"/mesos/", each agent under
// prefix+"/agent/{id}/" (a sibling of the master's path, not below it).
func adminRouter(t *testing.T, prefix string) *httptest.Server {
	t.Helper()
	slaves := readRecorded(t, "master-slaves/dcosb-1.0.3-agents.json")
	stats := readRecorded(t, "monitor-statistics/mesos-docs-example.json")
	const agent = "/agent/f18fcd65-5c63-4dfb-b233-f289aac416c5-S43"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch strings.TrimPrefix(r.URL.Path, prefix) {
		case "/mesos/master/slaves":
			_, _ = w.Write(slaves)
		case agent + "/monitor/statistics":
			_, _ = w.Write(stats)
		default:
			// What the leading master answers for /mesos/agent/...: no
			// such route.
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestAgentProxyBesideMesosPath: with DC/OS the masters are configured
// as the Admin Router's https://dcos/mesos, and its agents are at
// https://dcos/agent/{id}, beside /mesos rather than under it; asked
// under it, the leading master answers 404 and no agent can be read
// through the proxy.
func TestAgentProxyBesideMesosPath(t *testing.T) {
	for _, prefix := range []string{"", "/dcos-east"} {
		t.Run("prefix "+prefix, func(t *testing.T) {
			srv := adminRouter(t, prefix)
			c := must[*mesos.Client](t)(mesos.New(mesos.Config{URLs: []string{srv.URL + prefix + "/mesos"}, AgentProxy: true}))
			a := must[mesos.Agent](t)(c.Agent(ctx(t), "10.72.154.222"))
			usage, err := c.Statistics(ctx(t), a)
			if err != nil || len(usage) != 1 || usage[0].Statistics == nil || usage[0].Statistics.CPUsLimit != 8.25 {
				t.Errorf("statistics of agent %s through %s/mesos: %+v, %v", a.ID, prefix, usage, err)
			}
		})
	}
}
