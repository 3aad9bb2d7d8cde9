package model

import (
	"context"
	"time"

	"theseus.dev/specs"
)

// App is a Marathon app as theseus reads it: the spec-controlled fields,
// the marker labels, and the task and deployment state that status and
// discovery need. Both of Marathon's JSON generations read to the same
// App. An App held by a cache is shared: whoever holds one reads it and
// never changes it.
type App struct {
	// ID is the Marathon app id; Key the group it names under the
	// driver's root.
	ID  string
	Key specs.GroupKey
	// Managed is true when the app carries theseus's marker labels for
	// Key; Protected when it carries theseus.io/protect=true.
	Managed, Protected bool
	// SpecHash, Revision and SecretEnv are read from the marker labels:
	// the hash and /desired revision of the spec the app was last written
	// from, and the env entries written as secret, never shown.
	SpecHash  string
	Revision  int64
	SecretEnv []string
	// Version is Marathon's version of the app definition, and
	// ConfigVersion its versionInfo.lastConfigChangeAt: tasks of a version
	// before it run an older definition (a scale moves Version alone).
	Version, ConfigVersion string
	// Spec holds the spec-controlled fields as Marathon reports them,
	// normalised with specs.Normalize (Config is never set: it does not go
	// to Marathon).
	Spec specs.Spec
	// DefaultRole is the role Marathon gives an app that names none, its
	// --mesos_role: a spec without a role matches it. "" when Marathon
	// has no app roles (before 1.9) or did not say its role; role is then
	// not compared.
	DefaultRole string
	// Counts are Marathon's task counters of the app.
	Counts specs.TaskCounts
	// Outdated counts the running tasks that run a definition older than
	// the app's last config change, as a force-cancelled deployment
	// leaves them; known only when Tasks are.
	Outdated int
	// Tasks are the app's tasks.
	Tasks []Task
	// Deployments are the ids of deployments in flight for the app.
	Deployments []string
	// LastTaskFailure is Marathon's last task failure of the app, or nil.
	LastTaskFailure *TaskFailure
	// Config is the group's config as /services holds it, and
	// ConfigKnown whether it was read: a plan compares it with the
	// desired config only then. A group /services does not hold has an
	// empty config. The controller plans without it: the discovery
	// syncer mirrors config by itself.
	Config      map[string]string
	ConfigKnown bool
}

// Current reports whether task t of the app runs its current definition:
// it was started from the version of the last config change or a later
// one. Without the versions to compare, a task counts as current.
func (a *App) Current(t *Task) bool {
	changed, started := parseTime(a.ConfigVersion), parseTime(t.Version)
	return changed.IsZero() || started.IsZero() || !started.Before(changed)
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// Task is one Marathon task of an app.
type Task struct {
	ID      string
	AppID   string
	Host    string
	IP      string // first IP address Marathon reports, or ""
	State   string // TASK_STAGING, TASK_RUNNING, ...
	Version string // the app version the task runs
	// Ports are the host ports, in port-definition/mapping order.
	Ports []int
	// Mappings pair each container port of the app with its host port;
	// empty for apps without container port mappings.
	Mappings  []specs.PortMapping
	StagedAt  time.Time
	StartedAt time.Time
	// Health is "healthy", "unhealthy" or "unknown" (no checks, or no
	// result yet).
	Health string
}

// TaskFailure is Marathon's lastTaskFailure of an app.
type TaskFailure struct {
	TaskID    string
	Host      string
	State     string
	Message   string
	Version   string
	Timestamp time.Time
}

// Deployment is one deployment in flight.
type Deployment struct {
	ID           string
	Version      string
	AffectedApps []string
	// CurrentStep is 1-based, as Marathon reports it; CurrentActions are
	// that step's actions.
	CurrentStep, TotalSteps int
	CurrentActions          []DeploymentAction
}

// DeploymentAction is one action of a deployment step, such as
// {RestartApplication /web/dev}.
type DeploymentAction struct {
	Action string
	App    string
}

// Write is what a create or an update sends: the full definition of a
// group's app is built from it, never from a read of the app.
type Write struct {
	Key specs.GroupKey
	// Spec is the normalised spec (specs.Normalize) and Hash its
	// specs.Hash; Revision the /desired mod revision it was read at.
	Spec     specs.Spec
	Hash     string
	Revision int64
	// Force makes an update take the app over a deployment in flight,
	// which Marathon then cancels (?force=true): how a rollback replaces
	// a failed deployment. Never set for other writes.
	Force bool
}

// Result is what Marathon answered to a write: the deployment it started
// (empty when none) and the new app version.
type Result struct {
	DeploymentID string
	Version      string
}

// EventType names a Marathon event, or EventResync.
type EventType string

// EventResync is delivered after every (re)attach of the event stream:
// events may have been lost, so the reader must list again.
const EventResync EventType = "theseus_resync"

// Event is one Marathon event as a trigger: which app to look at again.
type Event struct {
	Type EventType // Marathon's eventType, e.g. status_update_event
	// AppID is the app the event is about, "" for cluster-wide events;
	// Key and KeyOK say whether it names a group under the root.
	AppID string
	Key   specs.GroupKey
	KeyOK bool
	// Task events.
	TaskID     string
	TaskStatus string // TASK_RUNNING, TASK_KILLED, ...
	Host       string
	Ports      []int
	Version    string
	// Alive is set by health events.
	Alive *bool
	// Deployment events: the deployment, and every app its plan names
	// (AppID and Key are set when it names exactly one).
	DeploymentID string
	Apps         []string
	Timestamp    time.Time
}

type writeGuardKey struct{}

// WithWriteGuard returns a context under which a driver calls guard just
// before it sends each write (each attempt of it): a guard error ends
// the write with nothing sent, wrapping that error. Marathon has no
// conditional write; this is how a caller fences one, checking its right
// to write (a leadership, a revision) as late as the driver can, after
// anything that may have held the caller up.
func WithWriteGuard(ctx context.Context, guard func(context.Context) error) context.Context {
	return context.WithValue(ctx, writeGuardKey{}, guard)
}

// CheckWriteGuard runs the guard of ctx, if any: drivers call it just
// before they send a write.
func CheckWriteGuard(ctx context.Context) error {
	if g, ok := ctx.Value(writeGuardKey{}).(func(context.Context) error); ok {
		return g(ctx)
	}
	return nil
}

// KnownSpecs holds the spec of each group that a caller keeps (the
// controller's, from /desired), normalised with specs.Normalize. A
// driver that reads apps lets each app's spec share what it holds equal
// to its group's (specs.ShareEqual), so that a group in sync is kept
// once, not twice. The specs it returns are never changed in place.
type KnownSpecs interface {
	// KnownSpec returns the spec held for group k; false when none is.
	KnownSpec(k specs.GroupKey) (specs.Spec, bool)
}

type knownSpecsKey struct{}

// WithKnownSpecs returns a context under which a driver's reads of the
// app list share specs with known.
func WithKnownSpecs(ctx context.Context, known KnownSpecs) context.Context {
	return context.WithValue(ctx, knownSpecsKey{}, known)
}

// KnownSpecsOf returns the KnownSpecs of ctx, or nil.
func KnownSpecsOf(ctx context.Context) KnownSpecs {
	k, _ := ctx.Value(knownSpecsKey{}).(KnownSpecs)
	return k
}
