package marathon

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	gomarathon "github.com/gambol99/go-marathon"

	"theseus.dev/specs"
)

// DefaultTimeout bounds each call when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Config says how to reach Marathon.
type Config struct {
	// URLs are the Marathon members, e.g. "http://127.0.0.1:8080". Calls
	// go to the first that answers; any member proxies to the leader.
	URLs []string
	// Root is the id prefix of theseus's apps (--marathon-root), "" or
	// "/name"; see specs.CleanRoot.
	Root string
	// Username and Password are sent as HTTP basic auth.
	Username, Password string
	// Token is a DC/OS-style token, sent as "Authorization: token=<t>".
	Token string
	// CACert is a PEM file of the authorities that sign Marathon's
	// certificate; InsecureSkipVerify turns verification off.
	CACert             string
	InsecureSkipVerify bool
	// Timeout bounds each call. Defaults to DefaultTimeout.
	Timeout time.Duration
	Hooks   Hooks
}

// Hooks let the caller count what the driver does. All are optional and
// must not block.
type Hooks struct {
	// Request is called after each HTTP call with the route template
	// (e.g. "/v2/apps/{id}") and the status code, 0 when no answer came.
	Request func(method, endpoint string, code int, d time.Duration)
	// Conflict is called for each 409 "locked by deployment".
	Conflict func()
	// Reconnect is called each time the event stream is attached again.
	Reconnect func()
}

// Client is a Marathon driver. It is safe for concurrent use.
type Client struct {
	cfg     Config
	root    string
	members []*url.URL
	http    *http.Client // calls, bounded by Timeout
	sse     *http.Client // the event stream: no overall timeout

	mu      sync.Mutex
	next    int // member to try first
	gen15   bool
	genRead bool
}

