package marathon

import "theseus.dev/model"

// Marker labels theseus puts on every app it writes. An app is managed
// when LabelManaged is "true" and LabelGroup names the group its id
// belongs to; anything else at a group's id is left alone.
const (
	LabelManaged   = "theseus.io/managed"
	LabelGroup     = "theseus.io/group"
	LabelSpecHash  = "theseus.io/spec-hash"
	LabelRevision  = "theseus.io/revision"
	LabelSecretEnv = "theseus.io/secret-env"
	LabelProtect   = "theseus.io/protect"
)

// App is a Marathon app as theseus reads it (model.App). Both JSON
// generations decode to the same App.
type App = model.App

// Task is one Marathon task of an app (model.Task).
type Task = model.Task

// TaskFailure is Marathon's lastTaskFailure of an app.
type TaskFailure = model.TaskFailure

// Deployment is one deployment in flight (GET /v2/deployments).
type Deployment = model.Deployment

// DeploymentAction is one action of a deployment step.
type DeploymentAction = model.DeploymentAction

// Write is what create and update send: the full definition of a group's
// app is built from it, never from a GET of the app.
type Write = model.Write

// Result is what Marathon answered to a write.
type Result = model.Result

// EventType names a Marathon event, or EventResync.
type EventType = model.EventType

// EventResync is delivered after every (re)attach of the event stream:
// events may have been lost, so the reader must relist.
const EventResync = model.EventResync

// Event is one Marathon event as a trigger (model.Event).
type Event = model.Event
