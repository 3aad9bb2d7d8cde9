package marathon

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// generationTTL is how long a detected API generation is trusted: an
// upgrade of Marathon is noticed within it.
const generationTTL = 10 * time.Minute

// Info is what GET /v2/info says about Marathon.
type Info struct {
	Name, Version, Leader, FrameworkID string
	// Elected is true when the member that answered is the leader.
	Elected bool
	// Gen15 is true for Marathon 1.5 and later, which answer with
	// "networks" and container-level port mappings; the driver writes
	// definitions in the shape of the generation detected.
	Gen15 bool
}

// infoJSON holds the fields of /v2/info the driver reads. go-marathon's
// Info type is not used: it types every marathon_config and
// zookeeper_config entry, so a Marathon that changed the type of one
// setting theseus never reads would fail the decoding.
type infoJSON struct {
	Name        string `json:"name"`
	Version     string `json:"version"`
	Leader      string `json:"leader"`
	FrameworkID string `json:"frameworkId"`
	Elected     bool   `json:"elected"`
}

// Info reads /v2/info and remembers the API generation it shows.
func (c *Client) Info(ctx context.Context) (Info, error) {
	r := &call{method: http.MethodGet, path: "/v2/info", endpoint: "/v2/info", read: true}
	a, err := c.do(ctx, r)
	if err != nil {
		return Info{}, err
	}
	if a.status != http.StatusOK {
		return Info{}, c.apiError(r.method, r.path, a.status, a.body, "")
	}
	out, err := decodeInfo(a.body)
	if err != nil {
		return Info{}, err
	}
	c.gen.store(out.Gen15)
	return out, nil
}

func decodeInfo(body []byte) (Info, error) {
	var in infoJSON
	if err := json.Unmarshal(body, &in); err != nil {
		return Info{}, fmt.Errorf("marathon GET /v2/info: decode: %w", err)
	}
	return Info{Name: in.Name, Version: in.Version, Leader: in.Leader, FrameworkID: in.FrameworkID,
		Elected: in.Elected, Gen15: gen15(in.Version)}, nil
}

// gen15 reports whether a Marathon version ("1.10.17", "v1.5.0-SNAPSHOT")
// is 1.5 or later. An unreadable version counts as older: 1.5+ accepts the
// older request shapes too, while ≤1.4 ignores the newer ones.
func gen15(v string) bool {
	major, rest, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(v), "v"), ".")
	minor, _, _ := strings.Cut(rest, ".")
	minor, _, _ = strings.Cut(minor, "-")
	ma, err1 := strconv.Atoi(major)
	mi, err2 := strconv.Atoi(minor)
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > 1 || ma == 1 && mi >= 5
}

// generationCache holds the detected API generation. One read of
// /v2/info is in flight at a time; the others wait for it.
type generationCache struct {
	mu    sync.Mutex
	gen15 bool
	at    time.Time     // when detected; zero: never
	busy  chan struct{} // closed when the read in flight ends
}

func (g *generationCache) store(v bool) {
	g.mu.Lock()
	g.gen15, g.at = v, time.Now()
	g.mu.Unlock()
}

// generation returns whether Marathon speaks 1.5+, reading /v2/info when
// the last reading is older than generationTTL. A failed re-read keeps
// the generation known before.
func (c *Client) generation(ctx context.Context) (bool, error) {
	g := &c.gen
	for {
		g.mu.Lock()
		if !g.at.IsZero() && time.Since(g.at) < generationTTL {
			v := g.gen15
			g.mu.Unlock()
			return v, nil
		}
		if ch := g.busy; ch != nil {
			g.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return false, fmt.Errorf("marathon: API generation: %w", ctx.Err())
			}
		}
		ch := make(chan struct{})
		g.busy = ch
		g.mu.Unlock()

		in, err := c.Info(ctx)

		g.mu.Lock()
		g.busy = nil
		close(ch)
		known, v := !g.at.IsZero(), g.gen15
		g.mu.Unlock()
		switch {
		case err == nil:
			return in.Gen15, nil
		case known:
			return v, nil
		}
		return false, fmt.Errorf("marathon: API generation: %w", err)
	}
}

// Ping checks that a Marathon member answers GET /ping. It moves on to
// the next member when it cannot connect, but does not repeat a request
// that got an answer: it reports the state now.
func (c *Client) Ping(ctx context.Context) error {
	r := &call{method: http.MethodGet, path: "/ping", endpoint: "/ping", accept: "text/plain"}
	a, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	if a.status < 200 || a.status > 299 {
		return c.apiError(r.method, r.path, a.status, a.body, "")
	}
	return nil
}
