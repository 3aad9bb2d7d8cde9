package main

import (
	"net/http"
	"net/http/pprof"
)

// handleProfiles serves Go's profiles under /debug/pprof/, behind the
// same authentication as /metrics: a CPU or heap profile taken from the
// running controller is how a slow resync or a memory peak is explained.
func handleProfiles(mux *http.ServeMux) {
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}
