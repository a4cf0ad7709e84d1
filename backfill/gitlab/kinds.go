package gitlab

import (
	"context"
	"strconv"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/doraflow/doraflow/delivery"
	glingest "github.com/doraflow/doraflow/ingest/gitlab"
)

// The X-Gitlab-Event values the import publishes.
const (
	eventPush         = glingest.EventPush
	eventMergeRequest = glingest.EventMergeRequest
	eventPipeline     = glingest.EventPipeline
	eventDeployment   = glingest.EventDeployment
	eventIssue        = glingest.EventIssue
	eventJob          = glingest.EventJob
)

// finished says whether a pipeline or deployment status is final.
func finished(status string) bool {
	switch status {
	case "success", "failed", "canceled", "skipped":
		return true
	}
	return false
}

// pipelines reads the pipelines updated in the period, one Pipeline Hook
// each in the state they are in. The list has no finish time: a finished
// pipeline's last update is its finish. Tag pipelines are listed a second
// time (scope=tags) because the list does not say which are tags.
func (r *run) pipelines(ctx context.Context, p *gl.Project) ([]delivery.Delivery, error) {
	path := p.PathWithNamespace
	list := func(scope string, f func(*gl.PipelineInfo) bool) error {
		opt := &gl.ListProjectPipelinesOptions{ListOptions: gl.ListOptions{PerPage: 100}, UpdatedAfter: &r.since,
			UpdatedBefore: &r.until, OrderBy: gl.Ptr("id"), Sort: gl.Ptr("asc")}
		if scope != "" {
			opt.Scope = &scope
		}
		return each(func(o gl.PaginationOptionFunc) ([]*gl.PipelineInfo, *gl.Response, error) {
			return r.c.Pipelines.ListProjectPipelines(p.ID, opt, gl.WithContext(ctx), o)
		}, f)
	}
	tags := map[int64]bool{}
	if err := list("tags", func(pi *gl.PipelineInfo) bool { tags[pi.ID] = true; return true }); err != nil {
		return nil, explain(err, "list the tag pipelines of "+path)
	}
	c := &collector{r: r, proj: newProject(p)}
	err := list("", func(pi *gl.PipelineInfo) bool {
		h := pipelineHook{ObjectKind: "pipeline", Project: c.proj.hook, Builds: []any{}}
		a := &h.ObjectAttributes
		a.ID, a.IID, a.Ref, a.Tag, a.SHA, a.Source, a.Status, a.URL = pi.ID, pi.IID, pi.Ref, tags[pi.ID], pi.SHA, pi.Source, pi.Status, pi.WebURL
		a.Name, a.Stages, a.CreatedAt = str(pi.Name), []string{}, hookTime(pi.CreatedAt)
		if finished(pi.Status) {
			a.FinishedAt = hookTime(pi.UpdatedAt)
		}
		h.Commit = &struct {
			ID  string `json:"id"`
			URL string `json:"url"`
		}{pi.SHA, c.proj.commitURL(pi.SHA)}
		c.add(eventPipeline, strconv.FormatInt(pi.ID, 10)+"@"+unix(pi.UpdatedAt), h)
		return true
	})
	if err != nil {
		return nil, explain(err, "list the pipelines of "+path)
	}
	return c.out, c.err
}

