package derive

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/doraflow/doraflow/facts"
)

// pullRequest is a merged pull request while it is being derived.
type pullRequest struct {
	pr     *facts.PullRequest
	owned  []string // its merge commit first, then the commits pushed with it
	dep    *deployment
	hotfix bool
}

func isMerged(pr *facts.PullRequest) bool { return pr.Merged || !pr.MergedAt.IsZero() }

// own decides which commits belong to merged pull requests: a pull
// request's merge commit, and the commits pushed to its base branch together
// with (and before) the merge commit, which covers merge-commit and rebase
// merges. A merge commit always belongs to its own pull request; any other
// commit claimed by several belongs to the one merged first.
func (x *deriver) own() {
	for i := range x.b.PullRequests {
		pr := &x.b.PullRequests[i]
		if isMerged(pr) {
			x.prs = append(x.prs, &pullRequest{pr: pr})
		}
	}
	slices.SortFunc(x.prs, func(a, b *pullRequest) int {
		return cmpOr(a.pr.MergedAt.Compare(b.pr.MergedAt), cmp.Compare(a.pr.Number, b.pr.Number))
	})
	x.owner = map[string]*pullRequest{}
	for _, p := range x.prs {
		m := p.pr.MergeCommitSHA
		if m == "" || isZeroSHA(m) {
			continue
		}
		if _, taken := x.owner[m]; !taken {
			x.owner[m] = p
		}
		p.owned = append(p.owned, m)
	}
	for _, p := range x.prs {
		m := p.pr.MergeCommitSHA
		if m == "" || isZeroSHA(m) {
			continue
		}
		base := ""
		if p.pr.BaseRef != "" {
			base = fullRef(p.pr.BaseRef)
		}
		positions := x.at[m]
		onBase := 0
		for _, at := range positions {
			if base == "" || x.pushes[at.push].Ref == base {
				onBase++
			}
		}
		seen := map[string]bool{m: true}
		for _, at := range positions {
			push := &x.pushes[at.push]
			if onBase > 0 && base != "" && push.Ref != base {
				continue
			}
			if onBase == 0 && push.After != m {
				continue
			}
			for _, c := range push.CommitSHAs[:at.i] {
				if c == "" || seen[c] {
					continue
				}
				seen[c] = true
				if _, taken := x.owner[c]; !taken {
					x.owner[c] = p
				}
				if x.owner[c] == p {
					p.owned = append(p.owned, c)
				}
			}
		}
	}
}

// changes builds the change records: every merged pull request and every
// contained commit that belongs to none, each with the first production
// deployment containing it. It also counts the changes each deployment
// shipped and marks hotfix pull requests.
func (x *deriver) changes() []facts.ChangeLead {
	out := make([]facts.ChangeLead, 0, len(x.prs)+len(x.containedBy))
	for _, p := range x.prs {
		pr := p.pr
		p.dep = x.containedBy[pr.MergeCommitSHA]
		p.hotfix = x.rules.IsHotfixLabel(pr.Labels) || x.rules.IsHotfixBranch(pr.HeadRef)
		start, fromCreated, headCommits := x.prStart(p)
		paths := x.paths(p.owned)
		if len(paths) == 0 {
			paths = x.paths(headCommits)
		}
		c := facts.ChangeLead{
			Repo:           x.repo,
			ID:             "pr/" + strconv.FormatInt(pr.Number, 10),
			Kind:           facts.KindPullRequest,
			Title:          pr.Title,
			Author:         pr.Author,
			Labels:         slices.Clone(pr.Labels),
			Paths:          paths,
			StartedAt:      start,
			StartIsCreated: fromCreated,
			OpenedAt:       pr.CreatedAt,
			FirstReviewAt:  x.firstReview[pr.Number],
			MergedAt:       pr.MergedAt,
		}
		if p.dep != nil {
			p.dep.out.Changes++
			c.DeploymentID = p.dep.out.DeploymentID
			c.DeployedAt = p.dep.out.FinishedAt
			c.Environment = p.dep.out.Environment
		}
		x.classify(&c)
		out = append(out, c)
	}
	for _, d := range x.prod {
		for _, sha := range d.contents {
			if _, owned := x.owner[sha]; owned {
				continue
			}
			d.out.Changes++
			c := facts.ChangeLead{
				Repo:         x.repo,
				ID:           sha,
				Kind:         facts.KindCommit,
				DeploymentID: d.out.DeploymentID,
				DeployedAt:   d.out.FinishedAt,
				Environment:  d.out.Environment,
			}
			if cm := x.commits[sha]; cm != nil {
				c.Title = firstLine(cm.Message)
				c.Author = cmp.Or(cm.AuthorLogin, cm.AuthorName, cm.AuthorEmail)
				c.Paths = x.paths([]string{sha})
				c.StartedAt = cm.AuthoredAt
			}
			if c.StartedAt.IsZero() {
				// No author time known: the time it was first pushed is
				// the best bound there is.
				if i, ok := x.firstSeen[sha]; ok {
					c.StartedAt = x.pushes[i].PushedAt
				}
			}
			c.MergedAt = c.StartedAt
			x.classify(&c)
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b facts.ChangeLead) int {
		return cmpOr(strings.Compare(a.Repo, b.Repo), strings.Compare(a.ID, b.ID))
	})
	return out
}

