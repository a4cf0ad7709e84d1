package derive

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/doraflow/doraflow/facts"
)

var smallScale = scale{days: 120, directPushes: 200, prs: 60, deploys: 90, incidents: 12}

// handmade is a small history with every kind of fact: a merge-commit pull
// request, direct commits, a rollback, a revert, a hotfix, a staging
// deployment, a CI-run deployment and incidents.
func handmade() facts.Batch {
	h := newHist()
	b0 := base(h)
	f1 := h.commit("f1", "03-02 09:00", "Cart model", "cart/model.go")
	h.push("feature/cart", "03-02 09:30", f1)
	m7 := h.commit("m7", "03-02 16:00", "Merge pull request #7", "cart/model.go")
	h.push("main", "03-02 16:00", f1, m7)
	h.pr(7, "Cart", "alice", "feature/cart", "03-02 10:00", "03-02 16:00", m7)
	h.review(7, 3, "bob", "approved", "03-02 15:00")
	h.review(7, 4, "carol", "approved", "03-02 15:00")
	h.deploy("101", "production", m7, "03-02 18:00")
	h.deploy("102", "staging", m7, "03-02 18:00")
	x := h.direct("main", "x", "03-03 09:00", "03-03 09:01", "X")
	h.deploy("103", "production", x, "03-03 10:00")
	h.deploy("104", "production", m7, "03-03 11:00")
	r := h.direct("main", "r", "03-03 12:00", "03-03 12:01", "Revert X\n\nThis reverts commit "+x+".")
	h.PipelineRuns = append(h.PipelineRuns,
		run("9", 1, "Deploy", "deploy.yml", "main", r, "failure", "03-03 12:50"),
		run("9", 2, "Deploy", "deploy.yml", "main", r, "success", "03-03 13:00"))
	q := h.commit("q", "03-03 14:00", "Fix (#8)", "fix.go")
	h.push("main", "03-03 14:00", q)
	h.pr(8, "Fix", "dana", "hotfix/fix", "03-03 13:30", "03-03 14:00", q)
	h.deploy("105", "production", q, "03-03 15:00")
	h.incident("i1", "03-03 10:30", "03-03 11:30", "", "")
	h.incident("i2", "03-03 10:30", "", "", b0)
	h.incident("i3", "03-09 10:30", "", "", "")
	return h.Batch
}

func TestOrderIndependence(t *testing.T) {
	histories := map[string]facts.Batch{
		"handmade":  handmade(),
		"generated": generate(3, smallScale),
	}
	rules := genRules()
	for name, b := range histories {
		want := Derive(testRepo, b, rules)
		if len(want.Deployments) == 0 || len(want.Changes) == 0 || len(want.Incidents) == 0 {
			t.Fatalf("%s: empty result %+v", name, want)
		}
		for seed := uint64(1); seed <= 6; seed++ {
			got := Derive(testRepo, shuffled(b, seed), rules)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: shuffle %d changes the result", name, seed)
				checkDerived(t, got, want.Deployments, want.Changes, want.Incidents)
			}
		}
	}
}

// TestGeneratedHistoryExercisesEveryRule guards the generator: the order
// and duplicate tests are only worth something if the generated history
// reaches every rule.
func TestGeneratedHistoryExercisesEveryRule(t *testing.T) {
	got := Derive(testRepo, generate(3, smallScale), genRules())
	causes, reworks, origins, links := map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	for _, d := range got.Deployments {
		causes[d.FailureCause]++
		reworks[d.Rework]++
		origins[d.Origin]++
	}
	for _, l := range got.Incidents {
		links[l.Link]++
	}
	kinds := map[string]int{}
	flagged, deployed := 0, 0
	for _, c := range got.Changes {
		kinds[c.Kind]++
		if c.StartIsCreated {
			flagged++
		}
		if c.DeploymentID != "" {
			deployed++
		}
	}
	for _, k := range []string{facts.CauseIncident, facts.CauseRollback, facts.CauseRevert, facts.CauseHotfix} {
		if causes[k] == 0 {
			t.Errorf("no deployment failed by %s: %v", k, causes)
		}
	}
	for _, k := range []string{facts.CauseRollback, facts.CauseRevert, facts.CauseHotfix} {
		if reworks[k] == 0 {
			t.Errorf("no %s rework: %v", k, reworks)
		}
	}
	for _, k := range []string{OriginDeployment, OriginPipeline, OriginRelease} {
		if origins[k] == 0 {
			t.Errorf("no deployment of origin %s: %v", k, origins)
		}
	}
	for _, k := range []string{facts.LinkExplicit, facts.LinkWindow, facts.LinkNone} {
		if links[k] == 0 {
			t.Errorf("no incident link %s: %v", k, links)
		}
	}
	if kinds[facts.KindPullRequest] != smallScale.prs || kinds[facts.KindCommit] == 0 {
		t.Errorf("change kinds %v", kinds)
	}
	if deployed < len(got.Changes)*9/10 {
		t.Errorf("only %d of %d changes deployed", deployed, len(got.Changes))
	}
	for _, c := range got.Changes {
		if c.DeploymentID != "" && c.DeployedAt.Before(c.StartedAt) {
			t.Errorf("change %s deployed %v before it started %v", c.ID, c.DeployedAt, c.StartedAt)
		}
		if c.Kind == facts.KindPullRequest && c.StartedAt.After(c.MergedAt) {
			t.Errorf("%s started %v after its merge %v", c.ID, c.StartedAt, c.MergedAt)
		}
	}
	if flagged != 0 {
		t.Errorf("%d pull requests without a commit seen; every generated one has head pushes", flagged)
	}
}