// deployments reads the deployments updated in the period, oldest update
// first. Each gives a Deployment Hook for running (at its job's start, when
// known) and one for the status it ended in (at its last update). The
// environment's tier comes with the deployment where GitLab sends it, else
// from the project's environments, read once.
func (r *run) deployments(ctx context.Context, p *gl.Project) ([]delivery.Delivery, error) {
	path := p.PathWithNamespace
	var deps []*gl.Deployment
	err := each(func(o gl.PaginationOptionFunc) ([]*gl.Deployment, *gl.Response, error) {
		return r.c.Deployments.ListProjectDeployments(p.ID, &gl.ListProjectDeploymentsOptions{ListOptions: gl.ListOptions{PerPage: 100},
			OrderBy: gl.Ptr("updated_at"), Sort: gl.Ptr("asc"), UpdatedAfter: &r.since, UpdatedBefore: &r.until}, gl.WithContext(ctx), o)
	}, func(d *gl.Deployment) bool {
		deps = append(deps, d)
		return true
	})
	if err != nil {
		return nil, explain(err, "list the deployments of "+path)
	}
	tiers := map[string]string{}
	for _, d := range deps {
		if d.Environment != nil && d.Environment.Tier == "" {
			err := each(func(o gl.PaginationOptionFunc) ([]*gl.Environment, *gl.Response, error) {
				return r.c.Environments.ListEnvironments(p.ID, &gl.ListEnvironmentsOptions{ListOptions: gl.ListOptions{PerPage: 100}}, gl.WithContext(ctx), o)
			}, func(e *gl.Environment) bool {
				tiers[e.Name] = e.Tier
				return true
			})
			if err != nil {
				return nil, explain(err, "list the environments of "+path)
			}
			break
		}
	}
	c := &collector{r: r, proj: newProject(p)}
	for _, d := range deps {
		h := deploymentHook{ObjectKind: "deployment", DeploymentID: d.ID, DeployableID: d.Deployable.ID, Project: c.proj.hook,
			ShortSHA: d.SHA[:min(8, len(d.SHA))], CommitURL: c.proj.commitURL(d.SHA), Ref: d.Ref}
		if d.Deployable.ID != 0 {
			h.DeployableURL = strings.TrimRight(c.proj.hook.WebURL, "/") + "/-/jobs/" + strconv.FormatInt(d.Deployable.ID, 10)
		}
		if d.Deployable.Commit != nil {
			h.CommitTitle = d.Deployable.Commit.Title
		}
		if e := d.Environment; e != nil {
			h.Environment, h.EnvironmentSlug, h.EnvironmentExternalURL = e.Name, e.Slug, e.ExternalURL
			h.EnvironmentTier = firstNonEmpty(e.Tier, tiers[e.Name])
		}
		if u := d.User; u != nil {
			h.User = &hookUser{ID: u.ID, Name: u.Name, Username: u.Username, AvatarURL: u.AvatarURL}
			h.UserURL = u.WebURL
		}
		id := strconv.FormatInt(d.ID, 10)
		if started := d.Deployable.StartedAt; started != nil && d.Status != "created" && d.Status != "blocked" {
			running := h
			running.Status, running.StatusChangedAt = "running", hookTime(started)
			c.add(eventDeployment, id+"/running@"+unix(started), running)
		}
		if d.Status != "running" || d.Deployable.StartedAt == nil {
			h.Status, h.StatusChangedAt = d.Status, hookTime(d.UpdatedAt)
			c.add(eventDeployment, id+"/"+d.Status+"@"+unix(d.UpdatedAt), h)
		}
	}
	return c.out, c.err
}

