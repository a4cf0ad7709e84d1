package github

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/doraflow/doraflow/githubapi"
	"github.com/doraflow/doraflow/ingest"
	ghingest "github.com/doraflow/doraflow/ingest/github"
)

// collector gathers one kind's deliveries.
type collector struct {
	r    *run
	repo string
	out  []ingest.Delivery
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
// and each one's statuses (there is no list of statuses across
// deployments).
func (r *run) deployments(ctx context.Context, repo *gh.Repository, etag string) ([]ingest.Delivery, string, bool, error) {
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
	c := &collector{r: r, repo: full}
	for i := len(deps) - 1; i >= 0; i-- {
		d := deps[i]
		id := strconv.FormatInt(d.GetID(), 10)
		var statuses []*gh.DeploymentStatus
		_, _, err := list(ctx, r.c, "list the statuses of deployment "+id+" of "+full,
			repoPath(repo)+"/deployments/"+id+"/statuses?per_page=100", "", func(raw json.RawMessage) (bool, error) {
				var page []*gh.DeploymentStatus
				err := json.Unmarshal(raw, &page)
				statuses = append(statuses, page...)
				return true, err
			})
		if err != nil {
			return nil, "", false, err
		}
		c.add("deployment", id+"@"+unix(d.GetUpdatedAt()), &gh.DeploymentEvent{Deployment: d, Repo: repo})
		for j := len(statuses) - 1; j >= 0; j-- { // oldest first, as they happened
			s := statuses[j]
			c.add("deployment_status", fmt.Sprintf("%s/%d@%s", id, s.GetID(), unix(s.GetCreatedAt())),
				&gh.DeploymentStatusEvent{Deployment: d, DeploymentStatus: s, Repo: repo})
		}
	}
	return c.out, tag, false, c.err
}

// releases reads the releases created since the start.
func (r *run) releases(ctx context.Context, repo *gh.Repository, etag string) ([]ingest.Delivery, string, bool, error) {
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
func (r *run) incidents(ctx context.Context, repo *gh.Repository, etag string) ([]ingest.Delivery, string, bool, error) {
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
func (r *run) workflowRuns(ctx context.Context, repo *gh.Repository, etag string) ([]ingest.Delivery, string, bool, error) {
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