func TestDuplicatedFacts(t *testing.T) {
	for name, b := range map[string]facts.Batch{"handmade": handmade(), "generated": generate(5, smallScale)} {
		want := Derive(testRepo, b, genRules())

		// Every fact twice, plus stale versions that must lose to the
		// newest: pull requests, deployments, runs and incidents with an
		// older UpdatedAt and different content.
		d := shuffled(b, 99)
		d.Append(b)
		for _, pr := range b.PullRequests {
			pr.Title = "stale " + pr.Title
			pr.Merged, pr.MergedAt, pr.MergeCommitSHA = false, time.Time{}, ""
			pr.UpdatedAt = pr.UpdatedAt.Add(-time.Hour)
			d.PullRequests = append(d.PullRequests, pr)
		}
		for _, dep := range b.Deployments {
			dep.Environment = "stale"
			dep.UpdatedAt = dep.UpdatedAt.Add(-time.Hour)
			d.Deployments = append(d.Deployments, dep)
		}
		for _, r := range b.PipelineRuns {
			r.Conclusion, r.FinishedAt = "", time.Time{}
			r.UpdatedAt = r.UpdatedAt.Add(-time.Hour)
			d.PipelineRuns = append(d.PipelineRuns, r)
		}
		for _, n := range b.Incidents {
			n.ResolvedAt, n.State = time.Time{}, "open"
			n.UpdatedAt = n.UpdatedAt.Add(-time.Hour)
			d.Incidents = append(d.Incidents, n)
		}
		// A status delivered twice with an upper-case state, a commit
		// delivered again without its time.
		d.DeploymentStatuses = append(d.DeploymentStatuses, b.DeploymentStatuses...)
		if len(b.Commits) > 0 {
			c := b.Commits[len(b.Commits)-1]
			c.AuthoredAt = time.Time{}
			d.Commits = append(d.Commits, c)
		}

		got := Derive(testRepo, d, genRules())
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: duplicates change the result", name)
			checkDerived(t, got, want.Deployments, want.Changes, want.Incidents)
		}
	}
}

func TestDeriveDoesNotModifyInput(t *testing.T) {
	in := shuffled(handmade(), 7)
	in.Pushes[0].CommitSHAs = append(in.Pushes[0].CommitSHAs, "ABCDEF0123")
	in.Deployments[0].SHA = " " + in.Deployments[0].SHA
	keep := deepCopy(in)
	Derive(testRepo, in, genRules())
	if !reflect.DeepEqual(in, keep) {
		t.Fatalf("Derive modified its input")
	}
}

func deepCopy(b facts.Batch) facts.Batch {
	var out facts.Batch
	out.Commits = slices.Clone(b.Commits)
	for i := range out.Commits {
		out.Commits[i].Paths = slices.Clone(out.Commits[i].Paths)
	}
	out.Pushes = slices.Clone(b.Pushes)
	for i := range out.Pushes {
		out.Pushes[i].CommitSHAs = slices.Clone(out.Pushes[i].CommitSHAs)
	}
	out.PullRequests = slices.Clone(b.PullRequests)
	for i := range out.PullRequests {
		out.PullRequests[i].Labels = slices.Clone(out.PullRequests[i].Labels)
	}
	out.Reviews = slices.Clone(b.Reviews)
	out.Deployments = slices.Clone(b.Deployments)
	for i := range out.Deployments {
		out.Deployments[i].CommitSHAs = slices.Clone(out.Deployments[i].CommitSHAs)
	}
	out.DeploymentStatuses = slices.Clone(b.DeploymentStatuses)
	out.PipelineRuns = slices.Clone(b.PipelineRuns)
	out.Releases = slices.Clone(b.Releases)
	out.Incidents = slices.Clone(b.Incidents)
	for i := range out.Incidents {
		out.Incidents[i].Labels = slices.Clone(out.Incidents[i].Labels)
	}
	return out
}
