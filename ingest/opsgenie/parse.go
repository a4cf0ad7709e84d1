package opsgenie

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/ingest"
)

// Alert actions that become facts.
const (
	ActionCreate      = "Create"
	ActionAcknowledge = "Acknowledge"
	ActionClose       = "Close"
)

// ErrMalformed wraps every error Parse returns for a payload that is not
// JSON, not the shape an alert action has, or lacks the alert's id.
var ErrMalformed = errors.New("malformed opsgenie payload")

// Explicit cause references, read from the alert's details (sent with Create
// when "Add Alert Details to Payload" is checked) and from its tags written
// as key:value or key=value (sent with every action). Keys are compared
// case-insensitively; the first non-empty value wins, details before tags.
var (
	// DeploymentRefKeys name a deployment id.
	DeploymentRefKeys = []string{"deployment_id", "caused_by_deployment"}
	// CommitRefKeys name a commit SHA (7 to 64 hex digits).
	CommitRefKeys = []string{"commit_sha", "caused_by_sha"}
)

// ServiceTagPrefix marks the tag that names an alert's service.
const ServiceTagPrefix = "service:"

// Parse normalizes the payload of one webhook delivery of event (the alert
// action, e.g. "Create"; when event is "" it is read from the payload) into
// facts. All times are UTC.
//
// Create, Acknowledge and Close each give one facts.Incident with the state
// the payload tells:
//
//   - ID is alert.alertId, the same for every action on the alert.
//   - Service, in this order: the alert's entity when set; else the first
//     tag of the form "service:<name>"; else the first of the alert's teams;
//     else the first of its responders (a name, or an id where Opsgenie
//     sends only ids). Repo stays empty.
//   - Title is alert.message; Labels are alert.tags.
//   - Severity is alert.priority ("P1".."P5"; a bare number n becomes "Pn").
//   - CreatedAt is alert.createdAt (epoch milliseconds).
//   - UpdatedAt is alert.updatedAt, the time of the action (Opsgenie sends
//     epoch nanoseconds there; seconds, milliseconds and microseconds are
//     recognised by magnitude), or CreatedAt when it is missing.
//   - Create and Acknowledge are "open"; Close is "resolved" with
//     ResolvedAt = UpdatedAt.
//   - CausedByDeployment and CausedBySHA come from the details and tags
//     named by DeploymentRefKeys and CommitRefKeys.
//
// Opsgenie sends details and the description with Create (and custom
// actions) only, and the vendor's examples show Acknowledge and Close
// without teams or priority. Each action re-emits only what its payload
// holds, so a reference kept in details, or a service known only from a
// team, is absent from the later rows; tags travel with every action and
// are the reliable place for "service:<name>" and "commit_sha:<sha>".
//
// Every other action (AddNote, UnAcknowledge, Delete, ...) gives no facts and
// no error. A payload that is not valid JSON is an error for every action.
func Parse(event string, payload []byte) (facts.Batch, error) {
	if !json.Valid(payload) {
		return facts.Batch{}, fmt.Errorf("%w: %s: not valid JSON", ErrMalformed, event)
	}
	if event == "" {
		var peek struct {
			Action string `json:"action"`
		}
		if json.Unmarshal(payload, &peek) == nil {
			event = peek.Action
		}
	}
	action := canonicalAction(event)
	if action == "" {
		return facts.Batch{}, nil
	}
	var p payloadShape
	if err := json.Unmarshal(payload, &p); err != nil {
		return facts.Batch{}, fmt.Errorf("%w: %s: %v", ErrMalformed, event, err)
	}
	inc, err := parseAlert(action, p.Alert)
	if err != nil {
		return facts.Batch{}, fmt.Errorf("%w: %s: %v", ErrMalformed, event, err)
	}
	return facts.Batch{Incidents: []facts.Incident{inc}}, nil
}

// Key is the ordering key of a delivery: the alert's id, the same in every
// action on the alert, so that its Create, Acknowledge and Close stay in
// order on one partition (the later actions often name no team, from which
// the service is known); else the alert's service (as Parse resolves it);
// else "opsgenie".
func Key(payload []byte) string {
	var p struct {
		Alert *struct {
			AlertID    string            `json:"alertId"`
			Entity     string            `json:"entity"`
			Tags       []json.RawMessage `json:"tags"`
			Teams      []json.RawMessage `json:"teams"`
			Responders []json.RawMessage `json:"responders"`
		} `json:"alert"`
	}
	if json.Unmarshal(payload, &p) != nil || p.Alert == nil {
		return Source
	}
	if p.Alert.AlertID != "" {
		return p.Alert.AlertID
	}
	var tags []string
	for _, t := range p.Alert.Tags {
		var s string
		if json.Unmarshal(t, &s) == nil {
			tags = append(tags, s)
		}
	}
	if s := service(p.Alert.Entity, tags, p.Alert.Teams, p.Alert.Responders); s != "" {
		return s
	}
	return Source
}

func canonicalAction(event string) string {
	for _, a := range []string{ActionCreate, ActionAcknowledge, ActionClose} {
		if strings.EqualFold(strings.TrimSpace(event), a) {
			return a
		}
	}
	return ""
}

// ---- JSON shapes -------------------------------------------------------

type payloadShape struct {
	Action string     `json:"action"`
	Alert  *alertData `json:"alert"`
}

