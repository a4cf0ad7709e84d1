package circleci

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/ingest"
)

// ErrMalformed wraps every error Parse returns for a payload that is not
// JSON, not the shape its event has, or lacks the ids a fact needs.
var ErrMalformed = errors.New("malformed circleci payload")

// Parse normalizes the payload of one CircleCI delivery of event (the
// circleci-event-type header) into facts. All times are UTC.
//
//   - workflow-completed: one facts.PipelineRun with ID = workflow.id,
//     Name = workflow.name, StartedAt = workflow.created_at and FinishedAt
//     = workflow.stopped_at (happened_at when CircleCI leaves it out).
//   - job-completed: one facts.PipelineRun with ID = "job/<job.id>",
//     Name = job.name, Path = "<workflow name>/<job name>", StartedAt =
//     job.started_at and FinishedAt = job.stopped_at (or happened_at).
//
// Both read the repository, branch and commit from pipeline.vcs (GitHub
// OAuth and Bitbucket Cloud projects) or pipeline.trigger_parameters
// (GitLab, GitHub App and Bitbucket Data Center projects). Status is
// always "completed"; the conclusion maps CircleCI's status: success →
// success, failed, error and unauthorized → failure, canceled → cancelled.
// CircleCI starts a new workflow id on a rerun, so Attempt is always 1.
// Any other event gives no facts and no error; a payload that is not
// valid JSON is an error for every event.
func Parse(event string, payload []byte) (facts.Batch, error) {
	if !json.Valid(payload) {
		return facts.Batch{}, fmt.Errorf("%w: %s: not valid JSON", ErrMalformed, event)
	}
	var (
		b   facts.Batch
		err error
	)
	switch event {
	case EventWorkflowCompleted:
		b, err = parseRun(payload, false)
	case EventJobCompleted:
		b, err = parseRun(payload, true)
	default:
		return facts.Batch{}, nil
	}
	if err != nil {
		return facts.Batch{}, fmt.Errorf("%w: %s: %v", ErrMalformed, event, err)
	}
	return b, nil
}

// Key is the ordering key of a delivery: the repository ("owner/name"),
// else the project slug, else "circleci".
func Key(payload []byte) string {
	var e webhookEvent
	if json.Unmarshal(payload, &e) != nil {
		return Source
	}
	if v := e.Pipeline.vcsInfo(); v.repo != "" {
		return v.repo
	}
	if e.Project.Slug != "" {
		return e.Project.Slug
	}
	return Source
}

// ---- JSON shapes -----------------------------------------------------------

// ciTime reads an RFC 3339 time; null and "" are the zero time.
type ciTime struct{ time.Time }

func (t *ciTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("time %s is not a string", ingest.Truncate(string(b), 64))
	}
	s = strings.TrimSpace(s)
	if s == "" {
		t.Time = time.Time{}
		return nil
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("time %q is not RFC 3339", ingest.Truncate(s, 64))
	}
	t.Time = v.UTC()
	return nil
}

// ciID reads an id CircleCI sends as a string (or, defensively, a number).
type ciID string

func (id *ciID) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*id = ciID(strings.TrimSpace(s))
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err == nil {
		*id = ciID(n.String())
		return nil
	}
	if string(b) == "null" {
		*id = ""
		return nil
	}
	return fmt.Errorf("id %s is neither a string nor a number", ingest.Truncate(string(b), 64))
}

type gitParams struct {
	Branch      string `json:"branch"`
	Tag         string `json:"tag"`
	CheckoutSHA string `json:"checkout_sha"`
	CommitSHA   string `json:"commit_sha"`
	CheckoutURL string `json:"checkout_url"`
	RepoURL     string `json:"repo_url"`
	WebURL      string `json:"web_url"`
}

type pipeline struct {
	Trigger struct {
		Type string `json:"type"`
	} `json:"trigger"`
	VCS *struct {
		OriginRepositoryURL string `json:"origin_repository_url"`
		TargetRepositoryURL string `json:"target_repository_url"`
		Revision            string `json:"revision"`
		Branch              string `json:"branch"`
		Tag                 string `json:"tag"`
	} `json:"vcs"`
	TriggerParameters *struct {
		Git       *gitParams `json:"git"`
		GitLab    *gitParams `json:"gitlab"`
		GitHubApp *gitParams `json:"github_app"`
		CircleCI  *struct {
			EventType string `json:"event_type"`
		} `json:"circleci"`
	} `json:"trigger_parameters"`
}

type vcsInfo struct {
	repo, branch, sha, event string
}

