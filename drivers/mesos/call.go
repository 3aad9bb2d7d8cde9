package mesos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"theseus.dev/internal/backoff"
	"theseus.dev/internal/httpclient"
)

// maxAnswer bounds an answer: a /master/state of a large cluster is tens
// of megabytes.
const maxAnswer = 256 << 20

// call is one GET of a Mesos endpoint.
type call struct {
	// endpoint is the route given to Hooks.Request, e.g. "/master/state";
	// path is what is asked for (the endpoint, or the proxied agent path).
	endpoint, path string
	query          url.Values
	// agent, when set, is the base URL of the agent called; masters are
	// called otherwise.
	agent *url.URL
	// decode consumes a 200 answer's body.
	decode func(io.Reader) error
}

func retryable(status int) bool {
	return status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

// do makes the call, bounded by the client's timeout, retrying with
// jittered exponential backoff (50ms to 2s) while it fails with a
// retryable status or a transport error; master calls move on to the next
// master at each attempt. Everything the driver asks is a read, so every
// call may be repeated. The last answer's error is returned, not that
// of an attempt the timeout cut short.
func (c *Client) do(ctx context.Context, r *call) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	b := backoff.New(50*time.Millisecond, 2*time.Second)
	var last error // the answer of the attempt before, when there was one
	for attempt := 0; ; attempt++ {
		base, m := r.agent, -1
		if base == nil {
			m = c.master(attempt)
			base = c.masters[m]
		}
		err := c.once(ctx, base, r)
		if err == nil {
			if m >= 0 {
				c.prefer(m)
			}
			return nil
		}
		// A redirect refused to a leader named otherwise than configured
		// ("//mesos-2:5050" for http://10.0.0.2:5050): the other masters
		// are asked at once, the leader among them.
		var re *httpclient.RedirectError
		if m >= 0 && errors.As(err, &re) && attempt+1 < len(c.masters) {
			continue
		}
		var ae *APIError
		switch {
		case errors.As(err, &ae) && !retryable(ae.Status), errors.Is(err, ErrNotFound), isDecodeError(err), httpclient.BadCertificate(err), IsPermanent(err):
			return err
		}
		if ctx.Err() != nil {
			if last != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
				// Cut short by the timeout, this attempt says less than
				// the one before (a standby naming the leader, a 503).
				return fmt.Errorf("%w (no time left to retry: %w)", last, ctx.Err())
			}
			if !errors.Is(err, ctx.Err()) {
				err = fmt.Errorf("%w (%w)", err, ctx.Err())
			}
			return err
		}
		last = err
		if werr := b.Wait(ctx); werr != nil {
			return fmt.Errorf("%w (no time left to retry: %w)", err, werr)
		}
	}
}

// once makes one attempt against base.
func (c *Client) once(ctx context.Context, base *url.URL, r *call) error {
	u := *base
	u.Path += r.path
	u.RawQuery = r.query.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("mesos GET %s: %w", r.endpoint, err)
	}
	c.auth(req)
	req.Header.Set("Accept", "application/json")
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.hook(r, 0, start)
		return fmt.Errorf("mesos GET %s: %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		c.hook(r, resp.StatusCode, start)
		return apiError(u.Redacted(), resp.StatusCode, data)
	}
	tr := &httpclient.TrackReader{R: resp.Body}
	// Capped outside the tracking: too long an answer is not a broken
	// connection, and is refused, not read again.
	err = r.decode(httpclient.Capped(tr, c.maxAnswer, "Mesos"))
	c.hook(r, resp.StatusCode, start)
	var nl *notLeaderError
	var large *httpclient.TooLargeError
	switch {
	case errors.As(err, &nl):
		// Not a bad answer: another master is asked.
		return fmt.Errorf("mesos GET %s: %w", u.Redacted(), err)
	case errors.As(err, &large):
		return &decodeError{fmt.Errorf("mesos GET %s: %w", u.Redacted(), large)}
	case err != nil && tr.Err != nil:
		// The connection broke mid-answer: a transport error.
		return fmt.Errorf("mesos GET %s: read answer: %w", u.Redacted(), tr.Err)
	case err != nil:
		return &decodeError{fmt.Errorf("mesos GET %s: not Mesos's JSON: %w", u.Redacted(), err)}
	}
	return nil
}

func (c *Client) hook(r *call, code int, start time.Time) {
	if h := c.cfg.Hooks.Request; h != nil {
		h(http.MethodGet, r.endpoint, code, time.Since(start))
	}
}
