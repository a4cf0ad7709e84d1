package derive

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/doraflow/doraflow/facts"
)

// normalize returns a copy of h with SHAs in canonical form, duplicates of
// one entity collapsed to its newest state and every slice in a fixed order,
// so that nothing downstream depends on the order the facts arrived in.
// The caller's slices are not modified.
func normalize(h facts.Batch) facts.Batch {
	var b facts.Batch

	commits := make([]facts.Commit, len(h.Commits))
	for i, c := range h.Commits {
		c.SHA = normSHA(c.SHA)
		commits[i] = c
	}
	b.Commits = dedupe(commits, func(c *facts.Commit) string { return c.SHA },
		func(x, y *facts.Commit) int {
			if c := cmp.Compare(boolInt(!x.AuthoredAt.IsZero()), boolInt(!y.AuthoredAt.IsZero())); c != 0 {
				return c
			}
			if c := cmp.Compare(len(x.Paths), len(y.Paths)); c != 0 {
				return c
			}
			return cmp.Compare(len(x.Message), len(y.Message))
		})
	slices.SortFunc(b.Commits, func(x, y facts.Commit) int {
		return cmpOr(x.AuthoredAt.Compare(y.AuthoredAt), strings.Compare(x.SHA, y.SHA))
	})

	pushes := make([]facts.Push, len(h.Pushes))
	for i, p := range h.Pushes {
		p.Ref = strings.TrimSpace(p.Ref)
		p.Before = normSHA(p.Before)
		p.After = normSHA(p.After)
		p.CommitSHAs = normSHAs(p.CommitSHAs)
		pushes[i] = p
	}
	type pushKey struct{ ref, before, after string }
	b.Pushes = dedupe(pushes, func(p *facts.Push) pushKey { return pushKey{p.Ref, p.Before, p.After} },
		func(x, y *facts.Push) int { return cmp.Compare(len(x.CommitSHAs), len(y.CommitSHAs)) })
	slices.SortFunc(b.Pushes, comparePush)

	prs := make([]facts.PullRequest, len(h.PullRequests))
	for i, p := range h.PullRequests {
		p.MergeCommitSHA = normSHA(p.MergeCommitSHA)
		p.HeadSHA = normSHA(p.HeadSHA)
		prs[i] = p
	}
	b.PullRequests = mergePullRequests(prs)
	slices.SortFunc(b.PullRequests, func(x, y facts.PullRequest) int { return cmp.Compare(x.Number, y.Number) })

	type reviewKey struct {
		pr, id    int64
		author    string
		submitted time.Time
	}
	b.Reviews = dedupe(slices.Clone(h.Reviews), func(r *facts.Review) reviewKey {
		if r.ReviewID != 0 {
			return reviewKey{pr: r.PRNumber, id: r.ReviewID}
		}
		return reviewKey{pr: r.PRNumber, author: r.Author, submitted: r.SubmittedAt.UTC()}
	}, func(x, y *facts.Review) int {
		// A dismissal is the later state of a review.
		return cmp.Compare(boolInt(isDismissed(x.State)), boolInt(isDismissed(y.State)))
	})
	slices.SortFunc(b.Reviews, func(x, y facts.Review) int {
		return cmpOr(x.SubmittedAt.Compare(y.SubmittedAt), cmp.Compare(x.PRNumber, y.PRNumber),
			cmp.Compare(x.ReviewID, y.ReviewID), strings.Compare(x.Author, y.Author))
	})

	deps := make([]facts.Deployment, len(h.Deployments))
	for i, d := range h.Deployments {
		d.SHA = normSHA(d.SHA)
		d.CommitSHAs = normSHAs(d.CommitSHAs)
		deps[i] = d
	}
	b.Deployments = dedupe(deps, func(d *facts.Deployment) string { return d.ID },
		func(x, y *facts.Deployment) int { return x.UpdatedAt.Compare(y.UpdatedAt) })
	slices.SortFunc(b.Deployments, func(x, y facts.Deployment) int {
		return cmpOr(x.CreatedAt.Compare(y.CreatedAt), strings.Compare(x.ID, y.ID))
	})

	type statusKey struct {
		dep, id, state string
		at             time.Time
	}
	b.DeploymentStatuses = dedupe(slices.Clone(h.DeploymentStatuses), func(s *facts.DeploymentStatus) statusKey {
		if s.StatusID != "" {
			return statusKey{dep: s.DeploymentID, id: s.StatusID}
		}
		return statusKey{dep: s.DeploymentID, state: strings.ToLower(s.State), at: s.CreatedAt.UTC()}
	}, nil)
	slices.SortFunc(b.DeploymentStatuses, func(x, y facts.DeploymentStatus) int {
		return cmpOr(x.CreatedAt.Compare(y.CreatedAt), strings.Compare(x.DeploymentID, y.DeploymentID),
			strings.Compare(x.StatusID, y.StatusID), strings.Compare(x.State, y.State))
	})

	runs := make([]facts.PipelineRun, len(h.PipelineRuns))
	for i, r := range h.PipelineRuns {
		r.HeadSHA = normSHA(r.HeadSHA)
		runs[i] = r
	}
	type runKey struct {
		id      string
		attempt int64
	}
	b.PipelineRuns = dedupe(runs, func(r *facts.PipelineRun) runKey { return runKey{r.ID, r.Attempt} },
		func(x, y *facts.PipelineRun) int {
			return cmpOr(x.UpdatedAt.Compare(y.UpdatedAt), x.FinishedAt.Compare(y.FinishedAt))
		})
	slices.SortFunc(b.PipelineRuns, func(x, y facts.PipelineRun) int {
		return cmpOr(strings.Compare(x.ID, y.ID), cmp.Compare(x.Attempt, y.Attempt))
	})

	rels := make([]facts.Release, len(h.Releases))
	for i, r := range h.Releases {
		r.Target = strings.TrimSpace(r.Target)
		if l := strings.ToLower(r.Target); isFullSHA(l) {
			r.Target = l
		}
		rels[i] = r
	}
	b.Releases = dedupe(rels, func(r *facts.Release) string { return r.ID },
		func(x, y *facts.Release) int {
			return cmpOr(cmp.Compare(boolInt(!x.Draft), boolInt(!y.Draft)), x.PublishedAt.Compare(y.PublishedAt))
		})
	slices.SortFunc(b.Releases, func(x, y facts.Release) int {
		return cmpOr(x.PublishedAt.Compare(y.PublishedAt), strings.Compare(x.ID, y.ID))
	})

	incs := make([]facts.Incident, len(h.Incidents))
	for i, n := range h.Incidents {
		n.CausedBySHA = normSHA(n.CausedBySHA)
		n.CausedByDeployment = strings.TrimSpace(n.CausedByDeployment)
		incs[i] = n
	}
	b.Incidents = mergeIncidents(incs)
	slices.SortFunc(b.Incidents, compareIncident)

	return b
}

