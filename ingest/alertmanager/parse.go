package alertmanager

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/ingest"
)

// Version is the webhook payload version this parser reads.
const Version = "4"

// Options tune how payloads become facts.
type Options struct {
	// ServiceLabel is the alert label that names the service. ""
	// means DefaultServiceLabels, tried in order.
	ServiceLabel string
}

// DefaultServiceLabels are tried in order when Options.ServiceLabel is "".
var DefaultServiceLabels = []string{"service", "job"}

func (o Options) serviceLabels() []string {
	if o.ServiceLabel != "" {
		return []string{o.ServiceLabel}
	}
	return DefaultServiceLabels
}

// Explicit cause references, read from an alert's annotations and then its
// labels. Names are compared case-insensitively; the first valid value wins.
var (
	// DeploymentRefKeys name a deployment id.
	DeploymentRefKeys = []string{"deployment_id", "caused_by_deployment"}
	// CommitRefKeys name a commit SHA (7 to 64 hex digits).
	CommitRefKeys = []string{"commit_sha", "caused_by_sha"}
)

// ErrMalformed wraps every error Parse returns for a payload that is not
// JSON, not the shape of a version 4 notification, or has an alert without
// its start time.
var ErrMalformed = errors.New("malformed alertmanager payload")

// Parse normalizes one webhook notification (event EventNotification, or
// "") into facts. All times are UTC.
//
// A notification carries the alerts of one group; each alert gives one
// facts.Incident:
//
//   - ID is the alert's fingerprint + "@" + its startsAt in Unix seconds:
//     the same alert firing again after it was resolved has a new startsAt
//     and is a new incident, while every notification about one firing
//     (repeats, the resolution) has the same id. A missing fingerprint is
//     computed from the labels as Alertmanager does.
//   - Service is the value of the label named by Options.ServiceLabel
//     (default: "service", else "job"); Repo stays empty.
//   - Title is the "summary" annotation, else the "alertname" label.
//   - Severity is the "severity" label, lower-cased.
//   - Labels are the alert's labels as "name=value", sorted by name.
//   - URL is the generatorURL.
//   - CreatedAt is startsAt.
//   - State is "resolved" when the alert's status is resolved, with
//     ResolvedAt = endsAt (never before startsAt; zero when Alertmanager
//     sent no endsAt). A firing alert's endsAt is only Alertmanager's resolve
//     timeout, never a resolution, and is ignored.
//   - UpdatedAt is startsAt while firing and endsAt once resolved, but
//     always at least one millisecond after startsAt for a resolved alert,
//     so that the resolution wins over every firing row in storage (which
//     versions rows by UpdatedAt in milliseconds).
//   - CausedByDeployment and CausedBySHA come from the annotations, then the
//     labels, named by DeploymentRefKeys and CommitRefKeys.
//
// Notifications of another payload version, and any other event, give no
// facts and no error. Alerts cut by max_alerts (truncatedAlerts) are not in
// the payload and give nothing until a later notification carries them.
func Parse(event string, payload []byte, opts Options) (facts.Batch, error) {
	if !json.Valid(payload) {
		return facts.Batch{}, fmt.Errorf("%w: not valid JSON", ErrMalformed)
	}
	if event != "" && event != EventNotification {
		return facts.Batch{}, nil
	}
	var peek struct {
		Version json.RawMessage `json:"version"`
	}
	if err := json.Unmarshal(payload, &peek); err != nil {
		return facts.Batch{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	var version string
	if json.Unmarshal(peek.Version, &version) != nil || version != Version {
		return facts.Batch{}, nil
	}
	var n notification
	if err := json.Unmarshal(payload, &n); err != nil {
		return facts.Batch{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	var b facts.Batch
	for i, a := range n.Alerts {
		if a == nil {
			return facts.Batch{}, fmt.Errorf("%w: alert %d is null", ErrMalformed, i)
		}
		inc, err := parseAlert(a, n.Status, opts)
		if err != nil {
			return facts.Batch{}, fmt.Errorf("%w: alert %d: %v", ErrMalformed, i, err)
		}
		b.Incidents = append(b.Incidents, inc)
	}
	return b, nil
}

// Key is the ordering key of a delivery: the service named by the group's
// labels, else by the labels all its alerts share, else the group key, else
// "alertmanager". A group's labels are the same in every notification of
// the group, so its alerts stay in order.
func Key(payload []byte, opts Options) string {
	var p struct {
		GroupKey     string            `json:"groupKey"`
		GroupLabels  map[string]string `json:"groupLabels"`
		CommonLabels map[string]string `json:"commonLabels"`
	}
	if json.Unmarshal(payload, &p) != nil {
		return Source
	}
	for _, labels := range []map[string]string{p.GroupLabels, p.CommonLabels} {
		if s := lookup(labels, opts.serviceLabels()); s != "" {
			return s
		}
	}
	if p.GroupKey != "" {
		return p.GroupKey
	}
	return Source
}

// ---- JSON shapes -------------------------------------------------------

type notification struct {
	Version string   `json:"version"`
	Status  string   `json:"status"`
	Alerts  []*alert `json:"alerts"`
}

type alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     amTime            `json:"startsAt"`
	EndsAt       amTime            `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// amTime reads an RFC 3339 time; null, "" and Go's zero time
// ("0001-01-01T00:00:00Z") are the zero time.
type amTime struct{ time.Time }

func (t *amTime) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	t.Time = time.Time{}
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("time is not a string")
	}
	if s = strings.TrimSpace(s); s == "" {
		return nil
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("time %q is not RFC 3339", ingest.Truncate(s, 64))
	}
	if v.Unix() <= 0 {
		return nil
	}
	t.Time = v.UTC()
	return nil
}

// ---- alerts ---------------------------------------------------------------

func parseAlert(a *alert, groupStatus string, opts Options) (facts.Incident, error) {
	if a.StartsAt.IsZero() {
		return facts.Incident{}, errors.New("no startsAt")
	}
	fp := strings.TrimSpace(a.Fingerprint)
	if fp == "" {
		fp = Fingerprint(a.Labels)
	}
	starts := a.StartsAt.Time
	inc := facts.Incident{
		Source:    Source,
		ID:        fp + "@" + strconv.FormatInt(starts.Unix(), 10),
		Service:   lookup(a.Labels, opts.serviceLabels()),
		Title:     strings.TrimSpace(a.Annotations["summary"]),
		State:     "open",
		Severity:  strings.ToLower(strings.TrimSpace(a.Labels["severity"])),
		URL:       a.GeneratorURL,
		Labels:    labelPairs(a.Labels),
		CreatedAt: starts,
		UpdatedAt: starts,
	}
	if inc.Title == "" {
		inc.Title = strings.TrimSpace(a.Labels["alertname"])
	}
	status := a.Status
	if status == "" {
		status = groupStatus
	}
	if strings.EqualFold(status, "resolved") {
		inc.State = "resolved"
		ends := a.EndsAt.Time
		if !ends.IsZero() {
			if ends.Before(starts) {
				ends = starts
			}
			inc.ResolvedAt = ends
		}
		inc.UpdatedAt = ends
		if floor := time.UnixMilli(starts.UnixMilli() + 1).UTC(); ends.UnixMilli() < floor.UnixMilli() {
			inc.UpdatedAt = floor
		}
	}
	inc.CausedByDeployment = firstValid([]map[string]string{a.Annotations, a.Labels}, DeploymentRefKeys, ingest.ValidDeploymentID)
	inc.CausedBySHA = firstValid([]map[string]string{a.Annotations, a.Labels}, CommitRefKeys, ingest.ValidSHA)
	return inc, nil
}

// Fingerprint is Alertmanager's fingerprint of an alert's label set, as a
// 16-digit hex string.
func Fingerprint(labels map[string]string) string {
	ls := make(model.LabelSet, len(labels))
	for k, v := range labels {
		ls[model.LabelName(k)] = model.LabelValue(v)
	}
	return ls.Fingerprint().String()
}

func lookup(labels map[string]string, names []string) string {
	for _, n := range names {
		if v := strings.TrimSpace(labels[n]); v != "" {
			return v
		}
	}
	return ""
}

func labelPairs(labels map[string]string) []string {
	if len(labels) == 0 {
		return nil
	}
	out := make([]string, 0, len(labels))
	for k, v := range labels {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// firstValid returns the first valid value, in the order of sources and
// then of keys, of a name that equals a key case-insensitively.
func firstValid(sources []map[string]string, keys []string, valid func(string) (string, bool)) string {
	for _, m := range sources {
		names := make([]string, 0, len(m))
		for k := range m {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, want := range keys {
			for _, k := range names {
				if strings.EqualFold(k, want) {
					if v, ok := valid(m[k]); ok {
						return v
					}
				}
			}
		}
	}
	return ""
}
