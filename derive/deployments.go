package derive

import (
	"slices"
	"strings"
	"time"

	"github.com/doraflow/doraflow/facts"
)

// Deployment origins.
const (
	OriginDeployment = "deployment"
	OriginPipeline   = "pipeline"
	OriginRelease    = "release"
)

// deployment is a successful deployment while it is being derived.
type deployment struct {
	out facts.DeploymentOutcome

	ref      string   // full ref it deployed ("refs/heads/main"), "" if unknown
	explicit []string // commit list given by the source
	listed   bool     // the source gave a commit list
	resolved bool     // out.SHA names a commit
	order    int      // position among its repository's production deployments, -1 if not production
	rank     int      // position among its service's production deployments
	part     *deriver // the part of the history it belongs to

	contents []string // commits it contained first, newest first

	incident, rollback, revert, hotfix         bool // failure causes
	reworkRollback, reworkRevert, reworkHotfix bool
	repairedAt                                 time.Time // earliest repairing deployment
	resolvedAt                                 time.Time // earliest resolution of a linked incident
}

func (d *deployment) repaired(at time.Time) {
	if d.repairedAt.IsZero() || at.Before(d.repairedAt) {
		d.repairedAt = at
	}
}

// buildDeployments collects the successful deployments of every origin,
// ordered by finish time and id.
func (x *deriver) buildDeployments() {
	x.githubDeployments()
	x.pipelineDeployments()
	x.releaseDeployments()
	slices.SortFunc(x.deps, func(a, b *deployment) int { return compareDeployments(a.out, b.out) })
	for _, d := range x.deps {
		d.order = -1
		if d.out.Production {
			d.order = len(x.prod)
			x.prod = append(x.prod, d)
		}
	}
}

// githubDeployments: a host deployment is successful when any of its
// statuses is success, and finished at its earliest success. Later statuses
// (inactive when a newer deployment replaces it) do not undo that.
func (x *deriver) githubDeployments() {
	success := map[string]*facts.DeploymentStatus{}
	for i := range x.b.DeploymentStatuses {
		s := &x.b.DeploymentStatuses[i]
		if !strings.EqualFold(strings.TrimSpace(s.State), "success") {
			continue
		}
		// Statuses are ordered by time: keep the first success with a
		// known time, or a timeless one if that is all there is.
		if cur, ok := success[s.DeploymentID]; !ok || (cur.CreatedAt.IsZero() && !s.CreatedAt.IsZero()) {
			success[s.DeploymentID] = s
		}
	}
	for i := range x.b.Deployments {
		dep := &x.b.Deployments[i]
		st := success[dep.ID]
		if st == nil || dep.ID == "" {
			continue
		}
		finished := st.CreatedAt
		if finished.IsZero() {
			finished = dep.CreatedAt
		}
		if finished.IsZero() {
			continue
		}
		env := strings.TrimSpace(dep.Environment)
		if env == "" {
			env = strings.TrimSpace(st.Environment)
		}
		x.deps = append(x.deps, &deployment{
			out: facts.DeploymentOutcome{
				Repo:         x.repo,
				DeploymentID: dep.ID,
				Origin:       OriginDeployment,
				Environment:  env,
				SHA:          dep.SHA,
				Production:   dep.ProductionEnvironment || x.rules.IsProduction(env),
				FinishedAt:   finished,
			},
			ref:      fullRef(dep.Ref),
			explicit: dep.CommitSHAs,
			listed:   len(dep.CommitSHAs) > 0,
			resolved: dep.SHA != "" && !isZeroSHA(dep.SHA),
		})
	}
}

