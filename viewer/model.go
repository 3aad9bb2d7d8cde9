package viewer

import (
	"time"

	"theseus.dev/specs"
)

// APIVersion and the kinds of the documents the viewer writes.
const (
	APIVersion = "theseus/v1"
	KindList   = "GroupList"
)

// Phase is where a group stands as the viewer shows it: the phase of its
// /status, corrected by what the viewer sees that the controller has not
// written yet (a new revision, drift, an orphan).
type Phase string

// The phases the viewer shows. Synced, Progressing, Waiting, Stalled,
// Invalid and Deleting are the controller's (specs.Phase); Pending,
// Drifted and Orphaned are the viewer's own.
const (
	Synced      = Phase(specs.PhaseSynced)
	Progressing = Phase(specs.PhaseProgressing)
	Waiting     = Phase(specs.PhaseWaiting)
	Stalled     = Phase(specs.PhaseStalled)
	Invalid     = Phase(specs.PhaseInvalid)
	Deleting    = Phase(specs.PhaseDeleting)
	// Pending: /desired holds a revision of the spec that the controller
	// has not acted on yet (no status, or a status of an older revision).
	Pending Phase = "Pending"
	// Drifted: the controller recorded the group as applied, but Marathon
	// no longer runs what it wrote (the app was changed or deleted outside
	// theseus). The controller heals it at its next look.
	Drifted Phase = "Drifted"
	// Orphaned: a managed app has no desired spec; only `run --prune`
	// deletes it.
	Orphaned Phase = "Orphaned"
	// RolledBack, Failed and Paused are the controller's phases of rollout
	// safety (docs/rollout-safety.md); Drifted is also the controller's
	// when the group's spec.drift is report.
	RolledBack = Phase(specs.PhaseRolledBack)
	Failed     = Phase(specs.PhaseFailed)
	Paused     = Phase(specs.PhasePaused)
)

// List is the document of `theseusd get -o json|yaml` and of
// GET /api/v1/groups: the groups selected, sorted by service and labels.
type List struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Service and Selector are the query ("" when not given).
	Service  string `json:"service,omitempty"`
	Selector string `json:"selector,omitempty"`
	// Warnings say what could not be read (Marathon unreachable, a
	// malformed /desired key); the groups are shown from what could.
	Warnings []string `json:"warnings,omitempty"`
	Items    []Group  `json:"items"`
	// MarathonUnread is set when Marathon could not be read: a group
	// known only from it (an orphaned app) is then missing from Items
	// without being gone.
	MarathonUnread bool `json:"-"`
}

// Group is one labeled group: /desired, /status and Marathon joined.
type Group struct {
	// Key is "service/encodedLabels".
	Key     string   `json:"key"`
	Service string   `json:"service"`
	Labels  []string `json:"labels"`
	Phase   Phase    `json:"phase"`
	// Message explains the phase.
	Message string `json:"message,omitempty"`
	// Since is when the group entered its /status phase (zero without a
	// status); AGE counts from it when Phase is the status's phase.
	Since time.Time `json:"since,omitzero"`
	// Image is the image of the app as Marathon defines it: what its
	// tasks run, or are being moved to during a rollout. Empty without an
	// app, or when Marathon cannot be read; the desired image is under
	// desired.spec.
	Image string `json:"image,omitempty"`
	// Images count the app's tasks by the image they run: the images of
	// older definitions that tasks still run first, oldest first, then
	// Image with its tasks (none yet, early in a rollout). An image
	// Marathon could not say is "?".
	Images []TaskImage `json:"images,omitempty"`
	// Tasks: Wanted from the desired spec, the rest from Marathon (from
	// /status when Marathon cannot be read).
	Tasks specs.TaskCounts `json:"tasks"`
	// HealthChecked says whether the tasks have health checks (by the
	// desired spec, or the app's when the spec is invalid or gone).
	// Without them Marathon counts no task healthy, and HEALTHY shows -.
	HealthChecked bool `json:"healthChecked"`
	// Deployment is the deployment in flight for the app, if any.
	Deployment *Deployment `json:"deployment,omitempty"`
	// Drift lists the fields that differ, "path: old => new", when Phase
	// is Drifted because the app was changed outside theseus.
	Drift   []string `json:"drift,omitempty"`
	Desired *Desired `json:"desired,omitempty"`
	// Status is /status as the controller wrote it.
	Status *specs.Status `json:"status,omitempty"`
	App    *App          `json:"app,omitempty"`
	// Containers are the app's tasks, by host and name.
	Containers      []Container  `json:"containers"`
	LastTaskFailure *TaskFailure `json:"lastTaskFailure,omitempty"`
	// Events are the group's recent events, newest first.
	Events []Event `json:"events"`
	// History is the group's history, oldest first, without the specs it
	// keeps (they may hold secrets): only for one group, not in a list.
	// HistoryError says why it could not be read.
	History      []specs.HistoryEntry `json:"history,omitempty"`
	HistoryError string               `json:"historyError,omitempty"`
	// Warnings say what could not be read, as those of a List: only for
	// one group, whose answer has no list to carry them.
	Warnings []string `json:"warnings,omitempty"`
}

