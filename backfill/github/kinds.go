package github

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/doraflow/doraflow/delivery"
	"github.com/doraflow/doraflow/githubapi"
	ghingest "github.com/doraflow/doraflow/ingest/github"
)

// collector gathers one kind's deliveries.
type collector struct {
	r    *run
	repo string
	out  []delivery.Delivery
	err  error
}

func (c *collector) add(event, id string, payload any) {
	if c.err != nil {
		return
	}
	d, err := c.r.delivery(c.repo, event, id, payload)
	c.out, c.err = append(c.out, d), err
}

// deployments reads the deployments created since the start, newest first,
// then their statuses and current state through GraphQL, a hundred
// deployments a query (REST lists statuses only per deployment).
// Deployments whose statuses GraphQL cannot give with the numeric ids
// webhooks carry, or that have more than a hundred, have them read through
// their REST list.
func (r *run) deployments(ctx context.Context, repo *gh.Repository, etag string) ([]delivery.Delivery, string, bool, error) {
	full := repo.GetFullName()
	var deps []*gh.Deployment
	tag, same, err := list(ctx, r.c, "list the deployments of "+full, repoPath(repo)+"/deployments?per_page=100", etag,
		func(raw json.RawMessage) (bool, error) {
			var page []*gh.Deployment
			if err := json.Unmarshal(raw, &page); err != nil {
				return false, err
			}
			for _, d := range page {
				if d.GetCreatedAt().Before(r.since) {
					return false, nil
				}
				if !d.GetCreatedAt().After(r.until) {
					deps = append(deps, d)
				}
			}
			return len(page) > 0, nil
		})
	if err != nil || same {
		return nil, tag, same, err
	}
	statuses, kept, err := r.deploymentStatuses(ctx, full, deps)
	if err != nil {
		return nil, "", false, err
	}
	for i, d := range deps {
		if statuses[i] != nil {
			continue
		}
		id := strconv.FormatInt(d.GetID(), 10)
		statuses[i] = []*gh.DeploymentStatus{}
		_, _, err := list(ctx, r.c, "list the statuses of deployment "+id+" of "+full,
			repoPath(repo)+"/deployments/"+id+"/statuses?per_page=100", "", func(raw json.RawMessage) (bool, error) {
				return true, appendJSON(raw, &statuses[i])
			})
		if err != nil {
			return nil, "", false, err
		}
		slices.Reverse(statuses[i]) // REST lists the newest first
	}
	c := &collector{r: r, repo: full}
	for i := len(deps) - 1; i >= 0; i-- {
		d := deps[i]
		id := strconv.FormatInt(d.GetID(), 10)
		c.add("deployment", id+"@"+unix(d.GetUpdatedAt()), &gh.DeploymentEvent{Deployment: d, Repo: repo})
		for _, s := range statuses[i] { // oldest first, as they happened
			c.add("deployment_status", fmt.Sprintf("%s/%d@%s", id, s.GetID(), unix(s.GetCreatedAt())),
				&gh.DeploymentStatusEvent{Deployment: d, DeploymentStatus: s, Repo: repo})
		}
		if finished(statuses[i]) {
			continue
		}
		// No final status among those listed: GitHub may have deleted it
		// (it keeps statuses 90 days), or the deployment is still going.
		for _, s := range keptStatuses(d, kept[i]) {
			if hasState(statuses[i], s.GetState()) {
				continue
			}
			c.add("deployment_status", fmt.Sprintf("%s/%s@%s", id, s.ID, unix(s.GetCreatedAt())),
				keptStatusEvent{Deployment: d, DeploymentStatus: s, Repo: repo})
		}
	}
	return c.out, tag, false, c.err
}

// deploymentBatch is how many deployments one GraphQL query reads the
// statuses of: 101 connections, which GitHub counts as one point.
const deploymentBatch = 100

const deploymentQuery = `query($ids: [ID!]!) {
  ` + gqlRateLimit + `
  nodes(ids: $ids) {
    ... on Deployment {
      id state
      statuses(first: 100) {
        pageInfo { hasNextPage endCursor }
        nodes { id state description environment logUrl environmentUrl createdAt updatedAt creator { login } }
      }
    }
  }
}`

