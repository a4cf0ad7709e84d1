package simulate

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// RESTHistory is what GitHub's REST API shows of the repositories a stream
// of webhook deliveries describes: every object in its latest state, the
// commits of every push with their parents, and the pushes to each branch as
// the repository activity API lists them. It is built from the deliveries
// alone, so a history replayed through webhooks and one read back through
// the API describe exactly the same objects: whatever the webhooks never
// showed (the commits of a fork, say) the API does not show either.
type RESTHistory struct {
	repos map[string]*restRepo
	order []string
}

type restRepo struct {
	repo        ghRepo
	commits     map[string]*restCommit
	pushes      []restPush // every push in delivery order
	pulls       map[int64]*restPull
	deployments map[int64]*restDeployment
	issues      map[int64]ghIssue
	runs        map[int64]map[int64]ghWorkflowRun // id → attempt → run
	created     time.Time
	pushedAt    time.Time
}

type restCommit struct {
	c       ghCommit
	at      time.Time
	parents []string
	onMain  bool
}

type restPush struct {
	ref, before, after string
	at                 time.Time
	pusher             string
	shas               []string
	deleted            bool
}

type restPull struct {
	pull    ghPull
	reviews []ghReview
}

type restDeployment struct {
	dep      ghDeployment
	statuses []ghDeploymentStatus
}

// NewRESTHistory folds deliveries (in the order they were sent) into the
// state the REST API would show afterwards.
func NewRESTHistory(ds []Delivery) (*RESTHistory, error) {
	h := &RESTHistory{repos: map[string]*restRepo{}}
	for _, d := range ds {
		if err := h.add(d); err != nil {
			return nil, fmt.Errorf("simulate: REST history: delivery %s (%s): %w", d.ID, d.Event, err)
		}
	}
	for _, r := range h.repos {
		r.link()
	}
	sort.Strings(h.order)
	return h, nil
}

// GenerateHistory generates the organisation cfg describes and the REST
// history of its deliveries.
func GenerateHistory(cfg OrgConfig) (*Org, *RESTHistory, error) {
	org, err := Generate(cfg)
	if err != nil {
		return nil, nil, err
	}
	h, err := NewRESTHistory(org.Deliveries())
	return org, h, err
}

// Repos lists the repositories' full names, sorted.
func (h *RESTHistory) Repos() []string { return slices.Clone(h.order) }

func (h *RESTHistory) repo(g ghRepo, at time.Time) *restRepo {
	r, ok := h.repos[g.FullName]
	if !ok {
		g.PushedAt = nil
		r = &restRepo{repo: g, commits: map[string]*restCommit{}, pulls: map[int64]*restPull{},
			deployments: map[int64]*restDeployment{}, issues: map[int64]ghIssue{}, runs: map[int64]map[int64]ghWorkflowRun{},
			created: at}
		h.repos[g.FullName] = r
		h.order = append(h.order, g.FullName)
	}
	if !at.IsZero() && (r.created.IsZero() || at.Before(r.created)) {
		r.created = at
	}
	return r
}

func parseTS(s string) time.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return t.UTC()
}

