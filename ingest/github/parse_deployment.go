package github

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"strings"

	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/ingest"
)

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
	return ingest.CommitList(p.Commits)
}