type gqlDeployment struct {
	ID       string `json:"id"`
	State    string `json:"state"`
	Statuses struct {
		PageInfo gqlPage `json:"pageInfo"`
		Nodes    []struct {
			ID             string    `json:"id"`
			State          string    `json:"state"`
			Description    string    `json:"description"`
			Environment    string    `json:"environment"`
			LogURL         string    `json:"logUrl"`
			EnvironmentURL string    `json:"environmentUrl"`
			CreatedAt      time.Time `json:"createdAt"`
			UpdatedAt      time.Time `json:"updatedAt"`
			Creator        *struct {
				Login string `json:"login"`
			} `json:"creator"`
		} `json:"nodes"`
	} `json:"statuses"`
}

// deploymentStatuses reads the statuses of deployments, oldest first, and
// the state each deployment is in (the node id and the state, for
// keptStatuses). A deployment whose statuses are nil has to be read through
// REST: it was not found, one of its status ids does not decode, or it has
// more statuses than one query returns.
func (r *run) deploymentStatuses(ctx context.Context, full string, deps []*gh.Deployment) ([][]*gh.DeploymentStatus, [][2]string, error) {
	statuses := make([][]*gh.DeploymentStatus, len(deps))
	kept := make([][2]string, len(deps))
	var todo []int
	for i, d := range deps {
		if d.GetNodeID() != "" {
			todo = append(todo, i)
		}
	}
	for lo := 0; lo < len(todo); lo += deploymentBatch {
		batch := todo[lo:min(lo+deploymentBatch, len(todo))]
		ids := make([]string, len(batch))
		for k, i := range batch {
			ids[k] = deps[i].GetNodeID()
		}
		var ans struct {
			Nodes []*gqlDeployment `json:"nodes"`
		}
		what := fmt.Sprintf("read the statuses of %d deployments of %s (GraphQL)", len(ids), full)
		if err := r.graphql(ctx, what, deploymentQuery, map[string]any{"ids": ids}, &ans); err != nil {
			return nil, nil, err
		}
		for k, n := range ans.Nodes {
			// Nodes answer in the order of the ids asked; an id may come back
			// in the other of GitHub's two formats, so it is not compared.
			if k >= len(batch) || n == nil {
				continue
			}
			kept[batch[k]] = [2]string{n.ID, n.State}
			if n.Statuses.PageInfo.HasNextPage {
				continue
			}
			d := deps[batch[k]]
			ss := make([]*gh.DeploymentStatus, 0, len(n.Statuses.Nodes))
			for _, g := range n.Statuses.Nodes {
				id, ok := githubapi.DatabaseID(g.ID)
				if !ok {
					ss = nil
					break
				}
				url := fmt.Sprintf("%s/statuses/%d", d.GetURL(), id)
				s := &gh.DeploymentStatus{ID: gh.Int64(id), NodeID: gh.String(g.ID), URL: &url,
					State: gh.String(strings.ToLower(g.State)), Description: gh.String(g.Description),
					Environment: str(g.Environment), LogURL: str(g.LogURL), TargetURL: gh.String(g.LogURL),
					EnvironmentURL: str(g.EnvironmentURL), DeploymentURL: d.URL, RepositoryURL: d.RepositoryURL,
					CreatedAt: &gh.Timestamp{Time: g.CreatedAt}, UpdatedAt: &gh.Timestamp{Time: g.UpdatedAt}}
				if g.Creator != nil {
					s.Creator = &gh.User{Login: gh.String(g.Creator.Login)}
				}
				ss = append(ss, s)
			}
			if ss == nil {
				continue
			}
			slices.SortStableFunc(ss, func(a, b *gh.DeploymentStatus) int {
				if c := a.GetCreatedAt().Compare(b.GetCreatedAt().Time); c != 0 {
					return c
				}
				return cmp.Compare(a.GetID(), b.GetID())
			})
			statuses[batch[k]] = ss
		}
	}
	return statuses, kept, nil
}

func finished(ss []*gh.DeploymentStatus) bool {
	return hasState(ss, "success") || hasState(ss, "failure") || hasState(ss, "error")
}

