package simulate

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// ZeroSHA is the "before" of a branch's first push.
const ZeroSHA = "0000000000000000000000000000000000000000"

// Commit is one commit to push.
type Commit struct {
	SHA     string
	Message string
	Author  string // login; name and e-mail are derived from it
	At      time.Time
	Paths   []string
}

// PR is a pull request's state at the moment of an event.
type PR struct {
	Number         int64
	Title          string
	Author         string
	Labels         []string
	HeadRef        string
	HeadSHA        string
	BaseRef        string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	MergedAt       time.Time
	ClosedAt       time.Time
	MergeCommitSHA string
}

// Builder accumulates deliveries of one scripted history in order. Delivery
// ids and generated SHAs are deterministic for a given prefix.
type Builder struct {
	prefix string
	seq    int
	shaSeq int
	heads  map[string]string // repo + "\x00" + ref → head SHA
	out    []Delivery
}

// NewBuilder starts an empty history; prefix keeps ids unique across builders.
func NewBuilder(prefix string) *Builder {
	return &Builder{prefix: prefix, heads: map[string]string{}}
}

// Deliveries returns everything built so far, in order.
func (b *Builder) Deliveries() []Delivery { return b.out }

func (b *Builder) emit(event string, v any) {
	b.seq++
	h := fnv(fmt.Sprintf("%s/%d", b.prefix, b.seq))
	id := fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", uint32(h), uint16(h>>32), uint16(h>>48), b.seq%0x10000, fnv(b.prefix)&0xffffffffffff)
	b.out = append(b.out, Delivery{Event: event, ID: id, Payload: mustJSON(v)})
}

// SHA returns a new deterministic 40-hex commit id.
func (b *Builder) SHA() string {
	b.shaSeq++
	return fmt.Sprintf("%016x%016x%08x", fnv(b.prefix+"/sha"), fnv(fmt.Sprintf("%s/%d", b.prefix, b.shaSeq)), uint32(b.shaSeq))
}

// NewCommit makes a commit with a fresh SHA.
func (b *Builder) NewCommit(author, message string, at time.Time, paths ...string) Commit {
	return Commit{SHA: b.SHA(), Message: message, Author: author, At: at, Paths: paths}
}

// Head is the current head of a branch, ZeroSHA before its first push.
func (b *Builder) Head(repo, branch string) string {
	if h, ok := b.heads[repo+"\x00"+branch]; ok {
		return h
	}
	return ZeroSHA
}

// Push pushes commits (oldest first) onto branch at the given time and
// returns the new head.
func (b *Builder) Push(repo, branch string, at time.Time, commits ...Commit) string {
	before := b.Head(repo, branch)
	after := before
	var cs []ghCommit
	for _, c := range commits {
		var added, modified []string
		for i, p := range c.Paths {
			if i%3 == 0 {
				added = append(added, p)
			} else {
				modified = append(modified, p)
			}
		}
		if added == nil {
			added = []string{}
		}
		if modified == nil {
			modified = []string{}
		}
		author := ghCommitAuthor{Name: strings.ToUpper(c.Author[:1]) + c.Author[1:], Email: c.Author + "@example.com", Username: c.Author}
		cs = append(cs, ghCommit{ID: c.SHA, TreeID: b.SHA(), Distinct: true, Message: c.Message, Timestamp: ts(c.At),
			URL:    "https://github.com/" + repo + "/commit/" + c.SHA,
			Author: author, Committer: author, Added: added, Removed: []string{}, Modified: modified})
		after = c.SHA
	}
	b.heads[repo+"\x00"+branch] = after
	var head *ghCommit
	if len(cs) > 0 {
		head = &cs[len(cs)-1]
	}
	pusher := "ci-bot"
	if len(commits) > 0 {
		pusher = commits[len(commits)-1].Author
	}
	repoJSON := repository(repo)
	repoJSON.PushedAt = at.Unix()
	b.emit("push", ghPush{
		Ref: "refs/heads/" + branch, Before: before, After: after, Created: before == ZeroSHA,
		Compare: fmt.Sprintf("https://github.com/%s/compare/%s...%s", repo, before[:12], after[:12]),
		Commits: cs, HeadCommit: head, Repository: repoJSON,
		Pusher: ghCommitAuthor{Name: pusher, Email: pusher + "@example.com"}, Sender: user(pusher),
	})
	return after
}

