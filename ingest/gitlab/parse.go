package gitlab

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/ingest"
)

// Options tune how payloads become facts.
type Options struct {
	// IncidentLabels are the issue labels that make an issue an incident,
	// compared case-insensitively. Empty means DefaultIncidentLabels.
	// Issues of GitLab's own type "incident" are incidents regardless.
	IncidentLabels []string
}

// DefaultIncidentLabels is used when Options.IncidentLabels is empty.
var DefaultIncidentLabels = []string{"incident"}

// ErrMalformed wraps every error Parse returns for a payload that is not
// JSON, not the shape its event has, or lacks the ids a fact needs.
var ErrMalformed = errors.New("malformed gitlab payload")

// The X-Gitlab-Event header values Parse turns into facts.
const (
	EventPush              = string(gl.EventTypePush)          // Push Hook
	EventTagPush           = string(gl.EventTypeTagPush)       // Tag Push Hook
	EventMergeRequest      = string(gl.EventTypeMergeRequest)  // Merge Request Hook
	EventPipeline          = string(gl.EventTypePipeline)      // Pipeline Hook
	EventJob               = string(gl.EventTypeJob)           // Job Hook
	EventBuild             = string(gl.EventTypeBuild)         // Build Hook, the Job Hook's older name
	EventDeployment        = string(gl.EventTypeDeployment)    // Deployment Hook
	EventRelease           = string(gl.EventTypeRelease)       // Release Hook
	EventIssue             = string(gl.EventTypeIssue)         // Issue Hook
	EventConfidentialIssue = string(gl.EventConfidentialIssue) // Confidential Issue Hook
)

// DefaultCIConfigPath is the pipeline file of a project that names none.
const DefaultCIConfigPath = ".gitlab-ci.yml"

const zeroSHA = "0000000000000000000000000000000000000000"

type handler struct {
	typ   gl.EventType
	read  fieldSet
	parse func(ev any, normalized []byte, opts Options) (facts.Batch, error)
}

var handlers = map[string]handler{
	EventPush:              {gl.EventTypePush, pushFields, typed(parsePush)},
	EventTagPush:           {gl.EventTypeTagPush, pushFields, typed(parseTagPush)},
	EventMergeRequest:      {gl.EventTypeMergeRequest, mergeRequestFields, typed(parseMergeRequest)},
	EventPipeline:          {gl.EventTypePipeline, pipelineFields, typed(parsePipeline)},
	EventJob:               {gl.EventTypeJob, jobFields, typed(parseJob)},
	EventBuild:             {gl.EventTypeJob, jobFields, typed(parseJob)},
	EventDeployment:        {gl.EventTypeDeployment, deploymentFields, typed(parseDeployment)},
	EventRelease:           {gl.EventTypeRelease, releaseFields, typed(parseRelease)},
	EventIssue:             {gl.EventTypeIssue, issueFields, typed(parseIssue)},
	EventConfidentialIssue: {gl.EventConfidentialIssue, issueFields, typed(parseIssue)},
}

// typed adapts the parser of one client-go event type to the handler table.
func typed[E any](parse func(e E, normalized []byte, opts Options) (facts.Batch, error)) func(any, []byte, Options) (facts.Batch, error) {
	return func(ev any, normalized []byte, opts Options) (facts.Batch, error) {
		e, ok := ev.(E)
		if !ok {
			return facts.Batch{}, fmt.Errorf("unexpected event type %T", ev)
		}
		return parse(e, normalized, opts)
	}
}