func hasState(ss []*gh.DeploymentStatus, state string) bool {
	for _, s := range ss {
		if strings.EqualFold(s.GetState(), state) {
			return true
		}
	}
	return false
}

// keptStatus is a deployment status rebuilt from the state GitHub keeps on
// a deployment after it has deleted its statuses (after 90 days). It has no
// numeric id, so its id is the deployment's node id and the state.
type keptStatus struct {
	*gh.DeploymentStatus
	ID string `json:"id"`
}

type keptStatusEvent struct {
	Deployment       *gh.Deployment `json:"deployment"`
	DeploymentStatus keptStatus     `json:"deployment_status"`
	Repo             *gh.Repository `json:"repository"`
}

// keptStatuses turns the state GitHub keeps on a deployment (node id and
// state, from GraphQL) into the statuses that state implies: active is a
// success at the last update; inactive is a success whose time is lost
// (the deployment's creation stands in for it) later made inactive;
// failure and error are what they say at the last update.
func keptStatuses(d *gh.Deployment, kept [2]string) []keptStatus {
	node, state := kept[0], strings.ToLower(kept[1])
	if node == "" || state == "" {
		return nil
	}
	status := func(state string, at gh.Timestamp) keptStatus {
		return keptStatus{ID: node + ":" + state, DeploymentStatus: &gh.DeploymentStatus{State: gh.String(state),
			Environment: d.Environment, CreatedAt: &at, UpdatedAt: &at}}
	}
	switch state {
	case "active":
		return []keptStatus{status("success", d.GetUpdatedAt())}
	case "inactive":
		return []keptStatus{status("success", d.GetCreatedAt()), status("inactive", d.GetUpdatedAt())}
	case "failure", "error":
		return []keptStatus{status(state, d.GetUpdatedAt())}
	}
	// Pending, queued, in progress, waiting: still going, nothing ended.
	return nil
}

// releases reads the releases created since the start.
func (r *run) releases(ctx context.Context, repo *gh.Repository, etag string) ([]delivery.Delivery, string, bool, error) {
	full := repo.GetFullName()
	c := &collector{r: r, repo: full}
	tag, same, err := list(ctx, r.c, "list the releases of "+full, repoPath(repo)+"/releases?per_page=100", etag,
		func(raw json.RawMessage) (bool, error) {
			var page []*gh.RepositoryRelease
			if err := json.Unmarshal(raw, &page); err != nil {
				return false, err
			}
			for _, rel := range page {
				if rel.GetCreatedAt().Before(r.since) {
					return false, nil
				}
				at := rel.GetPublishedAt()
				if at.IsZero() {
					at = rel.GetCreatedAt()
				}
				action := "published"
				if rel.GetDraft() {
					action = "created"
				}
				c.add("release", fmt.Sprintf("%d@%s", rel.GetID(), unix(at)), &gh.ReleaseEvent{Action: gh.String(action), Release: rel, Repo: repo})
			}
			return len(page) > 0, nil
		})
	if err != nil || same {
		return nil, tag, same, err
	}
	return c.out, tag, false, c.err
}

// incidents reads the issues carrying an incident label updated since the
// start, one list per label (GitHub's label filter means "all of").
func (r *run) incidents(ctx context.Context, repo *gh.Repository, etag string) ([]delivery.Delivery, string, bool, error) {
	full := repo.GetFullName()
	labels := r.cfg.IncidentLabels
	if len(labels) == 0 {
		labels = ghingest.DefaultIncidentLabels
	}
	tags := splitETags(etag, len(labels))
	newTags := make([]string, len(labels))
	allSame := true
	seen := map[int]bool{}
	var issues []*gh.Issue
	for i, label := range labels {
		u := repoPath(repo) + "/issues?state=all&sort=updated&direction=desc&per_page=100&labels=" +
			url.QueryEscape(strings.TrimSpace(label)) + "&since=" + url.QueryEscape(r.since.Format("2006-01-02T15:04:05Z"))
		tag, same, err := list(ctx, r.c, "list the issues labelled "+label+" of "+full, u, tags[i], func(raw json.RawMessage) (bool, error) {
			var page []*gh.Issue
			if err := json.Unmarshal(raw, &page); err != nil {
				return false, err
			}
			for _, is := range page {
				if is.IsPullRequest() || seen[is.GetNumber()] || is.GetCreatedAt().After(r.until) {
					continue
				}
				seen[is.GetNumber()] = true
				issues = append(issues, is)
			}
			return len(page) > 0, nil
		})
		if err != nil {
			return nil, "", false, err
		}
		newTags[i] = tag
		allSame = allSame && same
	}
	if allSame {
		return nil, etag, true, nil
	}
	if etag != "" && !allSame {
		// Some lists answered 304 and so gave no issues: read them all.
		for _, t := range tags {
			if t != "" {
				return r.incidents(ctx, repo, "")
			}
		}
	}
	c := &collector{r: r, repo: full}
	for i := len(issues) - 1; i >= 0; i-- {
		is := issues[i]
		action := "opened"
		if is.GetState() == "closed" {
			action = "closed"
		}
		c.add("issues", fmt.Sprintf("%d@%s", is.GetNumber(), unix(is.GetUpdatedAt())), &gh.IssuesEvent{Action: gh.String(action), Issue: is, Repo: repo})
	}
	return c.out, joinETags(newTags...), false, c.err
}

