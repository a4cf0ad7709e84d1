package github

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/ingest"
)

// Options tune how payloads become facts.
type Options struct {
	// IncidentLabels are the issue labels that make an issue an incident,
	// compared case-insensitively. Empty means DefaultIncidentLabels.
	IncidentLabels []string
}

// DefaultIncidentLabels is used when Options.IncidentLabels is empty.
var DefaultIncidentLabels = []string{"incident"}

// ErrMalformed wraps every error Parse returns for a payload that is not
// JSON, not the shape its event has, or lacks the ids a fact needs.
var ErrMalformed = errors.New("malformed github payload")

// Parse normalizes the payload of one delivery of event (the
// X-GitHub-Event header) into facts. All times are UTC.
//
//   - push: one facts.Push (commits in push order, Deleted and Forced as
//     GitHub reports them; PushedAt is the repository's pushed_at, or the
//     head commit's timestamp when that is missing) and one facts.Commit per
//     commit, with added, modified and removed paths.
//   - pull_request: the pull request's latest state. merge_commit_sha is
//     copied as sent; GitHub fills it for unmerged pull requests too (the
//     test merge), so only Merged says whether it reached the base branch.
//   - pull_request_review: one facts.Review.
//   - deployment: one facts.Deployment; deployment_status: the deployment
//     and one facts.DeploymentStatus. A deployment whose payload (an object,
//     or a string holding one) has a "commits" array of SHAs gets them as
//     CommitSHAs.
//   - workflow_run: one facts.PipelineRun, finished at updated_at once its
//     status is completed.
//   - release: one facts.Release (nothing for the deleted action).
//   - issues: one facts.Incident when the issue carries an incident label
//     (see Options), nothing otherwise or for the deleted action; see
//     parseIncidentRefs for the cause references read from labels and body.
//   - workflow_job, check_suite, create, delete, status, ping and any other
//     event: no facts, no error.
//
// A payload that is not valid JSON is an error for every event.
func Parse(event string, payload []byte, opts Options) (facts.Batch, error) {
	if !json.Valid(payload) {
		return facts.Batch{}, fmt.Errorf("%w: %s: not valid JSON", ErrMalformed, event)
	}
	var (
		b   facts.Batch
		err error
	)
	switch event {
	case "push":
		b, err = parsePush(payload)
	case "pull_request":
		b, err = parsePullRequest(payload)
	case "pull_request_review":
		b, err = parseReview(payload)
	case "deployment":
		b, err = parseDeployment(payload, false)
	case "deployment_status":
		b, err = parseDeployment(payload, true)
	case "workflow_run":
		b, err = parseWorkflowRun(payload)
	case "release":
		b, err = parseRelease(payload)
	case "issues":
		b, err = parseIssue(payload, opts)
	default:
		return facts.Batch{}, nil
	}
	if err != nil {
		return facts.Batch{}, fmt.Errorf("%w: %s: %v", ErrMalformed, event, err)
	}
	return b, nil
}

// Key is the ordering key of a delivery: the repository's full name, or
// the organization's login for organization-level events, or "github".
func Key(payload []byte) string {
	key, _ := readKey(payload)
	return key
}

var keyPaths = [][]string{{"repository", "full_name"}, {"organization", "login"}}

// readKey is Key, reporting whether payload is a JSON object: one pass
// both validates the body and finds its key (ingest.ReadObject).
func readKey(payload []byte) (string, bool) {
	v, err := ingest.ReadObject(payload, keyPaths...)
	switch {
	case err != nil:
		return Source, false
	case v[0] != "":
		return v[0], true
	case v[1] != "":
		return v[1], true
	}
	return Source, true
}

// ---- JSON shapes -------------------------------------------------------

// ghTime reads a time GitHub sends either as an RFC 3339 string or as a
// number of seconds since the epoch (repository.pushed_at and created_at in
// push events). null and "" are the zero time.
type ghTime struct{ time.Time }

func (t *ghTime) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
		if s == "" {
			t.Time = time.Time{}
			return nil
		}
		if v, err := time.Parse(time.RFC3339Nano, s); err == nil {
			t.Time = v.UTC()
			return nil
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return t.setEpoch(f)
		}
		return fmt.Errorf("time %q is neither RFC 3339 nor epoch seconds", ingest.Truncate(s, 64))
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("time %s is neither RFC 3339 nor epoch seconds", ingest.Truncate(string(b), 64))
	}
	return t.setEpoch(f)
}

