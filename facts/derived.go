package facts

import "time"

// Derived is what the deriver computes from one repository's facts. It is
// recomputed whole for a repository whenever any of its facts arrive, so the
// result never depends on the order in which events came in.
type Derived struct {
	Deployments []DeploymentOutcome
	Changes     []ChangeLead
	Incidents   []IncidentLink
}

// Failure causes and rework kinds of a deployment.
const (
	CauseIncident = "incident"
	CauseRollback = "rollback"
	CauseRevert   = "revert"
	CauseHotfix   = "hotfix"
)

// Incident link kinds.
const (
	LinkExplicit = "explicit"
	LinkWindow   = "window"
	LinkNone     = "none"
)

// Change kinds.
const (
	KindPullRequest = "pull_request"
	KindCommit      = "commit"
)

// DeploymentOutcome is one successful deployment with what became of it.
type DeploymentOutcome struct {
	Repo         string
	Service      string // the service within a monorepo; "" for a repository of one service
	DeploymentID string // host id, "run/<id>" for a CI run, "release/<id>" for a release
	Origin       string // deployment, pipeline, release
	Environment  string
	SHA          string
	Production   bool
	FinishedAt   time.Time
	Failed       bool
	FailureCause string    // one of the Cause constants, the first that applies
	RecoveredAt  time.Time // zero while not recovered
	Rework       string    // Cause constant for a hotfix, revert or rollback deployment
	Changes      int       // changes that reached production with it
}

// ChangeLead is one change (a merged pull request or a direct commit) and
// when it reached production.
type ChangeLead struct {
	Repo    string
	Service string // the service within a monorepo; "" for a repository of one service
	ID      string // "pr/<number>" or the commit SHA
	Kind    string // KindPullRequest or KindCommit
	Title   string
	Author  string
	Labels  []string
	Paths   []string
	// StartedAt is the first commit's time; for a pull request with no
	// commit seen it is the creation time and StartIsCreated is set.
	StartedAt      time.Time
	StartIsCreated bool
	OpenedAt       time.Time // pull requests only
	FirstReviewAt  time.Time // pull requests only
	MergedAt       time.Time // pull requests only; commit time for a direct commit
	DeploymentID   string    // first production deployment containing it; "" if none yet
	DeployedAt     time.Time
	Environment    string
	// Toil is set when the change is infrastructure work rather than
	// product work; ToilReason says which rule decided ("label:infra",
	// "commit-type:ci", "bot:dependabot[bot]", "paths:3/4 **/*.tf").
	Toil       bool
	ToilReason string
	// ActiveSeconds is the effort credited to the change: first commit to
	// merge, bounded.
	ActiveSeconds int64
}

// IncidentLink is an incident and the deployment it was blamed on.
type IncidentLink struct {
	Service      string // the service within a monorepo; "" for a repository of one service
	Source       string
	IncidentID   string
	Repo         string
	Title        string
	CreatedAt    time.Time
	ResolvedAt   time.Time
	DeploymentID string // "" when unlinked
	Link         string // LinkExplicit, LinkWindow or LinkNone
	// Environment is the linked deployment's environment; "" when unlinked.
	Environment string
	// UnresolvedReference is the explicit reference (a deployment id or a
	// commit SHA) the incident gave that named no production deployment of
	// its service; Link then says how it was linked instead.
	UnresolvedReference string
}
