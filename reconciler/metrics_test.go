package reconciler

import (
	"net/http/httptest"
	"strings"
	"testing"

	"theseus.dev/internal/engine"
)

func TestMetricsExposition(t *testing.T) {
	m := NewMetrics()
	m.MarathonRequest("GET", "/v2/apps", 200, 0.01)
	m.MarathonRequest("PUT", "/v2/apps/{id}", 409, 0.01)
	engine.New(engine.ReconcileFunc(nil), engine.Options{Metrics: m.Engine()})
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, name := range []string{
		"controller_runtime_reconcile_total", "controller_runtime_reconcile_errors_total",
		"controller_runtime_terminal_reconcile_errors_total", "controller_runtime_reconcile_panics_total",
		"controller_runtime_max_concurrent_reconciles", "workqueue_depth", "workqueue_adds_total",
		"leader_election_master_status", "theseus_marathon_requests_total", "theseus_marathon_conflicts_total 1",
		"theseus_prune_blocked_total", "theseus_etcd_watch_restarts_total", "theseus_etcd_relists_total",
	} {
		if !strings.Contains(body, name) {
			t.Errorf("metrics lack %s", name)
		}
	}
}