func (b *Builder) pull(repo string, pr PR) ghPull {
	state := "open"
	if !pr.ClosedAt.IsZero() || !pr.MergedAt.IsZero() {
		state = "closed"
	}
	closed := pr.ClosedAt
	if closed.IsZero() {
		closed = pr.MergedAt
	}
	updated := pr.UpdatedAt
	if updated.IsZero() {
		updated = latest(pr.CreatedAt, closed)
	}
	base := pr.BaseRef
	if base == "" {
		base = "main"
	}
	owner, _ := splitRepo(repo)
	return ghPull{
		URL: fmt.Sprintf("https://api.github.com/repos/%s/pulls/%d", repo, pr.Number),
		ID:  int64(fnv(fmt.Sprintf("%s#%d", repo, pr.Number)) % 1e9), Number: pr.Number, State: state,
		Title: pr.Title, User: user(pr.Author), Labels: labels(pr.Labels),
		CreatedAt: ts(pr.CreatedAt), UpdatedAt: ts(updated), ClosedAt: tsPtr(closed), MergedAt: tsPtr(pr.MergedAt),
		MergeCommitSHA: strPtr(pr.MergeCommitSHA),
		Head:           ghBranch{Label: owner + ":" + pr.HeadRef, Ref: pr.HeadRef, SHA: pr.HeadSHA},
		Base:           ghBranch{Label: owner + ":" + base, Ref: base, SHA: b.Head(repo, base)},
		Merged:         !pr.MergedAt.IsZero(),
	}
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// PullRequest emits a pull_request event (opened, labeled, closed, ...).
func (b *Builder) PullRequest(action, repo string, pr PR) {
	b.emit("pull_request", ghPullEvent{Action: action, Number: pr.Number, PullRequest: b.pull(repo, pr),
		Repository: repository(repo), Sender: user(pr.Author)})
}

// Review emits a submitted pull_request_review.
func (b *Builder) Review(repo string, pr PR, reviewer, state string, at time.Time) {
	b.seq++ // review ids follow delivery order
	b.emit("pull_request_review", ghReviewEvent{Action: "submitted",
		Review:      ghReview{ID: int64(fnv(fmt.Sprintf("%s/review/%d", b.prefix, b.seq)) % 1e9), User: user(reviewer), State: state, SubmittedAt: ts(at), CommitID: pr.HeadSHA},
		PullRequest: b.pull(repo, pr), Repository: repository(repo), Sender: user(reviewer)})
}

// Deployment describes one deployment and its outcome.
type Deployment struct {
	ID          int64
	SHA         string
	Ref         string
	Environment string
	Production  *bool // production_environment, when the host sets it
	Creator     string
	CreatedAt   time.Time
	FinishedAt  time.Time
	State       string   // success, failure, error
	Commits     []string // explicit list in the deployment payload
}

// Deploy emits the deployment event, an in_progress status at creation and
// the final status at FinishedAt.
func (b *Builder) Deploy(repo string, d Deployment) {
	payload := json.RawMessage(`{}`)
	if len(d.Commits) > 0 {
		payload = mustJSON(map[string][]string{"commits": d.Commits})
	}
	ref := d.Ref
	if ref == "" {
		ref = "main"
	}
	creator := d.Creator
	if creator == "" {
		creator = "deploy-bot"
	}
	dep := ghDeployment{URL: fmt.Sprintf("https://api.github.com/repos/%s/deployments/%d", repo, d.ID),
		ID: d.ID, SHA: d.SHA, Ref: ref, Task: "deploy", Payload: payload,
		OriginalEnvironment: d.Environment, Environment: d.Environment, Creator: user(creator),
		CreatedAt: ts(d.CreatedAt), UpdatedAt: ts(d.CreatedAt), ProductionEnvironment: d.Production}
	b.emit("deployment", ghDeploymentEvent{Action: "created", Deployment: dep, Repository: repository(repo), Sender: user(creator)})
	status := func(id int64, state string, at time.Time) {
		dep.UpdatedAt = ts(at)
		b.emit("deployment_status", ghDeploymentStatusEvent{Action: "created",
			DeploymentStatus: ghDeploymentStatus{URL: fmt.Sprintf("%s/statuses/%d", dep.URL, id), ID: id, State: state,
				Creator: user(creator), Environment: d.Environment, CreatedAt: ts(at), UpdatedAt: ts(at)},
			Deployment: dep, Repository: repository(repo), Sender: user(creator)})
	}
	status(d.ID*10+1, "in_progress", d.CreatedAt)
	status(d.ID*10+2, d.State, d.FinishedAt)
}

// Incident is an issue labelled as an incident.
type Incident struct {
	Number     int64
	Title      string
	Labels     []string
	Body       string
	Author     string
	CreatedAt  time.Time
	ResolvedAt time.Time // zero while open
}

// Issue emits an issues event for the incident's state at that moment:
// "opened" (open), or "closed" with ResolvedAt set.
func (b *Builder) Issue(action, repo string, in Incident) {
	state := "open"
	updated := in.CreatedAt
	if !in.ResolvedAt.IsZero() {
		state, updated = "closed", in.ResolvedAt
	}
	author := in.Author
	if author == "" {
		author = "oncall"
	}
	b.emit("issues", ghIssueEvent{Action: action, Repository: repository(repo), Sender: user(author),
		Issue: ghIssue{URL: fmt.Sprintf("https://api.github.com/repos/%s/issues/%d", repo, in.Number),
			HTMLURL: fmt.Sprintf("https://github.com/%s/issues/%d", repo, in.Number),
			ID:      int64(fnv(fmt.Sprintf("%s!%d", repo, in.Number)) % 1e9), Number: in.Number, Title: in.Title,
			User: user(author), Labels: labels(in.Labels), State: state, CreatedAt: ts(in.CreatedAt),
			UpdatedAt: ts(updated), ClosedAt: tsPtr(in.ResolvedAt), Body: strPtr(in.Body)}})
}

// WorkflowRun is one attempt of a GitHub Actions run.
type WorkflowRun struct {
	ID         int64
	Attempt    int64
	Name       string
	Path       string
	Branch     string
	SHA        string
	Event      string
	Conclusion string
	StartedAt  time.Time
	FinishedAt time.Time
}

// Run emits the completed workflow_run event.
func (b *Builder) Run(repo string, r WorkflowRun) {
	attempt := r.Attempt
	if attempt == 0 {
		attempt = 1
	}
	b.emit("workflow_run", ghWorkflowRunEvent{Action: "completed", Repository: repository(repo), Sender: user("ci-bot"),
		WorkflowRun: ghWorkflowRun{ID: r.ID, Name: r.Name, Path: r.Path, HeadBranch: r.Branch, HeadSHA: r.SHA,
			RunNumber: r.ID % 10000, RunAttempt: attempt, Event: r.Event, Status: "completed", Conclusion: strPtr(r.Conclusion),
			WorkflowID: int64(fnv(r.Path) % 1e8), CreatedAt: ts(r.StartedAt), UpdatedAt: ts(r.FinishedAt), RunStartedAt: ts(r.StartedAt)}})
}