// TaskImage is one image the tasks of a group run, and how many do.
type TaskImage struct {
	Image string `json:"image"`
	Tasks int    `json:"tasks"`
}

// Desired is the group's /desired key.
type Desired struct {
	// Revision is the key's mod revision, the group's generation.
	Revision int64 `json:"revision"`
	Valid    bool  `json:"valid"`
	// Errors are the validation errors of an invalid spec.
	Errors []string `json:"errors,omitempty"`
	// Spec is the spec as stored, secret values replaced by
	// specs.Redacted.
	Spec *specs.Spec `json:"spec,omitempty"`
}

// App is the group's Marathon app.
type App struct {
	ID      string `json:"id"`
	Version string `json:"version,omitempty"`
	// Managed: the app carries theseus's marker labels; Protected:
	// theseus.io/protect=true.
	Managed   bool `json:"managed"`
	Protected bool `json:"protected,omitempty"`
	// SpecHash and Revision are the hash and /desired revision of the
	// spec the app was last written from.
	SpecHash string `json:"specHash,omitempty"`
	Revision int64  `json:"revision,omitempty"`
	Image    string `json:"image,omitempty"`
}

// Deployment is a Marathon deployment in flight.
type Deployment struct {
	ID string `json:"id"`
	// Step and TotalSteps are 1-based, as Marathon counts them; Actions
	// are the current step's actions. Zero when Marathon's deployment
	// list could not be read.
	Step       int      `json:"step,omitempty"`
	TotalSteps int      `json:"totalSteps,omitempty"`
	Actions    []string `json:"actions,omitempty"`
	// Version is the app version being deployed.
	Version string `json:"version,omitempty"`
}

// Container is one task of the group's app.
type Container struct {
	// Name is the Marathon task id.
	Name string `json:"name"`
	Host string `json:"host"`
	// Ports are the host ports; PortMappings pair them with container
	// ports when the app maps ports.
	Ports        []int         `json:"ports,omitempty"`
	PortMappings []PortMapping `json:"portMappings,omitempty"`
	State        string        `json:"state,omitempty"`
	// Health is "healthy", "unhealthy" or "unknown".
	Health string `json:"health,omitempty"`
	// Ready: running, and healthy when the group has health checks.
	Ready bool `json:"ready"`
	// Version is the app version the task was started from, and Image the
	// image of that version ("?" when Marathon could not say).
	Version   string    `json:"version,omitempty"`
	Image     string    `json:"image,omitempty"`
	StartedAt time.Time `json:"startedAt,omitzero"`
}

// PortMapping pairs a container port of a container with its host port.
type PortMapping struct {
	ContainerPort int    `json:"containerPort"`
	HostPort      int    `json:"hostPort"`
	Protocol      string `json:"protocol"`
	Name          string `json:"name,omitempty"`
}

func portMappings(ms []specs.PortMapping) []PortMapping {
	if len(ms) == 0 {
		return nil
	}
	out := make([]PortMapping, len(ms))
	for i, m := range ms {
		out[i] = PortMapping{ContainerPort: m.ContainerPort, HostPort: m.HostPort, Protocol: m.Protocol, Name: m.Name}
	}
	return out
}

// TaskFailure is Marathon's last task failure of the app.
type TaskFailure struct {
	TaskID    string    `json:"taskId"`
	Host      string    `json:"host,omitempty"`
	State     string    `json:"state,omitempty"`
	Message   string    `json:"message,omitempty"`
	Version   string    `json:"version,omitempty"`
	Timestamp time.Time `json:"timestamp,omitzero"`
}

// EventType classifies an Event.
type EventType string

// The events the viewer reconstructs; see docs/viewer.md.
const (
	EventPhase       EventType = "Phase"       // the group entered its /status phase
	EventAction      EventType = "Action"      // the controller's last action
	EventAppVersion  EventType = "AppVersion"  // Marathon's app definition was written
	EventDeployment  EventType = "Deployment"  // a deployment in flight began
	EventTaskStarted EventType = "TaskStarted" // a task of the app started
	EventTaskFailed  EventType = "TaskFailed"  // Marathon's last task failure
)

// Event is one thing that happened to a group, with its time.
type Event struct {
	Time    time.Time `json:"time"`
	Type    EventType `json:"type"`
	Message string    `json:"message"`
}