type alertData struct {
	AlertID    string                     `json:"alertId"`
	Message    string                     `json:"message"`
	Entity     string                     `json:"entity"`
	Tags       []string                   `json:"tags"`
	Teams      []json.RawMessage          `json:"teams"`
	Responders []json.RawMessage          `json:"responders"`
	Priority   json.RawMessage            `json:"priority"`
	CreatedAt  epoch                      `json:"createdAt"`
	UpdatedAt  epoch                      `json:"updatedAt"`
	Details    map[string]json.RawMessage `json:"details"`
}

// epoch reads a time sent as a number (or a string holding one) since the
// Unix epoch, in seconds, milliseconds, microseconds or nanoseconds told
// apart by magnitude. null, "", 0 and negative values are the zero time.
type epoch struct{ time.Time }

func (t *epoch) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	t.Time = time.Time{}
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	s := string(b)
	if b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return nil
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		t.Time = fromEpoch(n)
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) >= math.MaxInt64 {
		return fmt.Errorf("time %q is not an epoch number", ingest.Truncate(s, 32))
	}
	t.Time = fromEpoch(int64(f))
	return nil
}

func fromEpoch(n int64) time.Time {
	switch {
	case n <= 0:
		return time.Time{}
	case n >= 1e17:
		return time.Unix(0, n).UTC()
	case n >= 1e14:
		return time.UnixMicro(n).UTC()
	case n >= 1e11:
		return time.UnixMilli(n).UTC()
	default:
		return time.Unix(n, 0).UTC()
	}
}

// ---- alerts -------------------------------------------------------------

func parseAlert(action string, a *alertData) (facts.Incident, error) {
	if a == nil {
		return facts.Incident{}, errors.New("no alert")
	}
	id := strings.TrimSpace(a.AlertID)
	if id == "" {
		return facts.Incident{}, errors.New("no alert.alertId")
	}
	inc := facts.Incident{
		Source:    Source,
		ID:        id,
		Service:   service(a.Entity, a.Tags, a.Teams, a.Responders),
		Title:     strings.TrimSpace(a.Message),
		State:     "open",
		Severity:  priority(a.Priority),
		Labels:    nonEmpty(a.Tags),
		CreatedAt: a.CreatedAt.Time,
		UpdatedAt: a.UpdatedAt.Time,
	}
	if inc.UpdatedAt.IsZero() {
		inc.UpdatedAt = inc.CreatedAt
	}
	if action == ActionClose {
		inc.State = "resolved"
		inc.ResolvedAt = a.UpdatedAt.Time
	}
	inc.CausedByDeployment, inc.CausedBySHA = refs(a.Details, a.Tags)
	return inc, nil
}

// service resolves an alert's service: entity, then a "service:<name>" tag,
// then the first team, then the first responder.
func service(entity string, tags []string, teams, responders []json.RawMessage) string {
	if e := strings.TrimSpace(entity); e != "" {
		return e
	}
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if len(t) > len(ServiceTagPrefix) && strings.EqualFold(t[:len(ServiceTagPrefix)], ServiceTagPrefix) {
			if name := strings.TrimSpace(t[len(ServiceTagPrefix):]); name != "" {
				return name
			}
		}
	}
	for _, list := range [][]json.RawMessage{teams, responders} {
		for _, r := range list {
			if name := participantName(r); name != "" {
				return name
			}
		}
	}
	return ""
}

// participantName reads a team or responder sent as a string or as an
// object with a name (or, failing that, an id).
func participantName(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	var o struct {
		Name string `json:"name"`
		ID   string `json:"id"`
	}
	if json.Unmarshal(raw, &o) != nil {
		return ""
	}
	if n := strings.TrimSpace(o.Name); n != "" {
		return n
	}
	return strings.TrimSpace(o.ID)
}

// priority reads "P1".."P5" (any case) or a bare number.
func priority(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		var n json.Number
		if json.Unmarshal(raw, &n) != nil {
			return ""
		}
		s = n.String()
	}
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) == 1 && s[0] >= '0' && s[0] <= '9' {
		return "P" + s
	}
	return s
}

func refs(details map[string]json.RawMessage, tags []string) (deployment, sha string) {
	names := make([]string, 0, len(details))
	for k := range details {
		names = append(names, k)
	}
	sort.Strings(names)
	lookup := func(keys []string, valid func(string) (string, bool)) string {
		for _, want := range keys {
			for _, k := range names {
				if !strings.EqualFold(strings.TrimSpace(k), want) {
					continue
				}
				if v, ok := valid(scalar(details[k])); ok {
					return v
				}
			}
		}
		for _, want := range keys {
			for _, t := range tags {
				k, v, ok := cutAny(t, ":=")
				if ok && strings.EqualFold(strings.TrimSpace(k), want) {
					if v, ok := valid(v); ok {
						return v
					}
				}
			}
		}
		return ""
	}
	deployment = lookup(DeploymentRefKeys, ingest.ValidDeploymentID)
	sha = lookup(CommitRefKeys, ingest.ValidSHA)
	return deployment, sha
}

// scalar is a JSON string's or number's text, else "".
func scalar(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

func cutAny(s, seps string) (before, after string, found bool) {
	if i := strings.IndexAny(s, seps); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}

func nonEmpty(xs []string) []string {
	var out []string
	for _, x := range xs {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
