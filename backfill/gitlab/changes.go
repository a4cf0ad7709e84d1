package gitlab

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/doraflow/doraflow/backfill"
	"github.com/doraflow/doraflow/delivery"
)

const zeroSHA = "0000000000000000000000000000000000000000"

// maxPushCommits bounds the commits one push is walked back for.
const maxPushCommits = 2048

// pushMargin is how much older than the period the default branch's
// commits are listed: a push early in the period brings commits written
// before it.
const pushMargin = 30 * 24 * time.Hour

// mergeRequest is a merge request with what the import reads for it.
type mergeRequest struct {
	mr        *gl.BasicMergeRequest
	approvals []*gl.MergeRequestApproverUser
	commits   []*gl.Commit // oldest first
	diffs     []*gl.MergeRequestDiff
}

func (m *mergeRequest) merged() bool { return m.mr.State == "merged" }

// mergeSHA is the commit a merged request put on its target branch: its
// merge commit, else its squash commit, else (fast-forwarded) its head.
func (m *mergeRequest) mergeSHA() string {
	return firstNonEmpty(m.mr.MergeCommitSHA, m.mr.SquashCommitSHA, m.mr.SHA)
}

// changes reads the default branch's pushes (the events API gives each
// push's before and after; the commit list gives the commits between) and
// the merged and closed merge requests, and builds Push Hook and Merge
// Request Hook deliveries. A merged request's approvals, commits and
// changed paths are read per request (no list has them); a commit no merged
// request brought has its paths read on its own.
func (r *run) changes(ctx context.Context, p *gl.Project) ([]delivery.Delivery, error) {
	path := p.PathWithNamespace
	branch := firstNonEmpty(p.DefaultBranch, "main")
	proj := newProject(p)

	var pushes []*gl.ProjectEvent
	after, before := gl.ISOTime(r.since.AddDate(0, 0, -1)), gl.ISOTime(r.until.AddDate(0, 0, 1))
	err := each(func(o gl.PaginationOptionFunc) ([]*gl.ProjectEvent, *gl.Response, error) {
		return r.c.Events.ListProjectVisibleEvents(p.ID, &gl.ListProjectVisibleEventsOptions{ListOptions: gl.ListOptions{PerPage: 100},
			Action: gl.Ptr(gl.PushedEventType), After: &after, Before: &before, Sort: gl.Ptr("asc")}, gl.WithContext(ctx), o)
	}, func(e *gl.ProjectEvent) bool {
		pd := e.PushData
		at, err := time.Parse(time.RFC3339Nano, e.CreatedAt)
		if err != nil || pd.RefType != "branch" || pd.Ref != branch || pd.CommitTo == "" || isZero(pd.CommitTo) ||
			at.Before(r.since) || at.After(r.until) {
			return true
		}
		pushes = append(pushes, e)
		return true
	})
	if err != nil {
		return nil, explain(err, "list the pushes to "+path+" "+branch)
	}

	commits := map[string]*gl.Commit{}
	err = each(func(o gl.PaginationOptionFunc) ([]*gl.Commit, *gl.Response, error) {
		return r.c.Commits.ListCommits(p.ID, &gl.ListCommitsOptions{ListOptions: gl.ListOptions{PerPage: 100}, RefName: &branch,
			Since: gl.Ptr(r.since.Add(-pushMargin)), Until: &r.until}, gl.WithContext(ctx), o)
	}, func(c *gl.Commit) bool {
		commits[c.ID] = c
		return true
	})
	if err != nil {
		return nil, explain(err, "list the commits of "+path+" "+branch)
	}

	var mrs []*mergeRequest
	err = each(func(o gl.PaginationOptionFunc) ([]*gl.BasicMergeRequest, *gl.Response, error) {
		return r.c.MergeRequests.ListProjectMergeRequests(p.ID, &gl.ListProjectMergeRequestsOptions{ListOptions: gl.ListOptions{PerPage: 100},
			State: gl.Ptr("all"), OrderBy: gl.Ptr("updated_at"), Sort: gl.Ptr("desc"), UpdatedAfter: &r.since, UpdatedBefore: &r.until},
			gl.WithContext(ctx), o)
	}, func(m *gl.BasicMergeRequest) bool {
		if m.State == "merged" || m.State == "closed" {
			mrs = append(mrs, &mergeRequest{mr: m})
		}
		return true
	})
	if err != nil {
		return nil, explain(err, "list the merge requests of "+path)
	}
	for _, m := range mrs {
		if m.merged() {
			if err := r.mergeRequestDetails(ctx, p, m); err != nil {
				return nil, err
			}
		}
	}

	// The commits of each push: everything reachable from its after that
	// neither its before nor an earlier push reached, parents first (the
	// order GitLab lists them in a Push Hook).
	assigned := map[string]bool{}
	pushCommits := make([][]string, len(pushes))
	for i, e := range pushes {
		var order []string
		seen := map[string]bool{}
		var visit func(sha string, depth int)
		visit = func(sha string, depth int) {
			c := commits[sha]
			if c == nil || seen[sha] || assigned[sha] || sha == e.PushData.CommitFrom || depth > maxPushCommits {
				return
			}
			seen[sha] = true
			for j := len(c.ParentIDs) - 1; j >= 0; j-- {
				visit(c.ParentIDs[j], depth+1)
			}
			order = append(order, sha)
		}
		visit(e.PushData.CommitTo, 0)
		for _, s := range order {
			assigned[s] = true
		}
		pushCommits[i] = order
	}

	// Which commits merged requests own (the commit they put on the branch,
	// and what was pushed with it before it): the request's changed paths
	// are theirs. Every other commit is read for its own.
	byMerge := map[string]*mergeRequest{}
	for _, m := range mrs {
		if m.merged() && m.mergeSHA() != "" {
			byMerge[m.mergeSHA()] = m
		}
	}
	owned := backfill.OwnedByMerges(pushCommits, func(sha string) bool { return byMerge[sha] != nil })
	paths := map[string]*hookCommit{}
	for _, cs := range pushCommits {
		for _, s := range cs {
			hc := commitHook(proj, commits[s])
			switch m := byMerge[s]; {
			case m != nil:
				for _, d := range m.diffs {
					addPath(&hc, d.NewPath, d.OldPath, d.NewFile, d.DeletedFile, d.RenamedFile)
				}
			case !owned[s]:
				err := each(func(o gl.PaginationOptionFunc) ([]*gl.Diff, *gl.Response, error) {
					return r.c.Commits.GetCommitDiff(p.ID, s, &gl.GetCommitDiffOptions{ListOptions: gl.ListOptions{PerPage: 100}}, gl.WithContext(ctx), o)
				}, func(d *gl.Diff) bool {
					addPath(&hc, d.NewPath, d.OldPath, d.NewFile, d.DeletedFile, d.RenamedFile)
					return true
				})
				if err != nil {
					return nil, explain(err, "read the changes of commit "+s+" of "+path)
				}
			}
			paths[s] = &hc
		}
	}

	c := &collector{r: r, proj: proj}
	for i, e := range pushes {
		hcs := make([]hookCommit, 0, len(pushCommits[i]))
		for _, s := range pushCommits[i] {
			hcs = append(hcs, *paths[s])
		}
		// A push that created the branch has no commit_from; its hook says
		// before is all zeros.
		c.add(eventPush, "push/"+strconv.FormatInt(e.ID, 10)+":"+e.PushData.CommitTo,
			pushPayload(proj, "refs/heads/"+branch, firstNonEmpty(e.PushData.CommitFrom, zeroSHA), e.PushData.CommitTo, &e.Author, hcs))
	}
	for i := len(mrs) - 1; i >= 0; i-- { // least recently updated first
		r.mergeRequestHooks(c, mrs[i])
	}
	return c.out, c.err
}