// mergePullRequests folds every stored state of a pull request into one:
// the newest state, with what it left out taken from older ones. A host
// may send a later update without the author, or without the merge time.
func mergePullRequests(prs []facts.PullRequest) []facts.PullRequest {
	groups := map[int64][]facts.PullRequest{}
	var order []int64
	for _, p := range prs {
		if _, ok := groups[p.Number]; !ok {
			order = append(order, p.Number)
		}
		groups[p.Number] = append(groups[p.Number], p)
	}
	out := make([]facts.PullRequest, 0, len(order))
	for _, n := range order {
		g := groups[n]
		slices.SortFunc(g, func(x, y facts.PullRequest) int { return olderFirst(x, y, x.UpdatedAt, y.UpdatedAt) })
		m := g[len(g)-1]
		for i := len(g) - 2; i >= 0; i-- {
			o := g[i]
			fill(&m.Title, o.Title)
			fill(&m.Author, o.Author)
			fill(&m.HeadRef, o.HeadRef)
			fill(&m.HeadSHA, o.HeadSHA)
			fill(&m.BaseRef, o.BaseRef)
			fill(&m.MergeCommitSHA, o.MergeCommitSHA)
			m.Merged = m.Merged || o.Merged
		}
		for _, o := range g {
			m.CreatedAt = earliest(m.CreatedAt, o.CreatedAt)
			m.MergedAt = earliest(m.MergedAt, o.MergedAt)
		}
		out = append(out, m)
	}
	return out
}

