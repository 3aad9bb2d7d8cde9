package marathon_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"theseus.dev/drivers/marathon"
	"theseus.dev/drivers/marathon/marathonsim"
)

// credentialSink is a listener that records the Authorization header of
// every request it gets and answers an empty app list.
type credentialSink struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []string
	apps []string // the Authorization headers of GET /v2/apps alone
}

func newSink(t *testing.T, host string) *credentialSink {
	t.Helper()
	s := &credentialSink{}
	ln, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatalf("listen on %s: %v", host, err)
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.seen = append(s.seen, r.Header.Get("Authorization"))
		if r.URL.Path == "/v2/apps" {
			s.apps = append(s.apps, r.Header.Get("Authorization"))
		}
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"apps":[]}`))
	}))
	s.srv.Listener.Close()
	s.srv.Listener = ln
	s.srv.Start()
	t.Cleanup(s.srv.Close)
	return s
}

func (s *credentialSink) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

// listRequests are the requests of app lists (a list also reads /v2/info
// once, for Marathon's default role).
func (s *credentialSink) listRequests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.apps...)
}

// redirector sends every request to target, keeping the path, and
// reports each path it redirected on hits, if not nil.
func redirector(t *testing.T, target string, hits chan<- string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target+r.URL.RequestURI(), http.StatusTemporaryRedirect)
		if hits != nil {
			hits <- r.URL.Path
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestCredentialsStayWithConfiguredHosts: a Marathon member on 127.0.0.1
// that redirects to another host (127.0.0.2) or another port of its own
// host must not hand that listener the basic-auth password or the token.
// The call fails with an error naming both ends, at once, not after
// retries. A redirect to a configured member keeps the credentials, and
// without credentials a redirect is followed.
func TestCredentialsStayWithConfiguredHosts(t *testing.T) {
	otherHost := newSink(t, "127.0.0.2")
	otherPort := newSink(t, "127.0.0.1")
	member := newSink(t, "127.0.0.1")
	creds := map[string]marathon.Config{
		"basic": {Username: "theseus", Password: "s3cret"},
		"token": {Token: "tok3n-s3cret"},
	}
	for name, cfg := range creds {
		for _, target := range []struct {
			what string
			sink *credentialSink
		}{{"another host", otherHost}, {"another port", otherPort}} {
			t.Run(name+" to "+target.what, func(t *testing.T) {
				before := len(target.sink.requests())
				hits := make(chan string, 100)
				cfg.URLs = []string{redirector(t, target.sink.srv.URL, hits)}
				cfg.Timeout = 5 * time.Second
				c, err := marathon.New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				_, err = c.List(t.Context())
				var re *marathon.RedirectError
				if !errors.As(err, &re) || !strings.Contains(err.Error(), target.sink.srv.URL) || !marathon.IsPermanent(err) {
					t.Errorf("List = %v, want a permanent RedirectError naming %s", err, target.sink.srv.URL)
				}
				if d := time.Since(start); d > 2*time.Second {
					t.Errorf("the refused redirect was retried for %v", d)
				}
				for _, h := range target.sink.requests()[before:] {
					if h != "" {
						t.Errorf("%s received Authorization %q", target.what, h)
					}
				}
				// The event stream: once a second attach is redirected, the
				// first one's redirect has been dealt with.
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan struct{})
				go func() { defer close(done); _ = c.Events(ctx, func(marathon.Event) {}) }()
				for n := 0; n < 2; {
					select {
					case p := <-hits:
						if p == "/v2/events" {
							n++
						}
					case <-time.After(10 * time.Second):
						t.Fatal("the event stream was not attached twice")
					}
				}
				cancel()
				<-done
				for _, h := range target.sink.requests()[before:] {
					if h != "" {
						t.Errorf("%s received Authorization %q on the event stream", target.what, h)
					}
				}
			})
		}
	}
	t.Run("to a configured member", func(t *testing.T) {
		c, err := marathon.New(marathon.Config{URLs: []string{redirector(t, member.srv.URL, nil), member.srv.URL}, Token: "tok3n-s3cret"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.List(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := member.listRequests(); len(got) != 1 || got[0] != "token=tok3n-s3cret" {
			t.Errorf("the member got Authorization %q, want the token once", got)
		}
	})
	t.Run("without credentials", func(t *testing.T) {
		before := len(otherHost.listRequests())
		c, err := marathon.New(marathon.Config{URLs: []string{redirector(t, otherHost.srv.URL, nil)}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.List(t.Context()); err != nil {
			t.Errorf("List without credentials through a redirect: %v", err)
		}
		if n := len(otherHost.listRequests()) - before; n != 1 {
			t.Errorf("%d requests reached the redirect's target, want 1", n)
		}
	})
}

// TestWriteRedirectedAsGet: a member (or a proxy in front of it) that
// answers a write with a 301, 302 or 303 would have net/http send a GET
// instead, and the GET's 200 read as the write done. Such a redirect is
// refused with an error naming it; nothing is written or deleted.
func TestWriteRedirectedAsGet(t *testing.T) {
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			s := newSim(t, marathonsim.Gen15, nil, marathon.Config{})
			ctx := t.Context()
			kept := write(t, parse(t, webSpec), 1)
			if _, err := s.c.Create(ctx, kept); err != nil {
				t.Fatal(err)
			}
			s.settle(t)
			front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, s.srv.URL+r.URL.RequestURI(), status)
			}))
			t.Cleanup(front.Close)
			c, err := marathon.New(marathon.Config{URLs: []string{front.URL}, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			other := write(t, parse(t, strings.Replace(webSpec, "labels: [dev]", "labels: [prod]", 1)), 1)
			if res, err := c.Create(ctx, other); err == nil || !strings.Contains(err.Error(), "redirect") {
				t.Errorf("Create through a %d = %+v, %v; want an error about the redirect", status, res, err)
			}
			if _, err := s.c.Get(ctx, other.Key); !errors.Is(err, marathon.ErrNotFound) {
				t.Errorf("the app of the redirected create: %v", err)
			}
			if res, err := c.Delete(ctx, kept.Key); err == nil || !strings.Contains(err.Error(), "redirect") {
				t.Errorf("Delete through a %d = %+v, %v; want an error about the redirect", status, res, err)
			}
			if _, err := s.c.Get(ctx, kept.Key); err != nil {
				t.Errorf("the app of the redirected delete: %v", err)
			}
		})
	}
}
