// Package pagerduty imports PagerDuty incidents through the REST API and
// publishes them as the v3 webhook deliveries those incidents sent
// (incident.triggered, then incident.acknowledged or incident.resolved as
// the incident stands), with source "pagerduty", to the collector's topic:
// the aggregator computes time to restore from history and live events one
// way. Delivery ids are derived from the incident and the time of the event,
// so a rerun publishes the same ids.
package pagerduty

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	pd "github.com/PagerDuty/go-pagerduty"

	"github.com/doraflow/doraflow/backfill"
	"github.com/doraflow/doraflow/delivery"
	"github.com/doraflow/doraflow/githubapi"
	"github.com/doraflow/doraflow/ingest"
	ingestpd "github.com/doraflow/doraflow/ingest/pagerduty"
)

// TokenEnv holds the PagerDuty REST API token (read-only access suffices).
const TokenEnv = "DORA_PAGERDUTY_TOKEN"

// DefaultWindow is the period one list of incidents covers. PagerDuty
// pages a list at most 10,000 incidents deep; a window holding more is
// split in halves.
const DefaultWindow = 30 * 24 * time.Hour

// maxOffset is how deep PagerDuty lets a list be paged (a variable for tests).
var maxOffset uint = 10000

// Config is one import.
type Config struct {
	Client       *pd.Client
	Since, Until time.Time // Until zero: now
	Window       time.Duration
	ServiceIDs   []string // only these services, when set
	Publisher    ingest.Publisher
	Checkpoints  *backfill.Checkpoints
	Clock        githubapi.Clock
	// Progress hears about every window imported.
	Progress func(from, to time.Time, incidents int, skipped bool)
}

// Summary is what an import did.
type Summary struct {
	Windows    int
	Skipped    int
	Incidents  int
	Deliveries int
	Events     map[string]int
}

var errTooDeep = errors.New("more incidents than one list can page through")

// Run imports the incidents created in [Since, Until), window by window,
// each published completely before it is checkpointed.
func Run(ctx context.Context, cfg Config) (Summary, error) {
	sum := Summary{Events: map[string]int{}}
	if cfg.Client == nil || cfg.Publisher == nil || cfg.Checkpoints == nil {
		return sum, errors.New("backfill pagerduty: a client, a publisher and checkpoints are required")
	}
	clock := cfg.Clock
	if clock == nil {
		clock = githubapi.RealClock{}
	}
	until := cfg.Until
	if until.IsZero() {
		until = clock.Now()
	}
	window := cfg.Window
	if window <= 0 {
		window = DefaultWindow
	}
	if !cfg.Since.Before(until) {
		return sum, fmt.Errorf("backfill pagerduty: since (%s) is not before until (%s)", cfg.Since.Format(time.RFC3339), until.Format(time.RFC3339))
	}
	for from := cfg.Since.UTC(); from.Before(until); from = from.Add(window) {
		to := from.Add(window)
		if to.After(until) {
			to = until.UTC()
		}
		kind := "incidents " + from.Format(time.RFC3339) + " " + to.Format(time.RFC3339)
		sum.Windows++
		if cp := cfg.Checkpoints.Get(ingestpd.Source, kind); cp.Done && cfg.Checkpoints.Resumed {
			sum.Skipped++
			if cfg.Progress != nil {
				cfg.Progress(from, to, cp.Items, true)
			}
			continue
		}
		incs, err := incidents(ctx, cfg, from, to)
		if err != nil {
			return sum, err
		}
		var ds []delivery.Delivery
		for _, inc := range incs {
			for _, ev := range events(inc) {
				d, err := toDelivery(ev, clock.Now())
				if err != nil {
					return sum, err
				}
				ds = append(ds, d)
			}
		}
		for _, d := range ds {
			if err := cfg.Publisher.Publish(ctx, d); err != nil {
				return sum, fmt.Errorf("backfill pagerduty: publish: %w", err)
			}
			sum.Events[d.Event]++
		}
		sum.Incidents += len(incs)
		sum.Deliveries += len(ds)
		if err := cfg.Checkpoints.Done(ingestpd.Source, kind, "", len(incs), clock.Now()); err != nil {
			return sum, err
		}
		if cfg.Progress != nil {
			cfg.Progress(from, to, len(incs), false)
		}
	}
	return sum, cfg.Checkpoints.Finish()
}

// incidents lists the incidents created in [from, to), splitting the
// window when it holds more than a list can page through.
func incidents(ctx context.Context, cfg Config, from, to time.Time) ([]pd.Incident, error) {
	var out []pd.Incident
	opts := pd.ListIncidentsOptions{Limit: 100, Since: from.Format(time.RFC3339), Until: to.Format(time.RFC3339),
		Statuses: []string{"triggered", "acknowledged", "resolved"}, ServiceIDs: cfg.ServiceIDs, TimeZone: "UTC"}
	for {
		resp, err := cfg.Client.ListIncidentsWithContext(ctx, opts)
		if err != nil {
			return nil, explain(err, fmt.Sprintf("list the incidents created from %s to %s", opts.Since, opts.Until))
		}
		out = append(out, resp.Incidents...)
		if !resp.More || len(resp.Incidents) == 0 {
			return out, nil
		}
		opts.Offset += uint(len(resp.Incidents))
		if opts.Offset+opts.Limit > maxOffset {
			if to.Sub(from) < 2*time.Minute {
				return nil, fmt.Errorf("backfill pagerduty: %w between %s and %s", errTooDeep, opts.Since, opts.Until)
			}
			mid := from.Add(to.Sub(from) / 2).Truncate(time.Second)
			a, err := incidents(ctx, cfg, from, mid)
			if err != nil {
				return nil, err
			}
			b, err := incidents(ctx, cfg, mid, to)
			if err != nil {
				return nil, err
			}
			return append(a, b...), nil
		}
	}
}

