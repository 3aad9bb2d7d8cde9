package specs

import (
	"fmt"
	"time"
)

// Phase summarises where a group stands.
type Phase string

// The phases a group's status can be in.
const (
	// PhaseSynced: Marathon runs the observed revision of the spec, no
	// deployment is in flight, and the wanted number of tasks are running
	// (and healthy, when the group has health checks).
	PhaseSynced Phase = "Synced"
	// PhaseProgressing: theseus issued a change and Marathon is deploying it.
	PhaseProgressing Phase = "Progressing"
	// PhaseWaiting: the app is locked by a deployment theseus did not start,
	// or a change is held back (rate limit, backoff); theseus looks again.
	PhaseWaiting Phase = "Waiting"
	// PhaseStalled: a deployment made no progress past its deadline, or the
	// plan was refused (for example by the prune guard). Needs a human.
	PhaseStalled Phase = "Stalled"
	// PhaseInvalid: the spec in /desired does not parse or validate. The
	// running app, if any, is left alone.
	PhaseInvalid Phase = "Invalid"
	// PhaseDeleting: the desired spec is gone and the app is being deleted.
	PhaseDeleting Phase = "Deleting"
	// PhaseRolledBack: a rollout theseus started failed and the app was
	// rolled back to the last Synced definition; the failed revision is
	// quarantined until /desired changes.
	PhaseRolledBack Phase = "RolledBack"
	// PhaseFailed: a rollout failed and could not be rolled back (no
	// earlier Synced definition, autoRollback off, or the rollback failed
	// too). Needs a human.
	PhaseFailed Phase = "Failed"
	// PhasePaused: the group is paused (theseusd pause); theseus writes
	// nothing to Marathon for it.
	PhasePaused Phase = "Paused"
	// PhaseDrifted: the app was changed outside theseus and the group's
	// spec.drift is report, so the change is left in place.
	PhaseDrifted Phase = "Drifted"
)