// mergeRequestDetails reads a merged request's approvals, commits and
// changed paths.
func (r *run) mergeRequestDetails(ctx context.Context, p *gl.Project, m *mergeRequest) error {
	iid := m.mr.IID
	what := func(s string) string {
		return "read the " + s + " of merge request !" + strconv.FormatInt(iid, 10) + " of " + p.PathWithNamespace
	}
	// An instance or tier without the approvals endpoint answers 404: the
	// request then has no approvals, as its webhooks would have none.
	ap, _, err := r.c.MergeRequestApprovals.GetConfiguration(p.ID, iid, gl.WithContext(ctx))
	switch {
	case errors.Is(err, gl.ErrNotFound):
	case err != nil:
		return explain(err, what("approvals"))
	default:
		m.approvals = ap.ApprovedBy
	}
	err = each(func(o gl.PaginationOptionFunc) ([]*gl.Commit, *gl.Response, error) {
		return r.c.MergeRequests.GetMergeRequestCommits(p.ID, iid, &gl.GetMergeRequestCommitsOptions{ListOptions: gl.ListOptions{PerPage: 100}}, gl.WithContext(ctx), o)
	}, func(c *gl.Commit) bool {
		m.commits = append(m.commits, c)
		return true
	})
	if err != nil {
		return explain(err, what("commits"))
	}
	// GitLab lists a merge request's commits newest first.
	for i, j := 0, len(m.commits)-1; i < j; i, j = i+1, j-1 {
		m.commits[i], m.commits[j] = m.commits[j], m.commits[i]
	}
	err = each(func(o gl.PaginationOptionFunc) ([]*gl.MergeRequestDiff, *gl.Response, error) {
		return r.c.MergeRequests.ListMergeRequestDiffs(p.ID, iid, &gl.ListMergeRequestDiffsOptions{ListOptions: gl.ListOptions{PerPage: 100}}, gl.WithContext(ctx), o)
	}, func(d *gl.MergeRequestDiff) bool {
		m.diffs = append(m.diffs, d)
		return true
	})
	if err != nil {
		return explain(err, what("changes"))
	}
	return nil
}