// setEpoch takes seconds, or milliseconds for values too large to be
// seconds of this era.
func (t *ghTime) setEpoch(f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e15 {
		return fmt.Errorf("epoch time %g out of range", f)
	}
	if math.Abs(f) >= 1e12 {
		f /= 1000
	}
	sec, frac := math.Modf(f)
	t.Time = time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC()
	return nil
}

// ghID reads an id sent as a JSON number or string.
type ghID string

func (id *ghID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*id = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = ghID(strings.TrimSpace(s))
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("id: %w", err)
		}
		*id = ghID(n.String())
	}
	return nil
}

type ghRepo struct {
	FullName string `json:"full_name"`
	PushedAt ghTime `json:"pushed_at"`
}

type ghUser struct {
	Login string `json:"login"`
}

type ghLabel struct {
	Name string `json:"name"`
}

func labelNames(ls []ghLabel) []string {
	if len(ls) == 0 {
		return nil
	}
	out := make([]string, 0, len(ls))
	for _, l := range ls {
		if l.Name != "" {
			out = append(out, l.Name)
		}
	}
	return out
}

func requireRepo(r *ghRepo) (string, error) {
	if r == nil || r.FullName == "" {
		return "", errors.New("no repository.full_name")
	}
	return r.FullName, nil
}

// ---- push ---------------------------------------------------------------

type pushCommit struct {
	ID        string `json:"id"`
	URL       string `json:"url"` // the commit's page, https://github.com/<repo>/commit/<sha>
	Message   string `json:"message"`
	Timestamp ghTime `json:"timestamp"`
	Author    struct {
		Name     string `json:"name"`
		Email    string `json:"email"`
		Username string `json:"username"`
	} `json:"author"`
	Added    []string `json:"added"`
	Removed  []string `json:"removed"`
	Modified []string `json:"modified"`
}

type pushEvent struct {
	Ref        string       `json:"ref"`
	Before     string       `json:"before"`
	After      string       `json:"after"`
	Deleted    bool         `json:"deleted"`
	Forced     bool         `json:"forced"`
	Commits    []pushCommit `json:"commits"`
	HeadCommit *pushCommit  `json:"head_commit"`
	Repository *ghRepo      `json:"repository"`
	Pusher     struct {
		Name string `json:"name"`
	} `json:"pusher"`
	Sender ghUser `json:"sender"`
}

func parsePush(payload []byte) (facts.Batch, error) {
	var e pushEvent
	if err := json.Unmarshal(payload, &e); err != nil {
		return facts.Batch{}, err
	}
	repo, err := requireRepo(e.Repository)
	if err != nil {
		return facts.Batch{}, err
	}
	if e.Ref == "" {
		return facts.Batch{}, errors.New("no ref")
	}
	p := facts.Push{
		Repo:     repo,
		Ref:      e.Ref,
		Before:   e.Before,
		After:    e.After,
		PushedAt: e.Repository.PushedAt.Time,
		Forced:   e.Forced,
		Deleted:  e.Deleted,
		Pusher:   e.Pusher.Name,
	}
	if p.Pusher == "" {
		p.Pusher = e.Sender.Login
	}
	if p.PushedAt.IsZero() && e.HeadCommit != nil {
		p.PushedAt = e.HeadCommit.Timestamp.Time
	}
	var b facts.Batch
	for _, c := range e.Commits {
		if c.ID == "" {
			continue
		}
		p.CommitSHAs = append(p.CommitSHAs, c.ID)
		paths := make([]string, 0, len(c.Added)+len(c.Modified)+len(c.Removed))
		paths = append(paths, c.Added...)
		paths = append(paths, c.Modified...)
		paths = append(paths, c.Removed...)
		b.Commits = append(b.Commits, facts.Commit{
			Repo:        repo,
			SHA:         c.ID,
			Message:     c.Message,
			AuthorName:  c.Author.Name,
			AuthorEmail: c.Author.Email,
			AuthorLogin: c.Author.Username,
			AuthoredAt:  c.Timestamp.Time,
			Paths:       paths,
			URL:         c.URL,
		})
	}
	p.TotalCommits = len(p.CommitSHAs)
	b.Pushes = []facts.Push{p}
	return b, nil
}