// vcsInfo collects the repository, branch, commit and trigger event of the
// pipeline from whichever of vcs and trigger_parameters CircleCI filled.
func (p *pipeline) vcsInfo() vcsInfo {
	var v vcsInfo
	if p.VCS != nil {
		v.repo = ingest.RepoFromURL(p.VCS.OriginRepositoryURL)
		if v.repo == "" {
			v.repo = ingest.RepoFromURL(p.VCS.TargetRepositoryURL)
		}
		v.branch, v.sha = p.VCS.Branch, p.VCS.Revision
	}
	if tp := p.TriggerParameters; tp != nil {
		for _, g := range []*gitParams{tp.Git, tp.GitHubApp, tp.GitLab} {
			if g == nil {
				continue
			}
			for _, u := range []string{g.CheckoutURL, g.RepoURL, g.WebURL} {
				if v.repo == "" {
					v.repo = ingest.RepoFromURL(u)
				}
			}
			if v.branch == "" {
				v.branch = g.Branch
			}
			if v.sha == "" {
				v.sha = g.CheckoutSHA
			}
			if v.sha == "" {
				v.sha = g.CommitSHA
			}
		}
		if tp.CircleCI != nil {
			v.event = tp.CircleCI.EventType
		}
	}
	if v.event == "" {
		v.event = p.Trigger.Type
	}
	v.branch = strings.TrimPrefix(v.branch, "refs/heads/")
	return v
}

type webhookEvent struct {
	ID         ciID   `json:"id"`
	Type       string `json:"type"`
	HappenedAt ciTime `json:"happened_at"`
	Project    struct {
		Slug string `json:"slug"`
	} `json:"project"`
	Workflow *struct {
		ID        ciID   `json:"id"`
		Name      string `json:"name"`
		Status    string `json:"status"`
		CreatedAt ciTime `json:"created_at"`
		StoppedAt ciTime `json:"stopped_at"`
		URL       string `json:"url"`
	} `json:"workflow"`
	Job *struct {
		ID        ciID   `json:"id"`
		Number    ciID   `json:"number"`
		Name      string `json:"name"`
		Status    string `json:"status"`
		StartedAt ciTime `json:"started_at"`
		StoppedAt ciTime `json:"stopped_at"`
	} `json:"job"`
	Pipeline pipeline `json:"pipeline"`
}

func parseRun(payload []byte, job bool) (facts.Batch, error) {
	var e webhookEvent
	if err := json.Unmarshal(payload, &e); err != nil {
		return facts.Batch{}, err
	}
	v := e.Pipeline.vcsInfo()
	run := facts.PipelineRun{
		Repo:       v.repo,
		Attempt:    1,
		HeadBranch: v.branch,
		HeadSHA:    v.sha,
		Event:      v.event,
		Status:     "completed",
		UpdatedAt:  e.HappenedAt.Time,
	}
	if job {
		j := e.Job
		if j == nil || j.ID == "" {
			return facts.Batch{}, errors.New("no job.id")
		}
		run.ID = "job/" + string(j.ID)
		run.Name = j.Name
		if e.Workflow != nil && e.Workflow.Name != "" && j.Name != "" {
			run.Path = e.Workflow.Name + "/" + j.Name
		}
		run.Conclusion = conclusion(j.Status)
		run.StartedAt, run.FinishedAt = j.StartedAt.Time, j.StoppedAt.Time
		// A job's page lies under its workflow's: .../workflows/<id>/jobs/<number>.
		if e.Workflow != nil && e.Workflow.URL != "" && j.Number != "" {
			run.URL = strings.TrimRight(e.Workflow.URL, "/") + "/jobs/" + string(j.Number)
		}
	} else {
		w := e.Workflow
		if w == nil || w.ID == "" {
			return facts.Batch{}, errors.New("no workflow.id")
		}
		run.ID = string(w.ID)
		run.Name = w.Name
		run.Conclusion = conclusion(w.Status)
		run.StartedAt, run.FinishedAt = w.CreatedAt.Time, w.StoppedAt.Time
		run.URL = w.URL
	}
	if run.FinishedAt.IsZero() {
		run.FinishedAt = e.HappenedAt.Time
	}
	if run.UpdatedAt.IsZero() {
		run.UpdatedAt = run.FinishedAt
	}
	return facts.Batch{PipelineRuns: []facts.PipelineRun{run}}, nil
}

// conclusion maps a CircleCI workflow or job status to the conclusion of
// a facts.PipelineRun.
func conclusion(status string) string {
	switch s := strings.ToLower(strings.TrimSpace(status)); s {
	case "success":
		return "success"
	case "failed", "error", "unauthorized", "infrastructure_fail", "timedout":
		return "failure"
	case "canceled", "cancelled":
		return "cancelled"
	default:
		return s
	}
}