// mergeRequestHooks adds the hooks a merge request sent: its source
// branch's commits as one push at its opening (what tells when its work
// started), the open, one approval per approver, and the merge or close.
func (r *run) mergeRequestHooks(c *collector, m *mergeRequest) {
	mr := m.mr
	iid := strconv.FormatInt(mr.IID, 10)
	if n := len(m.commits); n > 0 && mr.SourceBranch != "" && mr.SourceBranch != mr.TargetBranch {
		hcs := make([]hookCommit, 0, n)
		for _, cm := range m.commits {
			hcs = append(hcs, commitHook(c.proj, cm))
		}
		last := m.commits[n-1].ID
		c.add(eventPush, "mr/"+iid+"/push:"+last, pushPayload(c.proj, "refs/heads/"+mr.SourceBranch, zeroSHA, last, mr.Author, hcs))
	}
	author := user(mr.Author)
	open := r.mergeRequestHook(c.proj, mr, "opened", "open", author)
	open.ObjectAttributes.UpdatedAt = hookTime(mr.CreatedAt)
	c.add(eventMergeRequest, "mr/"+iid+"/open@"+unix(mr.CreatedAt), open)
	for _, a := range m.approvals {
		if a == nil || a.User == nil || a.ApprovedAt == nil {
			continue // an approval without a time cannot be placed
		}
		h := r.mergeRequestHook(c.proj, mr, "opened", "approved", user(a.User))
		h.ObjectAttributes.UpdatedAt = hookTime(a.ApprovedAt)
		c.add(eventMergeRequest, "mr/"+iid+"/approved/"+strconv.FormatInt(a.User.ID, 10)+"@"+unix(a.ApprovedAt), h)
	}
	var end mergeRequestHook
	if m.merged() {
		by := mr.MergeUser // merged_by's successor
		if by == nil {
			by = mr.Author
		}
		end = r.mergeRequestHook(c.proj, mr, "merged", "merge", user(by))
		end.ObjectAttributes.MergedAt = hookTime(mr.MergedAt)
		end.ObjectAttributes.ClosedAt = hookTime(mr.MergedAt)
		end.ObjectAttributes.MergeCommitSHA = str(mr.MergeCommitSHA)
		end.ObjectAttributes.SquashCommitSHA = str(mr.SquashCommitSHA)
	} else {
		by := mr.ClosedBy
		if by == nil {
			by = mr.Author
		}
		end = r.mergeRequestHook(c.proj, mr, "closed", "close", user(by))
		end.ObjectAttributes.ClosedAt = hookTime(mr.ClosedAt)
	}
	c.add(eventMergeRequest, "mr/"+iid+"@"+unix(mr.UpdatedAt), end)
}

