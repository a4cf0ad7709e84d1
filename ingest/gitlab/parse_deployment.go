package gitlab

import (
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/ingest"
)

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
