package marathonsim

// eventBus fans events out to /v2/events subscribers. It is used under
// Sim.mu. Sending never blocks: each subscriber has a bounded buffer, and
// a subscriber whose buffer is full is disconnected, as Marathon 1.8+
// closes a stream that has more than event_stream_max_outstanding_messages
// outstanding. A slow consumer therefore never slows the simulation.
type eventBus struct {
	buf  int
	subs map[*subscriber]struct{}
}

type subscriber struct {
	ch     chan []byte     // SSE frames
	done   chan struct{}   // closed when the stream must end
	types  map[string]bool // event_type filter; nil: everything
	remote string
	ended  bool
	// overflowed is set when the stream was closed for not keeping up.
	overflowed bool
}

func newEventBus(buf int) *eventBus {
	return &eventBus{buf: buf, subs: map[*subscriber]struct{}{}}
}

func (b *eventBus) active() bool { return len(b.subs) > 0 }

// wants reports whether any subscriber's filter allows eventType.
func (b *eventBus) wants(eventType string) bool {
	for sub := range b.subs {
		if sub.types == nil || sub.types[eventType] {
			return true
		}
	}
	return false
}

func (b *eventBus) subscribe(remote string, types []string) *subscriber {
	sub := &subscriber{ch: make(chan []byte, b.buf), done: make(chan struct{}), remote: remote}
	if len(types) > 0 {
		sub.types = map[string]bool{}
		for _, t := range types {
			sub.types[t] = true
		}
	}
	b.subs[sub] = struct{}{}
	return sub
}

// end closes a subscriber's stream and forgets it.
func (b *eventBus) end(sub *subscriber) {
	if sub.ended {
		return
	}
	sub.ended = true
	close(sub.done)
	delete(b.subs, sub)
}

func (b *eventBus) closeAll() {
	for sub := range b.subs {
		b.end(sub)
	}
}

// publish sends one event frame to every subscriber whose filter allows
// eventType.
func (b *eventBus) publish(eventType string, data []byte) {
	if len(b.subs) == 0 {
		return
	}
	frame := make([]byte, 0, len(eventType)+len(data)+20)
	frame = append(frame, "event: "...)
	frame = append(frame, eventType...)
	frame = append(frame, "\r\ndata: "...)
	frame = append(frame, data...)
	frame = append(frame, "\r\n\r\n"...)
	for sub := range b.subs {
		if sub.types != nil && !sub.types[eventType] {
			continue
		}
		select {
		case sub.ch <- frame:
		default:
			sub.overflowed = true
			b.end(sub)
		}
	}
}

var heartbeatFrame = []byte("\r\n")

// heartbeat sends a bare CRLF to every subscriber that has room for it;
// a heartbeat is never a reason to disconnect.
func (b *eventBus) heartbeat() {
	for sub := range b.subs {
		select {
		case sub.ch <- heartbeatFrame:
		default:
		}
	}
}
