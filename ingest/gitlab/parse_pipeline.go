package gitlab

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/doraflow/doraflow/facts"
)

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
