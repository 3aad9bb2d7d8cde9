package marathon_test

import (
	"compress/gzip"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"theseus.dev/drivers/marathon"
)

// TestEventStreamUncompressed: a compressing proxy in front of Marathon
// (an nginx or a traefik with compression on) gzips a stream whose
// client accepts it, and holds each event back until enough follow to
// fill a block, which on a quiet cluster is never. The stream asks for
// no encoding, and its events come as they are sent.
func TestEventStreamUncompressed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream;charset=UTF-8")
		event := "event: app_terminated_event\r\ndata: {\"eventType\":\"app_terminated_event\",\"appId\":\"/web/dev\"}\r\n\r\n"
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			w.WriteHeader(http.StatusOK)
			gz := gzip.NewWriter(w)
			fmt.Fprint(gz, event) // held in the compressor
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, event)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close() })
	c, err := marathon.New(marathon.Config{URLs: []string{srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	ev := startEvents(t, c)
	ev.next(t, "resync", isResync)
	ev.next(t, "app_terminated_event", func(e marathon.Event) bool { return e.Type == "app_terminated_event" })
	_ = ev.stop()
}
