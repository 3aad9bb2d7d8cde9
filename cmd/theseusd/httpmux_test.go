package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"theseus.dev/reconciler"
	"theseus.dev/viewer"
)

// TestHTTPAuth: with credentials configured, the probes answer anyone,
// but /readyz tells only an authenticated caller why the daemon is not
// ready; /metrics, the profiles (with --pprof) and the page ask for
// credentials.
func TestHTTPAuth(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef"
	dm := reconciler.NewDaemon(reconciler.DaemonConfig{
		EtcdReady: func(context.Context) error { return errors.New("dial tcp 10.1.2.3:2379: connection refused") },
	})
	page := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "page") })
	srv := httptest.NewServer(httpHandler(dm, reconciler.NewMetrics(), page, httpOptions{auth: viewer.AuthConfig{Token: token}, pprof: true}))
	defer srv.Close()

	get := func(path string, authed bool) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if authed {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct {
		path     string
		authed   bool
		code     int
		has, not string
	}{
		{"/healthz", false, 200, "ok", ""},
		{"/readyz", false, 503, "not ready", "10.1.2.3"},
		{"/readyz", true, 503, "10.1.2.3", ""},
		{"/metrics", false, 401, "", "theseus_"},
		{"/metrics", true, 200, "theseus_", ""},
		{"/debug/pprof/cmdline", false, 401, "", ""},
		{"/debug/pprof/cmdline", true, 200, "", ""},
		{"/", false, 401, "", "page"},
		{"/", true, 200, "page", ""},
	} {
		code, body := get(tc.path, tc.authed)
		if code != tc.code || !strings.Contains(body, tc.has) || (tc.not != "" && strings.Contains(body, tc.not)) {
			t.Errorf("GET %s (credentials: %v) = %d %q; want %d with %q, without %q", tc.path, tc.authed, code, body, tc.code, tc.has, tc.not)
		}
	}
}
