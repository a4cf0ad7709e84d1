package derive

import (
	"os"
	"testing"
	"time"

	"github.com/doraflow/doraflow/ingest/github"
)

func TestToilRulesInOrder(t *testing.T) {
	r := ToilRules{}.WithDefaults()
	cases := []struct {
		name          string
		labels        []string
		title, author string
		paths         []string
		toil          bool
		reason        string
	}{
		{"label wins over everything", []string{"bug", "Infra"}, "feat: checkout button", "dependabot[bot]",
			[]string{"main.tf"}, true, "label:Infra"},
		{"commit type", nil, "ci: cache go modules", "ana", []string{"src/app.go"}, true, "commit-type:ci"},
		{"commit type with scope and bang", nil, "build(docker)!: new base image", "ana", nil, true, "commit-type:build(docker)"},
		{"chore(deps) needs its scope", nil, "chore(deps): bump x from 1 to 2", "ana", nil, true, "commit-type:chore(deps)"},
		{"plain chore is product work", nil, "chore: rename variable", "ana", []string{"src/a.go"}, false, ""},
		{"bot author beats paths", nil, "Bump lodash", "renovate[bot]", []string{"src/a.go"}, true, "bot:renovate[bot]"},
		{"most paths under infra globs", nil, "Add VPC", "ana",
			[]string{"modules/vpc/main.tf", ".github/workflows/ci.yml", "README.md"}, true,
			"paths:2/3 **/*.tf,.github/workflows/**"},
		{"half is not most", nil, "Tune chart", "ana", []string{"helm/values.yaml", "src/app.go"}, false, ""},
		{"globs match at any depth", nil, "Containerise", "ana", []string{"services/api/Dockerfile.prod"}, true,
			"paths:1/1 Dockerfile*"},
		{"no paths, no rule", nil, "Add search", "ana", nil, false, ""},
	}
	for _, tc := range cases {
		toil, reason := r.Classify(tc.labels, tc.title, tc.author, tc.paths)
		if toil != tc.toil || reason != tc.reason {
			t.Errorf("%s: got (%v, %q), want (%v, %q)", tc.name, toil, reason, tc.toil, tc.reason)
		}
	}
}

func TestMatchPath(t *testing.T) {
	for _, tc := range []struct {
		glob, path string
		want       bool
	}{
		{"**/*.tf", "main.tf", true},
		{"**/*.tf", "envs/prod/main.tf", true},
		{"**/*.tf", "main.tfvars", false},
		{".github/workflows/**", ".github/workflows/ci.yml", true},
		{".github/workflows/**", ".github/CODEOWNERS", false},
		{"helm/**", "helm", false},
		{"helm/**", "deploy/helm/templates/svc.yaml", true},
		{"Jenkinsfile", "ci/Jenkinsfile", true},
		{"k8s/**", "src/k8sclient/x.go", false},
	} {
		if got := MatchPath(tc.glob, tc.path); got != tc.want {
			t.Errorf("MatchPath(%q, %q) = %v, want %v", tc.glob, tc.path, got, tc.want)
		}
	}
}

func TestActiveTimeBounds(t *testing.T) {
	r := ToilRules{}.WithDefaults()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		merged time.Time
		want   time.Duration
	}{
		{t0.Add(3 * time.Hour), 3 * time.Hour},
		{t0.Add(10 * time.Minute), 30 * time.Minute}, // floor
		{t0, 30 * time.Minute},                       // a direct commit
		{t0.Add(30 * 24 * time.Hour), 5 * 24 * time.Hour},
	} {
		if got := r.Active(t0, tc.merged); got != tc.want {
			t.Errorf("Active(+%v) = %v, want %v", tc.merged.Sub(t0), got, tc.want)
		}
	}
}

// A real GitHub pull_request payload, labelled "bug", is product work by
// default and toil when an organisation counts "bug" as a toil label.
func TestToilOnRealPayload(t *testing.T) {
	payload, err := os.ReadFile("../ingest/github/testdata/pull_request/labeled.payload.json")
	if err != nil {
		t.Fatal(err)
	}
	b, err := github.Parse("pull_request", payload, github.Options{})
	if err != nil || len(b.PullRequests) != 1 {
		t.Fatalf("parse: %v, %d pull requests", err, len(b.PullRequests))
	}
	pr := b.PullRequests[0]
	if toil, _ := (ToilRules{}).WithDefaults().Classify(pr.Labels, pr.Title, pr.Author, nil); toil {
		t.Errorf("%q with labels %v classified as toil by default", pr.Title, pr.Labels)
	}
	toil, reason := ToilRules{Labels: []string{"bug"}}.WithDefaults().Classify(pr.Labels, pr.Title, pr.Author, nil)
	if !toil || reason != "label:bug" {
		t.Errorf("with label rule bug: (%v, %q)", toil, reason)
	}
}

// Derive carries the verdict and the effort on every change.
func TestDeriveClassifiesChanges(t *testing.T) {
	h := newHist()
	c1 := h.direct("main", "c1", "03-02 09:00", "03-02 09:01", "ci: pin runner image", ".github/workflows/ci.yml")
	h.commit("a1", "03-02 10:00", "Add wishlist", "src/wishlist.go")
	h.push("feature/a", "03-02 10:01", sha("a1"))
	m1 := h.direct("main", "m1", "03-02 13:00", "03-02 13:00", "Add wishlist (#1)", "src/wishlist.go")
	h.pr(1, "Add wishlist", "ana", "feature/a", "03-02 10:30", "03-02 13:00", m1)
	h.deploy("d1", "production", m1, "03-02 14:00")
	got := Derive(testRepo, h.Batch, Rules{})
	direct, ok1 := findChange(got, c1)
	pr, ok2 := findChange(got, "pr/1")
	if !ok1 || !ok2 {
		t.Fatalf("changes %+v", got.Changes)
	}
	// The direct commit: a ci: commit, credited the 30-minute floor.
	if !direct.Toil || direct.ToilReason != "commit-type:ci" || direct.ActiveSeconds != 1800 {
		t.Errorf("direct commit: %v %q %d", direct.Toil, direct.ToilReason, direct.ActiveSeconds)
	}
	// The pull request: product work, first commit 10:00 → merge 13:00 = 3 h.
	if pr.Toil || pr.ActiveSeconds != 3*3600 {
		t.Errorf("pull request: %v %q %d", pr.Toil, pr.ToilReason, pr.ActiveSeconds)
	}
}