// Parse normalizes the payload of one delivery of event (the X-Gitlab-Event
// header) into facts. All times are UTC; GitLab's "2016-08-12 15:23:28 UTC"
// and "2016-08-12 15:23:28 +0200" forms are read as well as RFC 3339.
// Repo is the project's path_with_namespace.
//
//   - Push Hook and Tag Push Hook: one facts.Push and one facts.Commit per
//     listed commit (paths added+modified+removed). GitLab lists the commits
//     oldest first and at most the newest 20: CommitSHAs holds the listed
//     ones in push order and TotalCommits is total_commits_count. A list
//     sent newest first (its first commit is the pushed head, its last is
//     not) is reversed. GitLab's commit "timestamp" is the committer date;
//     it is what AuthoredAt holds, as no author date is sent. PushedAt is
//     the head commit's timestamp, as the payload has no push time.
//     Deleted is set when after is all zeros. A tag push is a Push on
//     refs/tags/..., which the deriver uses to resolve release tags and
//     keeps out of branch history.
//   - Merge Request Hook: the merge request's latest state as a
//     facts.PullRequest (see parseMergeRequest), and for the approval and
//     approved actions also one facts.Review.
//   - Pipeline Hook: one facts.PipelineRun (see parsePipeline); Job Hook
//     (and its older name Build Hook): one facts.PipelineRun for the job.
//   - Deployment Hook: one facts.Deployment and one facts.DeploymentStatus.
//   - Release Hook: one facts.Release, nothing for the delete action.
//   - Issue Hook and Confidential Issue Hook: one facts.Incident when the
//     issue is an incident, nothing otherwise.
//   - Any other event: no facts, no error.
//
// A payload that is not valid JSON is an error for every event.
func Parse(event string, payload []byte, opts Options) (facts.Batch, error) {
	if !json.Valid(payload) {
		return facts.Batch{}, fmt.Errorf("%w: %s: not valid JSON", ErrMalformed, event)
	}
	h, ok := handlers[event]
	if !ok {
		return facts.Batch{}, nil
	}
	ev, normalized, err := decodeWebhook(h.typ, payload, h.read)
	if err == nil {
		var b facts.Batch
		if b, err = h.parse(ev, normalized, opts); err == nil {
			return b, nil
		}
	}
	return facts.Batch{}, fmt.Errorf("%w: %s: %v", ErrMalformed, event, err)
}

// Key is the ordering key of a delivery: the project's path_with_namespace
// (for job events without a project object, the path of the repository's
// homepage), or "gitlab".
func Key(payload []byte) string {
	key, _ := readKey(payload)
	return key
}

var keyPaths = [][]string{{"project", "path_with_namespace"}, {"repository", "homepage"}, {"repository", "git_http_url"}}

// readKey is Key, reporting whether payload is a JSON object: one pass
// both validates the body and finds its key (ingest.ReadObject).
func readKey(payload []byte) (string, bool) {
	v, err := ingest.ReadObject(payload, keyPaths...)
	if err != nil {
		return Source, false
	}
	if r := refsPath(v[0], v[1], v[2]); r != "" {
		return r, true
	}
	return Source, true
}

// ---- shared shapes -----------------------------------------------------------

// projectFields are the fields projectRefs reads, part of every event's
// fieldSet.
var projectFields = fieldSet{"project.path_with_namespace", "repository.homepage", "repository.git_http_url"}

func withProject(fs ...string) fieldSet {
	return append(append(fieldSet(nil), projectFields...), fs...)
}

// projectRefs are the places a payload names its project in.
type projectRefs struct {
	Project *struct {
		PathWithNamespace string `json:"path_with_namespace"`
	} `json:"project"`
	Repository *struct {
		Homepage   string `json:"homepage"`
		GitHTTPURL string `json:"git_http_url"`
	} `json:"repository"`
}

// path is the project's path_with_namespace, or failing that the path of
// its repository's homepage or HTTP clone URL.
func (p projectRefs) path() string {
	var ns, homepage, gitURL string
	if p.Project != nil {
		ns = p.Project.PathWithNamespace
	}
	if p.Repository != nil {
		homepage, gitURL = p.Repository.Homepage, p.Repository.GitHTTPURL
	}
	return refsPath(ns, homepage, gitURL)
}

func refsPath(pathWithNamespace, homepage, gitHTTPURL string) string {
	if s := strings.Trim(strings.TrimSpace(pathWithNamespace), "/"); s != "" {
		return s
	}
	for _, u := range []string{homepage, gitHTTPURL} {
		if s := pathFromURL(u); s != "" {
			return s
		}
	}
	return ""
}

// pathFromURL is "group/name" from a project URL such as
// https://gitlab.example.com/group/name(.git). An instance served under a
// relative URL root would contribute that root too, which is why a
// project's path_with_namespace is always preferred.
func pathFromURL(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return ""
	}
	p := strings.TrimSuffix(strings.Trim(u.Path, "/"), ".git")
	if !strings.Contains(p, "/") {
		return ""
	}
	return p
}

// projectRepo is the project's path read from a normalized payload.
func projectRepo(normalized []byte) (string, error) {
	var refs projectRefs
	if err := json.Unmarshal(normalized, &refs); err != nil {
		return "", err
	}
	return requireRepo(refs.path())
}

