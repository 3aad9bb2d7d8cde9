package marathon_test

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"theseus.dev/drivers/marathon"
	"theseus.dev/drivers/marathon/marathonsim"
)

// requireAuth lets through only requests that carry the credentials.
func requireAuth(user, password, token string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, p, ok := r.BasicAuth()
			switch {
			case token != "" && r.Header.Get("Authorization") == "token="+token:
			case user != "" && ok && u == user && p == password:
			default:
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = w.Write([]byte(`{"message":"Invalid username or password."}`))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// TestAuth: basic auth and a DC/OS token over TLS with a custom CA, on
// every kind of call and on the event stream, also after a redirect to
// another configured member.
func TestAuth(t *testing.T) {
	sim, err := marathonsim.New(marathonsim.Options{Clock: marathonsim.NewManualClock(epoch), Agents: agents()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	srv := httptest.NewUnstartedServer(requireAuth("theseus", "pa:ss", "tok3n")(sim))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes refused on purpose
	srv.StartTLS()
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close() })
	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	// A standby that sends the event stream to the leader, as 1.7+ does.
	standby := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, srv.URL+r.URL.RequestURI(), http.StatusFound)
	}))
	t.Cleanup(standby.Close)

	tests := []struct {
		name string
		cfg  marathon.Config
		ok   bool
	}{
		{"basic auth", marathon.Config{Username: "theseus", Password: "pa:ss", CACert: ca}, true},
		{"token", marathon.Config{Token: "tok3n", CACert: ca}, true},
		{"insecure", marathon.Config{Token: "tok3n", InsecureSkipVerify: true}, true},
		{"wrong password", marathon.Config{Username: "theseus", Password: "nope", CACert: ca}, false},
		{"unknown CA", marathon.Config{Token: "tok3n"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.URLs = []string{srv.URL}
			tt.cfg.Timeout = time.Second
			c, err := marathon.New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			_, listErr := c.List(ctx)
			_, infoErr := c.Info(ctx)
			pingErr := c.Ping(ctx)
			_, depErr := c.Deployments(ctx)
			_, createErr := c.Create(ctx, write(t, parse(t, strings.Replace(webSpec, "[dev]", "["+strings.ToLower(strings.ReplaceAll(tt.name, " ", "-"))+"]", 1)), 1))
			err = errors.Join(listErr, infoErr, pingErr, depErr, createErr)
			if tt.ok != (err == nil) {
				t.Fatalf("calls: %v, want success %v", err, tt.ok)
			}
			var api *marathon.APIError
			var unknownCA x509.UnknownAuthorityError
			if tt.name == "unknown CA" && !errors.As(listErr, &unknownCA) {
				t.Errorf("unknown CA: %v", listErr)
			}
			if tt.name == "wrong password" && (!errors.As(listErr, &api) || api.Status != 401 || marathon.IsPermanent(listErr)) {
				t.Errorf("wrong password: %v, want a 401 APIError", listErr)
			}
			if !tt.ok {
				return
			}
			// httptest's servers share one certificate. Credentials
			// follow a redirect only to a configured member.
			tt.cfg.URLs = []string{standby.URL, srv.URL}
			c, _ = marathon.New(tt.cfg)
			ev := startEvents(t, c)
			ev.next(t, "resync after a redirect to the leader", isResync)
			_ = ev.stop()
		})
	}
}

// TestCredentialsInURL: credentials written into a Marathon URL
// (http://user:password@host, or a token alone in the user's place) are
// sent as basic auth, and never appear in an error, which ends up in
// /status and the logs.
func TestCredentialsInURL(t *testing.T) {
	sim, err := marathonsim.New(marathonsim.Options{Clock: marathonsim.NewManualClock(epoch), Agents: agents()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	srv := httptest.NewServer(requireAuth("theseus", "pa:ss", "")(sim))
	t.Cleanup(srv.Close)
	c, err := marathon.New(marathon.Config{URLs: []string{strings.Replace(srv.URL, "://", "://theseus:pa%3Ass@", 1)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.List(t.Context()); err != nil {
		t.Errorf("List with the credentials in the URL: %v", err)
	}

	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	for _, userinfo := range []string{"tok3n-s3cret@", "theseus:s3cret-pw@"} {
		c, err := marathon.New(marathon.Config{URLs: []string{strings.Replace(dead.URL, "://", "://"+userinfo, 1)}, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.List(t.Context())
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("List from an unreachable member: %v, want an error without the credentials", err)
		}
	}
}
