package specs

import "time"

// RestartState is a service-wide rolling restart, requested by
// `theseusd restart` and carried out by the leader, one group after
// another; the JSON value of /theseus/restart/{service}. It holds the
// request and its progress, so that the restart goes on under a new
// leader where the last one left it.
type RestartState struct {
	// Token names the request. Each group's /status records the token of
	// the last restart carried out for it (Status.Restarted), so that a
	// group is restarted once per request, whoever leads.
	Token string `json:"token"`
	// Selector is the label selector the restart was requested with; a
	// request with another selector starts over.
	Selector string `json:"selector"`
	// Groups are the groups to restart, in order; Done those finished.
	Groups []string `json:"groups"`
	Done   []string `json:"done"`
	// WaitSeconds is the pause between two groups; HealthTimeoutSeconds
	// how long a group may take to be deployed and healthy again.
	WaitSeconds          float64 `json:"waitSeconds"`
	HealthTimeoutSeconds float64 `json:"healthTimeoutSeconds"`
	// Current is the group being restarted, since CurrentSince, and the
	// app version its restart created, once Marathon answered; Replaced
	// of Wanted of its tasks run that version, ready.
	Current        string    `json:"current,omitempty"`
	CurrentSince   time.Time `json:"currentSince,omitzero"`
	CurrentVersion string    `json:"currentVersion,omitempty"`
	// StartVersion is the app version of Current when it became current,
	// recorded before its restart is sent: an app whose version moved
	// past it was restarted (or deployed anew), which a leader that took
	// over before the restart's token reached /status goes by, rather
	// than restarting the group a second time.
	StartVersion string `json:"startVersion,omitempty"`
	Replaced     int    `json:"replaced"`
	Wanted       int    `json:"wanted"`
	// LastDone is when the last group finished: the next starts
	// WaitSeconds after it.
	LastDone time.Time `json:"lastDone,omitzero"`
	// Failed says why the restart stopped (a group that did not come
	// back in time); a request with the same selector resumes it.
	Failed string `json:"failed,omitempty"`
	// Started is when the restart was requested, Finished when its last
	// group was done.
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
}

// Wait is the pause between two groups.
func (s *RestartState) Wait() time.Duration { return seconds(s.WaitSeconds) }

// HealthTimeout is how long a group may take to come back.
func (s *RestartState) HealthTimeout() time.Duration { return seconds(s.HealthTimeoutSeconds) }

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// Active reports whether the restart is still to be carried out.
func (s *RestartState) Active() bool { return s.Finished.IsZero() && s.Failed == "" }