// New returns a client for cfg. It does not contact Marathon.
func New(cfg Config) (*Client, error) {
	if len(cfg.URLs) == 0 {
		return nil, errors.New("marathon: no URL")
	}
	root, err := specs.CleanRoot(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("marathon root %q: %w", cfg.Root, err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	c := &Client{cfg: cfg, root: root}
	for _, raw := range cfg.URLs {
		u, err := url.Parse(strings.TrimRight(strings.TrimSpace(raw), "/"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("marathon URL %q: want http(s)://host:port", raw)
		}
		c.members = append(c.members, u)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	if cfg.CACert != "" || cfg.InsecureSkipVerify {
		tc := &tls.Config{InsecureSkipVerify: cfg.InsecureSkipVerify} //nolint:gosec // asked for explicitly
		if cfg.CACert != "" {
			pem, err := os.ReadFile(cfg.CACert)
			if err != nil {
				return nil, fmt.Errorf("marathon CA: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("marathon CA %s: no PEM certificate", cfg.CACert)
			}
			tc.RootCAs = pool
		}
		tr.TLSClientConfig = tc
	}
	c.http = &http.Client{Transport: tr, Timeout: cfg.Timeout}
	c.sse = &http.Client{Transport: tr}
	return c, nil
}

// Root is the id prefix of theseus's apps.
func (c *Client) Root() string { return c.root }

// appPath is the URL path of the group's app.
func (c *Client) appPath(k specs.GroupKey) string { return "/v2/apps" + specs.AppID(c.root, k) }

// request is one HTTP call.
type request struct {
	method, path, endpoint string
	query                  url.Values
	body                   any
	// idempotent calls are retried on 502, 503 and transport errors.
	idempotent bool
}

// response is a call's answer.
type response struct {
	status int
	body   []byte
}

// do makes the call, on each member in turn, retrying idempotent calls
// with backoff while ctx allows. Writes are sent once: their failure is
// returned for the caller to settle by reading.
func (c *Client) do(ctx context.Context, r request) (response, error) {
	var body []byte
	if r.body != nil {
		var err error
		if body, err = json.Marshal(r.body); err != nil {
			return response{}, fmt.Errorf("marathon %s %s: encode: %w", r.method, r.path, err)
		}
	}
	// The call's timeout covers its retries too: a Marathon that stays
	// down fails the call, and the caller decides when to look again.
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	wait := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		member := c.member(attempt)
		resp, err := c.once(ctx, member, r, body)
		retry := err != nil || resp.status == http.StatusBadGateway || resp.status == http.StatusServiceUnavailable
		if !retry || !r.idempotent {
			if err == nil && !retry {
				c.prefer(member)
			}
			return resp, err
		}
		if ctx.Err() != nil {
			return resp, err
		}
		d := wait/2 + rand.N(wait/2+1)
		wait = min(wait*2, 2*time.Second)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			if err == nil {
				return resp, nil
			}
			return resp, err
		case <-t.C:
		}
	}
}

func (c *Client) member(attempt int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return (c.next + attempt) % len(c.members)
}

func (c *Client) prefer(i int) {
	c.mu.Lock()
	c.next = i
	c.mu.Unlock()
}

func (c *Client) once(ctx context.Context, member int, r request, body []byte) (response, error) {
	u := *c.members[member]
	u.Path += r.path
	u.RawQuery = r.query.Encode()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), rd)
	if err != nil {
		return response{}, err
	}
	c.auth(req)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.hook(r, 0, start)
		return response{}, fmt.Errorf("marathon %s %s: %w", r.method, r.path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	c.hook(r, resp.StatusCode, start)
	if err != nil {
		return response{}, fmt.Errorf("marathon %s %s: read answer: %w", r.method, r.path, err)
	}
	return response{status: resp.StatusCode, body: data}, nil
}

func (c *Client) auth(req *http.Request) {
	switch {
	case c.cfg.Token != "":
		req.Header.Set("Authorization", "token="+c.cfg.Token)
	case c.cfg.Username != "":
		req.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	}
}

func (c *Client) hook(r request, code int, start time.Time) {
	if h := c.cfg.Hooks.Request; h != nil {
		h(r.method, r.endpoint, code, time.Since(start))
	}
}

// apiError turns a non-2xx answer into the driver's errors.
func (c *Client) apiError(r request, resp response, appID string) error {
	var body struct {
		Message     string   `json:"message"`
		Details     []Detail `json:"details"`
		Deployments []struct {
			ID string `json:"id"`
		} `json:"deployments"`
	}
	_ = json.Unmarshal(resp.body, &body)
	switch {
	case resp.status == http.StatusNotFound:
		return fmt.Errorf("marathon %s %s: %s: %w", r.method, r.path, body.Message, ErrNotFound)
	case resp.status == http.StatusConflict && len(body.Deployments) > 0:
		if c.cfg.Hooks.Conflict != nil {
			c.cfg.Hooks.Conflict()
		}
		ids := make([]string, len(body.Deployments))
		for i, d := range body.Deployments {
			ids[i] = d.ID
		}
		return &LockedError{AppID: appID, Deployments: ids}
	}
	msg := body.Message
	if msg == "" {
		msg = strings.TrimSpace(string(resp.body))
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
	}
	return &APIError{Method: r.method, Endpoint: r.path, Status: resp.status, Message: msg, Details: body.Details}
}

// Info is what GET /v2/info says about Marathon.
type Info struct {
	Version, Leader, FrameworkID, Name string
	// Gen15 is true for Marathon 1.5 and later, which answer with
	// "networks" and container-level port mappings.
	Gen15 bool
}

// Info reads /v2/info. It is decoded with go-marathon's Info type, which
// models it fully.
func (c *Client) Info(ctx context.Context) (Info, error) {
	r := request{method: http.MethodGet, path: "/v2/info", endpoint: "/v2/info", idempotent: true}
	resp, err := c.do(ctx, r)
	if err != nil {
		return Info{}, err
	}
	if resp.status != http.StatusOK {
		return Info{}, c.apiError(r, resp, "")
	}
	var in gomarathon.Info
	if err := json.Unmarshal(resp.body, &in); err != nil {
		return Info{}, fmt.Errorf("marathon /v2/info: %w", err)
	}
	out := Info{Version: in.Version, Leader: in.Leader, FrameworkID: in.FrameworkID, Name: in.Name, Gen15: gen15(in.Version)}
	c.mu.Lock()
	c.gen15, c.genRead = out.Gen15, true
	c.mu.Unlock()
	return out, nil
}

// gen15 reports whether a Marathon version is 1.5 or later.
func gen15(v string) bool {
	var major, minor int
	if _, err := fmt.Sscanf(strings.TrimPrefix(v, "v"), "%d.%d", &major, &minor); err != nil {
		return true // an unknown version: assume a current Marathon
	}
	return major > 1 || major == 1 && minor >= 5
}

// generation returns whether Marathon speaks 1.5+, asking once.
func (c *Client) generation(ctx context.Context) (bool, error) {
	c.mu.Lock()
	g, ok := c.gen15, c.genRead
	c.mu.Unlock()
	if ok {
		return g, nil
	}
	in, err := c.Info(ctx)
	return in.Gen15, err
}

// Ping checks that Marathon answers.
func (c *Client) Ping(ctx context.Context) error {
	r := request{method: http.MethodGet, path: "/ping", endpoint: "/ping"}
	resp, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	if resp.status != http.StatusOK {
		return c.apiError(r, resp, "")
	}
	return nil
}
