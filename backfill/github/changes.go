package github

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/doraflow/doraflow/backfill"
	"github.com/doraflow/doraflow/delivery"
	"github.com/doraflow/doraflow/githubapi"
)

const zeroSHA = "0000000000000000000000000000000000000000"

// activity is one entry of the repository activity API: a push, force
// push, merge or branch creation or deletion.
type activity struct {
	ID           int64     `json:"id"`
	Before       string    `json:"before"`
	After        string    `json:"after"`
	Ref          string    `json:"ref"`
	Timestamp    time.Time `json:"timestamp"`
	ActivityType string    `json:"activity_type"`
	Actor        *gh.User  `json:"actor"`
}

// pull is a pull request with what the import reads for it.
type pull struct {
	pr      *gh.PullRequest
	reviews []*gh.PullRequestReview
	commits []*gh.RepositoryCommit
	files   []*gh.CommitFile
}

// changes reads the default branch's pushes (the activity API gives each
// push's before and after; the commit list gives the commits between) and
// the pull requests, and builds push, pull_request and pull_request_review
// deliveries. The reviews, commits and files of merged pull requests come
// from GraphQL queries of 25 pull requests each (REST has no list of them
// across pull requests); the commits no merged pull request brought are read
// one by one for their paths, which no list carries.
func (r *run) changes(ctx context.Context, repo *gh.Repository, etag string) ([]delivery.Delivery, string, bool, error) {
	full := repo.GetFullName()
	base := repoPath(repo)
	branch := repo.GetDefaultBranch()
	if branch == "" {
		branch = "main"
	}
	mainRef := "refs/heads/" + branch
	tags := splitETags(etag, 2)

	// Pull requests, most recently updated first, until older than since.
	var pulls []*pull
	pullsTag, pullsSame, err := list(ctx, r.c, "list the pull requests of "+full,
		base+"/pulls?state=all&sort=updated&direction=desc&per_page=100", tags[0], func(raw json.RawMessage) (bool, error) {
			var page []*gh.PullRequest
			if err := json.Unmarshal(raw, &page); err != nil {
				return false, err
			}
			for _, pr := range page {
				if pr.GetUpdatedAt().Before(r.since) {
					return false, nil
				}
				pulls = append(pulls, &pull{pr: pr})
			}
			return len(page) > 0, nil
		})
	if err != nil {
		return nil, "", false, err
	}
	// Pushes to the default branch, newest first, until older than since.
	var pushes []activity
	actTag, actSame, err := list(ctx, r.c, "list the pushes to "+full+" "+branch,
		base+"/activity?ref="+url.QueryEscape(mainRef)+"&per_page=100", tags[1], func(raw json.RawMessage) (bool, error) {
			var page []activity
			if err := json.Unmarshal(raw, &page); err != nil {
				return false, err
			}
			for _, a := range page {
				if a.Timestamp.Before(r.since) {
					return false, nil
				}
				if a.Timestamp.After(r.until) || a.ActivityType == "branch_deletion" || a.After == "" || a.After == zeroSHA {
					continue
				}
				pushes = append(pushes, a)
			}
			return len(page) > 0, nil
		})
	if err != nil {
		return nil, "", false, err
	}
	if pullsSame && actSame {
		return nil, etag, true, nil
	}
	if pullsSame || actSame {
		// One list changed: read the unchanged one in full as well.
		return r.changes(ctx, repo, "")
	}
	slices.Reverse(pushes)

	commits := map[string]*gh.RepositoryCommit{}
	_, _, err = list(ctx, r.c, "list the commits of "+full+" "+branch,
		base+"/commits?sha="+url.QueryEscape(branch)+"&since="+r.since.Format(time.RFC3339)+"&per_page=100", "",
		func(raw json.RawMessage) (bool, error) {
			var page []*gh.RepositoryCommit
			if err := json.Unmarshal(raw, &page); err != nil {
				return false, err
			}
			for _, c := range page {
				commits[c.GetSHA()] = c
			}
			return len(page) > 0, nil
		})
	if err != nil {
		return nil, "", false, err
	}
	full1 := map[string]bool{} // commits read one by one, files included

	if err := r.pullDetails(ctx, repo, pulls); err != nil {
		return nil, "", false, err
	}

	get := func(sha string) (*gh.RepositoryCommit, error) {
		c, _, err := r.c.Repositories.GetCommit(ctx, repo.GetOwner().GetLogin(), repo.GetName(), sha, nil)
		if err != nil {
			return nil, githubapi.Explain(err, "read commit "+sha+" of "+full)
		}
		commits[sha] = c
		full1[sha] = true
		return c, nil
	}

	// The commits of each push: everything reachable from its after that
	// neither its before nor an earlier push reached, parents first.
	assigned := map[string]bool{}
	pushCommits := make([][]string, len(pushes))
	for i, a := range pushes {
		var order []string
		// The first-parent chain is the push itself; read what the list
		// did not have (commits dated before since).
		// A force push's before is not an ancestor of its after: the walk
		// also stops at history older than the period less a margin, and
		// after maxPushReads commits read one by one.
		floor := r.since.Add(-pushMargin)
		for cur, n, reads := a.After, 0, 0; cur != a.Before && cur != zeroSHA && cur != "" && !assigned[cur] && n < maxPushCommits; n++ {
			c := commits[cur]
			if c == nil {
				if reads >= maxPushReads {
					break
				}
				reads++
				var err error
				if c, err = get(cur); err != nil {
					return nil, "", false, err
				}
				if c.GetCommit().GetCommitter().GetDate().Before(floor) {
					break
				}
			}
			if len(c.Parents) == 0 {
				break
			}
			cur = c.Parents[0].GetSHA()
		}
		seen := map[string]bool{}
		var visit func(sha string, depth int)
		visit = func(sha string, depth int) {
			c := commits[sha]
			if c == nil || seen[sha] || assigned[sha] || sha == a.Before || depth > maxPushCommits {
				return
			}
			seen[sha] = true
			for j := len(c.Parents) - 1; j >= 0; j-- {
				visit(c.Parents[j].GetSHA(), depth+1)
			}
			order = append(order, sha)
		}
		visit(a.After, 0)
		for _, s := range order {
			assigned[s] = true
		}
		pushCommits[i] = order
	}

	// Which commits merged pull requests own (their merge commit, and what
	// was pushed with it before it): their paths are the pull request's
	// files. Every other commit is read for its own.
	byMerge := map[string]*pull{}
	for _, p := range pulls {
		if p.pr.MergedAt != nil && p.pr.GetMergeCommitSHA() != "" {
			byMerge[p.pr.GetMergeCommitSHA()] = p
		}
	}
	owned := backfill.OwnedByMerges(pushCommits, func(sha string) bool { return byMerge[sha] != nil })
	for _, cs := range pushCommits {
		for _, s := range cs {
			if !owned[s] && !full1[s] {
				if _, err := get(s); err != nil {
					return nil, "", false, err
				}
			}
		}
	}

	var out []delivery.Delivery
	add := func(event, id string, payload any) error {
		d, err := r.delivery(full, event, id, payload)
		if err == nil {
			out = append(out, d)
		}
		return err
	}
	for i, a := range pushes {
		var hcs []*gh.HeadCommit
		for _, s := range pushCommits[i] {
			c := commits[s]
			var files []*gh.CommitFile
			switch {
			case byMerge[s] != nil:
				files = byMerge[s].files
			case !owned[s]:
				files = c.Files
			}
			hcs = append(hcs, headCommit(c, files))
		}
		ev := pushEvent(repo, a.Ref, a.Before, a.After, a.Timestamp, a.Actor, hcs)
		ev.Forced = gh.Bool(a.ActivityType == "force_push")
		if err := add("push", fmt.Sprintf("%d:%s", a.ID, a.After), ev); err != nil {
			return nil, "", false, err
		}
	}
	for _, p := range pulls {
		pr := p.pr
		n := pr.GetNumber()
		if len(p.commits) > 0 && pr.GetHead().GetRef() != "" && pr.GetHead().GetRef() != pr.GetBase().GetRef() {
			// The head branch's commits, as one push at the pull request's
			// creation: what tells when its work started.
			var hcs []*gh.HeadCommit
			for _, c := range p.commits {
				hcs = append(hcs, headCommit(c, nil))
			}
			last := p.commits[len(p.commits)-1].GetSHA()
			ev := pushEvent(repo, "refs/heads/"+pr.GetHead().GetRef(), zeroSHA, last, pr.GetCreatedAt().Time, pr.GetUser(), hcs)
			if err := add("push", fmt.Sprintf("pull/%d:%s", n, last), ev); err != nil {
				return nil, "", false, err
			}
		}
		action := "opened"
		if pr.GetState() == "closed" {
			action = "closed"
		}
		if err := add("pull_request", fmt.Sprintf("%d@%s", n, unix(pr.GetUpdatedAt())), &gh.PullRequestEvent{
			Action: gh.String(action), Number: gh.Int(n), PullRequest: pr, Repo: repo}); err != nil {
			return nil, "", false, err
		}
		for _, rv := range p.reviews {
			if err := add("pull_request_review", fmt.Sprintf("%d/%d@%s", n, rv.GetID(), unix(rv.GetSubmittedAt())), &gh.PullRequestReviewEvent{
				Action: gh.String("submitted"), Review: rv, PullRequest: pr, Repo: repo}); err != nil {
				return nil, "", false, err
			}
		}
	}
	return out, joinETags(pullsTag, actTag), false, nil
}

