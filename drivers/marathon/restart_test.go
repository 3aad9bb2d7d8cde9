package marathon

import (
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestRestartThroughStandby: Marathon's apps resource consumes JSON only,
// and a standby proxies a call to the leader with Java's HTTP client,
// which gives a POST without a content type the one of a form; Marathon
// then refuses a restart with 415 Unsupported Media Type (marathon #1239,
// #5301). The restart is sent as JSON, and the member that is not the
// leader passes it on.
func TestRestartThroughStandby(t *testing.T) {
	leader := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); r.Method == http.MethodPost && mt != "application/json" {
			w.WriteHeader(http.StatusUnsupportedMediaType)
			_, _ = w.Write([]byte(`{"message":"Unsupported Media Type"}`))
			return
		}
		if r.Method == http.MethodPost && r.URL.Path == "/v2/apps/web/dev/restart" {
			w.Header().Set("Marathon-Deployment-Id", "d1")
			_, _ = w.Write([]byte(`{"deploymentId":"d1","version":"2026-01-01T00:00:00.000Z"}`))
			return
		}
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"message":"URI not found"}`))
	}))
	defer leader.Close()
	standby := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := http.NewRequestWithContext(r.Context(), r.Method, leader.URL+r.URL.RequestURI(), r.Body)
		if err != nil {
			t.Error(err)
			return
		}
		req.Header = r.Header.Clone()
		if r.Method == http.MethodPost && req.Header.Get("Content-Type") == "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.Header().Set("Marathon-Deployment-Id", resp.Header.Get("Marathon-Deployment-Id"))
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	defer standby.Close()
	c, err := New(Config{URLs: []string{standby.URL}, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Restart(t.Context(), webDev(t))
	if err != nil || res.DeploymentID != "d1" {
		t.Fatalf("restart through a standby: %+v, %v", res, err)
	}
}