// Status is the JSON value of /status/{service}/{labels}, written by the
// reconciler only, read by the viewer and `theseusd get`.
type Status struct {
	Phase Phase `json:"phase"`
	// ObservedRevision is the mod revision of the /desired key that the
	// reconciler last acted on (the group's generation). The group is in
	// sync only when it equals the key's current mod revision.
	ObservedRevision int64 `json:"observedRevision"`
	// SpecHash is the hash of the normalised spec last written to Marathon.
	SpecHash string `json:"specHash,omitempty"`
	// AppID is the Marathon app id of the group.
	AppID string `json:"appId,omitempty"`
	// MarathonVersion is the app's Marathon version when last observed.
	MarathonVersion string `json:"marathonVersion,omitempty"`
	// DeploymentID is the deployment in flight for the app, if any.
	DeploymentID string `json:"deploymentId,omitempty"`
	// DeploymentStep describes the deployment's progress, e.g.
	// "2/2 RestartApplication".
	DeploymentStep string `json:"deploymentStep,omitempty"`
	// LastAction is the last action taken (create, scale, update, restart,
	// delete) and LastActionAt when.
	LastAction   string    `json:"lastAction,omitempty"`
	LastActionAt time.Time `json:"lastActionAt,omitzero"`
	// Tasks counts the app's tasks as Marathon reports them.
	Tasks TaskCounts `json:"tasks"`
	// Message explains the phase in a sentence.
	Message string `json:"message,omitempty"`
	// LastError is the last error met, or empty.
	LastError string `json:"lastError,omitempty"`
	// Errors lists the validation errors of an Invalid spec: the first
	// hundred, and a last line saying how many there are in all.
	Errors []string `json:"errors,omitempty"`
	// Restarted is the token of the last restart request carried out.
	Restarted string `json:"restarted,omitempty"`
	// Source names what wrote the desired spec, e.g. "git:main@1a2b3c4".
	Source string `json:"source,omitempty"`
	// SyncedRevision is the last /desired revision the group was Synced
	// at once its rollout was over: a rollout of it is not judged again.
	SyncedRevision int64 `json:"syncedRevision,omitempty"`
	// Rollout follows a rollout theseus started of ObservedRevision, or
	// the rollback of one, until it is over.
	Rollout *Rollout `json:"rollout,omitempty"`
	// Superseded is the rollout of an earlier revision that a newer one
	// replaced while Marathon still deployed it, kept while the app is
	// at that revision with a deployment in flight: a deployment of it
	// that never ends must not hold the newer revision back for ever.
	Superseded *Rollout `json:"superseded,omitempty"`
	// Failure is the failed rollout of ObservedRevision: rolled back, or
	// not. While that revision is current it is quarantined: not written
	// to Marathon again.
	Failure *RolloutFailure `json:"failure,omitempty"`
	// Scaled is set when theseus scaled the app: a scale sends instances
	// alone (a change of labels would restart every task), so the app's
	// spec-hash and revision labels still name the last full write.
	// Cleared by the next full write, or by a spec of another hash.
	Scaled *ScaledLabels `json:"scaled,omitempty"`
	// Since is when the group entered Phase; UpdatedAt when the status was
	// last written.
	Since     time.Time `json:"since,omitzero"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// Rollout is a rollout theseus started, as the controller follows it to
// decide whether it failed: too many of its tasks failed, or it was not
// done within its progress deadline.
type Rollout struct {
	// Revision is the /desired revision rolled out.
	Revision int64 `json:"revision"`
	// Version is the Marathon app version the write created: the failures
	// of tasks of it, or of a later version, count.
	Version string `json:"version,omitempty"`
	// Started is when theseus wrote it; the progress deadline runs from
	// then.
	Started time.Time `json:"started"`
	// Failures counts the tasks of the rollout seen failing, each
	// Marathon's lastTaskFailure of a new task; LastFailedTask and
	// LastFailure are the last one's id and message.
	Failures       int    `json:"failures,omitempty"`
	LastFailedTask string `json:"lastFailedTask,omitempty"`
	LastFailure    string `json:"lastFailure,omitempty"`
	// Healthy is when it was seen done (no deployment, the wanted tasks
	// running and healthy) and has stayed so since; it is over once it
	// has stayed so for the daemon's --min-healthy-time.
	Healthy time.Time `json:"healthy,omitzero"`
	// Restore: this is the rollback of a failed rollout. When it fails
	// too, the group is Failed; it is never rolled back in turn.
	Restore bool `json:"restore,omitempty"`
}

// ScaledLabels are the labels a scale by theseus left on a group's app,
// and the spec it scaled the app to.
type ScaledLabels struct {
	// Hash and Revision are the app's spec-hash and revision labels.
	Hash     string `json:"hash"`
	Revision int64  `json:"revision"`
	// SpecHash is the hash of the spec the app was scaled to.
	SpecHash string `json:"specHash"`
}

// Names reports whether an app labelled with appHash and appRevision
// runs, as theseus last wrote it, the spec whose hash is specHash: its
// labels are those s records, left by a scale to that spec. Drift and a
// write-back are then judged as if the labels named the spec.
func (s *ScaledLabels) Names(appHash string, appRevision int64, specHash string) bool {
	return s != nil && s.SpecHash != "" && s.SpecHash == specHash && s.Hash == appHash && s.Revision == appRevision
}

// RolloutFailure is a rollout that failed, and what was done about it.
type RolloutFailure struct {
	// Revision is the /desired revision whose rollout failed.
	Revision int64 `json:"revision"`
	// Outcome is OutcomeRolledBack or OutcomeFailed.
	Outcome Outcome `json:"outcome"`
	// Reason says why: the last task failure's message, or the deadline
	// that passed.
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
	// RestoredRevision and RestoredVersion are the revision rolled back
	// to and the app version that ran it (RolledBack).
	RestoredRevision int64  `json:"restoredRevision,omitempty"`
	RestoredVersion  string `json:"restoredVersion,omitempty"`
	// NotRolledBack says why a Failed rollout was not rolled back.
	NotRolledBack string `json:"notRolledBack,omitempty"`
}

// TaskCounts are a group's task numbers.
type TaskCounts struct {
	Wanted    int `json:"wanted"`
	Running   int `json:"running"`
	Healthy   int `json:"healthy"`
	Staged    int `json:"staged"`
	Unhealthy int `json:"unhealthy"`
}

// ShortOf says how the counts fall short of want tasks: fewer running,
// or, for tasks with health checks, fewer healthy; "" when they do not.
func (c TaskCounts) ShortOf(want int, healthChecked bool) string {
	switch {
	case c.Running < want:
		return fmt.Sprintf("%d of %d tasks running", c.Running, want)
	case healthChecked && c.Healthy < want:
		return fmt.Sprintf("%d of %d tasks healthy", c.Healthy, want)
	}
	return ""
}

// ContainerInfo is the JSON value of
// /services/{service}/{labels}/containers/{container}/info: where one
// container (Marathon task) of a group runs.
type ContainerInfo struct {
	// InstanceHost is the agent's host name.
	InstanceHost string `json:"instance_host"`
	// InstancePort is the first host port, 0 if the task has none.
	InstancePort int `json:"instance_port"`
	// PortMappings pairs each container port with its host port.
	PortMappings []PortMapping `json:"port_mappings"`
	// InstanceName is the container's name, the Marathon task id.
	InstanceName string `json:"instance_name"`
	// State is the task state, e.g. TASK_RUNNING.
	State string `json:"state,omitempty"`
	// Health is "healthy", "unhealthy" or "unknown" (no checks, or no
	// result yet).
	Health string `json:"health,omitempty"`
	// Ready is true when the container should receive traffic: running,
	// and healthy if the group has health checks.
	Ready bool `json:"ready"`
	// AppVersion is the Marathon app version the task was started with.
	AppVersion string `json:"app_version,omitempty"`
}

// PortMapping is one published port of a container.
type PortMapping struct {
	ContainerPort int    `json:"container_port"`
	HostPort      int    `json:"host_port"`
	Protocol      string `json:"protocol"`
	Name          string `json:"name,omitempty"`
}
