// Package simulate produces GitHub webhook deliveries in the format GitHub
// sends them: for the local demo, for end-to-end tests, and (with ground
// truth computed on its own) for checking the pipeline's numbers.
package simulate

import (
	"encoding/json"
	"fmt"
	"time"
)

// Delivery is one webhook delivery to send: the X-GitHub-Event value, the
// X-GitHub-Delivery id and the JSON body.
type Delivery struct {
	Event   string
	ID      string
	Payload []byte
}

// The structs below carry the subset of GitHub's payload fields that the
// pipeline reads, under GitHub's own JSON names.

type ghUser struct {
	Login string `json:"login"`
	ID    int64  `json:"id"`
	Type  string `json:"type"`
}

type ghRepo struct {
	ID            int64  `json:"id"`
	Name          string `json:"name"`
	FullName      string `json:"full_name"`
	Owner         ghUser `json:"owner"`
	DefaultBranch string `json:"default_branch"`
	HTMLURL       string `json:"html_url"`
	// PushedAt is epoch seconds in push events and RFC 3339 elsewhere.
	PushedAt any `json:"pushed_at,omitempty"`
}

type ghCommitAuthor struct {
	Name     string `json:"name"`
	Email    string `json:"email"`
	Username string `json:"username,omitempty"`
}

type ghCommit struct {
	ID        string         `json:"id"`
	TreeID    string         `json:"tree_id"`
	Distinct  bool           `json:"distinct"`
	Message   string         `json:"message"`
	Timestamp string         `json:"timestamp"`
	URL       string         `json:"url"`
	Author    ghCommitAuthor `json:"author"`
	Committer ghCommitAuthor `json:"committer"`
	Added     []string       `json:"added"`
	Removed   []string       `json:"removed"`
	Modified  []string       `json:"modified"`
}

type ghPush struct {
	Ref        string         `json:"ref"`
	Before     string         `json:"before"`
	After      string         `json:"after"`
	Created    bool           `json:"created"`
	Deleted    bool           `json:"deleted"`
	Forced     bool           `json:"forced"`
	BaseRef    *string        `json:"base_ref"`
	Compare    string         `json:"compare"`
	Commits    []ghCommit     `json:"commits"`
	HeadCommit *ghCommit      `json:"head_commit"`
	Repository ghRepo         `json:"repository"`
	Pusher     ghCommitAuthor `json:"pusher"`
	Sender     ghUser         `json:"sender"`
}

type ghLabel struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Color string `json:"color"`
}

type ghBranch struct {
	Label string `json:"label"`
	Ref   string `json:"ref"`
	SHA   string `json:"sha"`
}

type ghPull struct {
	URL            string    `json:"url"`
	ID             int64     `json:"id"`
	Number         int64     `json:"number"`
	State          string    `json:"state"`
	Title          string    `json:"title"`
	User           ghUser    `json:"user"`
	Body           *string   `json:"body"`
	Labels         []ghLabel `json:"labels"`
	CreatedAt      string    `json:"created_at"`
	UpdatedAt      string    `json:"updated_at"`
	ClosedAt       *string   `json:"closed_at"`
	MergedAt       *string   `json:"merged_at"`
	MergeCommitSHA *string   `json:"merge_commit_sha"`
	Draft          bool      `json:"draft"`
	Head           ghBranch  `json:"head"`
	Base           ghBranch  `json:"base"`
	Merged         bool      `json:"merged"`
}

type ghPullEvent struct {
	Action      string `json:"action"`
	Number      int64  `json:"number"`
	PullRequest ghPull `json:"pull_request"`
	Repository  ghRepo `json:"repository"`
	Sender      ghUser `json:"sender"`
}

type ghReview struct {
	ID          int64  `json:"id"`
	User        ghUser `json:"user"`
	Body        string `json:"body"`
	CommitID    string `json:"commit_id"`
	SubmittedAt string `json:"submitted_at"`
	State       string `json:"state"`
}

type ghReviewEvent struct {
	Action      string   `json:"action"`
	Review      ghReview `json:"review"`
	PullRequest ghPull   `json:"pull_request"`
	Repository  ghRepo   `json:"repository"`
	Sender      ghUser   `json:"sender"`
}