// classify sets a change's toil verdict and its credited effort.
func (x *deriver) classify(c *facts.ChangeLead) {
	c.Toil, c.ToilReason = x.memo.classify(x.rules.Toil, c.Labels, c.Title, c.Author, c.Paths)
	c.ActiveSeconds = int64(x.rules.Toil.Active(c.StartedAt, c.MergedAt) / time.Second)
}

// prStart is when a pull request's work started: the earliest author time
// among the commits first seen on its head branch in pushes between its
// creation (less Lookback) and its merge, and the commits pushed with its
// merge commit other than the merge commit itself. Commits that reached the
// head branch from elsewhere (a merge of the base branch into it) were first
// seen on another branch and do not count. It is never later than the pull
// request's creation. With no commit time known it is the creation time,
// flagged.
func (x *deriver) prStart(p *pullRequest) (time.Time, bool, []string) {
	pr := p.pr
	var start time.Time
	consider := func(sha string) {
		if c := x.commits[sha]; c != nil && !c.AuthoredAt.IsZero() && (start.IsZero() || c.AuthoredAt.Before(start)) {
			start = c.AuthoredAt
		}
	}
	var head []string
	if pr.HeadRef != "" && !strings.EqualFold(strings.TrimPrefix(pr.HeadRef, "refs/heads/"), strings.TrimPrefix(pr.BaseRef, "refs/heads/")) {
		ref := fullRef(pr.HeadRef)
		from := pr.CreatedAt.Add(-x.rules.Lookback)
		list := x.byRef[ref]
		lo, _ := slices.BinarySearchFunc(list, from, func(i int, t time.Time) int {
			if x.pushes[i].PushedAt.Before(t) {
				return -1
			}
			return 1
		})
		for _, i := range list[lo:] {
			push := &x.pushes[i]
			if !pr.MergedAt.IsZero() && push.PushedAt.After(pr.MergedAt) {
				break
			}
			for _, c := range push.CommitSHAs {
				if fs, ok := x.firstSeen[c]; ok && fs == i {
					head = append(head, c)
					consider(c)
				}
			}
		}
	}
	for _, c := range p.owned {
		if c != pr.MergeCommitSHA {
			consider(c)
		}
	}
	if start.IsZero() {
		return pr.CreatedAt, true, head
	}
	// Work on a pull request started by its opening at the latest: commits
	// dated after it (pushed later, or rewritten by a rebase) do not move
	// the start past it, and so never past the merge.
	if !pr.CreatedAt.IsZero() && start.After(pr.CreatedAt) {
		start = pr.CreatedAt
	}
	return start, false, head
}

// paths is the sorted union of the paths of commits.
func (x *deriver) paths(shas []string) []string {
	var out []string
	for _, s := range shas {
		if c := x.commits[s]; c != nil {
			out = append(out, c.Paths...)
		}
	}
	if len(out) == 0 {
		return nil
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// firstReviews finds, per pull request, the earliest submitted review by
// someone other than its author. Reviews in every submitted state count
// except dismissed ones; pending (unsubmitted) reviews do not count.
func (x *deriver) firstReviews() {
	authors := map[int64]string{}
	for i := range x.b.PullRequests {
		authors[x.b.PullRequests[i].Number] = x.b.PullRequests[i].Author
	}
	x.firstReview = map[int64]time.Time{}
	for i := range x.b.Reviews {
		r := &x.b.Reviews[i]
		state := strings.ToLower(strings.TrimSpace(r.State))
		if r.SubmittedAt.IsZero() || state == "dismissed" || state == "pending" {
			continue
		}
		if a, ok := authors[r.PRNumber]; ok && a != "" && strings.EqualFold(a, r.Author) {
			continue
		}
		if cur, ok := x.firstReview[r.PRNumber]; !ok || r.SubmittedAt.Before(cur) {
			x.firstReview[r.PRNumber] = r.SubmittedAt
		}
	}
}

func firstLine(msg string) string {
	line, _, _ := strings.Cut(msg, "\n")
	return strings.TrimSpace(line)
}
