package gitlab

import (
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"
)

// The webhook payloads an import publishes, in the shapes GitLab documents
// for its Push, Merge Request, Pipeline, Deployment and Issue Hooks. They
// carry what ingest/gitlab reads and the context a reader of the raw
// archive expects; client-go's event types lack several of the fields read
// (merged_at, closed_at, squash_commit_sha, environment_tier, issue_type),
// so the shapes are declared here.

// hookTime is how GitLab writes most times in hooks.
func hookTime(t *time.Time) *string {
	if t == nil || t.IsZero() {
		return nil
	}
	s := t.UTC().Format("2006-01-02 15:04:05 UTC")
	return &s
}

type hookProject struct {
	ID                int64  `json:"id"`
	Name              string `json:"name"`
	WebURL            string `json:"web_url"`
	GitSSHURL         string `json:"git_ssh_url"`
	GitHTTPURL        string `json:"git_http_url"`
	Namespace         string `json:"namespace"`
	VisibilityLevel   int    `json:"visibility_level"`
	PathWithNamespace string `json:"path_with_namespace"`
	DefaultBranch     string `json:"default_branch"`
	CIConfigPath      string `json:"ci_config_path,omitempty"`
	Homepage          string `json:"homepage"`
	URL               string `json:"url"`
	SSHURL            string `json:"ssh_url"`
	HTTPURL           string `json:"http_url"`
}

type hookRepository struct {
	Name       string `json:"name"`
	URL        string `json:"url"`
	Homepage   string `json:"homepage"`
	GitHTTPURL string `json:"git_http_url"`
	GitSSHURL  string `json:"git_ssh_url"`
}

type hookUser struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	Username  string `json:"username"`
	AvatarURL string `json:"avatar_url,omitempty"`
}

type hookLabel struct {
	Title string `json:"title"`
}

type hookAuthor struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

type hookCommit struct {
	ID        string     `json:"id"`
	Message   string     `json:"message"`
	Title     string     `json:"title"`
	Timestamp string     `json:"timestamp,omitempty"`
	URL       string     `json:"url"`
	Author    hookAuthor `json:"author"`
	Added     []string   `json:"added"`
	Modified  []string   `json:"modified"`
	Removed   []string   `json:"removed"`
}

// project is what every hook says of the project.
type project struct {
	hook hookProject
	repo hookRepository
}

func newProject(p *gl.Project) project {
	visibility := map[gl.VisibilityValue]int{gl.PrivateVisibility: 0, gl.InternalVisibility: 10, gl.PublicVisibility: 20}[p.Visibility]
	ns := p.Namespace
	nsName := ""
	if ns != nil {
		nsName = ns.Name
	}
	return project{
		hook: hookProject{ID: p.ID, Name: p.Name, WebURL: p.WebURL, GitSSHURL: p.SSHURLToRepo, GitHTTPURL: p.HTTPURLToRepo,
			Namespace: nsName, VisibilityLevel: visibility, PathWithNamespace: p.PathWithNamespace, DefaultBranch: p.DefaultBranch,
			CIConfigPath: p.CIConfigPath, Homepage: p.WebURL, URL: p.SSHURLToRepo, SSHURL: p.SSHURLToRepo, HTTPURL: p.HTTPURLToRepo},
		repo: hookRepository{Name: p.Name, URL: p.SSHURLToRepo, Homepage: p.WebURL, GitHTTPURL: p.HTTPURLToRepo, GitSSHURL: p.SSHURLToRepo},
	}
}

// commitURL is a commit's page under the project's.
func (p project) commitURL(sha string) string {
	return strings.TrimRight(p.hook.WebURL, "/") + "/-/commit/" + sha
}

type pushHook struct {
	ObjectKind        string         `json:"object_kind"`
	EventName         string         `json:"event_name"`
	Before            string         `json:"before"`
	After             string         `json:"after"`
	Ref               string         `json:"ref"`
	RefProtected      bool           `json:"ref_protected"`
	CheckoutSHA       string         `json:"checkout_sha"`
	UserID            int64          `json:"user_id"`
	UserName          string         `json:"user_name"`
	UserUsername      string         `json:"user_username"`
	ProjectID         int64          `json:"project_id"`
	Project           hookProject    `json:"project"`
	Commits           []hookCommit   `json:"commits"`
	TotalCommitsCount int            `json:"total_commits_count"`
	Repository        hookRepository `json:"repository"`
}

type mergeRequestAttributes struct {
	ID              int64       `json:"id"`
	IID             int64       `json:"iid"`
	Title           string      `json:"title"`
	Description     string      `json:"description"`
	AuthorID        int64       `json:"author_id"`
	SourceBranch    string      `json:"source_branch"`
	TargetBranch    string      `json:"target_branch"`
	SourceProjectID int64       `json:"source_project_id"`
	TargetProjectID int64       `json:"target_project_id"`
	State           string      `json:"state"`
	StateID         int         `json:"state_id"`
	Action          string      `json:"action"`
	MergeCommitSHA  *string     `json:"merge_commit_sha"`
	SquashCommitSHA *string     `json:"squash_commit_sha"`
	CreatedAt       *string     `json:"created_at"`
	UpdatedAt       *string     `json:"updated_at"`
	MergedAt        *string     `json:"merged_at"`
	ClosedAt        *string     `json:"closed_at"`
	URL             string      `json:"url"`
	Draft           bool        `json:"draft"`
	Labels          []hookLabel `json:"labels"`
	LastCommit      struct {
		ID        string     `json:"id"`
		Message   string     `json:"message"`
		Timestamp string     `json:"timestamp,omitempty"`
		URL       string     `json:"url"`
		Author    hookAuthor `json:"author"`
	} `json:"last_commit"`
}