func requireRepo(path string) (string, error) {
	path = strings.Trim(strings.TrimSpace(path), "/")
	if path == "" {
		return "", errors.New("no project.path_with_namespace")
	}
	return path, nil
}

// objectLabels are the titles of an object's labels, else of the event's.
func objectLabels(object, event []*gl.EventLabel) []string {
	if ls := labelTitles(object); ls != nil {
		return ls
	}
	return labelTitles(event)
}

func labelTitles(ls []*gl.EventLabel) []string {
	var out []string
	for _, l := range ls {
		if l != nil && strings.TrimSpace(l.Title) != "" {
			out = append(out, l.Title)
		}
	}
	return out
}

func username(u *gl.EventUser) string {
	if u == nil {
		return ""
	}
	if u.Username != "" {
		return u.Username
	}
	return u.Name
}

func isZeroSHA(s string) bool { return s != "" && strings.Trim(s, "0") == "" }

// headRef is the ref a pipeline or job ran for: a branch name as sent, a
// tag as refs/tags/<tag> so that it is not taken for a branch.
func headRef(ref string, tag bool) string {
	if tag && ref != "" && !strings.HasPrefix(ref, "refs/") {
		return "refs/tags/" + ref
	}
	return ref
}

func latest(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if t.After(out) {
			out = t
		}
	}
	return out
}

