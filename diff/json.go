package diff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"theseus.dev/specs"
)

// The JSON form of a plan is documented in docs/plan-json.md. It is stable:
// fields are only ever added. Secret values never appear in it.

// PlanKind is the "kind" of a plan document.
const PlanKind = "Plan"

type jsonPlan struct {
	APIVersion      string       `json:"apiVersion"`
	Kind            string       `json:"kind"`
	DesiredRevision int64        `json:"desiredRevision"`
	InSync          bool         `json:"inSync"`
	Pending         bool         `json:"pending"`
	Summary         map[Kind]int `json:"summary"`
	PruneRefused    string       `json:"pruneRefused,omitempty"`
	MarathonRoot    *string      `json:"marathonRoot,omitempty"`
	Scope           []jsonScoped `json:"scope,omitempty"`
	Errors          []string     `json:"errors,omitempty"`
	Actions         []jsonAction `json:"actions"`
}

type jsonScoped struct {
	Group           string `json:"group"`
	DesiredRevision int64  `json:"desiredRevision"`
}

type jsonAction struct {
	Action          Kind     `json:"action"`
	Group           string   `json:"group"`
	Service         string   `json:"service"`
	Labels          []string `json:"labels"`
	AppID           string   `json:"appId,omitempty"`
	DesiredRevision int64    `json:"desiredRevision,omitempty"`
	MarathonVersion string   `json:"marathonVersion,omitempty"`
	SpecHash        string   `json:"specHash,omitempty"`
	Deployments     []string `json:"deployments,omitempty"`
	Drift           bool     `json:"drift,omitempty"`
	Force           bool     `json:"force,omitempty"`
	HeldBack        Hold     `json:"heldBack,omitempty"`
	Restart         string   `json:"restart,omitempty"`
	Reason          string   `json:"reason,omitempty"`
	Errors          []string `json:"errors,omitempty"`
	Changes         []Change `json:"changes,omitempty"`
}

// MarshalJSON writes the documented JSON form.
func (p *Plan) MarshalJSON() ([]byte, error) {
	out := jsonPlan{
		APIVersion:      specs.APIVersion,
		Kind:            PlanKind,
		DesiredRevision: p.DesiredRevision,
		InSync:          p.InSync(),
		Pending:         p.Pending(),
		Summary:         make(map[Kind]int, len(kindOrder)),
		PruneRefused:    p.PruneRefused,
		MarathonRoot:    p.MarathonRoot,
		Errors:          p.Errors,
		Actions:         make([]jsonAction, 0, len(p.Actions)),
	}
	for _, k := range kindOrder {
		out.Summary[k] = 0
	}
	for k, n := range p.Counts() {
		out.Summary[k] = n
	}
	for _, s := range p.Scope {
		out.Scope = append(out.Scope, jsonScoped{Group: s.Key.String(), DesiredRevision: s.Revision})
	}
	for _, a := range p.Actions {
		out.Actions = append(out.Actions, jsonAction{
			Action: a.Kind, Group: a.Key.String(), Service: a.Key.Service, Labels: a.Key.LabelSet(),
			AppID: a.AppID, DesiredRevision: a.Revision, MarathonVersion: a.Version, SpecHash: a.Hash,
			Deployments: a.Deployments, Drift: a.Drift, Force: a.Force, HeldBack: a.HeldBack, Restart: a.Restart, Reason: a.Reason,
			Errors: a.Errors, Changes: a.Changes,
		})
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads a plan written by MarshalJSON, strictly: unknown
// fields, a wrong kind or an unknown action are errors. The actions of a
// decoded plan carry no Spec; a saved plan is checked against a fresh one
// with Stale and the fresh one is executed.
func (p *Plan) UnmarshalJSON(data []byte) error {
	var in jsonPlan
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	if in.APIVersion != specs.APIVersion || in.Kind != PlanKind {
		return fmt.Errorf("plan: want apiVersion %q and kind %q, got %q and %q", specs.APIVersion, PlanKind, in.APIVersion, in.Kind)
	}
	out := Plan{DesiredRevision: in.DesiredRevision, PruneRefused: in.PruneRefused, MarathonRoot: in.MarathonRoot, Errors: in.Errors}
	for i, s := range in.Scope {
		k, err := specs.ParseGroupKey(s.Group)
		if err != nil {
			return fmt.Errorf("plan: scope[%d]: %w", i, err)
		}
		out.Scope = append(out.Scope, Scoped{Key: k, Revision: s.DesiredRevision})
	}
	for i, a := range in.Actions {
		if !slices.Contains(kindOrder, a.Action) {
			return fmt.Errorf("plan: actions[%d]: unknown action %q", i, a.Action)
		}
		k, err := specs.ParseGroupKey(a.Group)
		if err != nil {
			return fmt.Errorf("plan: actions[%d]: %w", i, err)
		}
		out.Actions = append(out.Actions, Action{
			Kind: a.Action, Key: k, AppID: a.AppID, Revision: a.DesiredRevision, Version: a.MarathonVersion,
			Hash: a.SpecHash, Deployments: a.Deployments, Drift: a.Drift, Force: a.Force, HeldBack: a.HeldBack, Restart: a.Restart,
			Reason: a.Reason, Errors: a.Errors, Changes: a.Changes,
		})
	}
	*p = out
	return nil
}