type mergeRequestHook struct {
	ObjectKind       string                 `json:"object_kind"`
	EventType        string                 `json:"event_type"`
	User             hookUser               `json:"user"`
	Project          hookProject            `json:"project"`
	ObjectAttributes mergeRequestAttributes `json:"object_attributes"`
	Labels           []hookLabel            `json:"labels"`
	Repository       hookRepository         `json:"repository"`
}

type pipelineHook struct {
	ObjectKind       string `json:"object_kind"`
	ObjectAttributes struct {
		ID         int64    `json:"id"`
		IID        int64    `json:"iid"`
		Name       *string  `json:"name"`
		Ref        string   `json:"ref"`
		Tag        bool     `json:"tag"`
		SHA        string   `json:"sha"`
		Source     string   `json:"source"`
		Status     string   `json:"status"`
		Stages     []string `json:"stages"`
		CreatedAt  *string  `json:"created_at"`
		FinishedAt *string  `json:"finished_at"`
		URL        string   `json:"url"`
	} `json:"object_attributes"`
	User    *hookUser   `json:"user"`
	Project hookProject `json:"project"`
	Commit  *struct {
		ID  string `json:"id"`
		URL string `json:"url"`
	} `json:"commit"`
	Builds []any `json:"builds"`
}

type jobHook struct {
	ObjectKind         string         `json:"object_kind"`
	Ref                string         `json:"ref"`
	Tag                bool           `json:"tag"`
	SHA                string         `json:"sha"`
	RetriesCount       int64          `json:"retries_count"`
	BuildID            int64          `json:"build_id"`
	BuildName          string         `json:"build_name"`
	BuildStage         string         `json:"build_stage"`
	BuildStatus        string         `json:"build_status"`
	BuildCreatedAt     *string        `json:"build_created_at"`
	BuildStartedAt     *string        `json:"build_started_at"`
	BuildFinishedAt    *string        `json:"build_finished_at"`
	BuildDuration      float64        `json:"build_duration"`
	BuildAllowFailure  bool           `json:"build_allow_failure"`
	BuildFailureReason string         `json:"build_failure_reason"`
	PipelineID         int64          `json:"pipeline_id"`
	ProjectID          int64          `json:"project_id"`
	ProjectName        string         `json:"project_name"`
	User               *hookUser      `json:"user"`
	Project            hookProject    `json:"project"`
	Repository         hookRepository `json:"repository"`
}

type deploymentHook struct {
	ObjectKind             string      `json:"object_kind"`
	Status                 string      `json:"status"`
	StatusChangedAt        *string     `json:"status_changed_at"`
	DeploymentID           int64       `json:"deployment_id"`
	DeployableID           int64       `json:"deployable_id"`
	DeployableURL          string      `json:"deployable_url"`
	Environment            string      `json:"environment"`
	EnvironmentTier        string      `json:"environment_tier"`
	EnvironmentSlug        string      `json:"environment_slug"`
	EnvironmentExternalURL string      `json:"environment_external_url"`
	Project                hookProject `json:"project"`
	ShortSHA               string      `json:"short_sha"`
	User                   *hookUser   `json:"user"`
	UserURL                string      `json:"user_url"`
	CommitURL              string      `json:"commit_url"`
	CommitTitle            string      `json:"commit_title"`
	Ref                    string      `json:"ref"`
}

type issueHook struct {
	ObjectKind       string      `json:"object_kind"`
	EventType        string      `json:"event_type"`
	User             hookUser    `json:"user"`
	Project          hookProject `json:"project"`
	ObjectAttributes struct {
		ID          int64       `json:"id"`
		IID         int64       `json:"iid"`
		Title       string      `json:"title"`
		Description string      `json:"description"`
		State       string      `json:"state"`
		Action      string      `json:"action"`
		CreatedAt   *string     `json:"created_at"`
		UpdatedAt   *string     `json:"updated_at"`
		ClosedAt    *string     `json:"closed_at"`
		URL         string      `json:"url"`
		Labels      []hookLabel `json:"labels"`
		IssueType   string      `json:"issue_type,omitempty"`
		Type        string      `json:"type,omitempty"`
	} `json:"object_attributes"`
	Labels     []hookLabel    `json:"labels"`
	Repository hookRepository `json:"repository"`
}

func labels(ls []string) []hookLabel {
	out := make([]hookLabel, 0, len(ls))
	for _, l := range ls {
		out = append(out, hookLabel{Title: l})
	}
	return out
}

func user(u *gl.BasicUser) hookUser {
	if u == nil {
		return hookUser{}
	}
	return hookUser{ID: u.ID, Name: u.Name, Username: u.Username, AvatarURL: u.AvatarURL}
}

func str(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
