package derive

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/doraflow/doraflow/facts"
)

func run(id string, attempt int64, name, path, branch, sha, conclusion, finished string) facts.PipelineRun {
	return facts.PipelineRun{
		Repo: testRepo, ID: id, Attempt: attempt, Name: name, Path: path, HeadBranch: branch, HeadSHA: sha,
		Event: "push", Status: "completed", Conclusion: conclusion,
		StartedAt: tm(finished).Add(-5 * time.Minute), FinishedAt: tm(finished), UpdatedAt: tm(finished),
	}
}

func TestPipelineRunDeployRule(t *testing.T) {
	h := newHist()
	c1 := h.direct("main", "c1", "03-02 09:00", "03-02 09:01", "One")
	c2 := h.direct("main", "c2", "03-02 11:00", "03-02 11:01", "Two")
	wf := ".github/workflows/deploy.yml"
	h.PipelineRuns = append(h.PipelineRuns,
		// Run 100 fails, is re-run and succeeds at 10:00, is re-run again
		// and succeeds at 10:40: one deployment, run/100, at 10:00.
		run("100", 1, "Deploy", wf, "main", c1, "failure", "03-02 09:30"),
		run("100", 2, "Deploy", wf, "main", c1, "success", "03-02 10:00"),
		run("100", 3, "Deploy", wf, "main", c1, "success", "03-02 10:40"),
		// Not deployments: another workflow, another branch, cancelled.
		run("200", 1, "CI", ".github/workflows/ci.yml", "main", c1, "success", "03-02 09:20"),
		run("300", 1, "Deploy", wf, "feature", c1, "success", "03-02 09:25"),
		run("400", 1, "Deploy", wf, "main", c2, "cancelled", "03-02 11:10"),
		// Run 500 deploys c2 at 11:30.
		run("500", 1, "Deploy", wf, "main", c2, "success", "03-02 11:30"),
		// The staging rule matches run 600 by workflow name.
		run("600", 1, "Deploy staging", ".github/workflows/staging.yml", "main", c2, "success", "03-02 11:45"),
	)
	rules := Rules{DeployRules: []DeployRule{
		{Repo: testRepo, Workflow: "deploy.yml", Branch: "main"},
		{Repo: testRepo, Workflow: "Deploy staging", Environment: "staging"},
	}}

	got := Derive(testRepo, h.Batch, rules)

	pipe := func(id, env, sha, finished string, changes int, prod bool) facts.DeploymentOutcome {
		return facts.DeploymentOutcome{Repo: testRepo, DeploymentID: id, Origin: OriginPipeline, Environment: env,
			SHA: sha, Production: prod, FinishedAt: tm(finished), Changes: changes}
	}
	checkDerived(t, got,
		[]facts.DeploymentOutcome{
			pipe("run/100", "production", c1, "03-02 10:00", 1, true),
			pipe("run/500", "production", c2, "03-02 11:30", 1, true),
			pipe("run/600", "staging", c2, "03-02 11:45", 0, false),
		},
		sortedChanges(
			directChange("c1", "One", "03-02 09:00", "run/100", "production", "03-02 10:00"),
			directChange("c2", "Two", "03-02 11:00", "run/500", "production", "03-02 11:30"),
		), nil)

	// Without deploy rules runs are not deployments.
	if got := Derive(testRepo, h.Batch, Rules{}); len(got.Deployments) != 0 {
		t.Errorf("runs without rules: %d deployments", len(got.Deployments))
	}
	// A rule for another repository does not apply.
	other := Rules{DeployRules: []DeployRule{{Repo: "acme/other", Workflow: "Deploy"}}}
	if got := Derive(testRepo, h.Batch, other); len(got.Deployments) != 0 {
		t.Errorf("rule of another repository: %d deployments", len(got.Deployments))
	}
}

