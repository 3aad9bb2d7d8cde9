// Package engine runs a level-triggered reconciler over a
// de-duplicating, rate-limited work queue of group keys: the machinery
// both of theseus's control loops run on, the group controller
// (package reconciler) and the /services syncer (package discovery).
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/client-go/util/workqueue"

	"theseus.dev/specs"
)

// Result tells the engine what to do with a key after a reconcile that did
// not fail.
type Result struct {
	// RequeueAfter, when positive, looks at the key again after this long
	// (a deployment in flight, a wait), with per-key backoff reset.
	RequeueAfter time.Duration
}

// Reconciler makes one group match its desired spec. It is level-based: the
// key is all it gets, and it reads the current desired and actual state
// itself. Implementations must be safe to call for different keys at once;
// the engine never calls it for the same key concurrently.
type Reconciler interface {
	Reconcile(ctx context.Context, key specs.GroupKey) (Result, error)
}

// ReconcileFunc adapts a function to Reconciler.
type ReconcileFunc func(context.Context, specs.GroupKey) (Result, error)

// Reconcile calls f.
func (f ReconcileFunc) Reconcile(ctx context.Context, k specs.GroupKey) (Result, error) {
	return f(ctx, k)
}

var _ Reconciler = ReconcileFunc(nil)

type terminalError struct{ err error }

func (e *terminalError) Error() string { return "terminal: " + e.err.Error() }
func (e *terminalError) Unwrap() error { return e.err }

// Is makes errors.Is(err, TerminalError(nil)) true for any terminal error.
func (e *terminalError) Is(target error) bool {
	_, ok := target.(*terminalError)
	return ok
}

// TerminalError marks err as permanent: retrying cannot fix it (an invalid
// spec, a definition Marathon refuses). The engine logs and counts it but
// does not requeue the key; a change of the key's inputs enqueues it again.
func TerminalError(err error) error { return &terminalError{err: err} }

// IsTerminal reports whether err is, or wraps, a TerminalError.
func IsTerminal(err error) bool { return errors.Is(err, TerminalError(nil)) }

// errReconcileTimeout is the cause of a reconcile's context when the
// engine's own per-reconcile timeout fired, as opposed to shutdown.
var errReconcileTimeout = errors.New("reconcile timed out")

