package main

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/marathon"
	"theseus.dev/viewer"
)

// httpAuthFlags are the credentials the web viewer of `run` and `dev`
// requires on --http: flag, then environment.
type httpAuthFlags struct {
	token, tokenFile, user, password string
}

func addHTTPAuthFlags(fs *pflag.FlagSet) *httpAuthFlags {
	f := &httpAuthFlags{}
	fs.StringVar(&f.token, "http-token", "", "bearer token the viewer requires, at least 16 characters (env THESEUS_HTTP_TOKEN)")
	fs.StringVar(&f.tokenFile, "http-token-file", "", "file holding the viewer's bearer token (env THESEUS_HTTP_TOKEN_FILE)")
	fs.StringVar(&f.user, "http-user", "", "basic-auth user the viewer requires (env THESEUS_HTTP_USER)")
	fs.StringVar(&f.password, "http-password", "", "basic-auth password the viewer requires (env THESEUS_HTTP_PASSWORD)")
	return f
}

// auth resolves the flags against the environment.
func (f *httpAuthFlags) auth(getenv func(string) string) (viewer.AuthConfig, error) {
	a := viewer.AuthConfig{
		Token:    cmp.Or(f.token, getenv("THESEUS_HTTP_TOKEN")),
		Username: cmp.Or(f.user, getenv("THESEUS_HTTP_USER")),
		Password: cmp.Or(f.password, getenv("THESEUS_HTTP_PASSWORD")),
	}
	if file := cmp.Or(f.tokenFile, getenv("THESEUS_HTTP_TOKEN_FILE")); file != "" {
		if a.Token != "" {
			return viewer.AuthConfig{}, fmt.Errorf("--http-token-file: a token is given already")
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return viewer.AuthConfig{}, fmt.Errorf("--http-token-file: %w", err)
		}
		a.Token = strings.TrimSpace(string(data))
	}
	return a, nil
}

// viewerMount checks that the viewer may be served on addr with auth
// (viewer.CheckBind) and returns what mounts it at "/" of the daemon's
// mux, beside /metrics, /healthz and /readyz, which stay open.
func viewerMount(addr string, auth viewer.AuthConfig, ec *etcd.Client, mc *marathon.Client, log *slog.Logger) (func(*http.ServeMux), error) {
	if err := viewer.CheckBind(addr, auth); err != nil {
		return nil, fmt.Errorf("--http %s: %w", addr, err)
	}
	v, err := viewer.New(viewer.Config{
		Desired: ec.Desired(), Status: ec.Status(), Services: ec.Discovery(), Marathon: mc,
		Auth: auth, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	return func(mux *http.ServeMux) { mux.Handle("/", v.Handler()) }, nil
}
