// Package facts holds the normalized records that every source produces and
// the derived records that the metrics read. Sources fill a Batch from a raw
// delivery; the deriver turns a repository's facts into deployments with
// outcomes, changes with lead times and incidents with their links.
//
// All times are UTC. A zero time means "not known" or "not yet" (an open
// incident has a zero ResolvedAt).
package facts

import "time"

// Batch is what one delivery normalizes into. Most deliveries fill one slice.
type Batch struct {
	Commits            []Commit
	Pushes             []Push
	PullRequests       []PullRequest
	Reviews            []Review
	Deployments        []Deployment
	DeploymentStatuses []DeploymentStatus
	PipelineRuns       []PipelineRun
	Releases           []Release
	Incidents          []Incident
}

// Len counts the facts in the batch.
func (b *Batch) Len() int {
	return len(b.Commits) + len(b.Pushes) + len(b.PullRequests) + len(b.Reviews) +
		len(b.Deployments) + len(b.DeploymentStatuses) + len(b.PipelineRuns) +
		len(b.Releases) + len(b.Incidents)
}

// Append adds every fact of o to b.
func (b *Batch) Append(o Batch) {
	b.Commits = append(b.Commits, o.Commits...)
	b.Pushes = append(b.Pushes, o.Pushes...)
	b.PullRequests = append(b.PullRequests, o.PullRequests...)
	b.Reviews = append(b.Reviews, o.Reviews...)
	b.Deployments = append(b.Deployments, o.Deployments...)
	b.DeploymentStatuses = append(b.DeploymentStatuses, o.DeploymentStatuses...)
	b.PipelineRuns = append(b.PipelineRuns, o.PipelineRuns...)
	b.Releases = append(b.Releases, o.Releases...)
	b.Incidents = append(b.Incidents, o.Incidents...)
}

// Repos lists the distinct repositories the batch touches.
func (b *Batch) Repos() []string {
	seen := map[string]bool{}
	var out []string
	add := func(r string) {
		if r != "" && !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	for _, x := range b.Commits {
		add(x.Repo)
	}
	for _, x := range b.Pushes {
		add(x.Repo)
	}
	for _, x := range b.PullRequests {
		add(x.Repo)
	}
	for _, x := range b.Reviews {
		add(x.Repo)
	}
	for _, x := range b.Deployments {
		add(x.Repo)
	}
	for _, x := range b.DeploymentStatuses {
		add(x.Repo)
	}
	for _, x := range b.PipelineRuns {
		add(x.Repo)
	}
	for _, x := range b.Releases {
		add(x.Repo)
	}
	for _, x := range b.Incidents {
		add(x.Repo)
	}
	return out
}

// Commit is one commit as a push (or a backfill) reported it.
type Commit struct {
	Repo        string // "owner/name"
	SHA         string
	Message     string
	AuthorName  string
	AuthorEmail string
	AuthorLogin string // host user name where known
	AuthoredAt  time.Time
	Paths       []string // added, modified and removed paths
	URL         string   // the commit's page on the host; "" when the payload has none
}

// Push is one update of a ref. Before and After chain pushes into history.
type Push struct {
	Repo       string
	Ref        string // "refs/heads/main"
	Before     string
	After      string
	CommitSHAs []string // in push order, oldest first
	// TotalCommits is the number of commits the push brought, which can
	// exceed len(CommitSHAs) when the source lists only the newest ones.
	TotalCommits int
	PushedAt     time.Time
	Forced       bool
	Deleted      bool
	Pusher       string
}

// PullRequest is the latest known state of a pull (or merge) request.
type PullRequest struct {
	Repo           string
	Number         int64
	Title          string
	Author         string
	Labels         []string
	HeadRef        string
	HeadSHA        string
	BaseRef        string
	State          string // open, closed
	Merged         bool
	MergeCommitSHA string
	CreatedAt      time.Time
	MergedAt       time.Time
	ClosedAt       time.Time
	UpdatedAt      time.Time
	URL            string // the pull request's page on the host (html_url)
}

// Review is one submitted review of a pull request.
type Review struct {
	Repo        string
	PRNumber    int64
	ReviewID    int64
	State       string // approved, commented, changes_requested, dismissed
	Author      string
	SubmittedAt time.Time
}

// Deployment is a deployment as the host records it, without its outcome.
type Deployment struct {
	Repo                  string
	Service               string // when the source names a service instead of a repository
	ID                    string // host's deployment id
	SHA                   string
	Ref                   string
	Environment           string
	ProductionEnvironment bool // host says so (GitHub production_environment, GitLab tier)
	Task                  string
	Description           string
	Creator               string
	CreatedAt             time.Time
	UpdatedAt             time.Time
	// CommitSHAs, when the source lists them, wins over the push chain.
	CommitSHAs []string
	// URL is the deployment's page in the tool that ran it (the Actions
	// run, the GitLab job, the Argo CD application); "" when the payload has none.
	URL string
}

// DeploymentStatus is one state change of a deployment.
type DeploymentStatus struct {
	Repo         string
	DeploymentID string
	StatusID     string
	State        string // success, failure, error, inactive, in_progress, queued, pending
	Environment  string
	CreatedAt    time.Time
	URL          string // the status's log or target page; "" when none
}

// PipelineRun is one attempt of a CI/CD pipeline (a GitHub workflow run).
type PipelineRun struct {
	Repo       string
	Service    string // when the source names a service instead of a repository
	ID         string
	Attempt    int64
	Name       string // workflow name
	Path       string // workflow file
	HeadBranch string
	HeadSHA    string
	Event      string // push, pull_request, workflow_dispatch, ...
	Status     string // queued, in_progress, completed
	Conclusion string // success, failure, cancelled, ...
	StartedAt  time.Time
	FinishedAt time.Time // zero until completed
	UpdatedAt  time.Time
	URL        string // the run's page in the CI tool
}

// Release is a published release of a repository.
type Release struct {
	Repo        string
	ID          string
	Tag         string
	Target      string // branch or SHA the tag points at
	Name        string
	Prerelease  bool
	Draft       bool
	CreatedAt   time.Time
	PublishedAt time.Time
	URL         string // the release's page (html_url)
}

// Incident is the latest known state of an incident from any source.
type Incident struct {
	Source     string // github, pagerduty, ...
	ID         string // unique within the source
	Repo       string // repository the incident belongs to, where known
	Service    string // service the source names, where known
	Title      string
	State      string // open, resolved
	Severity   string
	URL        string
	Labels     []string
	CreatedAt  time.Time
	ResolvedAt time.Time // zero while open
	UpdatedAt  time.Time
	// Explicit references to what caused it: a deployment id or commit SHAs.
	CausedByDeployment string
	CausedBySHA        string
}

// IncidentKey identifies an incident across sources: "<source>\n<id>".
func IncidentKey(source, id string) string { return source + "\n" + id }