// earliest is the earlier of two times, a zero time counting as unknown.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// mergeIncidents folds every update of an incident into one record: the
// newest update's state, with what it left out taken from older updates.
// Incident tools often send only the changed fields (an "acknowledged"
// event without the creation time), and an incident's creation time is the
// earliest any update gives.
func mergeIncidents(incs []facts.Incident) []facts.Incident {
	type key struct{ source, id string }
	groups := map[key][]facts.Incident{}
	var order []key
	for _, n := range incs {
		k := key{n.Source, n.ID}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], n)
	}
	out := make([]facts.Incident, 0, len(order))
	for _, k := range order {
		g := groups[k]
		// Oldest first; equal times ordered by content, not arrival.
		slices.SortFunc(g, func(x, y facts.Incident) int { return olderFirst(x, y, x.UpdatedAt, y.UpdatedAt) })
		m := g[len(g)-1]
		for i := len(g) - 2; i >= 0; i-- {
			o := g[i]
			fill(&m.Repo, o.Repo)
			fill(&m.Service, o.Service)
			fill(&m.Title, o.Title)
			fill(&m.Severity, o.Severity)
			fill(&m.URL, o.URL)
			fill(&m.CausedByDeployment, o.CausedByDeployment)
			fill(&m.CausedBySHA, o.CausedBySHA)
			if len(m.Labels) == 0 {
				m.Labels = o.Labels
			}
		}
		for _, o := range g {
			m.CreatedAt = earliest(m.CreatedAt, o.CreatedAt)
		}
		out = append(out, m)
	}
	return out
}

// olderFirst orders two states of one entity by update time, and states of
// equal time by their printed form, so that the order never depends on
// arrival. The printed forms are made only for equal times: they are the
// costliest part of a long history's normalization.
func olderFirst[T any](x, y T, xt, yt time.Time) int {
	if c := xt.Compare(yt); c != 0 {
		return c
	}
	return strings.Compare(fmt.Sprint(x), fmt.Sprint(y))
}

func fill(dst *string, older string) {
	if *dst == "" {
		*dst = older
	}
}

func comparePush(x, y facts.Push) int {
	return cmpOr(x.PushedAt.Compare(y.PushedAt), strings.Compare(x.Ref, y.Ref),
		strings.Compare(x.Before, y.Before), strings.Compare(x.After, y.After))
}

func compareIncident(x, y facts.Incident) int {
	return cmpOr(x.CreatedAt.Compare(y.CreatedAt), strings.Compare(x.ID, y.ID), strings.Compare(x.Source, y.Source))
}

// dedupe keeps one element per key: the greatest by newer, and among equals
// the one whose printed form sorts last, so the choice never depends on the
// input order. newer may be nil.
func dedupe[T any, K comparable](xs []T, key func(*T) K, newer func(x, y *T) int) []T {
	idx := make(map[K]int, len(xs))
	out := xs[:0]
	for i := range xs {
		k := key(&xs[i])
		j, ok := idx[k]
		if !ok {
			idx[k] = len(out)
			out = append(out, xs[i])
			continue
		}
		c := 0
		if newer != nil {
			c = newer(&xs[i], &out[j])
		}
		if c > 0 || (c == 0 && fmt.Sprintf("%#v", xs[i]) > fmt.Sprintf("%#v", out[j])) {
			out[j] = xs[i]
		}
	}
	return out
}

// normSHA trims a commit id and lower-cases it when it is hexadecimal.
func normSHA(s string) string {
	s = strings.TrimSpace(s)
	upper := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
		case c >= 'A' && c <= 'F':
			upper = true
		default:
			return s
		}
	}
	if upper {
		return strings.ToLower(s)
	}
	return s
}

func normSHAs(shas []string) []string {
	changed := false
	for _, s := range shas {
		if normSHA(s) != s {
			changed = true
			break
		}
	}
	if !changed {
		return shas
	}
	out := make([]string, len(shas))
	for i, s := range shas {
		out[i] = normSHA(s)
	}
	return out
}

// isFullSHA reports whether s is a full lower-case SHA-1 or SHA-256 id.
func isFullSHA(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// isZeroSHA reports whether s is empty or the all-zero id hosts use for a
// ref that did not exist.
func isZeroSHA(s string) bool {
	return strings.Trim(s, "0") == ""
}

func isDismissed(state string) bool { return strings.EqualFold(strings.TrimSpace(state), "dismissed") }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func cmpOr(cs ...int) int {
	for _, c := range cs {
		if c != 0 {
			return c
		}
	}
	return 0
}