type ghDeployment struct {
	URL                   string          `json:"url"`
	ID                    int64           `json:"id"`
	SHA                   string          `json:"sha"`
	Ref                   string          `json:"ref"`
	Task                  string          `json:"task"`
	Payload               json.RawMessage `json:"payload"`
	OriginalEnvironment   string          `json:"original_environment"`
	Environment           string          `json:"environment"`
	Description           *string         `json:"description"`
	Creator               ghUser          `json:"creator"`
	CreatedAt             string          `json:"created_at"`
	UpdatedAt             string          `json:"updated_at"`
	ProductionEnvironment *bool           `json:"production_environment,omitempty"`
}

type ghDeploymentStatus struct {
	URL         string `json:"url"`
	ID          int64  `json:"id"`
	State       string `json:"state"`
	Creator     ghUser `json:"creator"`
	Description string `json:"description"`
	Environment string `json:"environment"`
	CreatedAt   string `json:"created_at"`
	UpdatedAt   string `json:"updated_at"`
}

type ghDeploymentEvent struct {
	Action     string       `json:"action"`
	Deployment ghDeployment `json:"deployment"`
	Repository ghRepo       `json:"repository"`
	Sender     ghUser       `json:"sender"`
}

type ghDeploymentStatusEvent struct {
	Action           string             `json:"action"`
	DeploymentStatus ghDeploymentStatus `json:"deployment_status"`
	Deployment       ghDeployment       `json:"deployment"`
	Repository       ghRepo             `json:"repository"`
	Sender           ghUser             `json:"sender"`
}

type ghIssue struct {
	URL       string    `json:"url"`
	HTMLURL   string    `json:"html_url"`
	ID        int64     `json:"id"`
	Number    int64     `json:"number"`
	Title     string    `json:"title"`
	User      ghUser    `json:"user"`
	Labels    []ghLabel `json:"labels"`
	State     string    `json:"state"`
	CreatedAt string    `json:"created_at"`
	UpdatedAt string    `json:"updated_at"`
	ClosedAt  *string   `json:"closed_at"`
	Body      *string   `json:"body"`
}

type ghIssueEvent struct {
	Action     string  `json:"action"`
	Issue      ghIssue `json:"issue"`
	Repository ghRepo  `json:"repository"`
	Sender     ghUser  `json:"sender"`
}

type ghWorkflowRun struct {
	ID           int64   `json:"id"`
	Name         string  `json:"name"`
	Path         string  `json:"path"`
	HeadBranch   string  `json:"head_branch"`
	HeadSHA      string  `json:"head_sha"`
	RunNumber    int64   `json:"run_number"`
	RunAttempt   int64   `json:"run_attempt"`
	Event        string  `json:"event"`
	Status       string  `json:"status"`
	Conclusion   *string `json:"conclusion"`
	WorkflowID   int64   `json:"workflow_id"`
	CreatedAt    string  `json:"created_at"`
	UpdatedAt    string  `json:"updated_at"`
	RunStartedAt string  `json:"run_started_at"`
}

type ghWorkflowRunEvent struct {
	Action      string        `json:"action"`
	WorkflowRun ghWorkflowRun `json:"workflow_run"`
	Repository  ghRepo        `json:"repository"`
	Sender      ghUser        `json:"sender"`
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func tsPtr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := ts(t)
	return &s
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func user(login string) ghUser {
	return ghUser{Login: login, ID: int64(fnv(login) % 1e8), Type: "User"}
}

func repository(fullName string) ghRepo {
	owner, name := splitRepo(fullName)
	return ghRepo{ID: int64(fnv(fullName) % 1e9), Name: name, FullName: fullName, Owner: user(owner),
		DefaultBranch: "main", HTMLURL: "https://github.com/" + fullName}
}

func splitRepo(full string) (owner, name string) {
	for i := 0; i < len(full); i++ {
		if full[i] == '/' {
			return full[:i], full[i+1:]
		}
	}
	return "", full
}

func fnv(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

func labels(names []string) []ghLabel {
	out := make([]ghLabel, 0, len(names))
	for _, n := range names {
		out = append(out, ghLabel{ID: int64(fnv(n) % 1e8), Name: n, Color: "ededed"})
	}
	return out
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("simulate: marshal %T: %v", v, err)) // only for our own structs
	}
	return b
}