func utc(t *time.Time) time.Time {
	if t == nil || t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// ---- push and tag push ---------------------------------------------------------

var pushFields = withProject(
	"ref", "before", "after", "checkout_sha", "user_name", "user_username", "total_commits_count",
	"commits.id", "commits.message", "commits.timestamp", "commits.author.name", "commits.author.email",
	"commits.added", "commits.modified", "commits.removed",
)

type pushCommit struct {
	id, message, name, email string
	url                      string
	at                       time.Time
	paths                    []string
}

func newPushCommit(c *gl.PushEventCommit) pushCommit {
	paths := make([]string, 0, len(c.Added)+len(c.Modified)+len(c.Removed))
	paths = append(paths, c.Added...)
	paths = append(paths, c.Modified...)
	paths = append(paths, c.Removed...)
	return pushCommit{id: c.ID, message: c.Message, name: c.Author.Name, email: c.Author.Email, at: utc(c.Timestamp), paths: paths, url: c.URL}
}

// parseTagPush reads a Tag Push Hook as the Push Hook it is shaped like:
// the fields read are the same, and so are the commits' types.
func parseTagPush(e *gl.TagEvent, normalized []byte, opts Options) (facts.Batch, error) {
	p := &gl.PushEvent{Ref: e.Ref, Before: e.Before, After: e.After, CheckoutSHA: e.CheckoutSHA,
		UserName: e.UserName, UserUsername: e.UserUsername, TotalCommitsCount: e.TotalCommitsCount}
	for _, c := range e.Commits {
		p.Commits = append(p.Commits, (*gl.PushEventCommit)(c))
	}
	return parsePush(p, normalized, opts)
}

func parsePush(e *gl.PushEvent, normalized []byte, _ Options) (facts.Batch, error) {
	repo, err := projectRepo(normalized)
	if err != nil {
		return facts.Batch{}, err
	}
	if e.Ref == "" {
		return facts.Batch{}, errors.New("no ref")
	}
	var listed []pushCommit
	for _, c := range e.Commits {
		if c != nil {
			listed = append(listed, newPushCommit(c))
		}
	}
	commits := pushOrder(listed, e.After, e.CheckoutSHA)
	out := facts.Push{
		Repo:    repo,
		Ref:     e.Ref,
		Before:  e.Before,
		After:   e.After,
		Deleted: isZeroSHA(e.After),
		Pusher:  firstNonEmpty(e.UserUsername, e.UserName),
	}
	var b facts.Batch
	for _, c := range commits {
		if c.id == "" {
			continue
		}
		out.CommitSHAs = append(out.CommitSHAs, c.id)
		b.Commits = append(b.Commits, facts.Commit{
			Repo:        repo,
			SHA:         c.id,
			Message:     c.message,
			AuthorName:  c.name,
			AuthorEmail: c.email,
			AuthoredAt:  c.at,
			Paths:       c.paths,
			URL:         c.url,
		})
		if c.id == e.After || c.id == e.CheckoutSHA {
			out.PushedAt = c.at
		}
	}
	if out.PushedAt.IsZero() && len(b.Commits) > 0 {
		out.PushedAt = b.Commits[len(b.Commits)-1].AuthoredAt
	}
	out.TotalCommits = int(max(e.TotalCommitsCount, int64(len(out.CommitSHAs))))
	b.Pushes = []facts.Push{out}
	return b, nil
}

// pushOrder returns the commits oldest first. GitLab documents that order,
// but has been seen to send the newest first; a list whose first commit is
// the pushed head and whose last is not is taken to be such a list.
func pushOrder(cs []pushCommit, after, checkout string) []pushCommit {
	if len(cs) < 2 {
		return cs
	}
	head := func(id string) bool { return id != "" && (id == after || id == checkout) }
	if !head(cs[0].id) || head(cs[len(cs)-1].id) {
		return cs
	}
	out := make([]pushCommit, len(cs))
	for i, c := range cs {
		out[len(cs)-1-i] = c
	}
	return out
}

// ---- merge requests ------------------------------------------------------------

var mergeRequestFields = withProject(
	"user.id", "user.username", "user.name", "labels.title",
	"object_attributes.iid", "object_attributes.title", "object_attributes.author_id",
	"object_attributes.source_branch", "object_attributes.target_branch",
	"object_attributes.state", "object_attributes.state_id", "object_attributes.action",
	"object_attributes.merge_commit_sha", "object_attributes.squash_commit_sha",
	"object_attributes.created_at", "object_attributes.updated_at",
	"object_attributes.merged_at", "object_attributes.closed_at",
	"object_attributes.labels.title", "object_attributes.last_commit.id",
	"object_attributes.target.path_with_namespace",
)

type mergeRequestExtra struct {
	projectRefs
	ObjectAttributes struct {
		MergedAt        glTime `json:"merged_at"`
		ClosedAt        glTime `json:"closed_at"`
		SquashCommitSHA string `json:"squash_commit_sha"`
	} `json:"object_attributes"`
}

// parseMergeRequest maps a Merge Request Hook:
//
//   - Number is the iid; HeadRef the source branch, HeadSHA last_commit.id,
//     BaseRef the target branch.
//   - State is "open" (opened, locked) or "closed" (closed, merged); Merged
//     is set for the state merged or the action merge.
//   - MergedAt is merged_at where the payload has it, else updated_at of
//     the merge action. ClosedAt is closed_at, else updated_at of the close
//     action; a merged request is closed when it merged.
//   - MergeCommitSHA is merge_commit_sha, else squash_commit_sha; a merged
//     request with neither was fast-forwarded, and its head commit is the
//     one that reached the target branch.
//   - The payload names the author only by id: Author is the acting user
//     when that user is the author (or, without an author id, opened the
//     request), and empty otherwise.
//   - Labels are object_attributes.labels, else the top-level labels.
//
// The approval and approved actions add a facts.Review (state approved, by
// the acting user, ReviewID the user's id so that GitLab's pair of hooks for
// one approval is one review, submitted at updated_at).
func parseMergeRequest(e *gl.MergeEvent, normalized []byte, _ Options) (facts.Batch, error) {
	var x mergeRequestExtra
	if err := json.Unmarshal(normalized, &x); err != nil {
		return facts.Batch{}, err
	}
	a := e.ObjectAttributes
	path := x.path()
	if path == "" && a.Target != nil {
		path = a.Target.PathWithNamespace
	}
	repo, err := requireRepo(path)
	if err != nil {
		return facts.Batch{}, err
	}
	created, updated, err := objectTimes(a.IID, a.CreatedAt, a.UpdatedAt)
	if err != nil {
		return facts.Batch{}, err
	}
	state := strings.ToLower(strings.TrimSpace(a.State))
	if state == "" {
		state = map[gl.StateID]string{gl.StateIDOpen: "opened", gl.StateIDClosed: "closed",
			gl.StateIDMerged: "merged", gl.StateIDLocked: "locked"}[a.StateID]
	}
	action := strings.ToLower(strings.TrimSpace(a.Action))
	pr := facts.PullRequest{
		Repo:      repo,
		Number:    a.IID,
		Title:     a.Title,
		Labels:    objectLabels(a.Labels, e.Labels),
		HeadRef:   a.SourceBranch,
		HeadSHA:   a.LastCommit.ID,
		BaseRef:   a.TargetBranch,
		State:     state,
		Merged:    state == "merged" || action == "merge",
		CreatedAt: created,
		MergedAt:  x.ObjectAttributes.MergedAt.Time,
		ClosedAt:  x.ObjectAttributes.ClosedAt.Time,
		UpdatedAt: updated,
		URL:       a.URL,
	}
	if e.User != nil && (e.User.ID != 0 && e.User.ID == a.AuthorID || a.AuthorID == 0 && action == "open") {
		pr.Author = username(e.User)
	}
	switch state {
	case "opened", "locked":
		pr.State = "open"
	case "closed", "merged":
		pr.State = "closed"
	}
	if pr.Merged {
		pr.State = "closed"
		if pr.MergedAt.IsZero() && action == "merge" {
			pr.MergedAt = updated
		}
		if pr.ClosedAt.IsZero() {
			pr.ClosedAt = pr.MergedAt
		}
		pr.MergeCommitSHA = firstNonEmpty(a.MergeCommitSHA, x.ObjectAttributes.SquashCommitSHA, a.LastCommit.ID)
	} else {
		pr.MergeCommitSHA = firstNonEmpty(a.MergeCommitSHA, x.ObjectAttributes.SquashCommitSHA)
		if pr.ClosedAt.IsZero() && action == "close" {
			pr.ClosedAt = updated
		}
	}
	b := facts.Batch{PullRequests: []facts.PullRequest{pr}}
	if (action == "approved" || action == "approval") && e.User != nil {
		b.Reviews = []facts.Review{{
			Repo:        repo,
			PRNumber:    a.IID,
			ReviewID:    e.User.ID,
			State:       "approved",
			Author:      username(e.User),
			SubmittedAt: updated,
		}}
	}
	return b, nil
}

// ---- pipelines and jobs --------------------------------------------------------

var pipelineFields = withProject(
	"project.ci_config_path",
	"object_attributes.id", "object_attributes.name", "object_attributes.ref", "object_attributes.tag",
	"object_attributes.sha", "object_attributes.source", "object_attributes.status",
	"object_attributes.created_at", "object_attributes.finished_at",
	"builds.created_at", "builds.started_at", "builds.finished_at",
)

// pipelineExtra is what a Pipeline Hook has beyond client-go's type.
type pipelineExtra struct {
	Project *struct {
		CIConfigPath string `json:"ci_config_path"`
	} `json:"project"`
}

// runState maps a GitLab pipeline or job status to a run's status and
// conclusion: success, failed → failure, canceled → cancelled and skipped
// are completed; running and canceling are in_progress; manual is waiting;
// created, pending, preparing, scheduled and waiting_for_resource are
// queued. Anything else is kept as the status, without a conclusion.
func runState(s string) (status, conclusion string) {
	switch s = strings.ToLower(strings.TrimSpace(s)); s {
	case "success":
		return "completed", "success"
	case "failed":
		return "completed", "failure"
	case "canceled", "cancelled":
		return "completed", "cancelled"
	case "skipped":
		return "completed", "skipped"
	case "running", "canceling":
		return "in_progress", ""
	case "manual":
		return "waiting", ""
	case "created", "pending", "preparing", "scheduled", "waiting_for_resource", "waiting_for_callback":
		return "queued", ""
	}
	return s, ""
}

// parsePipeline maps a Pipeline Hook to a run: ID is the pipeline id (GitLab
// keeps it when jobs are retried, so Attempt is 1 and the newest state
// wins); Path is the project's ci_config_path, else .gitlab-ci.yml; Name is
// the pipeline's name when it has one, else Path, which is what a deploy
// rule matches; Event is the pipeline's source (push, merge_request_event,
// schedule, ...). StartedAt is created_at; FinishedAt is finished_at once
// the pipeline completed. UpdatedAt, which orders a run's updates, is the
// latest time the payload holds, its jobs' included.
func parsePipeline(e *gl.PipelineEvent, normalized []byte, _ Options) (facts.Batch, error) {
	var x pipelineExtra
	if err := json.Unmarshal(normalized, &x); err != nil {
		return facts.Batch{}, err
	}
	repo, err := projectRepo(normalized)
	if err != nil {
		return facts.Batch{}, err
	}
	a := e.ObjectAttributes
	if a.ID <= 0 {
		return facts.Batch{}, errors.New("no object_attributes.id")
	}
	created, err := fieldTime(a.CreatedAt, "created_at")
	if err != nil {
		return facts.Batch{}, err
	}
	finished, err := fieldTime(a.FinishedAt, "finished_at")
	if err != nil {
		return facts.Batch{}, err
	}
	updated := latest(created, finished)
	for _, bd := range e.Builds {
		for _, s := range []string{bd.CreatedAt, bd.StartedAt, bd.FinishedAt} {
			t, err := fieldTime(s, "builds")
			if err != nil {
				return facts.Batch{}, err
			}
			updated = latest(updated, t)
		}
	}
	path := DefaultCIConfigPath
	if x.Project != nil && strings.TrimSpace(x.Project.CIConfigPath) != "" {
		path = strings.TrimSpace(x.Project.CIConfigPath)
	}
	run := facts.PipelineRun{
		Repo:       repo,
		ID:         strconv.FormatInt(a.ID, 10),
		Attempt:    1,
		Name:       firstNonEmpty(strings.TrimSpace(a.Name), path),
		Path:       path,
		HeadBranch: headRef(a.Ref, a.Tag),
		HeadSHA:    a.SHA,
		Event:      a.Source,
		StartedAt:  created,
		UpdatedAt:  updated,
		URL:        firstNonEmpty(a.URL, projectPage(e.Project.WebURL, "pipelines", a.ID)),
	}
	return runBatch(run, a.Status, finished), nil
}

// runBatch is run in the state GitLab's status names, finished at finished
// once it completed.
func runBatch(run facts.PipelineRun, status string, finished time.Time) facts.Batch {
	run.Status, run.Conclusion = runState(status)
	if run.Status == "completed" {
		run.FinishedAt = finished
	}
	return facts.Batch{PipelineRuns: []facts.PipelineRun{run}}
}

var jobFields = withProject(
	"build_id", "build_name", "build_status", "build_created_at", "build_started_at", "build_finished_at",
	"retries_count", "ref", "tag", "sha",
)

// parseJob maps a Job Hook to a run of its own: ID "job/<build_id>" (a
// retried job gets a new build id), Attempt retries_count+1, Name the job's
// name, no Path (so that a deploy rule naming the pipeline file does not
// match every job), StartedAt build_started_at (else build_created_at),
// FinishedAt build_finished_at once the job completed. The project is the
// project object's path_with_namespace where the payload has one, else the
// path of the repository's homepage (older job payloads name the project
// only by display name).
func parseJob(e *gl.JobEvent, normalized []byte, _ Options) (facts.Batch, error) {
	repo, err := projectRepo(normalized)
	if err != nil {
		return facts.Batch{}, err
	}
	if e.BuildID <= 0 {
		return facts.Batch{}, errors.New("no build_id")
	}
	var ts [3]time.Time
	for i, s := range []string{e.BuildCreatedAt, e.BuildStartedAt, e.BuildFinishedAt} {
		if ts[i], err = fieldTime(s, "build time"); err != nil {
			return facts.Batch{}, err
		}
	}
	created, started, finished := ts[0], ts[1], ts[2]
	run := facts.PipelineRun{
		Repo:       repo,
		ID:         "job/" + strconv.FormatInt(e.BuildID, 10),
		Attempt:    min(max(e.RetriesCount, 0), math.MaxInt32) + 1,
		Name:       e.BuildName,
		HeadBranch: headRef(e.Ref, e.Tag),
		HeadSHA:    e.SHA,
		StartedAt:  started,
		UpdatedAt:  latest(created, started, finished),
		URL:        projectPage(e.Repository.Homepage, "jobs", e.BuildID),
	}
	if run.StartedAt.IsZero() {
		run.StartedAt = created
	}
	return runBatch(run, e.BuildStatus, finished), nil
}

// projectPage is the page of a pipeline or job (kind "pipelines" or
// "jobs") under the project's web URL, for payloads that give the project's
// page but not the object's; "" without a project URL.
func projectPage(web, kind string, id int64) string {
	web = strings.TrimRight(strings.TrimSpace(web), "/")
	if web == "" || id <= 0 {
		return ""
	}
	return web + "/-/" + kind + "/" + strconv.FormatInt(id, 10)
}

// ---- deployments ---------------------------------------------------------------

var deploymentFields = withProject(
	"deployment_id", "status", "status_changed_at", "environment",
	"environment_tier", "ref", "short_sha", "commit_url", "user.username", "user.name",
)

type deploymentExtra struct {
	projectRefs
	EnvironmentTier string `json:"environment_tier"`
}

// deploymentState maps a GitLab deployment status: success, failed →
// failure, canceled → cancelled, running → in_progress, created → queued,
// blocked (waiting for approval) → pending; anything else as sent.
func deploymentState(s string) string {
	switch s = strings.ToLower(strings.TrimSpace(s)); s {
	case "failed":
		return "failure"
	case "canceled":
		return "cancelled"
	case "running":
		return "in_progress"
	case "created":
		return "queued"
	case "blocked":
		return "pending"
	}
	return s
}

// parseDeployment maps a Deployment Hook to the deployment and one status.
// The payload gives only an abbreviated SHA; the full one is the last
// segment of commit_url, used when it is a full hex SHA that starts with
// short_sha. ProductionEnvironment is set when environment_tier is
// production. The status, whose id is GitLab's status name (each status is
// reached once per deployment), is at status_changed_at, which is also the
// deployment's UpdatedAt; the payload has no creation time.
func parseDeployment(e *gl.DeploymentEvent, normalized []byte, _ Options) (facts.Batch, error) {
	var x deploymentExtra
	if err := json.Unmarshal(normalized, &x); err != nil {
		return facts.Batch{}, err
	}
	repo, err := requireRepo(x.path())
	if err != nil {
		return facts.Batch{}, err
	}
	if e.DeploymentID <= 0 {
		return facts.Batch{}, errors.New("no deployment_id")
	}
	changed, err := fieldTime(e.StatusChangedAt, "status_changed_at")
	if err != nil {
		return facts.Batch{}, err
	}
	id := strconv.FormatInt(e.DeploymentID, 10)
	dep := facts.Deployment{
		Repo:                  repo,
		ID:                    id,
		SHA:                   deploymentSHA(e.CommitURL, e.ShortSHA),
		Ref:                   e.Ref,
		Environment:           e.Environment,
		ProductionEnvironment: strings.EqualFold(strings.TrimSpace(x.EnvironmentTier), "production"),
		Creator:               username(e.User),
		UpdatedAt:             changed,
		// The job that ran the deployment.
		URL: e.DeployableURL,
	}
	status := strings.ToLower(strings.TrimSpace(e.Status))
	b := facts.Batch{Deployments: []facts.Deployment{dep}}
	if status != "" {
		b.DeploymentStatuses = []facts.DeploymentStatus{{
			Repo:         repo,
			DeploymentID: id,
			StatusID:     status,
			State:        deploymentState(status),
			Environment:  e.Environment,
			CreatedAt:    changed,
		}}
	}
	return b, nil
}

// deploymentSHA is the full SHA at the end of commitURL when there is one
// consistent with short, else short.
func deploymentSHA(commitURL, short string) string {
	short = strings.ToLower(strings.TrimSpace(short))
	if u, err := url.Parse(strings.TrimSpace(commitURL)); err == nil {
		seg := strings.ToLower(u.Path[strings.LastIndexByte(u.Path, '/')+1:])
		if (len(seg) == 40 || len(seg) == 64) && ingest.IsHex(seg) && strings.HasPrefix(seg, short) {
			return seg
		}
	}
	return short
}

// ---- releases ------------------------------------------------------------------

var releaseFields = withProject(
	"id", "tag", "name", "action", "created_at", "released_at", "commit.id",
)

// parseRelease maps a Release Hook: Target is the commit id, PublishedAt
// released_at (which GitLab lets a user set in the past or the future),
// CreatedAt created_at. GitLab has no drafts or prereleases. The delete
// action gives nothing.
func parseRelease(e *gl.ReleaseEvent, normalized []byte, _ Options) (facts.Batch, error) {
	repo, err := projectRepo(normalized)
	if err != nil {
		return facts.Batch{}, err
	}
	if e.ID <= 0 {
		return facts.Batch{}, errors.New("no release id")
	}
	created, err := fieldTime(e.CreatedAt, "created_at")
	if err != nil {
		return facts.Batch{}, err
	}
	released, err := fieldTime(e.ReleasedAt, "released_at")
	if err != nil {
		return facts.Batch{}, err
	}
	if strings.EqualFold(strings.TrimSpace(e.Action), "delete") {
		return facts.Batch{}, nil
	}
	return facts.Batch{Releases: []facts.Release{{
		Repo:        repo,
		ID:          strconv.FormatInt(e.ID, 10),
		Tag:         e.Tag,
		Target:      e.Commit.ID,
		Name:        e.Name,
		CreatedAt:   created,
		PublishedAt: released,
		URL:         e.URL,
	}}}, nil
}

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
