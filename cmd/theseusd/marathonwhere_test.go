package main

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"theseus.dev/drivers/etcd/etcdtest"
)

// TestMarathonErrorsSayWhere: a Marathon URL that answers, but not as
// Marathon (here a login page on every path), is named in the error with
// where it came from, by every command that lists Marathon's apps: the
// error of the call alone says what failed, not at which address.
func TestMarathonErrorsSayWhere(t *testing.T) {
	e := etcdtest.Start(t)
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html><body>Sign in</body></html>\n"))
	}))
	t.Cleanup(page.Close)
	e.Etcdctl(t, "put", "/desired/web/dev", minimal)
	spec := filepath.Join(t.TempDir(), "web.json")
	writeFile(t, spec, minimal)
	fromEnv := map[string]string{"THESEUS_ETCD": e.Endpoint(), "THESEUS_MARATHON": page.URL}
	fromFlag := map[string]string{"THESEUS_ETCD": e.Endpoint(), "THESEUS_MARATHON": "http://127.0.0.1:1"}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"plan", fromEnv, []string{"plan"}, "error: list Marathon apps: "},
		{"plan -f", fromEnv, []string{"plan", "-f", spec}, "error: list Marathon apps: "},
		{"apply --dry-run", fromEnv, []string{"apply", "-f", spec, "--dry-run"}, "error: list Marathon apps: "},
		{"plan --marathon", fromFlag, []string{"plan", "--marathon", page.URL}, "error: list Marathon apps: "},
		{"get", fromEnv, []string{"get"}, "warning: Marathon cannot be read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "THESEUS_MARATHON"
			if tt.env["THESEUS_MARATHON"] != page.URL {
				src = "--marathon"
			}
			_, out, errb := runCLI(t, tt.env, tt.args...)
			if !strings.Contains(errb, tt.want) || !strings.Contains(errb, "(Marathon "+page.URL+" from "+src+")") {
				t.Errorf("stderr does not say %q, at %s from %s:\n%s%s", tt.want, page.URL, src, out, errb)
			}
		})
	}
}
