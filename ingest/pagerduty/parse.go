package pagerduty

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/ingest"
)

// Event types that become facts.
const (
	EventTriggered       = "incident.triggered"
	EventAcknowledged    = "incident.acknowledged"
	EventResolved        = "incident.resolved"
	EventReopened        = "incident.reopened"
	EventPriorityUpdated = "incident.priority_updated"
)

// ErrMalformed wraps every error Parse returns for a payload that is not
// JSON, not the shape a v3 webhook has, or lacks the incident's id.
var ErrMalformed = errors.New("malformed pagerduty payload")

// Parse normalizes the payload of one v3 webhook delivery of event (the
// envelope's event.event_type; when event is "" it is read from the
// payload) into facts. All times are UTC.
//
// incident.triggered, incident.acknowledged, incident.resolved,
// incident.reopened and incident.priority_updated each give one
// facts.Incident with the incident's full state as the payload tells it:
//
//   - ID is event.data.id, the same for every event of the incident.
//   - Service is event.data.service.id (the aggregator maps it to a catalog
//     service through names and aliases); Repo stays empty. The service's
//     name (event.data.service.summary) is kept as the label
//     "service_name=<name>".
//   - Title is event.data.title; URL is event.data.html_url.
//   - Severity is the incident priority's name (event.data.priority.summary,
//     e.g. "P1"); on accounts without priorities it is the urgency ("high",
//     "low").
//   - Labels: "service_name=…", "urgency=…", "team=…" (one per team),
//     "incident_type=…", each where present.
//   - CreatedAt is event.data.created_at. Payloads of older accounts do not
//     carry it: for incident.triggered the event's occurred_at is used
//     (the incident is created by that event); for other events it stays
//     zero, so an update that arrives without the triggered event before it
//     leaves the creation time unknown.
//   - UpdatedAt is event.occurred_at, so a later event always wins.
//   - State is "resolved" for incident.resolved, with ResolvedAt = occurred_at.
//     incident.reopened is "open" again with ResolvedAt zero. The other
//     events take the state from event.data.status ("resolved" or open);
//     a priority change on an already resolved incident keeps it resolved
//     but cannot restore its resolution time, which the payload lacks.
//
// PagerDuty v3 payloads carry no custom details or alert bodies, so there are
// no explicit cause references: CausedByDeployment and CausedBySHA stay
// empty and the aggregator links the incident by its service and the time
// window before CreatedAt.
//
// Any other event type (incident.annotated, service.updated, ...) gives no
// facts and no error. A payload that is not valid JSON is an error for every
// event.
func Parse(event string, payload []byte) (facts.Batch, error) {
	if !json.Valid(payload) {
		return facts.Batch{}, fmt.Errorf("%w: %s: not valid JSON", ErrMalformed, event)
	}
	if event == "" {
		var peek struct {
			Event *struct {
				EventType string `json:"event_type"`
			} `json:"event"`
		}
		if json.Unmarshal(payload, &peek) == nil && peek.Event != nil {
			event = peek.Event.EventType
		}
	}
	switch event {
	case EventTriggered, EventAcknowledged, EventResolved, EventReopened, EventPriorityUpdated:
	default:
		return facts.Batch{}, nil
	}
	var env envelope
	if err := json.Unmarshal(payload, &env); err != nil {
		return facts.Batch{}, fmt.Errorf("%w: %s: %v", ErrMalformed, event, err)
	}
	inc, err := parseIncident(event, env.Event)
	if err != nil {
		return facts.Batch{}, fmt.Errorf("%w: %s: %v", ErrMalformed, event, err)
	}
	return facts.Batch{Incidents: []facts.Incident{inc}}, nil
}