// ---- pull requests and reviews --------------------------------------------

type ghPullRequest struct {
	Number int64     `json:"number"`
	Title  string    `json:"title"`
	State  string    `json:"state"`
	User   ghUser    `json:"user"`
	Labels []ghLabel `json:"labels"`
	Head   struct {
		Ref string `json:"ref"`
		SHA string `json:"sha"`
	} `json:"head"`
	Base struct {
		Ref  string  `json:"ref"`
		Repo *ghRepo `json:"repo"`
	} `json:"base"`
	Merged         bool   `json:"merged"`
	MergeCommitSHA string `json:"merge_commit_sha"`
	CreatedAt      ghTime `json:"created_at"`
	UpdatedAt      ghTime `json:"updated_at"`
	ClosedAt       ghTime `json:"closed_at"`
	MergedAt       ghTime `json:"merged_at"`
	HTMLURL        string `json:"html_url"`
}

type pullRequestEvent struct {
	Number      int64          `json:"number"`
	PullRequest *ghPullRequest `json:"pull_request"`
	Repository  *ghRepo        `json:"repository"`
}

func parsePullRequest(payload []byte) (facts.Batch, error) {
	var e pullRequestEvent
	if err := json.Unmarshal(payload, &e); err != nil {
		return facts.Batch{}, err
	}
	pr := e.PullRequest
	if pr == nil {
		return facts.Batch{}, errors.New("no pull_request")
	}
	repo := prRepo(e.Repository, pr)
	if repo == "" {
		return facts.Batch{}, errors.New("no repository.full_name")
	}
	number := pr.Number
	if number == 0 {
		number = e.Number
	}
	if number == 0 {
		return facts.Batch{}, errors.New("no pull request number")
	}
	return facts.Batch{PullRequests: []facts.PullRequest{{
		Repo:           repo,
		Number:         number,
		Title:          pr.Title,
		Author:         pr.User.Login,
		Labels:         labelNames(pr.Labels),
		HeadRef:        pr.Head.Ref,
		HeadSHA:        pr.Head.SHA,
		BaseRef:        pr.Base.Ref,
		State:          pr.State,
		Merged:         pr.Merged || !pr.MergedAt.IsZero(),
		MergeCommitSHA: pr.MergeCommitSHA,
		CreatedAt:      pr.CreatedAt.Time,
		MergedAt:       pr.MergedAt.Time,
		ClosedAt:       pr.ClosedAt.Time,
		UpdatedAt:      pr.UpdatedAt.Time,
		URL:            pr.HTMLURL,
	}}}, nil
}

func prRepo(r *ghRepo, pr *ghPullRequest) string {
	if r != nil && r.FullName != "" {
		return r.FullName
	}
	if pr != nil && pr.Base.Repo != nil {
		return pr.Base.Repo.FullName
	}
	return ""
}

type reviewEvent struct {
	Review *struct {
		ID          ghID   `json:"id"`
		State       string `json:"state"`
		User        ghUser `json:"user"`
		SubmittedAt ghTime `json:"submitted_at"`
	} `json:"review"`
	PullRequest *ghPullRequest `json:"pull_request"`
	Repository  *ghRepo        `json:"repository"`
}

func parseReview(payload []byte) (facts.Batch, error) {
	var e reviewEvent
	if err := json.Unmarshal(payload, &e); err != nil {
		return facts.Batch{}, err
	}
	if e.Review == nil || e.PullRequest == nil {
		return facts.Batch{}, errors.New("no review or pull_request")
	}
	repo := prRepo(e.Repository, e.PullRequest)
	if repo == "" {
		return facts.Batch{}, errors.New("no repository.full_name")
	}
	id, err := strconv.ParseInt(string(e.Review.ID), 10, 64)
	if err != nil {
		return facts.Batch{}, fmt.Errorf("review id %q is not an integer", ingest.Truncate(string(e.Review.ID), 32))
	}
	return facts.Batch{Reviews: []facts.Review{{
		Repo:        repo,
		PRNumber:    e.PullRequest.Number,
		ReviewID:    id,
		State:       strings.ToLower(e.Review.State),
		Author:      e.Review.User.Login,
		SubmittedAt: e.Review.SubmittedAt.Time,
	}}}, nil
}

// ---- deployments ------------------------------------------------------------