// workflowRun is go-github's run with the workflow file's path, which the
// v60 struct lacks and the pipeline reads.
type workflowRun struct {
	*gh.WorkflowRun
	Path string `json:"path,omitempty"`
}

type workflowRunEvent struct {
	Action      string         `json:"action"`
	WorkflowRun *workflowRun   `json:"workflow_run"`
	Repo        *gh.Repository `json:"repository"`
}

// workflowRuns reads the runs created since the start, newest first. The
// list is read without filters: GitHub caps filtered run lists at 1,000
// results. Runs re-run have their earlier attempts read one by one.
func (r *run) workflowRuns(ctx context.Context, repo *gh.Repository, etag string) ([]delivery.Delivery, string, bool, error) {
	full := repo.GetFullName()
	var runs []*workflowRun
	tag, same, err := list(ctx, r.c, "list the workflow runs of "+full, repoPath(repo)+"/actions/runs?per_page=100", etag,
		func(raw json.RawMessage) (bool, error) {
			var page struct {
				Runs []*workflowRun `json:"workflow_runs"`
			}
			if err := json.Unmarshal(raw, &page); err != nil {
				return false, err
			}
			for _, run := range page.Runs {
				if run.WorkflowRun == nil {
					continue
				}
				if run.GetCreatedAt().Before(r.since) {
					return false, nil
				}
				if !run.GetCreatedAt().After(r.until) {
					runs = append(runs, run)
				}
			}
			return len(page.Runs) > 0, nil
		})
	if err != nil || same {
		return nil, tag, same, err
	}
	c := &collector{r: r, repo: full}
	for i := len(runs) - 1; i >= 0; i-- {
		run := runs[i]
		id := strconv.FormatInt(run.GetID(), 10)
		for n := 1; n < run.GetRunAttempt(); n++ {
			var earlier workflowRun
			req, err := r.c.NewRequest("GET", repoPath(repo)+"/actions/runs/"+id+"/attempts/"+strconv.Itoa(n), nil)
			if err == nil {
				_, err = r.c.Do(ctx, req, &earlier)
			}
			if err != nil {
				return nil, "", false, githubapi.Explain(err, "read attempt "+strconv.Itoa(n)+" of workflow run "+id+" of "+full)
			}
			if earlier.WorkflowRun != nil {
				c.add("workflow_run", fmt.Sprintf("%s/%d@%s", id, n, unix(earlier.GetUpdatedAt())), runEvent(&earlier, repo))
			}
		}
		c.add("workflow_run", fmt.Sprintf("%s/%d@%s", id, max(run.GetRunAttempt(), 1), unix(run.GetUpdatedAt())), runEvent(run, repo))
	}
	return c.out, tag, false, c.err
}

func runEvent(run *workflowRun, repo *gh.Repository) workflowRunEvent {
	action := "requested"
	if run.GetStatus() == "completed" {
		action = "completed"
	} else if run.GetStatus() == "in_progress" {
		action = "in_progress"
	}
	return workflowRunEvent{Action: action, WorkflowRun: run, Repo: repo}
}
