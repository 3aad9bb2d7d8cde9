package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"theseus.dev/specs"
)

// Defaults of Config.
const (
	DefaultQueueSize   = 256
	DefaultMaxAttempts = 8
	DefaultTimeout     = 10 * time.Second
	DefaultMinBackoff  = time.Second
	DefaultMaxBackoff  = time.Minute
)

// Config says where and how to notify.
type Config struct {
	// URLs are the receivers, each an http or https URL. They are never
	// logged whole: a webhook URL often holds its credential in its path.
	URLs []string
	// Client sends the requests; nil: one with DefaultTimeout. Redirects
	// are never followed, whatever its CheckRedirect.
	Client *http.Client
	// QueueSize bounds each receiver's queue (DefaultQueueSize when 0):
	// when it is full, the oldest notification is dropped.
	QueueSize int
	// MaxAttempts is how often one notification is tried before it is
	// given up (DefaultMaxAttempts when 0).
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the wait between attempts
	// (DefaultMinBackoff, DefaultMaxBackoff when 0).
	MinBackoff, MaxBackoff time.Duration
	// Logger gets a line per notification given up or dropped; nil
	// discards them.
	Logger *slog.Logger
	// Registerer, when set, gets the notifier's metrics.
	Registerer prometheus.Registerer

	// delivered, when set (by tests), is called after each notification
	// is done with: taken, given up or abandoned.
	delivered func(receiver string)
	// sleep, when set (by tests), waits between attempts in place of
	// backoff.Sleep.
	sleep func(ctx context.Context, d time.Duration) error
}

// Notifier sends the notifications. Its methods are safe for concurrent
// use.
type Notifier struct {
	receivers []*receiver
	metrics   *metrics
	log       *slog.Logger

	mu sync.Mutex
	// alerting remembers the groups last told in an alerting phase, and
	// when their alert started, so that their return to Synced is told
	// even when it comes through another phase (RolledBack, Progressing,
	// Synced), and every payload of one alert has its start.
	alerting map[specs.GroupKey]time.Time
	closed   bool

	cancel   context.CancelFunc
	draining chan struct{} // closed by Stop: the workers end once their queue is empty
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// Start checks cfg and starts a worker per receiver, which runs until ctx
// ends or Stop or Close ends it. With no URLs the Notifier does nothing.
func Start(ctx context.Context, cfg Config) (*Notifier, error) {
	cfg = cfg.withDefaults()
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	n := &Notifier{metrics: m, log: cfg.Logger, alerting: map[specs.GroupKey]time.Time{}, draining: make(chan struct{})}
	for i, raw := range cfg.URLs {
		if err := CheckURL(raw); err != nil {
			return nil, fmt.Errorf("receiver #%d: %w", i+1, err)
		}
		u, _ := url.Parse(raw)
		n.receivers = append(n.receivers, newReceiver(u, fmt.Sprintf("%d:%s", i, u.Host), cfg, m, cfg.Logger))
	}
	ctx, n.cancel = context.WithCancel(ctx)
	for _, r := range n.receivers {
		n.wg.Go(func() { r.run(ctx, n.draining) })
	}
	return n, nil
}

// CheckURL reports whether raw can be a receiver: an http or https URL
// with a host name (with a port alone, it would go to this machine). The
// error does not repeat raw, which may hold a token.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return errors.New("want an http or https URL with a host")
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Client == nil {
		c.Client = &http.Client{Timeout: DefaultTimeout}
	}
	// A redirect is an answer, not a delivery: followed, a 301, 302 or
	// 303 would turn the POST into a GET without the payload.
	cl := *c.Client
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.Client = &cl
	if c.QueueSize <= 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = max(DefaultMaxBackoff, c.MinBackoff)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Notify queues a notification of c for every receiver if c is one to
// tell: a change into an alerting phase (see Alerting), or a return to
// Synced of a group last told in one. It never blocks, and does nothing
// once the Notifier is closed.
func (n *Notifier) Notify(c Change) {
	if n == nil || c.From == c.To {
		return
	}
	n.mu.Lock()
	tell := false
	started, told := n.alerting[c.Group]
	if !told {
		started = c.Time
	}
	switch {
	case n.closed:
	case Alerting(c.To):
		n.alerting[c.Group], tell = started, true
	case c.To == specs.PhaseSynced:
		tell = told || Alerting(c.From)
		delete(n.alerting, c.Group)
	case c.From == specs.PhaseSynced:
		// Synced since it was last told here: another leader saw it
		// back, and the next return to Synced resolves nothing.
		delete(n.alerting, c.Group)
	case Alerting(c.From):
		// Told by the last leader, or before a restart: its alert is
		// still open, and the return to Synced resolves it.
		n.alerting[c.Group] = started
	}
	n.mu.Unlock()
	if !tell || len(n.receivers) == 0 {
		return
	}
	p := NewPayload(c)
	p.Alerts[0].StartsAt = started.UTC()
	body, err := encode(p)
	if err != nil {
		n.log.Error("notification not sent", "group", c.Group.String(), "err", err)
		return
	}
	nt := note{body: body, group: c.Group.String(), phase: c.To}
	for _, r := range n.receivers {
		r.enqueue(nt)
	}
}

// Forget drops what the Notifier remembers of group k (its spec is gone).
func (n *Notifier) Forget(k specs.GroupKey) {
	if n == nil {
		return
	}
	n.mu.Lock()
	delete(n.alerting, k)
	n.mu.Unlock()
}

// Stop stops taking notifications and lets the workers deliver what is
// queued, with its retries, until every queue is empty or ctx ends; then
// it cancels the deliveries in flight and waits for the workers. A daemon
// that stops calls it after its last status write, so that the changes
// of its last moments are told rather than lost: no other daemon tells
// them.
func (n *Notifier) Stop(ctx context.Context) {
	if n == nil {
		return
	}
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	n.stopOnce.Do(func() { close(n.draining) })
	done := make(chan struct{})
	go func() { n.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	n.cancel()
	<-done
}

// Close stops the workers at once, abandoning what is still queued, and
// waits for them. Deliveries in flight are cancelled.
func (n *Notifier) Close() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n.Stop(ctx)
}

// errPermanent marks an answer that retrying will not change.
var errPermanent = errors.New("refused")
