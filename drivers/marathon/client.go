package marathon

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"theseus.dev/internal/httpclient"
	"theseus.dev/specs"
)

// Defaults of Config.
const (
	DefaultTimeout          = 10 * time.Second
	DefaultEventIdleTimeout = 45 * time.Second
)

// Config says how to reach Marathon.
type Config struct {
	// URLs are the Marathon members, e.g. "http://127.0.0.1:8080". Calls
	// go to the member that answered last; reads move on to the next
	// member when one fails. Any member proxies to the leader.
	URLs []string
	// Root is the id prefix of theseus's apps (--marathon-root), "" or
	// "/name"; it is cleaned with specs.CleanRoot.
	Root string
	// Username and Password are sent as HTTP basic auth.
	Username, Password string
	// Token is a DC/OS-style token, sent as "Authorization: token=<t>"
	// (instead of basic auth when both are set).
	Token string
	// CACert is a PEM file of the authorities that sign Marathon's
	// certificate; InsecureSkipVerify turns verification off.
	CACert             string
	InsecureSkipVerify bool
	// Timeout bounds each call, its retries included. Defaults to
	// DefaultTimeout.
	Timeout time.Duration
	// EventIdleTimeout is how long the event stream may stay silent
	// before it is taken for dead and attached again; Marathon sends a
	// heartbeat every 10 seconds. Defaults to DefaultEventIdleTimeout.
	EventIdleTimeout time.Duration
	Hooks            Hooks
}

// Hooks let the caller count what the driver does. All are optional and
// must not block.
type Hooks struct {
	// Request is called after each HTTP attempt with the route template
	// (e.g. "/v2/apps/{id}") and the status code, 0 when no answer came.
	Request func(method, endpoint string, code int, d time.Duration)
	// Conflict is called for each 409 "locked by deployment".
	Conflict func()
	// Reconnect is called each time the event stream is attached again
	// after the first time.
	Reconnect func()
	// StreamFailed is called with the reason each time an attach of the
	// event stream fails (refused, redirected where it may not go, not
	// answered): Events only retries, and a stream refused for good
	// would otherwise go unnoticed. A stream that ends after it was
	// attached is routine and not reported.
	StreamFailed func(err error)
}

// Client is a Marathon driver. It is safe for concurrent use.
type Client struct {
	cfg     Config
	root    string
	members []*url.URL
	rest    *http.Client // calls; bounded by their context
	sse     *http.Client // the event stream: no keep-alive, no overall timeout
	gen     generationCache
	relist  relister // the apps of the last Relist
	// maxAnswer bounds an answer read whole, and one app's answer
	// decoded as it streams; lists, of any size, have no bound.
	maxAnswer int64

	rotation httpclient.Rotation // which member to try first
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
	if cfg.EventIdleTimeout <= 0 {
		cfg.EventIdleTimeout = DefaultEventIdleTimeout
	}
	c := &Client{cfg: cfg, root: root, maxAnswer: maxAnswer}
	if c.members, err = httpclient.BaseURLs("marathon URL", cfg.URLs); err != nil {
		return nil, err
	}
	if err := c.credentialsFromURLs(); err != nil {
		return nil, err
	}
	tc, err := httpclient.TLSConfig("marathon", cfg.CACert, cfg.InsecureSkipVerify)
	if err != nil {
		return nil, err
	}
	base := httpclient.Transport(tc, 16)
	stream := base.Clone()
	// One connection per attachment, closed with it: nothing of a stream
	// outlives Events.
	stream.DisableKeepAlives = true
	// Marathon's redirects (a standby sends /v2/events to the leader) are
	// followed, with the credentials only to a configured member.
	hasCredentials := c.cfg.Token != "" || c.cfg.Username != "" || c.cfg.Password != ""
	redirect := httpclient.Redirect("marathon", c.members, hasCredentials, c.auth)
	c.rest = &http.Client{Transport: base, CheckRedirect: redirect}
	c.sse = &http.Client{Transport: stream, CheckRedirect: redirect}
	return c, nil
}

// credentialsFromURLs takes credentials written into the members' URLs
// out of them and sends them as basic auth, unless the config names
// credentials of its own, which win as they did.
func (c *Client) credentialsFromURLs() error {
	user, err := httpclient.TakeCredentials("marathon", "the user and password settings", c.members)
	if err != nil {
		return err
	}
	if user != nil && c.cfg.Token == "" && c.cfg.Username == "" && c.cfg.Password == "" {
		c.cfg.Username = user.Username()
		c.cfg.Password, _ = user.Password()
	}
	return nil
}

// RedirectError is a redirect the driver refuses to follow: to another
// origin while credentials are configured, or from https down to http.
type RedirectError = httpclient.RedirectError

// Root is the id prefix of theseus's apps, as cleaned by specs.CleanRoot.
func (c *Client) Root() string { return c.root }

// appPath is the URL path of the group's app.
func (c *Client) appPath(k specs.GroupKey) string { return "/v2/apps" + specs.AppID(c.root, k) }

func (c *Client) auth(req *http.Request) {
	switch {
	case c.cfg.Token != "":
		req.Header.Set("Authorization", "token="+c.cfg.Token)
	case c.cfg.Username != "" || c.cfg.Password != "":
		req.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	}
}

// member returns the index of the member for an attempt: the preferred
// one first, then the others in turn.
func (c *Client) member(attempt int) int { return c.rotation.Pick(attempt, len(c.members)) }

// prefer makes member i the first to try.
func (c *Client) prefer(i int) { c.rotation.Prefer(i) }
