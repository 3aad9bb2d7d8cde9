package reconciler

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"theseus.dev/internal/engine"
)

// Metrics holds the daemon's Prometheus metrics in a registry of its own:
// the controller-runtime and workqueue names dashboards already know
// (docs/reliability.md), and theseus's own. A nil *Metrics records nothing.
type Metrics struct {
	reg    *prometheus.Registry
	engine *engine.Metrics

	leaderStatus        *prometheus.GaugeVec
	groups              *prometheus.GaugeVec
	marathonRequests    *prometheus.CounterVec
	marathonDuration    *prometheus.HistogramVec
	marathonConflicts   prometheus.Counter
	sseReconnects       prometheus.Counter
	deploymentsInflight prometheus.Gauge
	pruneBlocked        *prometheus.CounterVec
	watchRestarts       *prometheus.CounterVec
	relists             prometheus.Counter
	actions             *prometheus.CounterVec
	stalled             *prometheus.GaugeVec
	desiredRevision     prometheus.Gauge
	driftDetected       prometheus.Counter
	resyncs             prometheus.Counter
	resyncDuration      prometheus.Histogram
	historyPending      prometheus.Gauge
}

// NewMetrics returns a fresh set of metrics, with Go and process collectors,
// every fixed label combination initialised to zero so dashboards show 0
// rather than "no data".
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		reg:    reg,
		engine: engine.NewMetrics(reg, "theseus"),
		leaderStatus: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "leader_election_master_status",
			Help: "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master."}, []string{"name"}),
		groups: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "theseus_groups",
			Help: "Groups by the phase of their /status, as the leader knows them (0 on a standby)."}, []string{"phase"}),
		marathonRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "theseus_marathon_requests_total",
			Help: "Marathon requests by method, endpoint and status code (0 = no response)."}, []string{"method", "endpoint", "code"}),
		marathonDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "theseus_marathon_request_duration_seconds",
			Help: "Marathon request latency.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}, []string{"method", "endpoint"}),
		marathonConflicts: prometheus.NewCounter(prometheus.CounterOpts{Name: "theseus_marathon_conflicts_total",
			Help: "Marathon writes answered 409: the app is locked by a deployment."}),
		sseReconnects: prometheus.NewCounter(prometheus.CounterOpts{Name: "theseus_sse_reconnects_total",
			Help: "Reconnects of the Marathon event stream."}),
		deploymentsInflight: prometheus.NewGauge(prometheus.GaugeOpts{Name: "theseus_marathon_deployments_inflight",
			Help: "Marathon deployments in flight for managed apps at the last resync."}),
		pruneBlocked: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "theseus_prune_blocked_total",
			Help: "Deletes refused by the prune guard, by reason."}, []string{"reason"}),
		watchRestarts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "theseus_etcd_watch_restarts_total",
			Help: "Restarts of the /desired watch, by reason."}, []string{"reason"}),
		relists: prometheus.NewCounter(prometheus.CounterOpts{Name: "theseus_etcd_relists_total",
			Help: "Full relists of /desired (at start, and after compaction)."}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "theseus_plan_actions_total",
			Help: "Actions carried out against Marathon, by action."}, []string{"action"}),
		stalled: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "theseus_deployment_stalled",
			Help: "1 for each group whose deployment made no progress past the deadline."}, []string{"group"}),
		desiredRevision: prometheus.NewGauge(prometheus.GaugeOpts{Name: "theseus_desired_revision",
			Help: "The etcd revision of /desired last seen."}),
		driftDetected: prometheus.NewCounter(prometheus.CounterOpts{Name: "theseus_drift_detected_total",
			Help: "Apps found changed outside theseus."}),
		resyncs: prometheus.NewCounter(prometheus.CounterOpts{Name: "theseus_resyncs_total",
			Help: "Full resyncs: one Marathon list, every group looked at."}),
		resyncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "theseus_resync_duration_seconds",
			Help: "Time to list Marathon and queue every group.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}),
		historyPending: prometheus.NewGauge(prometheus.GaugeOpts{Name: "theseus_history_pending",
			Help: "Groups whose history has records waiting to be written."}),
	}
	for _, c := range []prometheus.Collector{
		m.leaderStatus, m.groups, m.marathonRequests, m.marathonDuration, m.marathonConflicts,
		m.sseReconnects, m.deploymentsInflight, m.pruneBlocked, m.watchRestarts, m.relists, m.actions, m.stalled,
		m.desiredRevision, m.driftDetected, m.resyncs, m.resyncDuration, m.historyPending,
	} {
		f(c)
	}
	for _, reason := range []string{"compacted", "closed", "no_leader"} {
		m.watchRestarts.WithLabelValues(reason)
	}
	for _, reason := range []string{"empty_desired", "max_deletes"} {
		m.pruneBlocked.WithLabelValues(reason)
	}
	for _, a := range []string{"create", "update", "scale", "restart", "delete", "rollback"} {
		m.actions.WithLabelValues(a)
	}
	m.leaderStatus.WithLabelValues("theseus")
	m.GroupPhases(nil)
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry is the registry the metrics live in, for adding more.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Engine is the metrics of the daemon's engines (the controller's and
// the discovery syncer's), in the same registry; nil on a nil *Metrics.
func (m *Metrics) Engine() *engine.Metrics {
	if m == nil {
		return nil
	}
	return m.engine
}

// SetLeader records whether this daemon leads.
func (m *Metrics) SetLeader(leading bool) {
	if m == nil {
		return
	}
	v := 0.0
	if leading {
		v = 1
	}
	m.leaderStatus.WithLabelValues("theseus").Set(v)
}

// MarathonRequest records one Marathon call; code 0 means no response.
func (m *Metrics) MarathonRequest(method, endpoint string, code int, seconds float64) {
	if m == nil {
		return
	}
	m.marathonRequests.WithLabelValues(method, endpoint, strconv.Itoa(code)).Inc()
	m.marathonDuration.WithLabelValues(method, endpoint).Observe(seconds)
	if code == http.StatusConflict {
		m.marathonConflicts.Inc()
	}
}

// SSEReconnect records a reconnect of the Marathon event stream.
func (m *Metrics) SSEReconnect() {
	if m != nil {
		m.sseReconnects.Inc()
	}
}

// WatchRestart records a restart of the /desired watch.
func (m *Metrics) WatchRestart(reason string) {
	if m != nil {
		m.watchRestarts.WithLabelValues(reason).Inc()
	}
}

// Relist records a full relist of /desired.
func (m *Metrics) Relist() {
	if m != nil {
		m.relists.Inc()
	}
}
