package marathon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"theseus.dev/internal/backoff"
)

// Backoff between attachments of the event stream. A stream that stayed
// attached for stableStream starts the backoff over.
const (
	minStreamBackoff = 250 * time.Millisecond
	maxStreamBackoff = 30 * time.Second
	stableStream     = 30 * time.Second
)

var errStreamIdle = errors.New("marathon event stream: silent for too long")

// Events reads Marathon's event stream (GET /v2/events) until ctx ends,
// calling fn for each event on the calling goroutine, and returns
// ctx.Err(). After every attach, the first included, it delivers
// EventResync first: events may have been missed while detached, and
// Marathon replays nothing, so the reader must relist. A stream that
// ends, fails, answers anything but an event stream, or stays silent for
// Config.EventIdleTimeout (an attach left unanswered included) is attached again after a jittered exponential
// backoff (250ms to 30s), moving on to the next member after a failure.
// Events of every type are delivered, unknown ones with their Type. fn
// must be quick: Marathon drops a subscriber that does not keep up, and
// the driver then attaches again and resyncs.
func (c *Client) Events(ctx context.Context, fn func(Event)) error {
	bo := backoff.New(minStreamBackoff, maxStreamBackoff)
	failures, attaches := 0, 0
	for {
		m := c.member(failures)
		start := time.Now()
		attached, err := c.stream(ctx, m, func() {
			attaches++
			if attaches > 1 && c.cfg.Hooks.Reconnect != nil {
				c.cfg.Hooks.Reconnect()
			}
			fn(Event{Type: EventResync})
		}, fn)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// A dropped stream is routine, and the resync after the next
		// attach repairs whatever it cost; a failed attach is reported.
		switch {
		case !attached:
			failures++
			if h := c.cfg.Hooks.StreamFailed; h != nil {
				h(err)
			}
		case time.Since(start) >= stableStream:
			failures = 0
			bo.Reset()
		default:
			failures = 0
		}
		if err := bo.Wait(ctx); err != nil {
			return err
		}
	}
}

// stream reads one attachment of the event stream from member m. attached
// reports whether Marathon accepted it; onAttach runs then, before any
// event.
func (c *Client) stream(ctx context.Context, m int, onAttach func(), fn func(Event)) (attached bool, err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	u := *c.members[m]
	u.Path += "/v2/events"
	u.RawQuery = streamQuery
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return false, err
	}
	c.auth(req)
	// Marathon compares the header for equality with this value.
	req.Header.Set("Accept", "text/event-stream")
	// A compressing proxy in front of Marathon holds events back until a
	// block fills, which on a quiet cluster is never.
	req.Header.Set("Accept-Encoding", "identity")
	r := &call{method: http.MethodGet, endpoint: "/v2/events"}
	// The idle timeout runs from the request on: a member that takes the
	// connection but never answers is as dead as a silent stream.
	idle := time.AfterFunc(c.cfg.EventIdleTimeout, func() { cancel(errStreamIdle) })
	defer idle.Stop()
	start := time.Now()
	resp, err := c.sse.Do(req)
	if err != nil {
		c.hook(r, 0, start)
		if cause := context.Cause(ctx); errors.Is(cause, errStreamIdle) {
			err = cause
		}
		return false, fmt.Errorf("marathon event stream: %w", err)
	}
	defer resp.Body.Close()
	c.hook(r, resp.StatusCode, start)
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return false, fmt.Errorf("marathon event stream: %w", c.apiError(http.MethodGet, "/v2/events", resp.StatusCode, body, ""))
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		return false, fmt.Errorf("marathon event stream: GET /v2/events answered %q, not an event stream", ct)
	}
	c.prefer(m)
	idle.Stop() // onAttach's time is the caller's, not the stream's silence
	onAttach()
	idle.Reset(c.cfg.EventIdleTimeout)
	body := &idleReader{r: resp.Body, t: idle, d: c.cfg.EventIdleTimeout}
	err = readSSE(body, maxEventData, func(name string, data []byte) {
		if ev, ok := DecodeEvent(c.root, name, data); ok {
			fn(ev)
		}
	})
	if cause := context.Cause(ctx); cause != nil {
		err = cause
	}
	return true, fmt.Errorf("marathon event stream: %w", err)
}

// streamQuery asks for the events that say an app or its tasks changed
// (Marathon 1.3.7+ filters on repeated event_type), and no others:
// instance_changed_event repeats status_update_event for apps, and
// failed-check and kill events are each followed by the status or
// health event that tells the change. A busy Marathon then sends half
// as much, and a 1.8+ Marathon, which closes a stream that falls 1024
// events behind, has fewer to queue. plan-format=light leaves the group
// trees out of deployment events in 1.6 and 1.7; others ignore it.
const streamQuery = "plan-format=light" +
	"&event_type=status_update_event" +
	"&event_type=health_status_changed_event" +
	"&event_type=instance_health_changed_event" +
	"&event_type=api_post_event" +
	"&event_type=app_terminated_event" +
	"&event_type=group_change_success" +
	"&event_type=group_change_failed" +
	"&event_type=deployment_info" +
	"&event_type=deployment_step_success" +
	"&event_type=deployment_step_failure" +
	"&event_type=deployment_success" +
	"&event_type=deployment_failed"

// idleReader pushes the idle deadline back whenever bytes arrive,
// heartbeats included.
type idleReader struct {
	r io.Reader
	t *time.Timer
	d time.Duration
}

func (r *idleReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.t.Reset(r.d)
	}
	return n, err
}
