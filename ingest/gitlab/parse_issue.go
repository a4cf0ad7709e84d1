package gitlab

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/ingest"
)

// ---- issues as incidents ---------------------------------------------------------

var issueFields = withProject(
	"labels.title",
	"object_attributes.iid", "object_attributes.title", "object_attributes.state",
	"object_attributes.description", "object_attributes.url", "object_attributes.severity",
	"object_attributes.created_at", "object_attributes.updated_at", "object_attributes.closed_at",
	"object_attributes.labels.title", "object_attributes.issue_type", "object_attributes.type",
)

type issueExtra struct {
	projectRefs
	ObjectAttributes struct {
		ClosedAt  glTime `json:"closed_at"`
		IssueType string `json:"issue_type"`
		Type      string `json:"type"`
	} `json:"object_attributes"`
}

// parseIssue maps an Issue Hook to an incident when the issue is one: its
// issue_type is incident, its type is INCIDENT, or it carries one of the
// incident labels. ID is "<project path>#<iid>". opened is open; closed is
// resolved at closed_at (else updated_at). Severity is GitLab's incident
// severity unless unknown, else read from a label (severity::high,
// severity: high, sev1, ...). The cause references are read from the labels
// and the description (see parseIncidentRefs).
func parseIssue(e *gl.IssueEvent, normalized []byte, opts Options) (facts.Batch, error) {
	var x issueExtra
	if err := json.Unmarshal(normalized, &x); err != nil {
		return facts.Batch{}, err
	}
	repo, err := requireRepo(x.path())
	if err != nil {
		return facts.Batch{}, err
	}
	a := e.ObjectAttributes
	created, updated, err := objectTimes(a.IID, a.CreatedAt, a.UpdatedAt)
	if err != nil {
		return facts.Batch{}, err
	}
	labels := objectLabels(a.Labels, e.Labels)
	incident := strings.EqualFold(strings.TrimSpace(x.ObjectAttributes.IssueType), "incident") ||
		strings.EqualFold(strings.TrimSpace(x.ObjectAttributes.Type), "incident") ||
		hasIncidentLabel(labels, opts.IncidentLabels)
	if !incident {
		return facts.Batch{}, nil
	}
	inc := facts.Incident{
		Source:    Source,
		ID:        repo + "#" + strconv.FormatInt(a.IID, 10),
		Repo:      repo,
		Title:     a.Title,
		State:     "open",
		Severity:  strings.ToLower(strings.TrimSpace(a.Severity)),
		URL:       a.URL,
		Labels:    labels,
		CreatedAt: created,
		UpdatedAt: updated,
	}
	if inc.Severity == "unknown" || inc.Severity == "" {
		inc.Severity = ingest.SeverityFromLabels(labels)
	}
	if strings.EqualFold(strings.TrimSpace(a.State), "closed") {
		inc.State = "resolved"
		inc.ResolvedAt = x.ObjectAttributes.ClosedAt.Time
		if inc.ResolvedAt.IsZero() {
			inc.ResolvedAt = updated
		}
	}
	inc.CausedByDeployment, inc.CausedBySHA = ingest.IncidentRefs(labels, a.Description)
	return facts.Batch{Incidents: []facts.Incident{inc}}, nil
}

// objectTimes checks the iid of a merge request's or an issue's
// object_attributes and reads their created_at and updated_at.
func objectTimes(iid int64, createdAt, updatedAt string) (created, updated time.Time, err error) {
	if iid <= 0 {
		return time.Time{}, time.Time{}, errors.New("no object_attributes.iid")
	}
	if created, err = fieldTime(createdAt, "created_at"); err != nil {
		return time.Time{}, time.Time{}, err
	}
	if updated, err = fieldTime(updatedAt, "updated_at"); err != nil {
		return time.Time{}, time.Time{}, err
	}
	return created, updated, nil
}

func hasIncidentLabel(labels, incident []string) bool {
	if len(incident) == 0 {
		incident = DefaultIncidentLabels
	}
	return ingest.HasLabel(labels, incident)
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}
