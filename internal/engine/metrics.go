package engine

import (
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/util/workqueue"
)

// Result labels of controller_runtime_reconcile_total.
const (
	resultSuccess      = "success"
	resultError        = "error"
	resultRequeueAfter = "requeue_after"
)

// Metrics are an engine's metrics, under the names that dashboards of
// controller-runtime and client-go's workqueue already know, labelled by
// the engine's Name. A nil *Metrics records nothing.
type Metrics struct {
	reconcileTotal *prometheus.CounterVec
	reconcileErrs  *prometheus.CounterVec
	terminalErrs   *prometheus.CounterVec
	panics         *prometheus.CounterVec
	timeouts       *prometheus.CounterVec
	reconcileTime  *prometheus.HistogramVec
	maxWorkers     *prometheus.GaugeVec
	activeWorkers  *prometheus.GaugeVec

	wqDepth, wqUnfinished, wqLongest *prometheus.GaugeVec
	wqAdds, wqRetries                *prometheus.CounterVec
	wqQueueDuration, wqWorkDuration  *prometheus.HistogramVec
}

// NewMetrics registers the engines' metrics with reg. The series of
// each name in names start at zero, so that dashboards show 0 rather
// than "no data".
func NewMetrics(reg prometheus.Registerer, names ...string) *Metrics {
	ctl := []string{"controller"}
	wq := []string{"name", "controller"}
	m := &Metrics{
		reconcileTotal: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "controller_runtime_reconcile_total",
			Help: "Total number of reconciliations per controller."}, []string{"controller", "result"}),
		reconcileErrs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "controller_runtime_reconcile_errors_total",
			Help: "Total number of reconciliation errors per controller."}, ctl),
		terminalErrs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "controller_runtime_terminal_reconcile_errors_total",
			Help: "Total number of terminal reconciliation errors per controller."}, ctl),
		panics: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "controller_runtime_reconcile_panics_total",
			Help: "Total number of reconciliation panics per controller."}, ctl),
		timeouts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "controller_runtime_reconcile_timeouts_total",
			Help: "Total number of reconciliation timeouts per controller."}, ctl),
		reconcileTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "controller_runtime_reconcile_time_seconds",
			Help: "Length of time per reconciliation per controller.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}, ctl),
		maxWorkers: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "controller_runtime_max_concurrent_reconciles",
			Help: "Maximum number of concurrent reconciles per controller."}, ctl),
		activeWorkers: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "controller_runtime_active_workers",
			Help: "Number of currently used workers per controller."}, ctl),

		wqDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "workqueue_depth", Help: "Current depth of workqueue."}, wq),
		wqAdds:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "workqueue_adds_total", Help: "Total number of adds handled by workqueue."}, wq),
		wqQueueDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "workqueue_queue_duration_seconds",
			Help: "How long in seconds an item stays in workqueue before being requested.", Buckets: prometheus.ExponentialBuckets(1e-6, 10, 11)}, wq),
		wqWorkDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "workqueue_work_duration_seconds",
			Help: "How long in seconds processing an item from workqueue takes.", Buckets: prometheus.ExponentialBuckets(1e-6, 10, 11)}, wq),
		wqUnfinished: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "workqueue_unfinished_work_seconds",
			Help: "How many seconds of work has been done that is in progress and hasn't been observed by work_duration."}, wq),
		wqLongest: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "workqueue_longest_running_processor_seconds",
			Help: "How many seconds has the longest running processor for workqueue been running."}, wq),
		wqRetries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "workqueue_retries_total", Help: "Total number of retries handled by workqueue."}, wq),
	}
	for _, c := range []prometheus.Collector{
		m.reconcileTotal, m.reconcileErrs, m.terminalErrs, m.panics, m.timeouts, m.reconcileTime, m.maxWorkers,
		m.activeWorkers, m.wqDepth, m.wqAdds, m.wqQueueDuration, m.wqWorkDuration, m.wqUnfinished, m.wqLongest,
		m.wqRetries,
	} {
		reg.MustRegister(c)
	}
	for _, n := range names {
		m.init(n)
	}
	return m
}

// init starts the series of engine name at zero.
func (m *Metrics) init(name string) {
	for _, r := range []string{resultSuccess, resultError, resultRequeueAfter} {
		m.reconcileTotal.WithLabelValues(name, r)
	}
	m.reconcileErrs.WithLabelValues(name)
	m.terminalErrs.WithLabelValues(name)
	m.panics.WithLabelValues(name)
	m.timeouts.WithLabelValues(name)
}

// idle reports engine name with no work in flight.
func (m *Metrics) idle(name string) {
	if m == nil {
		return
	}
	m.wqUnfinished.WithLabelValues(name, name).Set(0)
	m.wqLongest.WithLabelValues(name, name).Set(0)
}

func (m *Metrics) count(controller, result string, terminal bool) {
	if m == nil {
		return
	}
	m.reconcileTotal.WithLabelValues(controller, result).Inc()
	if result == resultError {
		m.reconcileErrs.WithLabelValues(controller).Inc()
		if terminal {
			m.terminalErrs.WithLabelValues(controller).Inc()
		}
	}
}

// workqueueProvider adapts the metrics to client-go's workqueue, per queue
// rather than through its process-global provider.
func (m *Metrics) workqueueProvider() workqueue.MetricsProvider { return wqProvider{m} }

type wqProvider struct{ m *Metrics }

func (p wqProvider) NewDepthMetric(name string) workqueue.GaugeMetric {
	return p.m.wqDepth.WithLabelValues(name, name)
}
func (p wqProvider) NewAddsMetric(name string) workqueue.CounterMetric {
	return p.m.wqAdds.WithLabelValues(name, name)
}
func (p wqProvider) NewLatencyMetric(name string) workqueue.HistogramMetric {
	return p.m.wqQueueDuration.WithLabelValues(name, name)
}
func (p wqProvider) NewWorkDurationMetric(name string) workqueue.HistogramMetric {
	return p.m.wqWorkDuration.WithLabelValues(name, name)
}
func (p wqProvider) NewUnfinishedWorkSecondsMetric(name string) workqueue.SettableGaugeMetric {
	return p.m.wqUnfinished.WithLabelValues(name, name)
}
func (p wqProvider) NewLongestRunningProcessorSecondsMetric(name string) workqueue.SettableGaugeMetric {
	return p.m.wqLongest.WithLabelValues(name, name)
}
func (p wqProvider) NewRetriesMetric(name string) workqueue.CounterMetric {
	return p.m.wqRetries.WithLabelValues(name, name)
}