type ghDeployment struct {
	ID                    ghID            `json:"id"`
	SHA                   string          `json:"sha"`
	Ref                   string          `json:"ref"`
	Task                  string          `json:"task"`
	Environment           string          `json:"environment"`
	ProductionEnvironment *bool           `json:"production_environment"`
	Description           string          `json:"description"`
	Creator               ghUser          `json:"creator"`
	Payload               json.RawMessage `json:"payload"`
	CreatedAt             ghTime          `json:"created_at"`
	UpdatedAt             ghTime          `json:"updated_at"`
}

type deploymentEvent struct {
	Deployment       *ghDeployment `json:"deployment"`
	DeploymentStatus *struct {
		ID          ghID   `json:"id"`
		State       string `json:"state"`
		Environment string `json:"environment"`
		LogURL      string `json:"log_url"`
		TargetURL   string `json:"target_url"`
		CreatedAt   ghTime `json:"created_at"`
		UpdatedAt   ghTime `json:"updated_at"`
	} `json:"deployment_status"`
	// The Actions run that made the deployment, when one did.
	WorkflowRun *struct {
		HTMLURL string `json:"html_url"`
	} `json:"workflow_run"`
	Repository *ghRepo `json:"repository"`
}

func parseDeployment(payload []byte, withStatus bool) (facts.Batch, error) {
	var e deploymentEvent
	if err := json.Unmarshal(payload, &e); err != nil {
		return facts.Batch{}, err
	}
	repo, err := requireRepo(e.Repository)
	if err != nil {
		return facts.Batch{}, err
	}
	d := e.Deployment
	if d == nil || d.ID == "" {
		return facts.Batch{}, errors.New("no deployment id")
	}
	dep := facts.Deployment{
		Repo:        repo,
		ID:          string(d.ID),
		SHA:         d.SHA,
		Ref:         d.Ref,
		Environment: d.Environment,
		Task:        d.Task,
		Description: d.Description,
		Creator:     d.Creator.Login,
		CreatedAt:   d.CreatedAt.Time,
		UpdatedAt:   d.UpdatedAt.Time,
		CommitSHAs:  deploymentCommits(d.Payload),
	}
	if d.ProductionEnvironment != nil {
		dep.ProductionEnvironment = *d.ProductionEnvironment
	}
	if e.WorkflowRun != nil {
		dep.URL = e.WorkflowRun.HTMLURL
	}
	b := facts.Batch{Deployments: []facts.Deployment{dep}}
	if !withStatus {
		return b, nil
	}
	s := e.DeploymentStatus
	if s == nil || s.ID == "" {
		return facts.Batch{}, errors.New("no deployment_status id")
	}
	st := facts.DeploymentStatus{
		Repo:         repo,
		DeploymentID: dep.ID,
		StatusID:     string(s.ID),
		State:        strings.ToLower(s.State),
		Environment:  s.Environment,
		CreatedAt:    s.CreatedAt.Time,
		// log_url replaced target_url; senders set either.
		URL: cmp.Or(s.LogURL, s.TargetURL),
	}
	if st.Environment == "" {
		st.Environment = dep.Environment
	}
	if st.CreatedAt.IsZero() {
		st.CreatedAt = s.UpdatedAt.Time
	}
	b.DeploymentStatuses = []facts.DeploymentStatus{st}
	return b, nil
}

// deploymentCommits reads the "commits" array of a deployment's payload,
// which deployers may send as an object or as a string holding one. Each
// element is a SHA, or an object with a "sha" or "id". Anything else in the
// payload is the deployer's own and is ignored, never an error.
func deploymentCommits(raw json.RawMessage) []string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil
		}
		raw = bytes.TrimSpace([]byte(s))
	}
	if len(raw) == 0 || raw[0] != '{' {
		return nil
	}
	var p struct {
		Commits []json.RawMessage `json:"commits"`
	}
	if json.Unmarshal(raw, &p) != nil {
		return nil
	}
	var out []string
	for _, c := range p.Commits {
		var sha string
		if json.Unmarshal(c, &sha) != nil {
			var o struct {
				SHA string `json:"sha"`
				ID  string `json:"id"`
			}
			if json.Unmarshal(c, &o) != nil {
				continue
			}
			sha = o.SHA
			if sha == "" {
				sha = o.ID
			}
		}
		sha = strings.ToLower(strings.TrimSpace(sha))
		if len(sha) >= 7 && len(sha) <= 64 && ingest.IsHex(sha) {
			out = append(out, sha)
		}
	}
	return out
}

