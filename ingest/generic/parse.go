package generic

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/ingest"
)

// ErrMalformed wraps every error Parse returns for a document that is not
// JSON or breaks the rules of its kind.
var ErrMalformed = errors.New("malformed generic document")

// Parse normalizes one stored document of event KindDeployment or
// KindIncident into facts, validating it by the same rules as the
// receiver. All times are UTC.
//
//   - deployment: one facts.Deployment (ID = the document's id, or
//     "generic-" and a hash of service, repository, environment,
//     commit_sha and started_at — finished_at when there is no
//     started_at — so that the statuses of one deployment sent without an
//     id still meet; Repo = repository, Service, SHA = commit_sha,
//     CommitSHAs = commits, Ref, Environment, ProductionEnvironment =
//     production, Description = url, CreatedAt = started_at or
//     finished_at, UpdatedAt = finished_at or started_at) and one
//     facts.DeploymentStatus with the document's status, dated finished_at
//     (started_at for in_progress, or when there is no finished_at).
//   - incident: one facts.Incident (Source "generic", State = status,
//     CausedByDeployment = deployment_id, CausedBySHA = commit_sha, URL,
//     UpdatedAt = resolved_at or created_at).
//
// Any other event gives no facts and no error.
func Parse(event string, payload []byte) (facts.Batch, error) {
	if !json.Valid(payload) {
		return facts.Batch{}, fmt.Errorf("%w: %s: not valid JSON", ErrMalformed, event)
	}
	switch event {
	case KindDeployment:
		d, err := ParseDeployment(payload)
		if err != nil {
			return facts.Batch{}, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		return d.Facts(), nil
	case KindIncident:
		in, err := ParseIncident(payload)
		if err != nil {
			return facts.Batch{}, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		return in.Facts(), nil
	}
	return facts.Batch{}, nil
}

// Key is the ordering key of a document: its service, else its
// repository, else "generic".
func Key(payload []byte) string {
	var doc struct {
		Service    any `json:"service"`
		Repository any `json:"repository"`
	}
	if json.Unmarshal(payload, &doc) != nil {
		return Source
	}
	service, _ := doc.Service.(string)
	repo, _ := doc.Repository.(string)
	service = strings.TrimSpace(service)
	if len(service) > maxNameLen {
		service = ""
	}
	return keyOf(service, ingest.RepoFromURL(repo))
}

// DeploymentID is the id of the deployment: the document's, or one derived
// from what identifies it when the document has none.
func (d *Deployment) DeploymentID() string {
	if d.ID != "" {
		return d.ID
	}
	at := d.StartedAt
	if at.IsZero() {
		at = d.FinishedAt
	}
	h := sha256.New()
	for _, part := range []string{d.Service, d.Repository, d.Environment, d.CommitSHA, at.Format(time.RFC3339Nano)} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return "generic-" + hex.EncodeToString(h.Sum(nil))[:24]
}

// Facts are the facts the deployment document stands for.
func (d *Deployment) Facts() facts.Batch {
	id := d.DeploymentID()
	dep := facts.Deployment{
		Repo:        d.Repository,
		Service:     d.Service,
		ID:          id,
		SHA:         d.CommitSHA,
		Ref:         d.Ref,
		Environment: d.Environment,
		Description: d.URL,
		URL:         d.URL,
		CreatedAt:   firstSet(d.StartedAt, d.FinishedAt),
		UpdatedAt:   firstSet(d.FinishedAt, d.StartedAt),
		CommitSHAs:  d.Commits,
	}
	if d.Production != nil {
		dep.ProductionEnvironment = *d.Production
	}
	at := firstSet(d.FinishedAt, d.StartedAt)
	if d.Status == StatusInProgress {
		at = firstSet(d.StartedAt, d.FinishedAt)
	}
	st := facts.DeploymentStatus{
		Repo:         d.Repository,
		DeploymentID: id,
		StatusID:     id + "/" + d.Status,
		State:        d.Status,
		Environment:  d.Environment,
		CreatedAt:    at,
	}
	return facts.Batch{Deployments: []facts.Deployment{dep}, DeploymentStatuses: []facts.DeploymentStatus{st}}
}

// Facts are the facts the incident document stands for.
func (in *Incident) Facts() facts.Batch {
	return facts.Batch{Incidents: []facts.Incident{{
		Source:             Source,
		ID:                 in.ID,
		Repo:               in.Repository,
		Service:            in.Service,
		Title:              in.Title,
		State:              in.Status,
		Severity:           in.Severity,
		URL:                in.URL,
		CreatedAt:          in.CreatedAt,
		ResolvedAt:         in.ResolvedAt,
		UpdatedAt:          firstSet(in.ResolvedAt, in.CreatedAt),
		CausedByDeployment: in.DeploymentID,
		CausedBySHA:        in.CommitSHA,
	}}}
}

func firstSet(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}