// mergeRequestHook is a Merge Request Hook of mr in state, for action by u.
func (r *run) mergeRequestHook(p project, mr *gl.BasicMergeRequest, state, action string, u hookUser) mergeRequestHook {
	h := mergeRequestHook{ObjectKind: "merge_request", EventType: "merge_request", User: u, Project: p.hook,
		Labels: labels(mr.Labels), Repository: p.repo}
	a := &h.ObjectAttributes
	a.ID, a.IID, a.Title, a.Description = mr.ID, mr.IID, mr.Title, mr.Description
	if mr.Author != nil {
		a.AuthorID = mr.Author.ID
	}
	a.SourceBranch, a.TargetBranch, a.SourceProjectID, a.TargetProjectID = mr.SourceBranch, mr.TargetBranch, mr.SourceProjectID, mr.TargetProjectID
	a.State, a.Action, a.Draft = state, action, mr.Draft
	a.StateID = map[string]int{"opened": 1, "closed": 2, "merged": 3, "locked": 4}[state]
	a.CreatedAt, a.UpdatedAt = hookTime(mr.CreatedAt), hookTime(mr.UpdatedAt)
	a.URL, a.Labels = mr.WebURL, labels(mr.Labels)
	a.LastCommit.ID, a.LastCommit.URL = mr.SHA, p.commitURL(mr.SHA)
	return h
}

// commitHook is a commit as a Push Hook lists it, without paths. Its
// timestamp is the committer date, in the committer's zone, as GitLab sends
// it.
func commitHook(p project, c *gl.Commit) hookCommit {
	hc := hookCommit{ID: c.ID, Message: c.Message, Title: c.Title, URL: firstNonEmpty(c.WebURL, p.commitURL(c.ID)),
		Author: hookAuthor{Name: c.AuthorName, Email: c.AuthorEmail}, Added: []string{}, Modified: []string{}, Removed: []string{}}
	if c.CommittedDate != nil {
		hc.Timestamp = c.CommittedDate.Format(time.RFC3339)
	}
	return hc
}

// addPath files one changed path as GitLab's push payloads do.
func addPath(hc *hookCommit, newPath, oldPath string, added, deleted, renamed bool) {
	switch {
	case added:
		hc.Added = append(hc.Added, newPath)
	case deleted:
		hc.Removed = append(hc.Removed, firstNonEmpty(oldPath, newPath))
	case renamed:
		hc.Added = append(hc.Added, newPath)
		hc.Removed = append(hc.Removed, oldPath)
	default:
		hc.Modified = append(hc.Modified, newPath)
	}
}

func pushPayload(p project, ref, before, after string, by *gl.BasicUser, commits []hookCommit) pushHook {
	h := pushHook{ObjectKind: "push", EventName: "push", Before: before, After: after, Ref: ref, CheckoutSHA: after,
		ProjectID: p.hook.ID, Project: p.hook, Commits: commits, TotalCommitsCount: len(commits), Repository: p.repo}
	if by != nil {
		h.UserID, h.UserName, h.UserUsername = by.ID, by.Name, by.Username
	}
	if h.Commits == nil {
		h.Commits = []hookCommit{}
	}
	return h
}

func isZero(sha string) bool { return strings.Trim(sha, "0") == "" }

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}
