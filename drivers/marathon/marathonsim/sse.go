package marathonsim

import (
	"net/http"
	"time"
)

// serveEvents serves GET /v2/events, Marathon's server-sent event stream.
//
// As with Jetty's EventSourceServlet, one Accept header value must be
// exactly "text/event-stream", else the answer is 405. Frames are
// "event: <type>\r\ndata: <json>\r\n\r\n"; a bare "\r\n" heartbeat goes
// out every Options.Heartbeat. The new subscriber (and every other)
// receives event_stream_attached first. Repeated event_type parameters
// filter the stream. There is no replay: Last-Event-ID is ignored.
func (s *Sim) serveEvents(w http.ResponseWriter, r *http.Request) {
	acceptable := false
	for _, v := range r.Header.Values("Accept") {
		if v == "text/event-stream" {
			acceptable = true
		}
	}
	if !acceptable {
		writeJettyHTML(w, http.StatusMethodNotAllowed, "HTTP method GET is not supported by this URL")
		return
	}
	remote := clientIP(r)
	s.lock()
	if s.faults.streamsRefused(s.now) {
		s.unlock()
		errMessage(http.StatusServiceUnavailable, "Event stream is not available").write(w)
		return
	}
	sub := s.bus.subscribe(remote, r.URL.Query()["event_type"])
	s.publishStream(EventEventStreamAttached, remote)
	s.unlock()

	defer func() {
		s.lock()
		s.bus.end(sub)
		s.publishStream(EventEventStreamDetached, remote)
		s.unlock()
	}()

	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream;charset=UTF-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return
	}
	for {
		select {
		case frame := <-sub.ch:
			if !s.writeFrame(w, rc, frame, sub) {
				return
			}
		case <-sub.done:
			// Deliver what was queued before the stream was ended by a
			// fault or a leader change, except after an overflow, where
			// Marathon just closes.
			for !sub.overflowed {
				select {
				case frame := <-sub.ch:
					if !s.writeFrame(w, rc, frame, sub) {
						return
					}
					continue
				default:
				}
				break
			}
			return
		case <-r.Context().Done():
			return
		case <-s.closed:
			return
		}
	}
}

// streamWriteTimeout bounds one write to a subscriber that stopped
// reading, so that its handler ends instead of blocking for ever.
const streamWriteTimeout = 30 * time.Second

// writeFrame writes frame and every frame queued behind it, then flushes
// once: a burst of events goes out in as few writes as the buffer allows.
func (s *Sim) writeFrame(w http.ResponseWriter, rc *http.ResponseController, frame []byte, sub *subscriber) bool {
	_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	for {
		if _, err := w.Write(frame); err != nil {
			return false
		}
		select {
		case <-sub.done: // the caller decides what an ended stream still gets
		case frame = <-sub.ch:
			continue
		default:
		}
		return rc.Flush() == nil
	}
}