func TestReleaseDeploys(t *testing.T) {
	h := newHist()
	h.direct("main", "c1", "03-02 09:00", "03-02 09:01", "One")
	c2 := h.direct("main", "c2", "03-02 10:00", "03-02 10:01", "Two")
	c3 := h.direct("main", "c3", "03-02 12:00", "03-02 12:01", "Three")
	// The tag v1.2 is pushed at c3.
	h.Pushes = append(h.Pushes, facts.Push{Repo: testRepo, Ref: "refs/tags/v1.2", Before: zeroSHA, After: c3,
		PushedAt: tm("03-02 13:59")})
	h.Releases = append(h.Releases,
		// Target branch main, published 11:00: main's head then was c2,
		// so it ships c1 and c2.
		facts.Release{Repo: testRepo, ID: "1", Tag: "v1.0", Target: "main", Name: "1.0",
			CreatedAt: tm("03-02 10:55"), PublishedAt: tm("03-02 11:00")},
		// Target the SHA c3 (upper case), published 13:00: ships c3.
		facts.Release{Repo: testRepo, ID: "2", Tag: "v1.1", Target: strings.ToUpper(c3), Name: "1.1",
			CreatedAt: tm("03-02 12:55"), PublishedAt: tm("03-02 13:00")},
		// A draft is not published.
		facts.Release{Repo: testRepo, ID: "3", Tag: "v2.0-draft", Target: "main", Draft: true,
			CreatedAt: tm("03-02 13:30")},
		// v1.2's tag points at c3: the same version again, no changes.
		facts.Release{Repo: testRepo, ID: "4", Tag: "v1.2", Target: "main", Name: "1.2",
			CreatedAt: tm("03-02 13:59"), PublishedAt: tm("03-02 14:00")},
		// A target branch no push knows cannot be resolved: a deployment
		// of "gh-pages" that contains no commit.
		facts.Release{Repo: testRepo, ID: "5", Tag: "site", Target: "gh-pages",
			CreatedAt: tm("03-02 14:30"), PublishedAt: tm("03-02 14:30")},
	)

	got := Derive(testRepo, h.Batch, Rules{ReleaseDeploys: []string{"ACME/*"}})

	rel := func(id, sha, finished string, changes int) facts.DeploymentOutcome {
		return facts.DeploymentOutcome{Repo: testRepo, DeploymentID: id, Origin: OriginRelease,
			Environment: "production", SHA: sha, Production: true, FinishedAt: tm(finished), Changes: changes}
	}
	checkDerived(t, got,
		[]facts.DeploymentOutcome{
			rel("release/1", c2, "03-02 11:00", 2),
			rel("release/2", c3, "03-02 13:00", 1),
			rel("release/4", c3, "03-02 14:00", 0),
			rel("release/5", "gh-pages", "03-02 14:30", 0),
		},
		sortedChanges(
			directChange("c1", "One", "03-02 09:00", "release/1", "production", "03-02 11:00"),
			directChange("c2", "Two", "03-02 10:00", "release/1", "production", "03-02 11:00"),
			directChange("c3", "Three", "03-02 12:00", "release/2", "production", "03-02 13:00"),
		), nil)

	if got := Derive(testRepo, h.Batch, Rules{}); len(got.Deployments) != 0 {
		t.Errorf("releases without ReleaseDeploys: %d deployments", len(got.Deployments))
	}
}

func TestWithDefaults(t *testing.T) {
	r := Rules{DeployRules: []DeployRule{{Workflow: "deploy"}, {Workflow: "stage", Environment: "staging"}}}.WithDefaults()
	want := Rules{
		ProductionEnvironments: []string{"prod", "production"},
		DeployRules:            []DeployRule{{Workflow: "deploy", Environment: "production"}, {Workflow: "stage", Environment: "staging"}},
		Lookback:               14 * 24 * time.Hour,
		IncidentWindow:         24 * time.Hour,
		HotfixLabels:           []string{"hotfix"},
		HotfixBranches:         []string{"hotfix/*", "hotfix-*"},
		Toil: ToilRules{
			Labels:      []string{"infra", "toil", "ci", "dependencies"},
			CommitTypes: []string{"ci", "build", "chore(deps)"},
			Bots:        []string{"dependabot", "renovate"},
			Paths: []string{"**/*.tf", "**/*.hcl", ".github/workflows/**", ".gitlab-ci.yml", "Jenkinsfile",
				"Dockerfile*", "helm/**", "charts/**", "k8s/**", "deploy/**", "ansible/**"},
			PathShare: 0.5,
			ActiveCap: 5 * 24 * time.Hour,
			MinActive: 30 * time.Minute,
		},
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("WithDefaults:\n got %+v\nwant %+v", r, want)
	}
	set := Rules{ProductionEnvironments: []string{"live"}, Lookback: time.Hour, IncidentWindow: time.Minute,
		HotfixLabels: []string{"p0"}, HotfixBranches: []string{"fix/*"},
		Toil: ToilRules{Labels: []string{"ops"}, CommitTypes: []string{"ci"}, Bots: []string{"bot"}, Paths: []string{"infra/**"},
			PathShare: 0.8, ActiveCap: time.Hour, MinActive: time.Minute}}
	if got := set.WithDefaults(); !reflect.DeepEqual(got, set) {
		t.Errorf("WithDefaults changed set fields: %+v", got)
	}
	for env, want := range map[string]bool{"prod": true, "Production": true, "PROD": true, "staging": false, "prod-eu": false} {
		if got := r.IsProduction(env); got != want {
			t.Errorf("IsProduction(%q) = %v", env, got)
		}
	}
	for br, want := range map[string]bool{"hotfix/login": true, "refs/heads/hotfix-1.2": true, "hotfix": false, "feature/hotfix": false} {
		if got := r.IsHotfixBranch(br); got != want {
			t.Errorf("IsHotfixBranch(%q) = %v", br, got)
		}
	}
}
