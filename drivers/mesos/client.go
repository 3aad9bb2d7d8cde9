package mesos

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"theseus.dev/internal/httpclient"
)

// DefaultTimeout bounds each call, retries included, when Config.Timeout
// is not set.
const DefaultTimeout = 10 * time.Second

// Config says how to reach Mesos.
type Config struct {
	// URLs are the masters, e.g. "http://127.0.0.1:5050". Calls go to the
	// master that answered last, and move on to the next one when one
	// fails; a master that does not lead redirects to the leader.
	// Credentials in a URL ("http://principal:secret@host:5050") stand
	// for Principal and Secret when those are not set.
	URLs []string
	// Principal and Secret are the HTTP credentials (Mesos's basic
	// authenticator), sent to masters and agents alike.
	Principal, Secret string
	// CACert is a PEM file of the authorities that sign the masters' and
	// agents' certificates; InsecureSkipVerify turns verification off.
	CACert             string
	InsecureSkipVerify bool
	// AgentProxy reaches agents through DC/OS's Admin Router at
	// /agent/{id}/..., beside the masters' path (https://dcos/agent/{id}
	// for https://dcos/mesos), instead of at the address of their pid.
	AgentProxy bool
	// Timeout bounds each call, its retries included. Defaults to
	// DefaultTimeout.
	Timeout time.Duration
	Hooks   Hooks
}

// Hooks let the caller count what the driver does. They must not block.
type Hooks struct {
	// Request is called after each HTTP attempt with the endpoint (e.g.
	// "/master/slaves", "/files/read") and the status code, 0 when no
	// answer came.
	Request func(method, endpoint string, code int, d time.Duration)
}

// Client is a Mesos driver. It is safe for concurrent use.
type Client struct {
	cfg     Config
	masters []*url.URL
	http    *http.Client
	// maxAnswer bounds an answer's body.
	maxAnswer int64

	rotation httpclient.Rotation // which master to try first
}

// New returns a client for cfg. It does not contact Mesos.
func New(cfg Config) (*Client, error) {
	if len(cfg.URLs) == 0 {
		return nil, errors.New("mesos: no master URL")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	c := &Client{cfg: cfg, maxAnswer: maxAnswer}
	var err error
	if c.masters, err = httpclient.BaseURLs("mesos master URL", cfg.URLs); err != nil {
		return nil, err
	}
	// Credentials of a URL go to every master and agent, as those of the
	// config do, rather than only to the masters that name them.
	user, err := httpclient.TakeCredentials("mesos master", "the principal and secret settings", c.masters)
	if err != nil {
		return nil, err
	}
	if user != nil && c.cfg.Principal == "" && c.cfg.Secret == "" {
		c.cfg.Principal = user.Username()
		c.cfg.Secret, _ = user.Password()
	}
	cfg = c.cfg
	tc, err := httpclient.TLSConfig("mesos", cfg.CACert, cfg.InsecureSkipVerify)
	if err != nil {
		return nil, err
	}
	// A standby master's 307 to the leader ("//host:port/path") is
	// followed, with the credentials only to a configured master.
	hasCredentials := cfg.Principal != "" || cfg.Secret != ""
	c.http = &http.Client{Transport: httpclient.Transport(tc, 8),
		CheckRedirect: httpclient.Redirect("mesos", c.masters, hasCredentials, c.auth)}
	return c, nil
}

func (c *Client) auth(req *http.Request) {
	if c.cfg.Principal != "" || c.cfg.Secret != "" {
		req.SetBasicAuth(c.cfg.Principal, c.cfg.Secret)
	}
}

// master returns the index of the master for an attempt: the preferred
// one first, then the others in turn.
func (c *Client) master(attempt int) int { return c.rotation.Pick(attempt, len(c.masters)) }

// prefer makes master i the first to try.
func (c *Client) prefer(i int) { c.rotation.Prefer(i) }

// agentBase is the base URL of an agent's HTTP API: the masters' scheme
// and the address of the agent's pid, or the master's proxy.
func (c *Client) agentBase(a Agent) (*url.URL, error) {
	if c.cfg.AgentProxy {
		// DC/OS's Admin Router serves the leading master at /mesos and
		// each agent at /agent/{id}, beside it, not below it.
		u := *c.masters[c.master(0)]
		parent := strings.TrimSuffix(path.Dir("/"+strings.TrimPrefix(u.Path, "/")), "/")
		u.Path, u.RawPath = parent+"/agent/"+url.PathEscape(a.ID), ""
		return &u, nil
	}
	if a.Addr == "" {
		return nil, fmt.Errorf("mesos: agent %s (%s) has no address: its pid %q names none", a.Hostname, a.ID, a.PID)
	}
	return &url.URL{Scheme: c.masters[0].Scheme, Host: a.Addr}, nil
}
