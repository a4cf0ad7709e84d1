package derive

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/doraflow/doraflow/facts"
)

// link blames each incident on a production deployment: an explicit
// reference first (a deployment id, or a commit SHA resolved to the first
// production deployment containing it or deploying it), otherwise the latest
// production deployment that finished within IncidentWindow before the
// incident was created, otherwise none.
func (x *deriver) link() []facts.IncidentLink {
	byID := map[string]*deployment{}
	x.firstWithSHA = map[string]*deployment{}
	for _, d := range x.prod {
		if _, ok := byID[d.out.DeploymentID]; !ok {
			byID[d.out.DeploymentID] = d
		}
		if _, ok := x.firstWithSHA[d.out.SHA]; !ok && d.out.SHA != "" {
			x.firstWithSHA[d.out.SHA] = d
		}
	}
	out := make([]facts.IncidentLink, 0, len(x.b.Incidents))
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
			d = x.deploymentOf(n.CausedBySHA)
		}
		if d != nil {
			l.Link = facts.LinkExplicit
		} else if d = x.inWindow(n.CreatedAt); d != nil {
			l.Link = facts.LinkWindow
		}
		if d != nil {
			l.DeploymentID = d.out.DeploymentID
			d.incident = true
			if r := n.ResolvedAt; !r.IsZero() && (d.resolvedAt.IsZero() || r.Before(d.resolvedAt)) {
				d.resolvedAt = r
			}
		}
		out = append(out, l)
	}
	return out
}

// deploymentOf is the first production deployment that contains sha or
// deployed it. An abbreviated SHA (7 hex digits or more) matches by prefix.
func (x *deriver) deploymentOf(sha string) *deployment {
	var best *deployment
	pick := func(d *deployment) {
		if d != nil && (best == nil || d.order < best.order) {
			best = d
		}
	}
	pick(x.containedBy[sha])
	pick(x.firstWithSHA[sha])
	if best != nil || len(sha) < 7 || len(sha) >= 40 || normSHA(sha) != strings.ToLower(sha) {
		return best
	}
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
	return best
}

// inWindow is the latest production deployment finished at or before t and
// no longer than IncidentWindow before it.
func (x *deriver) inWindow(t time.Time) *deployment {
	if t.IsZero() {
		return nil
	}
	n, _ := slices.BinarySearchFunc(x.prod, t, func(d *deployment, t time.Time) int {
		if d.out.FinishedAt.After(t) {
			return 1
		}
		return -1
	})
	if n == 0 {
		return nil
	}
	d := x.prod[n-1]
	if t.Sub(d.out.FinishedAt) > x.rules.IncidentWindow {
		return nil
	}
	return d
}

var revertRE = regexp.MustCompile(`(?i)This reverts commit ([0-9a-f]{40})`)

// failures finds the production deployments that failed by rollback,
// revert or hotfix and the deployments that repaired them.
func (x *deriver) failures() {
	// Rollback: an environment returns to a version it ran before the
	// one it is replacing; the replaced deployment failed.
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

	// Revert by commit message: the deployment that first shipped the
	// reverted commit failed.
	for _, r := range x.prod {
		for _, sha := range r.contents {
			c := x.commits[sha]
			if c == nil || !strings.Contains(strings.ToLower(c.Message), "this reverts commit") {
				continue
			}
			for _, m := range revertRE.FindAllStringSubmatch(c.Message, -1) {
				if d := x.containedBy[strings.ToLower(m[1])]; d != nil && d.order < r.order {
					d.revert = true
					d.repaired(r.out.FinishedAt)
					r.reworkRevert = true
				}
			}
		}
	}

	// Revert pull requests: `Revert "<title>"` reverts the latest merged
	// pull request with that title merged before it.
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

	// Hotfix: a production deployment shipping a hotfix change (by label,
	// by head branch, or deployed from a hotfix branch) repairs the
	// production deployment before it.
	hot := map[*deployment]bool{}
	for _, p := range x.prs {
		if p.hotfix && p.dep != nil {
			hot[p.dep] = true
		}
	}
	for _, r := range x.prod {
		if r.out.Changes == 0 {
			continue
		}
		if !hot[r] && !(strings.HasPrefix(r.ref, "refs/heads/") && x.rules.IsHotfixBranch(r.ref)) {
			continue
		}
		r.reworkHotfix = true
		if r.order > 0 {
			prev := x.prod[r.order-1]
			prev.hotfix = true
			prev.repaired(r.out.FinishedAt)
		}
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

// settle turns the collected causes into each deployment's outcome: the
// first cause in the order incident, rollback, revert, hotfix; the rework
// kind in the order rollback, revert, hotfix; and for a failed deployment
// the earlier of a linked incident's resolution and its repair.
func (x *deriver) settle() {
	for _, d := range x.prod {
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
			continue
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
}