// Options configure an Engine.
type Options struct {
	// Name labels the engine's metrics and logs. Defaults to "theseus",
	// the controller's.
	Name string
	// Workers is the number of keys reconciled at once. Defaults to 4.
	Workers int
	// Timeout bounds one reconcile. Defaults to 1 minute.
	Timeout time.Duration
	// BaseBackoff and MaxBackoff bound the per-key exponential backoff after
	// errors. Default 500ms and 5 minutes.
	BaseBackoff, MaxBackoff time.Duration
	// QPS and Burst bound how fast failed keys are retried overall.
	// Default 10 and 100.
	QPS   float64
	Burst int
	// Metrics receives the engine's metrics; nil records none.
	Metrics *Metrics
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Engine runs a Reconciler over a de-duplicating work queue of group keys:
// a key added while queued is queued once; a key being reconciled is never
// handed to a second worker, and if added meanwhile it is reconciled again
// afterwards.
type Engine struct {
	opts  Options
	rec   Reconciler
	queue workqueue.TypedRateLimitingInterface[specs.GroupKey]
	log   *slog.Logger
}

// New returns an engine for rec. Start it with Run.
func New(rec Reconciler, opts Options) *Engine {
	if opts.Name == "" {
		opts.Name = "theseus"
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.Timeout <= 0 {
		opts.Timeout = time.Minute
	}
	if opts.BaseBackoff <= 0 {
		opts.BaseBackoff = 500 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Minute
	}
	if opts.QPS <= 0 {
		opts.QPS = 10
	}
	if opts.Burst <= 0 {
		opts.Burst = 100
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	limiter := workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[specs.GroupKey](opts.BaseBackoff, opts.MaxBackoff),
		&workqueue.TypedBucketRateLimiter[specs.GroupKey]{Limiter: rate.NewLimiter(rate.Limit(opts.QPS), opts.Burst)},
	)
	cfg := workqueue.TypedRateLimitingQueueConfig[specs.GroupKey]{Name: opts.Name}
	if opts.Metrics != nil {
		cfg.MetricsProvider = opts.Metrics.workqueueProvider()
		opts.Metrics.init(opts.Name)
		opts.Metrics.maxWorkers.WithLabelValues(opts.Name).Set(float64(opts.Workers))
	}
	return &Engine{
		opts:  opts,
		rec:   rec,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(limiter, cfg),
		log:   opts.Logger,
	}
}

// Add queues key for a reconcile.
func (e *Engine) Add(key specs.GroupKey) { e.queue.Add(key) }

// AddAfter queues key after d.
func (e *Engine) AddAfter(key specs.GroupKey, d time.Duration) { e.queue.AddAfter(key, d) }

// Len is the number of keys waiting.
func (e *Engine) Len() int { return e.queue.Len() }

// Run starts the workers and blocks until ctx is done; then it stops taking
// work, lets in-flight reconciles end (their contexts are cancelled with
// ctx), and returns. An engine runs once.
func (e *Engine) Run(ctx context.Context) { e.RunUntil(ctx, ctx) }

// RunUntil is Run with shutdown in two stages: when stop is done the engine
// takes no more work, while reconciles in flight go on under work (a
// graceful shutdown lets them finish within a grace period; a lost
// leadership cancels work, and so every in-flight call, at once).
func (e *Engine) RunUntil(stop, work context.Context) {
	var wg sync.WaitGroup
	for range e.opts.Workers {
		wg.Go(func() {
			for e.processNext(stop, work) {
			}
		})
	}
	select {
	case <-stop.Done():
	case <-work.Done():
	}
	e.queue.ShutDown()
	wg.Wait()
	// The queue publishes the age of the work in flight only until it is
	// shut down: what it published last would stay, and read as a worker
	// stuck in an engine that no longer runs.
	e.opts.Metrics.idle(e.opts.Name)
}

func (e *Engine) processNext(stop, ctx context.Context) bool {
	key, quit := e.queue.Get()
	if quit {
		return false
	}
	defer e.queue.Done(key)
	if stop.Err() != nil || ctx.Err() != nil {
		return true // shutting down: drain without working
	}
	m := e.opts.Metrics
	if m != nil {
		m.activeWorkers.WithLabelValues(e.opts.Name).Inc()
		defer m.activeWorkers.WithLabelValues(e.opts.Name).Dec()
	}
	start := time.Now()
	res, err := e.reconcile(ctx, key)
	if m != nil {
		m.reconcileTime.WithLabelValues(e.opts.Name).Observe(time.Since(start).Seconds())
	}
	switch {
	case err != nil && ctx.Err() != nil:
		// Shutting down: the error is the cancellation; nothing to retry.
	case IsTerminal(err):
		e.queue.Forget(key)
		m.count(e.opts.Name, resultError, true)
		e.log.Warn("reconcile failed permanently; waiting for a change", "group", key.String(), "err", err)
	case err != nil:
		e.queue.AddRateLimited(key)
		m.count(e.opts.Name, resultError, false)
		e.log.Info("reconcile failed; retrying with backoff", "group", key.String(), "err", err,
			"retries", e.queue.NumRequeues(key))
	case res.RequeueAfter > 0:
		e.queue.Forget(key)
		e.queue.AddAfter(key, res.RequeueAfter)
		m.count(e.opts.Name, resultRequeueAfter, false)
	default:
		e.queue.Forget(key)
		m.count(e.opts.Name, resultSuccess, false)
	}
	return true
}

// reconcile calls the reconciler under the per-reconcile timeout, turning a
// panic into an error so that one bad group cannot take the daemon down.
func (e *Engine) reconcile(ctx context.Context, key specs.GroupKey) (res Result, err error) {
	ctx, cancel := context.WithTimeoutCause(ctx, e.opts.Timeout, errReconcileTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			if m := e.opts.Metrics; m != nil {
				m.panics.WithLabelValues(e.opts.Name).Inc()
			}
			e.log.Error("reconcile panicked", "group", key.String(), "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("panic reconciling %s: %v", key, r)
		}
	}()
	res, err = e.rec.Reconcile(ctx, key)
	if err != nil && errors.Is(context.Cause(ctx), errReconcileTimeout) {
		if m := e.opts.Metrics; m != nil {
			m.timeouts.WithLabelValues(e.opts.Name).Inc()
		}
		err = fmt.Errorf("%w after %s: %w", errReconcileTimeout, e.opts.Timeout, err)
	}
	return res, err
}
