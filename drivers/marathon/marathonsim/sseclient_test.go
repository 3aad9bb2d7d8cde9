package marathonsim

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// sseEvent is one frame of the event stream; a heartbeat has typ "".
type sseEvent struct {
	typ  string
	data string
}

// sseClient reads an event stream strictly: every line must end in CRLF
// and frames must be "event:" then "data:" then an empty line.
type sseClient struct {
	t      *testing.T
	resp   *http.Response
	events chan sseEvent
	done   chan struct{}
	err    error
	cancel context.CancelFunc
	once   sync.Once
}

// openStream connects to url (a /v2/events URL) with the given Accept
// header values; it fails the test unless the answer is 200.
func openStream(t *testing.T, url string, accept ...string) *sseClient {
	t.Helper()
	c, status := dialStream(t, url, accept...)
	if status != http.StatusOK {
		t.Fatalf("GET %s: status %d", url, status)
	}
	return c
}

// dialStream connects and returns the client (nil unless 200) and status.
func dialStream(t *testing.T, url string, accept ...string) (*sseClient, int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	for _, a := range accept {
		req.Header.Add("Accept", a)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		cancel()
		return nil, resp.StatusCode
	}
	c := &sseClient{t: t, resp: resp, events: make(chan sseEvent, 4096), done: make(chan struct{}), cancel: cancel}
	go c.read()
	t.Cleanup(c.close)
	return c, resp.StatusCode
}

func (c *sseClient) read() {
	defer close(c.done)
	defer close(c.events)
	br := bufio.NewReader(c.resp.Body)
	line := func() (string, error) {
		s, err := br.ReadString('\n')
		if err != nil {
			return "", err
		}
		if !strings.HasSuffix(s, "\r\n") {
			return "", errors.New("line not terminated by CRLF: " + s)
		}
		return strings.TrimSuffix(s, "\r\n"), nil
	}
	for {
		l, err := line()
		if err != nil {
			c.err = err
			return
		}
		if l == "" {
			c.events <- sseEvent{}
			continue
		}
		typ, ok := strings.CutPrefix(l, "event: ")
		if !ok {
			c.err = errors.New("expected an event: line, got " + l)
			return
		}
		d, err := line()
		if err != nil {
			c.err = err
			return
		}
		data, ok := strings.CutPrefix(d, "data: ")
		if !ok {
			c.err = errors.New("expected a data: line, got " + d)
			return
		}
		if end, err := line(); err != nil || end != "" {
			c.err = errors.New("frame not ended by an empty line")
			return
		}
		c.events <- sseEvent{typ: typ, data: data}
	}
}

// next returns the next frame (heartbeats included), failing after a few
// seconds of real time.
func (c *sseClient) next() (sseEvent, bool) {
	c.t.Helper()
	select {
	case ev, ok := <-c.events:
		return ev, ok
	case <-time.After(5 * time.Second):
		c.t.Fatalf("no event within 5s")
		return sseEvent{}, false
	}
}

// nextEvent skips heartbeats.
func (c *sseClient) nextEvent() sseEvent {
	c.t.Helper()
	for {
		ev, ok := c.next()
		if !ok {
			c.t.Fatalf("stream ended: %v", c.err)
		}
		if ev.typ != "" {
			return ev
		}
	}
}

// waitEnd waits for the server to end the stream.
func (c *sseClient) waitEnd() {
	c.t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-c.events:
			if !ok {
				return
			}
		case <-timeout:
			c.t.Fatalf("stream still open after 5s")
		}
	}
}

// drain returns every frame available now and for a short while.
func (c *sseClient) drain(quiet time.Duration) []sseEvent {
	var out []sseEvent
	for {
		select {
		case ev, ok := <-c.events:
			if !ok {
				return out
			}
			out = append(out, ev)
		case <-time.After(quiet):
			return out
		}
	}
}

func (c *sseClient) close() {
	c.once.Do(func() {
		c.cancel()
		c.resp.Body.Close()
		<-c.done
	})
}
