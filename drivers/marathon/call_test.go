package marathon

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"theseus.dev/specs"
)

// answering serves the app web/dev with answer, counting its reads, and
// returns a client of it; any other path (/v2/info, for the default
// role) answers {}.
func answering(t *testing.T, answer func(w http.ResponseWriter)) (*Client, *atomic.Int32) {
	t.Helper()
	var reads atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path != "/v2/apps/web/dev" {
			_, _ = w.Write([]byte(`{}`))
			return
		}
		reads.Add(1)
		answer(w)
	}))
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	c, err := New(Config{URLs: []string{srv.URL}, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c, &reads
}

func webDev(t *testing.T) specs.GroupKey {
	t.Helper()
	k, err := specs.ParseGroupKey("web/dev")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestGetForeignAnswers: an answer that is not Marathon's app (garbled,
// another app's, none) is an error naming the call, not retried and
// never taken for the app.
func TestGetForeignAnswers(t *testing.T) {
	for name, body := range map[string]string{
		"garbled":     `{"app": {"id": "/web/dev", "instances": tr`,
		"another app": `{"app": {"id": "/web/prod", "instances": 1}}`,
		"no app":      `{"message": "ok"}`,
	} {
		t.Run(name, func(t *testing.T) {
			c, reads := answering(t, func(w http.ResponseWriter) { _, _ = w.Write([]byte(body)) })
			app, err := c.Get(t.Context(), webDev(t))
			if err == nil || !strings.Contains(err.Error(), "GET /v2/apps/web/dev") {
				t.Errorf("read %+v, %v; want an error naming the call", app, err)
			}
			if n := reads.Load(); n != 1 {
				t.Errorf("read %d times, want once", n)
			}
		})
	}
}

// TestAnswerBound: an app's answer longer than the client's bound, read
// as it streams (200) or whole (an error's 404), is refused with an error
// that names the call and the bound, and is not read again; one of
// exactly the bound is read.
func TestAnswerBound(t *testing.T) {
	const bound = 4 << 10
	for _, tc := range []struct {
		name    string
		status  int
		endless bool
	}{
		{"endless app", http.StatusOK, true},
		{"endless error", http.StatusNotFound, true},
		{"error of exactly the bound", http.StatusNotFound, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, reads := answering(t, func(w http.ResponseWriter) {
				w.WriteHeader(tc.status)
				if !tc.endless {
					word := `{"message": "App '/web/dev' does not exist`
					_, _ = w.Write([]byte(word + strings.Repeat(".", bound-len(word)-len(`"}`)) + `"}`))
					return
				}
				_, _ = w.Write([]byte(`{"app": {"id": "/web/dev", "cmd": "`))
				chunk := bytes.Repeat([]byte("x"), bound)
				for range 64 { // well past the bound; the client stops reading there
					if _, err := w.Write(chunk); err != nil {
						return
					}
				}
			})
			c.maxAnswer = bound
			_, err := c.Get(t.Context(), webDev(t))
			switch {
			case !tc.endless:
				if !errors.Is(err, ErrNotFound) {
					t.Errorf("an error answer of %d bytes: %v; want it read, as not found", bound, err)
				}
			case err == nil || !strings.Contains(err.Error(), "GET /v2/apps/web/dev") ||
				!strings.Contains(err.Error(), "larger than 4096 bytes"):
				t.Errorf("an endless answer: %v; want an error naming the call and the bound", err)
			}
			if n := reads.Load(); n != 1 {
				t.Errorf("read %d times, want once", n)
			}
		})
	}
}
