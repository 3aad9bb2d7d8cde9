package marathon

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"theseus.dev/specs"
)

// streamSilence is how long the event stream may stay silent before it
// is taken for dead: Marathon sends a heartbeat every 10 seconds or so.
const streamSilence = 60 * time.Second

// Events reads Marathon's event stream until ctx ends, calling fn for
// each event on the calling goroutine. After every attach, the first
// included, it delivers EventResync: events may have been missed while
// detached, so the reader must relist. A stream that ends, fails or goes
// silent is attached again after a jittered, growing backoff (200ms to
// 10s), to the next member when there are several.
func (c *Client) Events(ctx context.Context, fn func(Event)) error {
	wait := 200 * time.Millisecond
	for attempt := 0; ; attempt++ {
		attached, err := c.stream(ctx, c.member(attempt), fn)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if attached {
			wait = 200 * time.Millisecond
		}
		_ = err // a dropped stream is normal; the resync after re-attaching repairs it
		d := wait/2 + rand.N(wait/2+1)
		wait = min(wait*2, 10*time.Second)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		if c.cfg.Hooks.Reconnect != nil {
			c.cfg.Hooks.Reconnect()
		}
	}
}

// stream reads one attachment of the event stream. attached reports
// whether it got as far as Marathon accepting the stream.
func (c *Client) stream(ctx context.Context, member int, fn func(Event)) (attached bool, err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	u := *c.members[member]
	u.Path += "/v2/events"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return false, err
	}
	c.auth(req)
	req.Header.Set("Accept", "text/event-stream")
	start := time.Now()
	resp, err := c.sse.Do(req)
	if err != nil {
		c.hook(request{method: http.MethodGet, endpoint: "/v2/events"}, 0, start)
		return false, fmt.Errorf("marathon event stream: %w", err)
	}
	defer resp.Body.Close()
	c.hook(request{method: http.MethodGet, endpoint: "/v2/events"}, resp.StatusCode, start)
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("marathon event stream: %s", resp.Status)
	}
	fn(Event{Type: EventResync})
	silence := time.AfterFunc(streamSilence, func() { cancel(errors.New("event stream silent")) })
	defer silence.Stop()
	err = readSSE(resp.Body, func(name string, data []byte) {
		silence.Reset(streamSilence)
		if name == "" && data == nil {
			return // a heartbeat
		}
		if ev, ok := c.decodeEvent(name, data); ok {
			fn(ev)
		}
	})
	return true, err
}

// readSSE parses a server-sent event stream (the WHATWG framing: "event:"
// and "data:" fields, data lines joined by "\n", ":" comments, a blank
// line dispatches), calling fn per event and with ("", nil) per line of
// keep-alive.
func readSSE(r io.Reader, fn func(name string, data []byte)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var name string
	var data []byte
	hasData := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if hasData {
				fn(name, data)
			} else {
				fn("", nil)
			}
			name, data, hasData = "", nil, false
			continue
		case strings.HasPrefix(line, ":"):
			fn("", nil)
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			name = value
		case "data":
			if hasData {
				data = append(data, '\n')
			}
			data = append(data, value...)
			hasData = true
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return io.ErrUnexpectedEOF
}

// eventJSON holds the fields of every event type theseus reads.
type eventJSON struct {
	EventType  string `json:"eventType"`
	Timestamp  string `json:"timestamp"`
	AppID      string `json:"appId"`
	RunSpecID  string `json:"runSpecId"`
	TaskID     string `json:"taskId"`
	InstanceID string `json:"instanceId"`
	TaskStatus string `json:"taskStatus"`
	Host       string `json:"host"`
	Ports      []int  `json:"ports"`
	Version    string `json:"version"`
	Alive      *bool  `json:"alive"`
	Healthy    *bool  `json:"healthy"`
	ID         string `json:"id"`
	Plan       *struct {
		ID string `json:"id"`
	} `json:"plan"`
}

// decodeEvent turns one event's data into an Event; false for data that
// is not a JSON event.
func (c *Client) decodeEvent(name string, data []byte) (Event, bool) {
	return DecodeEvent(c.root, name, data)
}

// DecodeEvent decodes the data of one Marathon event; false when it is not
// a JSON event object.
func DecodeEvent(root, name string, data []byte) (Event, bool) {
	var j eventJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return Event{}, false
	}
	t := j.EventType
	if t == "" {
		t = name
	}
	if t == "" {
		return Event{}, false
	}
	ev := Event{Type: EventType(t), AppID: j.AppID, TaskID: j.TaskID, TaskStatus: j.TaskStatus,
		Host: j.Host, Ports: j.Ports, Version: j.Version, Alive: j.Alive, Timestamp: parseTime(j.Timestamp)}
	if ev.AppID == "" {
		ev.AppID = j.RunSpecID
	}
	if ev.TaskID == "" {
		ev.TaskID = j.InstanceID
	}
	if ev.Alive == nil {
		ev.Alive = j.Healthy
	}
	if strings.HasPrefix(t, "deployment_") {
		ev.DeploymentID = j.ID
		if j.Plan != nil && j.Plan.ID != "" {
			ev.DeploymentID = j.Plan.ID
		}
	}
	if ev.AppID != "" {
		if k, err := specs.ParseAppID(root, ev.AppID); err == nil {
			ev.Key, ev.KeyOK = k, true
		}
	}
	return ev, true
}
