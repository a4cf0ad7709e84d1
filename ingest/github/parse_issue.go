package github

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/ingest"
)

// ---- issues as incidents ---------------------------------------------------------

type issuesEvent struct {
	Action string `json:"action"`
	Issue  *struct {
		Number    int64     `json:"number"`
		Title     string    `json:"title"`
		State     string    `json:"state"`
		Body      string    `json:"body"`
		HTMLURL   string    `json:"html_url"`
		Labels    []ghLabel `json:"labels"`
		CreatedAt ghTime    `json:"created_at"`
		UpdatedAt ghTime    `json:"updated_at"`
		ClosedAt  ghTime    `json:"closed_at"`
	} `json:"issue"`
	Repository *ghRepo `json:"repository"`
}

func parseIssue(payload []byte, opts Options) (facts.Batch, error) {
	var e issuesEvent
	if err := json.Unmarshal(payload, &e); err != nil {
		return facts.Batch{}, err
	}
	repo, err := requireRepo(e.Repository)
	if err != nil {
		return facts.Batch{}, err
	}
	is := e.Issue
	if is == nil || is.Number == 0 {
		return facts.Batch{}, errors.New("no issue number")
	}
	labels := labelNames(is.Labels)
	if e.Action == "deleted" || !hasIncidentLabel(labels, opts.IncidentLabels) {
		return facts.Batch{}, nil
	}
	inc := facts.Incident{
		Source:    Source,
		ID:        repo + "#" + strconv.FormatInt(is.Number, 10),
		Repo:      repo,
		Title:     is.Title,
		State:     "open",
		Severity:  ingest.SeverityFromLabels(labels),
		URL:       is.HTMLURL,
		Labels:    labels,
		CreatedAt: is.CreatedAt.Time,
		UpdatedAt: is.UpdatedAt.Time,
	}
	if strings.EqualFold(is.State, "closed") {
		inc.State = "resolved"
		inc.ResolvedAt = is.ClosedAt.Time
		if inc.ResolvedAt.IsZero() {
			inc.ResolvedAt = inc.UpdatedAt
		}
	}
	inc.CausedByDeployment, inc.CausedBySHA = ingest.IncidentRefs(labels, is.Body)
	return facts.Batch{Incidents: []facts.Incident{inc}}, nil
}

func hasIncidentLabel(labels, incident []string) bool {
	if len(incident) == 0 {
		incident = DefaultIncidentLabels
	}
	return ingest.HasLabel(labels, incident)
}