// explain names the fix for PagerDuty's error answers.
func explain(err error, what string) error {
	var ae pd.APIError
	if errors.As(err, &ae) {
		switch ae.StatusCode {
		case http.StatusUnauthorized:
			return fmt.Errorf("%s: PagerDuty refused the token (401): set %s to a valid REST API token", what, TokenEnv)
		case http.StatusForbidden:
			return fmt.Errorf("%s: the token may not read incidents (403): use a token of a user or an account-level read-only token", what)
		}
		return fmt.Errorf("%s: PagerDuty answered %d: %v", what, ae.StatusCode, err)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("%s: the answer is not complete JSON (a truncated page?): %w", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// event is one v3 webhook event.
type event struct {
	ID           string    `json:"id"`
	EventType    string    `json:"event_type"`
	ResourceType string    `json:"resource_type"`
	OccurredAt   string    `json:"occurred_at"`
	Agent        any       `json:"agent"`
	Client       any       `json:"client"`
	Data         eventData `json:"data"`
}

type reference struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Summary string `json:"summary"`
	HTMLURL string `json:"html_url,omitempty"`
}

type eventData struct {
	ID             string      `json:"id"`
	Type           string      `json:"type"`
	Self           string      `json:"self,omitempty"`
	HTMLURL        string      `json:"html_url"`
	Number         uint        `json:"number"`
	Status         string      `json:"status"`
	IncidentKey    string      `json:"incident_key,omitempty"`
	CreatedAt      string      `json:"created_at"`
	Title          string      `json:"title"`
	Service        reference   `json:"service"`
	Assignees      []reference `json:"assignees"`
	EscalationPol  *reference  `json:"escalation_policy,omitempty"`
	Teams          []reference `json:"teams"`
	Priority       *reference  `json:"priority"`
	Urgency        string      `json:"urgency"`
	ConferenceInfo any         `json:"conference_bridge"`
	ResolveReason  any         `json:"resolve_reason"`
}

// events are the webhook events an incident's current state implies.
func events(inc pd.Incident) []event {
	data := eventData{ID: inc.ID, Type: "incident", Self: inc.Self, HTMLURL: inc.HTMLURL, Number: inc.IncidentNumber,
		Status: inc.Status, IncidentKey: inc.IncidentKey, CreatedAt: inc.CreatedAt, Title: inc.Title, Urgency: inc.Urgency,
		Service:   reference{ID: inc.Service.ID, Type: "service_reference", Summary: inc.Service.Summary, HTMLURL: inc.Service.HTMLURL},
		Assignees: []reference{}, Teams: []reference{}}
	for _, t := range inc.Teams {
		data.Teams = append(data.Teams, reference{ID: t.ID, Type: "team_reference", Summary: t.Summary, HTMLURL: t.HTMLURL})
	}
	if p := inc.Priority; p != nil && p.ID != "" {
		name := p.Summary
		if name == "" {
			name = p.Name
		}
		data.Priority = &reference{ID: p.ID, Type: "priority_reference", Summary: name}
	}
	at := func(s ...string) string {
		for _, v := range s {
			if v != "" {
				return v
			}
		}
		return ""
	}
	out := []event{{EventType: ingestpd.EventTriggered, OccurredAt: inc.CreatedAt}}
	switch inc.Status {
	case "resolved":
		out = append(out, event{EventType: ingestpd.EventResolved, OccurredAt: at(inc.ResolvedAt, inc.LastStatusChangeAt, inc.UpdatedAt)})
	case "acknowledged":
		out = append(out, event{EventType: ingestpd.EventAcknowledged, OccurredAt: at(inc.LastStatusChangeAt, inc.UpdatedAt)})
	}
	for i := range out {
		out[i].ResourceType, out[i].Data = "incident", data
		stamp := out[i].OccurredAt
		if t, err := time.Parse(time.RFC3339, stamp); err == nil {
			stamp = strconv.FormatInt(t.Unix(), 10)
		}
		out[i].ID = "backfill:" + out[i].EventType + ":" + inc.ID + "@" + stamp
	}
	return out
}

func toDelivery(ev event, now time.Time) (delivery.Delivery, error) {
	b, err := json.Marshal(map[string]any{"event": ev})
	if err != nil {
		return delivery.Delivery{}, err
	}
	return delivery.Delivery{Source: ingestpd.Source, Event: ev.EventType, ID: ev.ID, ReceivedAt: now.UTC(),
		Key: ingestpd.Key(b), Payload: b}, nil
}
