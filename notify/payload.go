// Package notify tells webhook receivers about changes of a group's
// phase: a JSON POST per change into Stalled, RolledBack, Failed,
// Invalid, Drifted or Paused, and per return to Synced from one of them.
// One payload suits both kinds of receiver found in the wild: it has the
// `text` a Slack-compatible incoming webhook shows, and the fields of an
// Alertmanager webhook (version 4) for receivers built for those. Its
// shape is in docs/notifications.md.
//
// A Notifier never blocks its caller: each receiver has a bounded queue
// of its own that drops its oldest notification when full, and a worker
// that delivers in order, retrying failed deliveries with backoff, so a
// receiver that is down or slow delays nothing, not even the other
// receivers. It knows only the domain (specs, model); the controller tells it
// what changed.
package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"theseus.dev/model"
	"theseus.dev/specs"
)

// Change is one change of a group's phase, as the controller tells it.
type Change = model.PhaseChange

// alertPhases are the phases a change into is told, each with the
// severity of its alert.
var alertPhases = map[specs.Phase]string{
	specs.PhaseStalled:    "critical",
	specs.PhaseFailed:     "critical",
	specs.PhaseRolledBack: "warning",
	specs.PhaseInvalid:    "warning",
	specs.PhaseDrifted:    "info",
	specs.PhasePaused:     "info",
}

// Alerting reports whether a group in phase p needs telling: it is one of
// Stalled, Failed, RolledBack, Invalid, Drifted and Paused.
func Alerting(p specs.Phase) bool { _, ok := alertPhases[p]; return ok }

// Alert names of the Alertmanager-style part of the payload.
const (
	alertName      = "TheseusGroupNotSynced"
	receiverName   = "theseus"
	amVersion      = "4"
	statusFiring   = "firing"
	statusResolved = "resolved"
)

// Payload is the JSON body POSTed for a change (docs/notifications.md).
type Payload struct {
	// Text is a one-line summary, what Slack-compatible receivers show.
	Text string `json:"text"`

	Group            string      `json:"group"`
	Service          string      `json:"service"`
	Labels           []string    `json:"labels"`
	Phase            specs.Phase `json:"phase"`
	PreviousPhase    specs.Phase `json:"previousPhase"`
	Reason           string      `json:"reason,omitempty"`
	Revision         int64       `json:"revision,omitempty"`
	FailedRevision   int64       `json:"failedRevision,omitempty"`
	RestoredRevision int64       `json:"restoredRevision,omitempty"`
	Time             time.Time   `json:"time"`

	// The fields of an Alertmanager webhook, version 4.
	Version           string            `json:"version"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []Alert           `json:"alerts"`
}

// Alert is one alert of the Alertmanager-style part: the group not being
// Synced. Its labels are the same whatever the phase, so that the alert
// a return to Synced resolves has the fingerprint of the one that fired.
type Alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// NewPayload returns the payload of c: firing for a change into an
// alerting phase, resolved for any other (a return to Synced). Its alert
// starts at c.Time; Notify sets the start of the alert it remembers.
func NewPayload(c Change) Payload {
	c.Time = c.Time.UTC()
	p := Payload{
		Text:  summary(c),
		Group: c.Group.String(), Service: c.Group.Service, Labels: c.Group.LabelSet(),
		Phase: c.To, PreviousPhase: c.From, Reason: c.Reason,
		Revision: c.Revision, FailedRevision: c.FailedRevision, RestoredRevision: c.RestoredRevision, Time: c.Time,
		Version: amVersion, Status: statusFiring, Receiver: receiverName, GroupKey: receiverName + ":" + c.Group.String(),
	}
	labels := map[string]string{"alertname": alertName, "group": p.Group, "service": p.Service, "labels": c.Group.Labels}
	annotations := map[string]string{"summary": p.Text, "phase": string(c.To), "previousPhase": string(c.From)}
	if c.Reason != "" {
		annotations["description"] = c.Reason
	}
	a := Alert{Status: statusFiring, Labels: labels, Annotations: annotations, StartsAt: c.Time, Fingerprint: fingerprint(labels)}
	if sev, ok := alertPhases[c.To]; ok {
		annotations["severity"] = sev
	} else {
		p.Status, a.Status, a.EndsAt = statusResolved, statusResolved, c.Time
	}
	p.GroupLabels = map[string]string{"alertname": alertName, "group": p.Group}
	p.CommonLabels, p.CommonAnnotations, p.Alerts = labels, annotations, []Alert{a}
	return p
}

// summary is the one line a chat shows.
func summary(c Change) string {
	var b strings.Builder
	fmt.Fprintf(&b, "theseus: %s is %s", c.Group, c.To)
	if c.From != "" {
		fmt.Fprintf(&b, " (was %s)", c.From)
	}
	if c.Reason != "" {
		b.WriteString(": " + c.Reason)
	}
	switch {
	case c.FailedRevision > 0 && c.RestoredRevision > 0:
		fmt.Fprintf(&b, " [revision %d rolled back to %d]", c.FailedRevision, c.RestoredRevision)
	case c.FailedRevision > 0:
		fmt.Fprintf(&b, " [revision %d]", c.FailedRevision)
	case c.Revision > 0:
		fmt.Fprintf(&b, " [revision %d]", c.Revision)
	}
	return b.String()
}

// fingerprint identifies an alert by its labels, as Alertmanager's does
// (not the same hash: receivers compare them, they do not compute them).
func fingerprint(labels map[string]string) string {
	h := sha256.New()
	for _, k := range []string{"alertname", "group", "service", "labels"} {
		fmt.Fprintf(h, "%s\x00%s\x00", k, labels[k])
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}
