package derive

import (
	"cmp"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/doraflow/doraflow/facts"
)

// group is one service while its incidents are linked and its failures
// found: the parts of its history (its repositories, and its share of any
// monorepo), with their production deployments in one order.
type group struct {
	parts []*deriver
	prod  []*deployment // the production deployments of every part, in order
}

// groupParts groups parts by the service key names, in the order the keys
// first appear, and orders each group's production deployments by finish
// time, id, origin and repository.
func groupParts(parts []*deriver, key func(*deriver) string) []*group {
	byKey := map[string]*group{}
	var out []*group
	for _, x := range parts {
		k := key(x)
		g := byKey[k]
		if g == nil {
			g = &group{}
			byKey[k] = g
			out = append(out, g)
		}
		g.parts = append(g.parts, x)
		for _, d := range x.prod {
			d.part = x
			g.prod = append(g.prod, d)
		}
	}
	for _, g := range out {
		slices.SortStableFunc(g.prod, func(a, b *deployment) int {
			return cmpOr(compareDeployments(a.out, b.out), strings.Compare(a.out.Repo, b.out.Repo))
		})
		for i, d := range g.prod {
			d.rank = i
		}
	}
	return out
}

// settle links the service's incidents, finds its failures and records
// every deployment's outcome.
func (g *group) settle() {
	g.link()
	g.failures()
	for _, x := range g.parts {
		for _, d := range x.prod {
			d.settle()
		}
	}
}

// link blames each incident of the service on one of its production
// deployments: an explicit reference first (a deployment id, or a commit SHA
// resolved to the first production deployment containing it or deploying
// it), otherwise the latest production deployment that finished within
// IncidentWindow before the incident was created, otherwise none.
func (g *group) link() {
	byID := map[string]*deployment{}
	for _, x := range g.parts {
		x.firstWithSHA = map[string]*deployment{}
	}
	for _, d := range g.prod {
		if _, ok := byID[d.out.DeploymentID]; !ok {
			byID[d.out.DeploymentID] = d
		}
		if _, ok := d.part.firstWithSHA[d.out.SHA]; !ok && d.out.SHA != "" {
			d.part.firstWithSHA[d.out.SHA] = d
		}
	}
	for _, x := range g.parts {
		x.out.Incidents = make([]facts.IncidentLink, 0, len(x.b.Incidents))
		for i := range x.b.Incidents {
			n := &x.b.Incidents[i]
			l := facts.IncidentLink{
				Source:     n.Source,
				IncidentID: n.ID,
				Repo:       x.repo,
				Title:      n.Title,
				CreatedAt:  n.CreatedAt,
				ResolvedAt: n.ResolvedAt,
				Link:       facts.LinkNone,
			}
			var d *deployment
			if n.CausedByDeployment != "" {
				d = byID[n.CausedByDeployment]
			}
			if d == nil && n.CausedBySHA != "" {
				d = g.deploymentOf(n.CausedBySHA)
			}
			if d != nil {
				l.Link = facts.LinkExplicit
			} else {
				l.UnresolvedReference = cmp.Or(n.CausedByDeployment, n.CausedBySHA)
				if d = g.inWindow(n.CreatedAt, x.rules.IncidentWindow); d != nil {
					l.Link = facts.LinkWindow
				}
			}
			if d != nil {
				l.DeploymentID = d.out.DeploymentID
				l.Environment = d.out.Environment
				d.incident = true
				if r := n.ResolvedAt; !r.IsZero() && (d.resolvedAt.IsZero() || r.Before(d.resolvedAt)) {
					d.resolvedAt = r
				}
			}
			x.out.Incidents = append(x.out.Incidents, l)
		}
	}
}

// deploymentOf is the first production deployment of the service that
// contains sha or deployed it. An abbreviated SHA (7 hex digits or more)
// matches by prefix.
func (g *group) deploymentOf(sha string) *deployment {
	var best *deployment
	pick := func(d *deployment) {
		if d != nil && (best == nil || d.rank < best.rank) {
			best = d
		}
	}
	for _, x := range g.parts {
		pick(x.containedBy[sha])
		pick(x.firstWithSHA[sha])
	}
	if best != nil || len(sha) < 7 || len(sha) >= 40 || normSHA(sha) != strings.ToLower(sha) {
		return best
	}
	for _, x := range g.parts {
		for c, d := range x.containedBy {
			if strings.HasPrefix(c, sha) {
				pick(d)
			}
		}
		for c, d := range x.firstWithSHA {
			if strings.HasPrefix(c, sha) {
				pick(d)
			}
		}
	}
	return best
}

// inWindow is the service's latest production deployment finished at or
// before t and no longer than window before it.
func (g *group) inWindow(t time.Time, window time.Duration) *deployment {
	if t.IsZero() {
		return nil
	}
	n, _ := slices.BinarySearchFunc(g.prod, t, func(d *deployment, t time.Time) int {
		if d.out.FinishedAt.After(t) {
			return 1
		}
		return -1
	})
	if n == 0 {
		return nil
	}
	d := g.prod[n-1]
	if t.Sub(d.out.FinishedAt) > window {
		return nil
	}
	return d
}

// revertRE finds the commits a revert names: SHA-1 (40 hex digits) and
// SHA-256 (64) object ids.
var revertRE = regexp.MustCompile(`(?i)This reverts commit ([0-9a-f]{64}|[0-9a-f]{40})\b`)

