package metrics

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// DefaultListLimit and MaxListLimit bound a drill-down's rows.
const (
	DefaultListLimit = 100
	MaxListLimit     = 10000
)

// ListQuery is a drill-down request: a Query's range and filters (its
// grouping, zone and benchmark do not apply), a row limit and, for
// deployments, FailedOnly, for classified changes, ToilOnly, and for
// changes Undeployed: the merged pull requests not in production by the
// range's end instead of the deployed changes.
type ListQuery struct {
	Query
	Limit      int
	FailedOnly bool
	ToilOnly   bool
	Undeployed bool
}

// DeploymentRow is one production deployment and its outcome.
type DeploymentRow struct {
	Service         string    `ch:"service" json:"service"`
	Team            string    `ch:"team" json:"team"`
	Repo            string    `ch:"repo" json:"repo"`
	DeploymentID    string    `ch:"deployment_id" json:"deployment_id"`
	Environment     string    `ch:"environment" json:"environment"`
	SHA             string    `ch:"sha" json:"sha"`
	FinishedAt      time.Time `ch:"finished_at" json:"finished_at"`
	Failed          uint8     `ch:"failed" json:"-"`
	FailedBool      bool      `json:"failed"`
	FailureCause    string    `ch:"failure_cause" json:"failure_cause"`
	RecoveredAt     time.Time `ch:"recovered_at" json:"-"`
	Recovered       *string   `json:"recovered_at"`
	RecoverySeconds int64     `ch:"recovery_seconds" json:"-"`
	Recovery        *int64    `json:"recovery_seconds"`
	Rework          string    `ch:"rework" json:"rework"`
	Changes         uint32    `ch:"changes" json:"changes"`
	// URL is the deployment's page in the tool that ran it (an Actions run,
	// a deployment status's log, a GitLab job or pipeline, an Argo CD
	// application), from the payloads; "" when none gave one.
	URL string `ch:"url" json:"url"`
}

// ChangeRow is one change that reached production.
type ChangeRow struct {
	Service        string    `ch:"service" json:"service"`
	Team           string    `ch:"team" json:"team"`
	Repo           string    `ch:"repo" json:"repo"`
	ChangeID       string    `ch:"change_id" json:"change_id"`
	Kind           string    `ch:"kind" json:"kind"`
	Title          string    `ch:"title" json:"title"`
	Author         string    `ch:"author" json:"author"`
	Labels         []string  `ch:"labels" json:"labels"`
	StartedAt      time.Time `ch:"started_at" json:"started_at"`
	StartIsCreated uint8     `ch:"start_is_created" json:"-"`
	StartFlagged   bool      `json:"start_is_pull_request_creation"`
	OpenedAt       time.Time `ch:"opened_at" json:"-"`
	FirstReviewAt  time.Time `ch:"first_review_at" json:"-"`
	MergedAt       time.Time `ch:"merged_at" json:"merged_at"`
	Opened         *string   `json:"opened_at"`
	FirstReview    *string   `json:"first_review_at"`
	DeploymentID   string    `ch:"deployment_id" json:"deployment_id"`
	DeployedAt     time.Time `ch:"deployed_at" json:"deployed_at"`
	Environment    string    `ch:"environment" json:"environment"`
	LeadSeconds    int64     `ch:"lead_seconds" json:"lead_time_seconds"`
	Toil           uint8     `ch:"toil" json:"-"`
	ToilBool       bool      `json:"toil"`
	ToilReason     string    `ch:"toil_reason" json:"toil_reason"`
	ActiveSeconds  uint32    `ch:"active_seconds" json:"active_seconds"`
	// State is "deployed", or "undeployed" for a merged change not in
	// production by the range's end; Age is then its age in seconds (at the
	// range's end, or now when that is later).
	State      string `json:"state"`
	AgeSeconds int64  `ch:"age_seconds" json:"-"`
	Age        *int64 `json:"age_seconds"`
	// URL is the pull request's page on its host, or the commit's for a
	// direct commit, from the payloads; "" when none gave one.
	URL string `ch:"url" json:"url"`
}