// pipelineDeployments: a CI run matching a deploy rule with conclusion
// success is a deployment; of several attempts of one run the first
// successful attempt counts.
func (x *deriver) pipelineDeployments() {
	if len(x.rules.DeployRules) == 0 {
		return
	}
	type pick struct {
		run  *facts.PipelineRun
		rule *DeployRule
	}
	picks := map[string]pick{}
	var ids []string
	for i := range x.b.PipelineRuns {
		r := &x.b.PipelineRuns[i]
		if r.ID == "" || !strings.EqualFold(strings.TrimSpace(r.Conclusion), "success") {
			continue
		}
		repo := r.Repo
		if repo == "" {
			repo = x.repo
		}
		rule := x.rules.matchRun(repo, r)
		if rule == nil {
			continue
		}
		// Runs are ordered by id and attempt: the first success wins.
		if _, ok := picks[r.ID]; ok {
			continue
		}
		picks[r.ID] = pick{r, rule}
		ids = append(ids, r.ID)
	}
	for _, id := range ids {
		p := picks[id]
		finished := p.run.FinishedAt
		if finished.IsZero() {
			finished = p.run.UpdatedAt
		}
		if finished.IsZero() {
			continue
		}
		ref := ""
		if b := strings.TrimSpace(p.run.HeadBranch); b != "" {
			ref = fullRef(b)
		}
		x.deps = append(x.deps, &deployment{
			out: facts.DeploymentOutcome{
				Repo:         x.repo,
				DeploymentID: "run/" + id,
				Origin:       OriginPipeline,
				Environment:  p.rule.Environment,
				SHA:          p.run.HeadSHA,
				Production:   x.rules.IsProduction(p.rule.Environment),
				FinishedAt:   finished,
			},
			ref:      ref,
			resolved: p.run.HeadSHA != "" && !isZeroSHA(p.run.HeadSHA),
		})
	}
}

// releaseDeployments: a published (not draft) release of a repository named
// in ReleaseDeploys is a production deployment. Its commit is the target
// when that is a SHA; otherwise the commit its tag was pushed at, or the head
// of the target branch when it was published; failing both, the target as
// given, which then contains no commits.
func (x *deriver) releaseDeployments() {
	for i := range x.b.Releases {
		r := &x.b.Releases[i]
		repo := r.Repo
		if repo == "" {
			repo = x.repo
		}
		if r.Draft || r.PublishedAt.IsZero() || r.ID == "" || !x.rules.releaseDeploys(repo) {
			continue
		}
		sha, ref, ok := x.resolveRelease(r)
		x.deps = append(x.deps, &deployment{
			out: facts.DeploymentOutcome{
				Repo:         x.repo,
				DeploymentID: "release/" + r.ID,
				Origin:       OriginRelease,
				Environment:  DefaultEnvironment,
				SHA:          sha,
				Production:   true,
				FinishedAt:   r.PublishedAt,
			},
			ref:      ref,
			resolved: ok,
		})
	}
}

func (x *deriver) resolveRelease(r *facts.Release) (sha, ref string, ok bool) {
	target := r.Target
	if isFullSHA(target) {
		return target, "", true
	}
	branch := ""
	if target != "" {
		branch = fullRef(target)
	}
	if r.Tag != "" {
		for _, i := range x.byRef["refs/tags/"+r.Tag] {
			p := &x.pushes[i]
			if p.Deleted || isZeroSHA(p.After) {
				continue
			}
			if _, known := x.commits[p.After]; known || len(x.at[p.After]) > 0 {
				return p.After, branch, true
			}
		}
	}
	if branch != "" {
		if i, found := x.headAt(branch, r.PublishedAt); found {
			return x.pushes[i].After, branch, true
		}
	}
	return target, branch, false
}

// headAt returns the last push to ref at or before t.
func (x *deriver) headAt(ref string, t time.Time) (int, bool) {
	list := x.byRef[ref]
	n, _ := slices.BinarySearchFunc(list, t, func(i int, t time.Time) int {
		if x.pushes[i].PushedAt.After(t) {
			return 1
		}
		return -1
	})
	for j := n - 1; j >= 0; j-- {
		p := &x.pushes[list[j]]
		if !p.Deleted && !isZeroSHA(p.After) {
			return list[j], true
		}
		if p.Deleted {
			return 0, false
		}
	}
	return 0, false
}

// fullRef turns a branch name into "refs/heads/<name>"; full refs stay as
// they are and a commit id is no ref.
func fullRef(r string) string {
	r = strings.TrimSpace(r)
	switch {
	case r == "":
		return ""
	case strings.HasPrefix(r, "refs/"):
		return r
	case isFullSHA(strings.ToLower(r)):
		return ""
	}
	return "refs/heads/" + r
}

// compareDeployments orders deployments by finish time, then id.
func compareDeployments(a, b facts.DeploymentOutcome) int {
	return cmpOr(a.FinishedAt.Compare(b.FinishedAt), strings.Compare(a.DeploymentID, b.DeploymentID),
		strings.Compare(a.Origin, b.Origin))
}
