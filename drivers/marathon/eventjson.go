package marathon

import (
	"cmp"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"

	"theseus.dev/specs"
)

// eventJSON holds the fields of every event type that theseus reads.
// Which key carries the app and the task moved between Marathon versions:
// appId or runSpecId, taskId or instanceId, alive or healthy.
type eventJSON struct {
	EventType     string    `json:"eventType"`
	Timestamp     string    `json:"timestamp"`
	AppID         string    `json:"appId"`
	RunSpecID     string    `json:"runSpecId"`
	TaskID        string    `json:"taskId"`
	InstanceID    string    `json:"instanceId"`
	TaskStatus    string    `json:"taskStatus"`
	Host          string    `json:"host"`
	Ports         []int     `json:"ports"`
	Version       string    `json:"version"`
	RunSpecVer    string    `json:"runSpecVersion"`
	Alive         *bool     `json:"alive"`
	Healthy       *bool     `json:"healthy"`
	ID            string    `json:"id"`
	Plan          *planJSON `json:"plan"`
	CurrentStep   *stepJSON `json:"currentStep"`
	AppDefinition *idJSON   `json:"appDefinition"`
}

// planJSON is a deployment plan of an event. Its steps are
// [{"actions":[...]}] in 1.x code, [[...]] before 1.0, and a flat list of
// actions in the documentation's samples; the group trees that ≤1.7 adds
// are not decoded.
type planJSON struct {
	ID    string          `json:"id"`
	Steps json.RawMessage `json:"steps"`
}

type stepJSON struct {
	Actions []actionJSON `json:"actions"`
	// The documentation's samples list actions as steps.
	actionJSON
}

// actionJSON is one action; 1.1.1 and before said "type" for "action".
type actionJSON struct {
	Action string `json:"action"`
	Type   string `json:"type"`
	App    string `json:"app"`
}

// DecodeEvent decodes the data of one Marathon event whose SSE name is
// name (it may be "": the type is in the data too) into a trigger for the
// apps under root. ok is false when data is neither a JSON object nor
// named: there is nothing to pass on. A field of an unexpected type is
// skipped, not fatal; data too large to read (nil) gives an Event with its
// Type only.
func DecodeEvent(root, name string, data []byte) (ev Event, ok bool) {
	j := readEventJSON(data)
	t := j.EventType
	if t == "" {
		t = name
	}
	if t == "" {
		return Event{}, false
	}
	ev = Event{Type: EventType(t), AppID: j.AppID, TaskID: j.TaskID, TaskStatus: j.TaskStatus,
		Host: j.Host, Ports: j.Ports, Version: j.Version, Alive: j.Alive, Timestamp: parseTime(j.Timestamp)}
	switch {
	case ev.AppID != "":
	case j.RunSpecID != "":
		ev.AppID = j.RunSpecID
	case j.AppDefinition != nil:
		ev.AppID = j.AppDefinition.ID
	}
	if ev.TaskID == "" {
		ev.TaskID = j.InstanceID
	}
	if ev.Version == "" {
		ev.Version = j.RunSpecVer
	}
	if ev.Alive == nil {
		ev.Alive = j.Healthy
	}
	if strings.HasPrefix(t, "deployment_") {
		ev.DeploymentID = j.ID
		if j.Plan != nil {
			ev.DeploymentID = cmp.Or(j.Plan.ID, ev.DeploymentID)
			ev.Apps = stepApps(j.Plan.Steps, ev.Apps)
		}
		if j.CurrentStep != nil {
			ev.Apps = actionApps(j.CurrentStep.Actions, ev.Apps)
		}
		if ev.AppID == "" && len(ev.Apps) == 1 {
			ev.AppID = ev.Apps[0]
		}
	}
	if ev.AppID != "" {
		if k, err := specs.ParseAppID(root, ev.AppID); err == nil {
			ev.Key, ev.KeyOK = k, true
		}
	}
	return ev, true
}

// readEventJSON reads the members of data that theseus uses. A member of
// an unexpected type is skipped, as encoding/json does; data that is not
// a JSON object gives nothing.
func readEventJSON(data []byte) eventJSON {
	var j eventJSON
	if err := unmarshalV1(data, &j); err != nil {
		if _, typeErr := errors.AsType[*json.UnmarshalTypeError](err); !typeErr {
			return eventJSON{}
		}
	}
	return j
}

// stepApps adds the apps named by a plan's steps, in any of their shapes.
func stepApps(raw json.RawMessage, apps []string) []string {
	var steps []stepJSON
	var nested [][]actionJSON
	switch {
	case len(raw) == 0:
	case jsonv2.Unmarshal(raw, &steps, v1Options) == nil:
		for _, s := range steps {
			apps = actionApps(append(s.Actions, s.actionJSON), apps)
		}
	case jsonv2.Unmarshal(raw, &nested, v1Options) == nil:
		for _, s := range nested {
			apps = actionApps(s, apps)
		}
	}
	return apps
}

func actionApps(actions []actionJSON, apps []string) []string {
	for _, a := range actions {
		if a.App != "" && !slices.Contains(apps, a.App) {
			apps = append(apps, a.App)
		}
	}
	return apps
}
