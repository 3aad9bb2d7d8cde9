package notify

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics counts what the notifier does, per receiver ("index:host").
type metrics struct {
	sent, failed, dropped, retries *prometheus.CounterVec
	queued                         *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	recv := []string{"receiver"}
	m := &metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "theseus_notifications_sent_total",
			Help: "Notifications a receiver took."}, recv),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "theseus_notifications_failed_total",
			Help: "Notifications given up after a permanent refusal or every attempt."}, recv),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "theseus_notifications_dropped_total",
			Help: "Notifications dropped unsent because the receiver's queue was full."}, recv),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "theseus_notifications_retries_total",
			Help: "Attempts to deliver a notification after the first."}, recv),
		queued: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "theseus_notifications_queued",
			Help: "Notifications waiting in the receiver's queue."}, recv),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.sent, m.failed, m.dropped, m.retries, m.queued} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("notify metrics (one Notifier per registry): %w", err)
		}
	}
	return m, nil
}

// init makes every series of a receiver exist at 0, so that dashboards
// show 0 rather than no data.
func (m *metrics) init(name string) {
	for _, c := range []*prometheus.CounterVec{m.sent, m.failed, m.dropped, m.retries} {
		c.WithLabelValues(name)
	}
	m.queued.WithLabelValues(name).Set(0)
}
