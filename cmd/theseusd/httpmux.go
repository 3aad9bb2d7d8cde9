package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"theseus.dev/reconciler"
	"theseus.dev/viewer"
)

// httpOptions are what httpHandler serves besides the probes, /metrics
// and the page.
type httpOptions struct {
	auth viewer.AuthConfig
	// pprof serves Go's profiles. Off by default: /debug/pprof/cmdline
	// shows the command line, secrets given as flags included.
	pprof bool
}

// httpHandler routes --http: the probes, /metrics, the viewer and, when
// asked for, Go's profiles. With auth, everything asks for credentials except the probes,
// which orchestrators call without any; to such a caller /readyz says
// only whether the daemon is ready, not why not, since the reasons name
// hosts and errors.
func httpHandler(dm *reconciler.Daemon, metrics *reconciler.Metrics, page http.Handler, o httpOptions) http.Handler {
	auth := o.auth
	mux := http.NewServeMux()
	dm.Handle(mux, metrics)
	if o.pprof {
		handleProfiles(mux)
	}
	mux.Handle("/", page)
	if !auth.Enabled() {
		return mux
	}
	outer := http.NewServeMux()
	outer.Handle("/", viewer.RequireAuth(auth, mux))
	outer.Handle("GET /healthz", mux)
	outer.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if auth.Admits(r) {
			mux.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if dm.Ready(ctx) != nil {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	return outer
}
