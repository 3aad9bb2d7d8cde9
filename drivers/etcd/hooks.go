package etcd

// RestartReason says why a watch was re-established; it is the value of
// the reason label of theseus_etcd_watch_restarts_total.
type RestartReason string

// The reasons a watch restarts.
const (
	// RestartCompacted: the revision to resume from was compacted; the
	// watch restarts after a relist.
	RestartCompacted RestartReason = "compacted"
	// RestartClosed: the watch channel closed, or stayed silent past the
	// stall timeout, without a more specific reason.
	RestartClosed RestartReason = "closed"
	// RestartNoLeader: the member serving the watch lost its leader.
	RestartNoLeader RestartReason = "no_leader"
)

// Hooks let the controller count what the driver does (metrics are wired
// outside this package). Every field is optional; hooks are called from
// the goroutine doing the work and must not block.
type Hooks struct {
	// WatchRestart is called each time a watch is re-established.
	WatchRestart func(RestartReason)
	// Relist is called after each relist that replaced a watch's state.
	Relist func()
	// Leader is called with true when this process becomes the leader
	// and with false when it stops being the leader.
	Leader func(leading bool)
}

func (h Hooks) watchRestart(r RestartReason) {
	if h.WatchRestart != nil {
		h.WatchRestart(r)
	}
}

func (h Hooks) relist() {
	if h.Relist != nil {
		h.Relist()
	}
}

func (h Hooks) leader(leading bool) {
	if h.Leader != nil {
		h.Leader(leading)
	}
}
