package marathonsim

import (
	"net/http"
	"testing"
	"time"
)

func TestSmokeCreateRunDelete(t *testing.T) {
	for _, gen := range []Generation{Gen14, Gen15} {
		t.Run(gen.String(), func(t *testing.T) {
			h := newHarness(t, gen)
			r := h.must(http.StatusCreated, "POST", "/v2/apps", withHealth(dockerApp("/web/dev", "nginx:1.27", 3), 10, 5, 3))
			if r.header.Get("Marathon-Deployment-Id") == "" || r.header.Get("Location") == "" {
				t.Fatalf("headers: %v", r.header)
			}
			t.Logf("POST: %s", r.body)
			h.until("healthy", 5*time.Minute, func() bool { return h.app("/web/dev").TasksHealthy == 3 && h.settled() })
			g := h.must(http.StatusOK, "GET", "/v2/apps/web/dev", nil)
			t.Logf("GET: %s", g.body)
			l := h.must(http.StatusOK, "GET", "/v2/apps?embed=apps.tasks", nil)
			_ = l
			d := h.must(http.StatusOK, "DELETE", "/v2/apps/web/dev", nil)
			t.Logf("DELETE: %s", d.body)
			h.must(http.StatusNotFound, "GET", "/v2/apps/web/dev", nil)
			h.until("stopped", time.Minute, func() bool { return h.settled() && len(h.sim.Tasks("")) == 0 })
		})
	}
}
