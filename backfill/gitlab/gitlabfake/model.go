// Package gitlabfake serves a GitLab instance's history through GitLab's
// REST API (v4), in the JSON shapes GitLab documents, with its pagination
// headers (X-Next-Page, X-Total and Link), its authentication and scope
// errors, and faults a test schedules (429 with Retry-After or
// RateLimit-Reset, 5xx, truncated pages). It is the stand-in for
// gitlab.com that the import's tests and the documented load runs use.
package gitlabfake

import "time"

// Instance is what the fake GitLab holds.
type Instance struct {
	// WebURL is the instance's address in web_url fields
	// (default https://gitlab.example.com).
	WebURL   string
	Projects []*Project
}

// Project is one project and its history.
type Project struct {
	ID            int64
	Path          string // path_with_namespace: "group/subgroup/name"
	DefaultBranch string // default "main"
	Archived      bool
	CIConfigPath  string
	Commits       []*Commit // any order; their parents link them
	Pushes        []Push    // pushes to any branch, in time order
	MergeRequests []*MergeRequest
	Pipelines     []Pipeline
	Deployments   []Deployment
	Environments  []Environment
	Issues        []Issue
	Jobs          []Job
}

// Job is one CI job in its current state.
type Job struct {
	ID, PipelineID             int64
	Name, Stage, Ref, SHA      string
	Tag                        bool
	Status                     string
	By                         User
	Created, Started, Finished time.Time
}

// User is a GitLab user, by username; the fake gives each a stable id.
type User = string

// Change is one path a commit or merge request changes.
type Change struct {
	Path    string
	OldPath string // for renames
	Kind    string // "added", "modified", "removed", "renamed"
}

// Commit is one commit.
type Commit struct {
	SHA     string
	Parents []string
	Author  User
	Message string
	At      time.Time // author and committer date
	Changes []Change
}

// Push is one push (an event with push_data).
type Push struct {
	ID            int64
	Ref           string // branch name
	Before, After string
	At            time.Time
	By            User
}

// Approval is one user's approval of a merge request.
type Approval struct {
	By User
	At time.Time
}

// MergeRequest is one merge request in the state it is in now.
type MergeRequest struct {
	ID, IID                      int64
	Title, Description           string
	Author                       User
	Source, Target               string
	State                        string // opened, closed, merged
	Created, Updated             time.Time
	Merged, Closed               time.Time
	MergedBy                     User
	HeadSHA                      string
	MergeCommitSHA, SquashCommit string
	Commits                      []string // oldest first
	Changes                      []Change
	Approvals                    []Approval
	Labels                       []string
}

// Pipeline is one pipeline in its current state.
type Pipeline struct {
	ID, IID          int64
	Ref              string
	Tag              bool
	SHA              string
	Source, Status   string
	Name             string
	Created, Updated time.Time // Updated: its finish, once finished
}

// Deployment is one deployment in its current state.
type Deployment struct {
	ID, IID         int64
	Ref, SHA        string
	Status          string // created, running, success, failed, canceled, blocked
	Environment     string
	JobID           int64
	Started         time.Time // its job's start
	Created         time.Time
	Updated         time.Time // when it reached Status
	By              User
	CommitTitle     string
	EnvironmentID   int64
	EnvironmentSlug string
}

// Environment is one environment and its tier.
type Environment struct {
	ID         int64
	Name, Tier string
}

// Issue is one issue in its current state.
type Issue struct {
	ID, IID            int64
	Title, Description string
	State              string // opened, closed
	Type               string // issue, incident
	Labels             []string
	Author             User
	Created, Updated   time.Time
	Closed             time.Time
}
