package gitlab

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

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