// ---- workflow runs -----------------------------------------------------------

type workflowRunEvent struct {
	WorkflowRun *struct {
		ID           ghID   `json:"id"`
		RunAttempt   int64  `json:"run_attempt"`
		Name         string `json:"name"`
		Path         string `json:"path"`
		HeadBranch   string `json:"head_branch"`
		HeadSHA      string `json:"head_sha"`
		Event        string `json:"event"`
		Status       string `json:"status"`
		Conclusion   string `json:"conclusion"`
		RunStartedAt ghTime `json:"run_started_at"`
		CreatedAt    ghTime `json:"created_at"`
		UpdatedAt    ghTime `json:"updated_at"`
		HTMLURL      string `json:"html_url"`
	} `json:"workflow_run"`
	Workflow *struct {
		Name string `json:"name"`
		Path string `json:"path"`
	} `json:"workflow"`
	Repository *ghRepo `json:"repository"`
}

func parseWorkflowRun(payload []byte) (facts.Batch, error) {
	var e workflowRunEvent
	if err := json.Unmarshal(payload, &e); err != nil {
		return facts.Batch{}, err
	}
	repo, err := requireRepo(e.Repository)
	if err != nil {
		return facts.Batch{}, err
	}
	r := e.WorkflowRun
	if r == nil || r.ID == "" {
		return facts.Batch{}, errors.New("no workflow_run id")
	}
	run := facts.PipelineRun{
		Repo:       repo,
		ID:         string(r.ID),
		Attempt:    r.RunAttempt,
		Name:       r.Name,
		Path:       r.Path,
		HeadBranch: r.HeadBranch,
		HeadSHA:    r.HeadSHA,
		Event:      r.Event,
		Status:     r.Status,
		Conclusion: r.Conclusion,
		StartedAt:  r.RunStartedAt.Time,
		UpdatedAt:  r.UpdatedAt.Time,
		URL:        r.HTMLURL,
	}
	if run.Attempt <= 0 {
		run.Attempt = 1
	}
	if e.Workflow != nil {
		if run.Name == "" {
			run.Name = e.Workflow.Name
		}
		if run.Path == "" {
			run.Path = e.Workflow.Path
		}
	}
	if run.StartedAt.IsZero() {
		run.StartedAt = r.CreatedAt.Time
	}
	if run.Status == "completed" {
		run.FinishedAt = run.UpdatedAt
	}
	return facts.Batch{PipelineRuns: []facts.PipelineRun{run}}, nil
}

// ---- releases ----------------------------------------------------------------

type releaseEvent struct {
	Action  string `json:"action"`
	Release *struct {
		ID              ghID   `json:"id"`
		TagName         string `json:"tag_name"`
		TargetCommitish string `json:"target_commitish"`
		Name            string `json:"name"`
		Prerelease      bool   `json:"prerelease"`
		Draft           bool   `json:"draft"`
		CreatedAt       ghTime `json:"created_at"`
		PublishedAt     ghTime `json:"published_at"`
		HTMLURL         string `json:"html_url"`
	} `json:"release"`
	Repository *ghRepo `json:"repository"`
}

func parseRelease(payload []byte) (facts.Batch, error) {
	var e releaseEvent
	if err := json.Unmarshal(payload, &e); err != nil {
		return facts.Batch{}, err
	}
	repo, err := requireRepo(e.Repository)
	if err != nil {
		return facts.Batch{}, err
	}
	r := e.Release
	if r == nil || r.ID == "" {
		return facts.Batch{}, errors.New("no release id")
	}
	if e.Action == "deleted" {
		return facts.Batch{}, nil
	}
	return facts.Batch{Releases: []facts.Release{{
		Repo:        repo,
		ID:          string(r.ID),
		Tag:         r.TagName,
		Target:      r.TargetCommitish,
		Name:        r.Name,
		Prerelease:  r.Prerelease,
		Draft:       r.Draft,
		CreatedAt:   r.CreatedAt.Time,
		PublishedAt: r.PublishedAt.Time,
		URL:         r.HTMLURL,
	}}}, nil
}

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
