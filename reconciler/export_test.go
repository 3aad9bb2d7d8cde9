package reconciler

import (
	"github.com/prometheus/client_golang/prometheus"

	"theseus.dev/model"
	"theseus.dev/specs"
)

// Accessors for tests of the package's users.

func (m *Metrics) PruneBlockedCounter(reason string) prometheus.Counter {
	return m.pruneBlocked.WithLabelValues(reason)
}

func (m *Metrics) ResyncCounter() prometheus.Counter { return m.resyncs }

func (m *Metrics) RelistCounter() prometheus.Counter { return m.relists }

func (m *Metrics) WatchRestartCounter(reason string) prometheus.Counter {
	return m.watchRestarts.WithLabelValues(reason)
}

// ObservedApp is group k's app as the observer of the controller's term
// holds it.
func (c *Controller) ObservedApp(k specs.GroupKey) (*model.App, bool) { return c.apps.Get(k) }

// ListsStarted counts the lists of Marathon the observer of the
// controller's term has started.
func (c *Controller) ListsStarted() uint64 { return c.apps.ListsStarted() }