// Key is the ordering key of a delivery: the incident's service id, or the
// incident's id for events about a part of an incident (notes, responders),
// or "pagerduty".
func Key(payload []byte) string {
	var p struct {
		Event *struct {
			Data *struct {
				ID      string     `json:"id"`
				Type    string     `json:"type"`
				Service *reference `json:"service"`
				// incident_note, incident_responder, ...
				Incident *reference `json:"incident"`
			} `json:"data"`
		} `json:"event"`
	}
	if json.Unmarshal(payload, &p) != nil || p.Event == nil || p.Event.Data == nil {
		return Source
	}
	d := p.Event.Data
	switch {
	case d.Service != nil && d.Service.ID != "":
		return d.Service.ID
	case d.Type == "service" && d.ID != "":
		return d.ID
	case d.Incident != nil && d.Incident.ID != "":
		return d.Incident.ID
	}
	return Source
}

// ---- JSON shapes -------------------------------------------------------

type envelope struct {
	Event *pdEvent `json:"event"`
}

type pdEvent struct {
	ID         string          `json:"id"`
	EventType  string          `json:"event_type"`
	OccurredAt pdTime          `json:"occurred_at"`
	Data       json.RawMessage `json:"data"`
}

type reference struct {
	ID      string `json:"id"`
	Summary string `json:"summary"`
}

type incidentData struct {
	ID           string       `json:"id"`
	Type         string       `json:"type"`
	HTMLURL      string       `json:"html_url"`
	Status       string       `json:"status"`
	Title        string       `json:"title"`
	Summary      string       `json:"summary"`
	CreatedAt    pdTime       `json:"created_at"`
	Service      *reference   `json:"service"`
	Teams        []*reference `json:"teams"`
	Priority     *reference   `json:"priority"`
	Urgency      string       `json:"urgency"`
	IncidentType *struct {
		Name string `json:"name"`
	} `json:"incident_type"`
}

// pdTime reads an ISO 8601 time; null and "" are the zero time.
type pdTime struct{ time.Time }

func (t *pdTime) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("time is not a string")
	}
	s = strings.TrimSpace(s)
	if s == "" {
		t.Time = time.Time{}
		return nil
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("time %q is not ISO 8601", ingest.Truncate(s, 64))
	}
	t.Time = v.UTC()
	return nil
}

// ---- incidents ------------------------------------------------------------

func parseIncident(event string, ev *pdEvent) (facts.Incident, error) {
	if ev == nil {
		return facts.Incident{}, errors.New("no event")
	}
	var d incidentData
	if raw := bytes.TrimSpace(ev.Data); len(raw) == 0 || string(raw) == "null" {
		return facts.Incident{}, errors.New("no event.data")
	}
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		return facts.Incident{}, err
	}
	if d.ID == "" {
		return facts.Incident{}, errors.New("no event.data.id")
	}
	occurred := ev.OccurredAt.Time
	inc := facts.Incident{
		Source:    Source,
		ID:        d.ID,
		Title:     d.Title,
		State:     "open",
		URL:       d.HTMLURL,
		CreatedAt: d.CreatedAt.Time,
		UpdatedAt: occurred,
	}
	if inc.Title == "" {
		inc.Title = d.Summary
	}
	if d.Service != nil {
		inc.Service = d.Service.ID
		if d.Service.Summary != "" {
			inc.Labels = append(inc.Labels, "service_name="+d.Service.Summary)
		}
	}
	if d.Urgency != "" {
		inc.Labels = append(inc.Labels, "urgency="+d.Urgency)
	}
	for _, t := range d.Teams {
		if t != nil && t.Summary != "" {
			inc.Labels = append(inc.Labels, "team="+t.Summary)
		}
	}
	if d.IncidentType != nil && d.IncidentType.Name != "" {
		inc.Labels = append(inc.Labels, "incident_type="+d.IncidentType.Name)
	}
	if d.Priority != nil && d.Priority.Summary != "" {
		inc.Severity = d.Priority.Summary
	} else {
		inc.Severity = strings.ToLower(d.Urgency)
	}
	switch event {
	case EventTriggered:
		if inc.CreatedAt.IsZero() {
			inc.CreatedAt = occurred
		}
	case EventResolved:
		inc.State = "resolved"
		inc.ResolvedAt = occurred
	case EventReopened:
		// open again, whatever a stale status says
	default:
		if strings.EqualFold(d.Status, "resolved") {
			inc.State = "resolved"
		}
	}
	return inc, nil
}
