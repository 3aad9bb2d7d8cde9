package diff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

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
	Summary         map[Kind]int `json:"summary"`
	PruneRefused    string       `json:"pruneRefused,omitempty"`
	Actions         []jsonAction `json:"actions"`
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
		InSync:          !p.Pending(),
		Summary:         make(map[Kind]int, len(kindOrder)),
		PruneRefused:    p.PruneRefused,
		Actions:         make([]jsonAction, 0, len(p.Actions)),
	}
	for _, k := range kindOrder {
		out.Summary[k] = 0
	}
	for k, n := range p.Counts() {
		out.Summary[k] = n
	}
	for _, a := range p.Actions {
		out.Actions = append(out.Actions, jsonAction{
			Action: a.Kind, Group: a.Key.String(), Service: a.Key.Service, Labels: a.Key.LabelSet(),
			AppID: a.AppID, DesiredRevision: a.Revision, MarathonVersion: a.Version, SpecHash: a.Hash,
			Deployments: a.Deployments, Drift: a.Drift, Restart: a.Restart, Reason: a.Reason,
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
	out := Plan{DesiredRevision: in.DesiredRevision, PruneRefused: in.PruneRefused}
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
			Hash: a.SpecHash, Deployments: a.Deployments, Drift: a.Drift, Restart: a.Restart,
			Reason: a.Reason, Errors: a.Errors, Changes: a.Changes,
		})
	}
	*p = out
	return nil
}

// Stale compares a saved plan with one computed now and returns an error
// naming what moved when they differ in anything that decides what would be
// done: the set of groups acted on, an action's kind, the /desired revision
// of its spec, the spec hash, or the Marathon version of its app. A saved
// plan is applied only when Stale returns nil.
func Stale(saved, now *Plan) error {
	type entry struct {
		kind     Kind
		revision int64
		hash     string
		version  string
	}
	index := func(p *Plan) map[specs.GroupKey]entry {
		m := make(map[specs.GroupKey]entry, len(p.Actions))
		for _, a := range p.Actions {
			if a.Kind.Mutates() {
				m[a.Key] = entry{a.Kind, a.Revision, a.Hash, a.Version}
			}
		}
		return m
	}
	was, is := index(saved), index(now)
	var moved []string
	for k, e := range was {
		n, ok := is[k]
		switch {
		case !ok:
			moved = append(moved, fmt.Sprintf("%s: was %s, now nothing to do", k, e.kind))
		case n != e:
			moved = append(moved, fmt.Sprintf("%s: was %s of revision %d on app version %q, now %s of revision %d on app version %q",
				k, e.kind, e.revision, e.version, n.kind, n.revision, n.version))
		}
	}
	for k, n := range is {
		if _, ok := was[k]; !ok {
			moved = append(moved, fmt.Sprintf("%s: now %s, not in the saved plan", k, n.kind))
		}
	}
	if len(moved) == 0 {
		return nil
	}
	slices.Sort(moved)
	return &StaleError{Moved: moved}
}

// StaleError says that a saved plan no longer matches what would be done.
type StaleError struct {
	Moved []string // one line per group that moved
}

func (e *StaleError) Error() string {
	return "plan is stale; run plan again:\n  " + strings.Join(e.Moved, "\n  ")
}
