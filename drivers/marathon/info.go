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
	// MesosRole is the role Marathon gives an app without one (its
	// --mesos_role; "*" when it has none set).
	MesosRole string
	// Features are the features enabled with --enable_features.
	Features []string
}

// infoJSON holds the fields of /v2/info the driver reads. go-marathon's
// Info type is not used: it types every marathon_config and
// zookeeper_config entry, so a Marathon that changed the type of one
// setting theseus never reads would fail the decoding.
type infoJSON struct {
	Name           string `json:"name"`
	Version        string `json:"version"`
	Leader         string `json:"leader"`
	FrameworkID    string `json:"frameworkId"`
	Elected        bool   `json:"elected"`
	MarathonConfig struct {
		MesosRole *string `json:"mesos_role"`
		Features  []any   `json:"features"`
	} `json:"marathon_config"`
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
	c.gen.store(out)
	return out, nil
}

func decodeInfo(body []byte) (Info, error) {
	var in infoJSON
	if err := json.Unmarshal(body, &in); err != nil {
		return Info{}, fmt.Errorf("marathon GET /v2/info: decode: %w", err)
	}
	out := Info{Name: in.Name, Version: in.Version, Leader: in.Leader, FrameworkID: in.FrameworkID,
		Elected: in.Elected, Gen15: gen15(in.Version), MesosRole: "*"}
	if r := in.MarathonConfig.MesosRole; r != nil && *r != "" {
		out.MesosRole = *r
	}
	for _, f := range in.MarathonConfig.Features {
		if s, ok := f.(string); ok {
			out.Features = append(out.Features, s)
		}
	}
	return out, nil
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

// generationCache holds the detected API generation and default role.
// One read of /v2/info is in flight at a time; the others wait for it.
type generationCache struct {
	mu        sync.Mutex
	gen15     bool
	mesosRole string
	at        time.Time     // when detected; zero: never
	busy      chan struct{} // closed when the read in flight ends
}

func (g *generationCache) store(in Info) {
	g.mu.Lock()
	g.gen15, g.mesosRole, g.at = in.Gen15, in.MesosRole, time.Now()
	g.mu.Unlock()
}

// infoReadTimeout bounds the one attempt a read makes at /v2/info to
// learn Marathon's default role.
const infoReadTimeout = 2 * time.Second

// defaultRole returns the role Marathon gives apps that name none, for
// reads: the one known from /v2/info, or what a single quick read of it
// says. It returns "" when that read fails or another is in flight: the
// role is then not compared, which can only hide a difference for one
// plan, never invent one.
func (c *Client) defaultRole(ctx context.Context) string {
	g := &c.gen
	g.mu.Lock()
	role, fresh, busy := g.mesosRole, !g.at.IsZero() && time.Since(g.at) < generationTTL, g.busy != nil
	g.mu.Unlock()
	if fresh || busy {
		return role
	}
	ctx, cancel := context.WithTimeout(ctx, min(infoReadTimeout, c.cfg.Timeout))
	defer cancel()
	r := &call{method: http.MethodGet, path: "/v2/info", endpoint: "/v2/info"}
	a, err := c.once(ctx, c.member(0), r)
	if err != nil || a.status != http.StatusOK {
		return role
	}
	in, err := decodeInfo(a.body)
	if err != nil {
		return role
	}
	g.store(in)
	return in.MesosRole
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
