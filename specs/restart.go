package specs

import "time"

// RestartState is the progress of a service-wide rolling restart, kept in
// etcd so that a second run resumes where the first stopped.
type RestartState struct {
	// Selector is the label selector the restart was started with; a run
	// with another selector starts over.
	Selector string `json:"selector"`
	// Groups are the groups to restart, in order; Done those finished.
	Groups []string `json:"groups"`
	Done   []string `json:"done"`
	// Current is the group being restarted and the version its restart
	// created, so a resumed run waits for it instead of restarting again.
	Current        string    `json:"current,omitempty"`
	CurrentVersion string    `json:"currentVersion,omitempty"`
	Started        time.Time `json:"started"`
}
