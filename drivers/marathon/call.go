package marathon

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"theseus.dev/internal/backoff"
	"theseus.dev/internal/httpclient"
)

// maxAnswer is Client.maxAnswer: far more than any answer but a list.
const maxAnswer = 64 << 20

// call is one Marathon API call.
type call struct {
	method, path string
	// endpoint is the route template given to Hooks.Request.
	endpoint string
	query    url.Values
	body     []byte
	// read marks a call that changes nothing: it is retried on 502, 503,
	// 504 and transport errors while its time lasts. Writes never are,
	// except when the connection could not even be made.
	read bool
	// decode, when set, consumes a 200 answer's body as it streams in.
	decode func(io.Reader) error
	// limit, when above 0, is the most bytes decode is given: an answer
	// longer than that is refused rather than decoded.
	limit int64
	// accept is the Accept header; application/json when empty.
	accept string
}

// answer is a call's HTTP answer. body is empty when decode consumed it.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func retryable(status int) bool {
	return status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

// do makes the call, bounded by the client's timeout, on the preferred
// member and then on the others in turn with jittered exponential backoff
// (100ms to 2s) between attempts. A read is repeated while it fails with
// a retryable status or a transport error; a write only while it cannot
// connect. After the last attempt the last answer (or error) is returned:
// for a read, not that of an attempt the timeout cut short.
func (c *Client) do(ctx context.Context, r *call) (answer, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	bo := backoff.New(100*time.Millisecond, 2*time.Second)
	var last *answer // a read's answer before this attempt, when there was one
	var lastErr error
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return answer{}, notSent{fmt.Errorf("marathon %s %s: %w", r.method, r.path, err)}
		}
		if !r.read {
			if err := checkWriteGuard(ctx); err != nil {
				return answer{}, notSent{fmt.Errorf("marathon %s %s: not sent: %w", r.method, r.path, err)}
			}
		}
		m := c.member(attempt)
		a, err := c.once(ctx, m, r)
		if err != nil && ctx.Err() != nil && len(c.members) > 1 {
			// The call's time went to member m, which did not answer (a
			// member that accepts connections and hangs): the next call
			// starts with the next member, or every call would wait on m
			// alone for ever.
			c.prefer((m + 1) % len(c.members))
		}
		switch {
		case err == nil && !retryable(a.status):
			c.prefer(m)
			return a, nil
		case isDecodeError(err), httpclient.BadCertificate(err), IsPermanent(err), !r.read && !isNotSent(err):
			return a, err
		case errors.Is(ctx.Err(), context.DeadlineExceeded) && last != nil:
			// A read cut short by the timeout says less than the answer
			// before it (a 502 from a standby without a leader).
			return *last, lastErr
		}
		if r.read {
			last, lastErr = &a, err
		}
		d := bo.Next()
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
			return a, err // no time for another attempt
		}
		if backoff.Sleep(ctx, d) != nil {
			return a, err
		}
	}
}

// once makes one attempt on member m.
func (c *Client) once(ctx context.Context, m int, r *call) (answer, error) {
	u := *c.members[m]
	u.Path += r.path
	u.RawQuery = r.query.Encode()
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return answer{}, fmt.Errorf("marathon %s %s: %w", r.method, r.path, err)
	}
	c.auth(req)
	req.Header.Set("Accept", cmp.Or(r.accept, "application/json"))
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := c.rest.Do(req)
	if err != nil {
		c.hook(r, 0, start)
		err = fmt.Errorf("marathon %s %s: %w", r.method, r.path, err)
		var re *RedirectError
		if dialFailed(err) || httpclient.BadCertificate(err) || errors.As(err, &re) {
			// A refused redirect was an answer that did nothing.
			err = notSent{err}
		}
		return answer{}, err
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header}
	if resp.StatusCode == http.StatusOK && r.decode != nil {
		rd := &httpclient.TrackReader{R: resp.Body}
		var body io.Reader = rd
		if r.limit > 0 {
			// Outside the tracking: too long an answer is not a broken
			// connection, and is refused, not read again.
			body = httpclient.Capped(rd, r.limit, "Marathon")
		}
		err = r.decode(body)
		c.hook(r, resp.StatusCode, start)
		switch {
		case err != nil && rd.Err != nil:
			// The connection broke mid-answer: a transport error.
			return answer{}, fmt.Errorf("marathon %s %s: read answer: %w", r.method, r.path, rd.Err)
		case err != nil:
			return a, &decodeError{fmt.Errorf("marathon %s %s: decode: %w", r.method, r.path, err)}
		}
		return a, nil
	}
	a.body, err = io.ReadAll(httpclient.Capped(resp.Body, c.maxAnswer, "Marathon"))
	c.hook(r, resp.StatusCode, start)
	var large *httpclient.TooLargeError
	switch {
	case errors.As(err, &large):
		return answer{}, &decodeError{fmt.Errorf("marathon %s %s: %w", r.method, r.path, err)}
	case err != nil:
		return answer{}, fmt.Errorf("marathon %s %s: read answer: %w", r.method, r.path, err)
	}
	return a, nil
}

func (c *Client) hook(r *call, code int, start time.Time) {
	if h := c.cfg.Hooks.Request; h != nil {
		h(r.method, r.endpoint, code, time.Since(start))
	}
}

// decodeError is an answer that is not what Marathon sends: never
// retried.
type decodeError struct{ err error }

func (e *decodeError) Error() string { return e.err.Error() }
func (e *decodeError) Unwrap() error { return e.err }

func isDecodeError(err error) bool {
	var de *decodeError
	return errors.As(err, &de)
}

// notSent marks an error that proves the request never reached Marathon
// (no connection could be made, or the context ended first): even a write
// may be tried again.
type notSent struct{ error }

func (e notSent) Unwrap() error { return e.error }

func isNotSent(err error) bool {
	var ns notSent
	return errors.As(err, &ns)
}

// dialFailed reports whether err is a failure to connect.
func dialFailed(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
