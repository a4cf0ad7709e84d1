package github

import (
	"encoding/json"
	"errors"

	"github.com/doraflow/doraflow/facts"
)

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