func (h *RESTHistory) add(d Delivery) error {
	switch d.Event {
	case "push":
		var e ghPush
		if err := json.Unmarshal(d.Payload, &e); err != nil {
			return err
		}
		var at time.Time
		if n, ok := e.Repository.PushedAt.(float64); ok {
			at = time.Unix(int64(n), 0).UTC()
		}
		r := h.repo(e.Repository, at)
		if at.After(r.pushedAt) {
			r.pushedAt = at
		}
		p := restPush{ref: e.Ref, before: e.Before, after: e.After, at: at, pusher: e.Sender.Login, deleted: e.Deleted}
		for _, c := range e.Commits {
			p.shas = append(p.shas, c.ID)
			if _, seen := r.commits[c.ID]; !seen {
				r.commits[c.ID] = &restCommit{c: c, at: parseTS(c.Timestamp)}
			}
		}
		r.pushes = append(r.pushes, p)
	case "pull_request":
		var e ghPullEvent
		if err := json.Unmarshal(d.Payload, &e); err != nil {
			return err
		}
		r := h.repo(e.Repository, parseTS(e.PullRequest.CreatedAt))
		p := r.pulls[e.PullRequest.Number]
		if p == nil {
			p = &restPull{}
			r.pulls[e.PullRequest.Number] = p
		}
		if p.pull.Number == 0 || !parseTS(e.PullRequest.UpdatedAt).Before(parseTS(p.pull.UpdatedAt)) {
			p.pull = e.PullRequest
		}
	case "pull_request_review":
		var e ghReviewEvent
		if err := json.Unmarshal(d.Payload, &e); err != nil {
			return err
		}
		r := h.repo(e.Repository, time.Time{})
		p := r.pulls[e.PullRequest.Number]
		if p == nil {
			p = &restPull{pull: e.PullRequest}
			r.pulls[e.PullRequest.Number] = p
		}
		rv := e.Review
		rv.State = strings.ToUpper(rv.State) // the REST API spells states in capitals
		p.reviews = append(p.reviews, rv)
	case "deployment", "deployment_status":
		var e ghDeploymentStatusEvent
		if err := json.Unmarshal(d.Payload, &e); err != nil {
			return err
		}
		r := h.repo(e.Repository, parseTS(e.Deployment.CreatedAt))
		dep := r.deployments[e.Deployment.ID]
		if dep == nil {
			dep = &restDeployment{dep: e.Deployment}
			r.deployments[e.Deployment.ID] = dep
		}
		if !parseTS(e.Deployment.UpdatedAt).Before(parseTS(dep.dep.UpdatedAt)) {
			dep.dep = e.Deployment
		}
		if d.Event == "deployment_status" {
			dep.statuses = append(dep.statuses, e.DeploymentStatus)
		}
	case "issues":
		var e ghIssueEvent
		if err := json.Unmarshal(d.Payload, &e); err != nil {
			return err
		}
		r := h.repo(e.Repository, parseTS(e.Issue.CreatedAt))
		if old, ok := r.issues[e.Issue.Number]; !ok || !parseTS(e.Issue.UpdatedAt).Before(parseTS(old.UpdatedAt)) {
			r.issues[e.Issue.Number] = e.Issue
		}
	case "workflow_run":
		var e ghWorkflowRunEvent
		if err := json.Unmarshal(d.Payload, &e); err != nil {
			return err
		}
		r := h.repo(e.Repository, parseTS(e.WorkflowRun.CreatedAt))
		if r.runs[e.WorkflowRun.ID] == nil {
			r.runs[e.WorkflowRun.ID] = map[int64]ghWorkflowRun{}
		}
		r.runs[e.WorkflowRun.ID][e.WorkflowRun.RunAttempt] = e.WorkflowRun
	default:
		// Other events leave nothing the REST API lists.
	}
	return nil
}

// link gives every commit its parents: within a push each commit's parent
// is the one before it, and the first one's is the push's before. Pushes to
// the default branch win over pushes to other branches, so the default
// branch's history is one chain through every commit it received.
func (r *restRepo) link() {
	main := "refs/heads/" + r.repo.DefaultBranch
	for pass := 0; pass < 2; pass++ {
		for _, p := range r.pushes {
			if p.deleted || (p.ref == main) != (pass == 1) {
				continue
			}
			prev := p.before
			for _, sha := range p.shas {
				c := r.commits[sha]
				if prev != "" && prev != ZeroSHA {
					c.parents = []string{prev}
				} else {
					c.parents = nil
				}
				if p.ref == main {
					c.onMain = true
				}
				prev = sha
			}
		}
	}
}

// mainPushes are the pushes to the default branch, oldest first.
func (r *restRepo) mainPushes() []restPush {
	main := "refs/heads/" + r.repo.DefaultBranch
	var out []restPush
	for _, p := range r.pushes {
		if p.ref == main {
			out = append(out, p)
		}
	}
	return out
}

// headCommits are the commits pushed to a pull request's head branch
// before it was merged or closed, in push order.
func (r *restRepo) headCommits(p ghPull) []string {
	ref := "refs/heads/" + p.Head.Ref
	var end time.Time
	if p.ClosedAt != nil {
		end = parseTS(*p.ClosedAt)
	}
	var out []string
	seen := map[string]bool{}
	for _, push := range r.pushes {
		if push.ref != ref || push.deleted || (!end.IsZero() && push.at.After(end)) ||
			push.at.Before(parseTS(p.CreatedAt).Add(-30*24*time.Hour)) {
			continue
		}
		for _, s := range push.shas {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}

// pullFiles is what a pull request changed: the union of the paths of its
// head commits and of the commits it brought to the base branch.
func (r *restRepo) pullFiles(p ghPull) []string {
	set := map[string]bool{}
	add := func(sha string) {
		if c := r.commits[sha]; c != nil {
			for _, l := range [][]string{c.c.Added, c.c.Modified, c.c.Removed} {
				for _, f := range l {
					set[f] = true
				}
			}
		}
	}
	for _, s := range r.headCommits(p) {
		add(s)
	}
	if p.MergeCommitSHA != nil && p.MergedAt != nil {
		for _, push := range r.mainPushes() {
			if i := slices.Index(push.shas, *p.MergeCommitSHA); i >= 0 {
				for _, s := range push.shas[:i+1] {
					add(s)
				}
			}
		}
	}
	out := make([]string, 0, len(set))
	for f := range set {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}