// headCommit is a commit as a push payload lists it, with the paths of
// files (nil: none known).
func headCommit(c *gh.RepositoryCommit, files []*gh.CommitFile) *gh.HeadCommit {
	gc := c.GetCommit()
	author := &gh.CommitAuthor{Name: str(gc.GetAuthor().GetName()), Email: str(gc.GetAuthor().GetEmail()), Login: str(c.GetAuthor().GetLogin())}
	committer := &gh.CommitAuthor{Name: str(gc.GetCommitter().GetName()), Email: str(gc.GetCommitter().GetEmail())}
	hc := &gh.HeadCommit{ID: gh.String(c.GetSHA()), TreeID: str(gc.GetTree().GetSHA()), Distinct: gh.Bool(true), Message: gc.Message,
		URL: c.HTMLURL, Author: author, Committer: committer,
		Added: []string{}, Removed: []string{}, Modified: []string{}}
	if d := gc.GetAuthor().GetDate(); !d.IsZero() {
		hc.Timestamp = &d
	}
	for _, f := range files {
		switch f.GetStatus() {
		case "added", "copied":
			hc.Added = append(hc.Added, f.GetFilename())
		case "removed":
			hc.Removed = append(hc.Removed, f.GetFilename())
		case "renamed":
			hc.Added = append(hc.Added, f.GetFilename())
			if f.GetPreviousFilename() != "" {
				hc.Removed = append(hc.Removed, f.GetPreviousFilename())
			}
		default:
			hc.Modified = append(hc.Modified, f.GetFilename())
		}
	}
	return hc
}

func pushEvent(repo *gh.Repository, ref, before, after string, at time.Time, actor *gh.User, commits []*gh.HeadCommit) *gh.PushEvent {
	ev := &gh.PushEvent{Ref: gh.String(ref), Before: gh.String(before), After: gh.String(after),
		Created: gh.Bool(before == zeroSHA), Deleted: gh.Bool(false), Forced: gh.Bool(false), Commits: commits,
		Repo: &gh.PushEventRepository{ID: repo.ID, Name: repo.Name, FullName: repo.FullName,
			DefaultBranch: repo.DefaultBranch, HTMLURL: repo.HTMLURL, PushedAt: &gh.Timestamp{Time: at.UTC()}},
		Sender: actor}
	if commits == nil {
		ev.Commits = []*gh.HeadCommit{}
	}
	if len(commits) > 0 {
		ev.HeadCommit = commits[len(commits)-1]
	}
	if actor != nil {
		ev.Pusher = &gh.CommitAuthor{Name: actor.Login}
	}
	return ev
}

// str is nil for "", so absent fields stay absent in payloads.
func str(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