// IncidentRow is one incident and the deployment it is blamed on.
type IncidentRow struct {
	Service        string    `ch:"service" json:"service"`
	Team           string    `ch:"team" json:"team"`
	Repo           string    `ch:"repo" json:"repo"`
	Source         string    `ch:"source" json:"source"`
	IncidentID     string    `ch:"incident_id" json:"incident_id"`
	Title          string    `ch:"title" json:"title"`
	CreatedAt      time.Time `ch:"created_at" json:"created_at"`
	ResolvedAt     time.Time `ch:"resolved_at" json:"-"`
	Resolved       *string   `json:"resolved_at"`
	RestoreSeconds int64     `ch:"restore_seconds" json:"-"`
	Restore        *int64    `json:"time_to_restore_seconds"`
	DeploymentID   string    `ch:"deployment_id" json:"deployment_id"`
	Link           string    `ch:"link" json:"link"`
	// Environment is the blamed deployment's environment.
	Environment string `ch:"environment" json:"environment"`
	// UnresolvedReference is the deployment id or commit the incident named
	// that is no production deployment of its service: Link then says how
	// it was linked instead (window, or none).
	UnresolvedReference string `ch:"unresolved_reference" json:"unresolved_reference"`
	// URL is the incident's page in its source tool, from the payload
	// ("" when the payload has none).
	URL string `ch:"url" json:"url"`
}

// Deployments lists production deployments, newest first.
func (e *Engine) Deployments(ctx context.Context, q ListQuery) ([]DeploymentRow, error) {
	var rows []DeploymentRow
	if err := e.list(ctx, "list_deployments", q, &rows); err != nil {
		return nil, err
	}
	for i := range rows {
		r := &rows[i]
		r.FailedBool = r.Failed == 1
		r.Recovered = optTime(r.RecoveredAt)
		r.Recovery = optSeconds(r.RecoverySeconds)
	}
	return rows, nil
}

// Changes lists deployed changes, the longest lead time first.
func (e *Engine) Changes(ctx context.Context, q ListQuery) ([]ChangeRow, error) {
	var rows []ChangeRow
	if err := e.list(ctx, "list_changes", q, &rows); err != nil {
		return nil, err
	}
	for i := range rows {
		r := &rows[i]
		r.StartFlagged, r.ToilBool = r.StartIsCreated == 1, r.Toil == 1
		r.Opened, r.FirstReview = optTime(r.OpenedAt), optTime(r.FirstReviewAt)
		if r.Labels == nil {
			r.Labels = []string{}
		}
		r.State, r.Age = "deployed", optSeconds(r.AgeSeconds)
		if q.Undeployed {
			r.State = "undeployed"
		}
	}
	return rows, nil
}

// Incidents lists incidents, newest first.
func (e *Engine) Incidents(ctx context.Context, q ListQuery) ([]IncidentRow, error) {
	var rows []IncidentRow
	if err := e.list(ctx, "list_incidents", q, &rows); err != nil {
		return nil, err
	}
	for i := range rows {
		rows[i].Resolved = optTime(rows[i].ResolvedAt)
		rows[i].Restore = optSeconds(rows[i].RestoreSeconds)
	}
	return rows, nil
}

func (e *Engine) list(ctx context.Context, file string, q ListQuery, dest any) error {
	n, err := e.normalize(q.Query)
	if err != nil {
		return err
	}
	limit := q.Limit
	switch {
	case limit <= 0:
		limit = DefaultListLimit
	case limit > MaxListLimit:
		return badQuery("limit", "at most %d rows", MaxListLimit)
	}
	ctx, cancel := e.bound(ctx)
	defer cancel()
	cat, err := e.attribute(ctx)
	if err != nil {
		return err
	}
	args := append(n.args(cat, bucketNone), clickhouse.Named("limit", limit),
		clickhouse.Named("failed_only", b8(q.FailedOnly)), clickhouse.Named("toil_only", b8(q.ToilOnly)),
		clickhouse.Named("undeployed", b8(q.Undeployed)))
	if err := e.conn.Select(ctx, dest, queries[file], args...); err != nil {
		return fmt.Errorf("metrics: %s.sql: %w", file, err)
	}
	return nil
}

func b8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func optTime(t time.Time) *string {
	if t.Unix() <= 0 {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}

func optSeconds(s int64) *int64 {
	if s < 0 {
		return nil
	}
	return &s
}