// incidents reads the issues updated in the period that carry an incident
// label (one list per label: GitLab's label filter means "all of") or are
// of type incident, one Issue Hook each in the state they are in.
func (r *run) incidents(ctx context.Context, p *gl.Project) ([]delivery.Delivery, error) {
	path := p.PathWithNamespace
	lbls := r.cfg.IncidentLabels
	if len(lbls) == 0 {
		lbls = glingest.DefaultIncidentLabels
	}
	seen := map[int64]bool{}
	var issues []*gl.Issue
	list := func(what string, opt *gl.ListProjectIssuesOptions) error {
		opt.ListOptions = gl.ListOptions{PerPage: 100}
		opt.UpdatedAfter, opt.UpdatedBefore, opt.OrderBy, opt.Sort = &r.since, &r.until, gl.Ptr("updated_at"), gl.Ptr("asc")
		opt.Scope = gl.Ptr("all")
		err := each(func(o gl.PaginationOptionFunc) ([]*gl.Issue, *gl.Response, error) {
			return r.c.Issues.ListProjectIssues(p.ID, opt, gl.WithContext(ctx), o)
		}, func(is *gl.Issue) bool {
			if !seen[is.IID] {
				seen[is.IID] = true
				issues = append(issues, is)
			}
			return true
		})
		return explain(err, "list the "+what+" of "+path)
	}
	for _, l := range lbls {
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		if err := list("issues labelled "+l, &gl.ListProjectIssuesOptions{Labels: &gl.LabelOptions{l}}); err != nil {
			return nil, err
		}
	}
	if err := list("incidents", &gl.ListProjectIssuesOptions{IssueType: gl.Ptr("incident")}); err != nil {
		return nil, err
	}
	c := &collector{r: r, proj: newProject(p)}
	for _, is := range issues {
		h := issueHook{ObjectKind: "issue", EventType: "issue", Project: c.proj.hook, Labels: labels(is.Labels), Repository: c.proj.repo}
		if a := is.Author; a != nil {
			h.User = hookUser{ID: a.ID, Name: a.Name, Username: a.Username, AvatarURL: a.AvatarURL}
		}
		a := &h.ObjectAttributes
		a.ID, a.IID, a.Title, a.Description, a.State, a.URL = is.ID, is.IID, is.Title, is.Description, is.State, is.WebURL
		a.CreatedAt, a.UpdatedAt, a.ClosedAt, a.Labels = hookTime(is.CreatedAt), hookTime(is.UpdatedAt), hookTime(is.ClosedAt), labels(is.Labels)
		a.Action = "open"
		if is.State == "closed" {
			a.Action = "close"
		}
		if is.IssueType != nil {
			a.IssueType = *is.IssueType
			a.Type = strings.ToUpper((*is.IssueType)[:min(1, len(*is.IssueType))]) + (*is.IssueType)[min(1, len(*is.IssueType)):]
		}
		c.add(eventIssue, strconv.FormatInt(is.IID, 10)+"@"+unix(is.UpdatedAt), h)
	}
	return c.out, c.err
}

// jobs reads the project's CI jobs created in the period, retried ones
// included, one Job Hook each in the state it is in. GitLab lists them
// newest first and cannot filter them by time, so the list is read until a
// job older than the period.
func (r *run) jobs(ctx context.Context, p *gl.Project) ([]delivery.Delivery, error) {
	c := &collector{r: r, proj: newProject(p)}
	err := each(func(o gl.PaginationOptionFunc) ([]*gl.Job, *gl.Response, error) {
		return r.c.Jobs.ListProjectJobs(p.ID, &gl.ListJobsOptions{ListOptions: gl.ListOptions{PerPage: 100},
			IncludeRetried: gl.Ptr(true)}, gl.WithContext(ctx), o)
	}, func(j *gl.Job) bool {
		if j.CreatedAt != nil && j.CreatedAt.Before(r.since) {
			return false
		}
		if j.CreatedAt == nil || j.CreatedAt.After(r.until) {
			return true
		}
		h := jobHook{ObjectKind: "build", Ref: j.Ref, Tag: j.Tag, SHA: j.Pipeline.Sha, BuildID: j.ID, BuildName: j.Name,
			BuildStage: j.Stage, BuildStatus: j.Status, BuildCreatedAt: hookTime(j.CreatedAt), BuildStartedAt: hookTime(j.StartedAt),
			BuildFinishedAt: hookTime(j.FinishedAt), BuildDuration: j.Duration, BuildAllowFailure: j.AllowFailure,
			BuildFailureReason: j.FailureReason, PipelineID: j.Pipeline.ID, ProjectID: p.ID, ProjectName: p.NameWithNamespace,
			Project: c.proj.hook, Repository: c.proj.repo}
		if u := j.User; u != nil {
			h.User = &hookUser{ID: u.ID, Name: u.Name, Username: u.Username, AvatarURL: u.AvatarURL}
		}
		at := j.FinishedAt
		if at == nil {
			at = cmpTime(j.StartedAt, j.CreatedAt)
		}
		c.add(eventJob, strconv.FormatInt(j.ID, 10)+"@"+unix(at), h)
		return true
	})
	if err != nil {
		return nil, explain(err, "list the jobs of "+p.PathWithNamespace)
	}
	return c.out, c.err
}

// cmpTime is the first time that is set.
func cmpTime(ts ...*time.Time) *time.Time {
	for _, t := range ts {
		if t != nil {
			return t
		}
	}
	return nil
}