// failures finds the production deployments of the service that failed by
// rollback, revert or hotfix, and the deployments that repaired them.
func (g *group) failures() {
	for _, x := range g.parts {
		x.rollbacks()
	}

	// Revert by commit message: the deployment that first shipped the
	// reverted commit, in any repository of the service, failed.
	for _, r := range g.prod {
		for _, sha := range r.contents {
			c := r.part.commits[sha]
			if c == nil || !strings.Contains(strings.ToLower(c.Message), "this reverts commit") {
				continue
			}
			for _, m := range revertRE.FindAllStringSubmatch(c.Message, -1) {
				if d := g.containing(strings.ToLower(m[1])); d != nil && d.rank < r.rank {
					d.revert = true
					d.repaired(r.out.FinishedAt)
					r.reworkRevert = true
				}
			}
		}
	}

	for _, x := range g.parts {
		x.revertPullRequests()
	}

	// Hotfix: a production deployment shipping a hotfix change (by label,
	// by head branch, or deployed from a hotfix branch) repairs the
	// service's production deployment before it in the same environment.
	hot := map[*deployment]bool{}
	for _, x := range g.parts {
		for _, p := range x.prs {
			if p.hotfix && p.dep != nil {
				hot[p.dep] = true
			}
		}
	}
	last := map[string]*deployment{} // environment -> latest production deployment so far
	for _, r := range g.prod {
		env := strings.ToLower(r.out.Environment)
		prev := last[env]
		last[env] = r
		if r.out.Changes == 0 {
			continue
		}
		if !hot[r] && !(strings.HasPrefix(r.ref, "refs/heads/") && r.part.rules.IsHotfixBranch(r.ref)) {
			continue
		}
		r.reworkHotfix = true
		if prev != nil {
			prev.hotfix = true
			prev.repaired(r.out.FinishedAt)
		}
	}
}

// containing is the first production deployment of the service that
// contained commit sha.
func (g *group) containing(sha string) *deployment {
	var best *deployment
	for _, x := range g.parts {
		if d := x.containedBy[sha]; d != nil && (best == nil || d.rank < best.rank) {
			best = d
		}
	}
	return best
}

// rollbacks: an environment returns to a version it ran before the one it
// is replacing; the replaced deployment failed. A version belongs to one
// repository, so each repository's environments are followed on their own.
func (x *deriver) rollbacks() {
	byEnv := map[string][]*deployment{}
	var envs []string
	for _, d := range x.prod {
		k := strings.ToLower(d.out.Environment)
		if _, ok := byEnv[k]; !ok {
			envs = append(envs, k)
		}
		byEnv[k] = append(byEnv[k], d)
	}
	for _, k := range envs {
		list := byEnv[k]
		earlier := map[string]bool{}
		for j := 2; j < len(list); j++ {
			if s := list[j-2].out.SHA; s != "" {
				earlier[s] = true
			}
			cur, prev := list[j], list[j-1]
			if cur.out.SHA == "" || cur.out.SHA == prev.out.SHA || !earlier[cur.out.SHA] {
				continue
			}
			prev.rollback = true
			prev.repaired(cur.out.FinishedAt)
			cur.reworkRollback = true
		}
	}
}

// revertPullRequests: `Revert "<title>"` reverts the latest merged pull
// request of the same repository with that title merged before it.
func (x *deriver) revertPullRequests() {
	byTitle := map[string][]*pullRequest{}
	for _, p := range x.prs {
		byTitle[p.pr.Title] = append(byTitle[p.pr.Title], p)
	}
	for _, p := range x.prs {
		title, ok := revertedTitle(p.pr.Title)
		if !ok || p.dep == nil {
			continue
		}
		var orig *pullRequest
		for _, q := range byTitle[title] {
			if q != p && !q.pr.MergedAt.After(p.pr.MergedAt) {
				orig = q
			}
		}
		if orig == nil || orig.dep == nil || orig.dep.order >= p.dep.order {
			continue
		}
		orig.dep.revert = true
		orig.dep.repaired(p.dep.out.FinishedAt)
		p.dep.reworkRevert = true
	}
}

// revertedTitle returns the title a `Revert "<title>"` pull request reverts.
func revertedTitle(t string) (string, bool) {
	t = strings.TrimSpace(t)
	if !strings.HasPrefix(t, `Revert "`) || !strings.HasSuffix(t, `"`) || len(t) <= len(`Revert ""`) {
		return "", false
	}
	return t[len(`Revert "`) : len(t)-1], true
}

// settle turns the collected causes into the deployment's outcome: the
// first cause in the order incident, rollback, revert, hotfix; the rework
// kind in the order rollback, revert, hotfix; and for a failed deployment
// the earlier of a linked incident's resolution and its repair.
func (d *deployment) settle() {
	o := &d.out
	switch {
	case d.incident:
		o.FailureCause = facts.CauseIncident
	case d.rollback:
		o.FailureCause = facts.CauseRollback
	case d.revert:
		o.FailureCause = facts.CauseRevert
	case d.hotfix:
		o.FailureCause = facts.CauseHotfix
	}
	o.Failed = o.FailureCause != ""
	switch {
	case d.reworkRollback:
		o.Rework = facts.CauseRollback
	case d.reworkRevert:
		o.Rework = facts.CauseRevert
	case d.reworkHotfix:
		o.Rework = facts.CauseHotfix
	}
	if !o.Failed {
		return
	}
	rec := d.resolvedAt
	if rec.IsZero() || (!d.repairedAt.IsZero() && d.repairedAt.Before(rec)) {
		rec = d.repairedAt
	}
	if !rec.IsZero() && rec.Before(o.FinishedAt) {
		rec = o.FinishedAt
	}
	o.RecoveredAt = rec
}
