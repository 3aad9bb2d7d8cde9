package reconciler

import "github.com/prometheus/client_golang/prometheus"

// Accessors for tests of the package's users.

func (m *Metrics) PruneBlockedCounter(reason string) prometheus.Counter {
	return m.pruneBlocked.WithLabelValues(reason)
}

func (m *Metrics) ResyncCounter() prometheus.Counter { return m.resyncs }

func (m *Metrics) RelistCounter() prometheus.Counter { return m.relists }

func (m *Metrics) WatchRestartCounter(reason string) prometheus.Counter {
	return m.watchRestarts.WithLabelValues(reason)
}
