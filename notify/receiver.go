package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"theseus.dev/internal/backoff"
	"theseus.dev/internal/httpclient"
	"theseus.dev/specs"
)

// userAgent names theseus to receivers.
const userAgent = "theseus-notify/1"

// receiver is one webhook: a bounded queue of encoded payloads and the
// worker that delivers them in order.
type receiver struct {
	url  string
	name string // for logs and metrics: index and host, never the path
	cfg  Config
	m    *metrics
	log  *slog.Logger

	mu    sync.Mutex
	queue []note
	ready chan struct{} // holds a token while the queue is not empty
}

func newReceiver(u *url.URL, name string, cfg Config, m *metrics, log *slog.Logger) *receiver {
	m.init(name)
	return &receiver{url: u.String(), name: name, cfg: cfg, m: m, log: log.With("receiver", name), ready: make(chan struct{}, 1)}
}

// note is one notification: its encoded payload, and the group and
// phase it tells, for the log when it is lost.
type note struct {
	body  []byte
	group string
	phase specs.Phase
}

// enqueue adds nt, dropping the oldest notification when the queue is
// full. It never blocks.
func (r *receiver) enqueue(nt note) {
	r.mu.Lock()
	if len(r.queue) >= r.cfg.QueueSize {
		old := r.queue[0]
		r.queue = r.queue[1:]
		r.m.dropped.WithLabelValues(r.name).Inc()
		r.log.Warn("notification dropped: the receiver's queue is full", "group", old.group, "phase", old.phase, "queue", r.cfg.QueueSize)
	}
	r.queue = append(r.queue, nt)
	r.m.queued.WithLabelValues(r.name).Set(float64(len(r.queue)))
	r.mu.Unlock()
	select {
	case r.ready <- struct{}{}:
	default:
	}
}

// empty reports whether nothing is queued.
func (r *receiver) empty() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.queue) == 0
}

// next takes the oldest notification; false when the queue is empty.
func (r *receiver) next() (note, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.queue) == 0 {
		return note{}, false
	}
	nt := r.queue[0]
	r.queue = r.queue[1:]
	r.m.queued.WithLabelValues(r.name).Set(float64(len(r.queue)))
	return nt, true
}

// run delivers notifications until ctx ends, or draining is closed and
// the queue is empty.
func (r *receiver) run(ctx context.Context, draining <-chan struct{}) {
	for {
		nt, ok := r.next()
		if !ok {
			select {
			case <-r.ready:
			case <-draining:
				if r.empty() {
					return
				}
			case <-ctx.Done():
				return
			}
			continue
		}
		r.deliver(ctx, nt)
		if r.cfg.delivered != nil {
			r.cfg.delivered(r.name)
		}
	}
}

// deliver sends body until a receiver takes it, refuses it for good, or
// MaxAttempts are spent, waiting with backoff between attempts, longer
// when the receiver asked so with Retry-After (up to MaxBackoff: a
// receiver cannot hold its queue for ever).
func (r *receiver) deliver(ctx context.Context, nt note) {
	bo := backoff.New(r.cfg.MinBackoff, r.cfg.MaxBackoff)
	sleep := r.cfg.sleep
	if sleep == nil {
		sleep = backoff.Sleep
	}
	var err error
	for attempt := 1; attempt <= r.cfg.MaxAttempts; attempt++ {
		if attempt > 1 {
			r.m.retries.WithLabelValues(r.name).Inc()
			wait := bo.Next()
			var ra *retryAfterError
			if errors.As(err, &ra) && ra.wait > wait {
				wait = min(ra.wait, r.cfg.MaxBackoff)
			}
			if sleep(ctx, wait) != nil {
				return
			}
		}
		if err = r.post(ctx, nt.body); err == nil {
			r.m.sent.WithLabelValues(r.name).Inc()
			return
		}
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errPermanent) {
			break
		}
	}
	r.m.failed.WithLabelValues(r.name).Inc()
	r.log.Warn("notification given up", "group", nt.group, "phase", nt.phase, "err", err)
}

// post sends body once. A 2xx answer is success; 408, 429 and 5xx, and
// failures to reach the receiver, are worth another attempt (after the
// Retry-After they carry, if any); any other answer, a redirect too, is
// permanent.
func (r *receiver) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %v", errPermanent, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := r.cfg.Client.Do(req)
	if err != nil {
		if httpclient.BadCertificate(err) {
			// A matter of configuration: the same certificate fails
			// every attempt, holding the receiver's queue for minutes.
			return fmt.Errorf("%w: %v", errPermanent, redactURL(err))
		}
		return redactURL(err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return nil
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c >= 500:
		err := fmt.Errorf("answered %s", resp.Status)
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return &retryAfterError{err: err, wait: d}
		}
		return err
	case c >= 300 && c < 400:
		return fmt.Errorf("%w: answered %s; redirects are not followed: give the URL it redirects to", errPermanent, resp.Status)
	default:
		return fmt.Errorf("%w: answered %s", errPermanent, resp.Status)
	}
}

// retryAfterError is an answer worth another attempt that says, with
// Retry-After, how long to wait before it.
type retryAfterError struct {
	err  error
	wait time.Duration
}

func (e *retryAfterError) Error() string { return fmt.Sprintf("%v, Retry-After %s", e.err, e.wait) }
func (e *retryAfterError) Unwrap() error { return e.err }

// parseRetryAfter reads a Retry-After header: seconds, or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && s >= 0 {
		// Seconds past what a Duration holds would wrap round.
		return time.Duration(min(s, math.MaxInt64/int64(time.Second))) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now), true
	}
	return 0, false
}

// redactURL keeps a request's URL, which may hold a credential, out of
// its error.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

func encode(p Payload) ([]byte, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode notification: %w", err)
	}
	return b, nil
}
