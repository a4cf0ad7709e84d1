package github

import (
	"encoding/json"
	"errors"
	"path"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/ingest"
	"github.com/doraflow/doraflow/ingest/ingesttest"
)

// fixtures lists the payloads under testdata/<event>/.
func fixtures(t testing.TB) []string {
	t.Helper()
	return ingesttest.Fixtures(t, 100)
}

func mustParse(t *testing.T, event, name string, opts Options) facts.Batch {
	t.Helper()
	b, err := Parse(event, ingesttest.Fixture(t, name), opts)
	if err != nil {
		t.Fatalf("Parse(%s, %s): %v", event, name, err)
	}
	return b
}

// Events whose every fixture must yield at least one fact (apart from the
// actions listed in noFacts).
var factEvents = map[string]bool{
	"push": true, "pull_request": true, "pull_request_review": true,
	"deployment": true, "deployment_status": true, "workflow_run": true, "release": true,
}

var noFacts = map[string]bool{
	"release/deleted.payload.json":                true,
	"release/deleted.with-reactions.payload.json": true,
}

func TestParseEveryFixture(t *testing.T) {
	for _, name := range fixtures(t) {
		event := path.Dir(name)
		t.Run(name, func(t *testing.T) {
			payload := ingesttest.Fixture(t, name)
			for _, opts := range []Options{{}, {IncidentLabels: []string{"bug"}}} {
				b, err := Parse(event, payload, opts)
				if err != nil {
					t.Fatalf("Parse(%q, opts %v): %v", event, opts, err)
				}
				if factEvents[event] && !noFacts[name] && b.Len() == 0 {
					t.Fatalf("no facts from %s", name)
				}
				if !factEvents[event] && event != "issues" && b.Len() != 0 {
					t.Fatalf("%s gave %d facts, want none", name, b.Len())
				}
				ingesttest.WantUTC(t, b)
				for _, r := range b.Repos() {
					if r == "" || !strings.Contains(r, "/") {
						t.Fatalf("repo %q is not owner/name", r)
					}
				}
			}
		})
	}
}

func TestParsePushTagDeletion(t *testing.T) {
	b := mustParse(t, "push", "push/payload.json", Options{})
	if len(b.Pushes) != 1 || len(b.Commits) != 0 {
		t.Fatalf("pushes=%d commits=%d, want 1 and 0", len(b.Pushes), len(b.Commits))
	}
	want := facts.Push{
		Repo:     "Codertocat/Hello-World",
		Ref:      "refs/tags/simple-tag",
		Before:   "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
		After:    "0000000000000000000000000000000000000000",
		PushedAt: ingesttest.Time("2019-05-15T15:20:57Z"), // repository.pushed_at = 1557933657
		Deleted:  true,
		Pusher:   "Codertocat",
	}
	if !reflect.DeepEqual(b.Pushes[0], want) {
		t.Fatalf("push =\n%+v\nwant\n%+v", b.Pushes[0], want)
	}
}

func TestParsePushNewBranch(t *testing.T) {
	b := mustParse(t, "push", "push/with-new-branch.payload.json", Options{})
	if len(b.Pushes) != 1 || len(b.Commits) != 1 {
		t.Fatalf("pushes=%d commits=%d, want 1 and 1", len(b.Pushes), len(b.Commits))
	}
	p := b.Pushes[0]
	if p.Ref != "refs/heads/master" || p.Before != "0000000000000000000000000000000000000000" ||
		p.After != "6113728f27ae82c7b1a177c8d03f9e96e0adf246" || p.Deleted || p.Forced {
		t.Fatalf("push = %+v", p)
	}
	if !reflect.DeepEqual(p.CommitSHAs, []string{"6113728f27ae82c7b1a177c8d03f9e96e0adf246"}) {
		t.Fatalf("CommitSHAs = %v", p.CommitSHAs)
	}
	wantCommit := facts.Commit{
		Repo:        "Codertocat/Hello-World",
		SHA:         "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
		Message:     "Initial commit",
		AuthorName:  "Codertocat",
		AuthorEmail: "21031067+Codertocat@users.noreply.github.com",
		AuthorLogin: "Codertocat",
		AuthoredAt:  ingesttest.Time("2019-05-15T15:19:25Z"),
		Paths:       []string{"README.md"},
		URL:         "https://github.com/Codertocat/Hello-World/commit/6113728f27ae82c7b1a177c8d03f9e96e0adf246", // commits[0].url
	}
	if !reflect.DeepEqual(b.Commits[0], wantCommit) {
		t.Fatalf("commit =\n%+v\nwant\n%+v", b.Commits[0], wantCommit)
	}
}

func TestParsePushNoUsername(t *testing.T) {
	// Only the committer lacks a username there; the author is what is kept.
	b := mustParse(t, "push", "push/with-no-username-committer.payload.json", Options{})
	c := b.Commits[0]
	if c.AuthorLogin != "Codertocat" || c.AuthorName != "Codertocat" || c.AuthorEmail != "21031067+Codertocat@users.noreply.github.com" {
		t.Fatalf("commit author = %q %q %q", c.AuthorName, c.AuthorEmail, c.AuthorLogin)
	}
}

func TestParsePushPathsAndFallbacks(t *testing.T) {
	// A payload with several commits and no repository.pushed_at: paths are
	// added+modified+removed, commits keep their order, and PushedAt falls
	// back to the head commit.
	payload := `{
		"ref": "refs/heads/main", "before": "a", "after": "c", "forced": true,
		"repository": {"full_name": "o/r"},
		"sender": {"login": "octo"},
		"commits": [
			{"id": "b", "message": "one", "timestamp": "2024-03-01T10:00:00+02:00",
			 "author": {"name": "A", "email": "a@x", "username": "a"},
			 "added": ["n.go"], "modified": ["m.go"], "removed": ["r.go"]},
			{"id": "c", "message": "two", "timestamp": "2024-03-01T09:30:00Z",
			 "author": {"name": "B", "email": "b@x"}, "added": [], "modified": [], "removed": []}
		],
		"head_commit": {"id": "c", "timestamp": "2024-03-01T09:30:00Z"}
	}`
	b, err := Parse("push", []byte(payload), Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := b.Pushes[0]
	if !p.Forced || p.Pusher != "octo" || !p.PushedAt.Equal(ingesttest.Time("2024-03-01T09:30:00Z")) {
		t.Fatalf("push = %+v", p)
	}
	if !reflect.DeepEqual(p.CommitSHAs, []string{"b", "c"}) {
		t.Fatalf("CommitSHAs = %v", p.CommitSHAs)
	}
	if !reflect.DeepEqual(b.Commits[0].Paths, []string{"n.go", "m.go", "r.go"}) {
		t.Fatalf("paths = %v", b.Commits[0].Paths)
	}
	if got := b.Commits[0].AuthoredAt; got != ingesttest.Time("2024-03-01T08:00:00Z") || got.Location() != time.UTC {
		t.Fatalf("AuthoredAt = %v, want 08:00 UTC", got)
	}
}

func TestParsePullRequestClosed(t *testing.T) {
	b := mustParse(t, "pull_request", "pull_request/closed.payload.json", Options{})
	if len(b.PullRequests) != 1 {
		t.Fatalf("pull requests = %d", len(b.PullRequests))
	}
	want := facts.PullRequest{
		Repo:           "Codertocat/Hello-World",
		Number:         2,
		Title:          "Update the README with new information.",
		Author:         "Codertocat",
		Labels:         []string{"bug"},
		HeadRef:        "changes",
		HeadSHA:        "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
		BaseRef:        "master",
		State:          "closed",
		Merged:         false,
		MergeCommitSHA: "c4295bd74fb0f4fda03689c3df3f2803b658fd85",
		CreatedAt:      ingesttest.Time("2019-05-15T15:20:33Z"),
		ClosedAt:       ingesttest.Time("2019-05-15T15:21:18Z"),
		UpdatedAt:      ingesttest.Time("2019-05-15T15:21:18Z"),
		URL:            "https://github.com/Codertocat/Hello-World/pull/2", // pull_request.html_url
	}
	if !reflect.DeepEqual(b.PullRequests[0], want) {
		t.Fatalf("pull request =\n%+v\nwant\n%+v", b.PullRequests[0], want)
	}
}

func TestParsePullRequestMerged(t *testing.T) {
	// The fixture set has no merged pull request: mark the closed one as
	// merged the way GitHub does.
	var raw map[string]any
	if err := json.Unmarshal(ingesttest.Fixture(t, "pull_request/closed.payload.json"), &raw); err != nil {
		t.Fatal(err)
	}
	pr := raw["pull_request"].(map[string]any)
	pr["merged"] = true
	pr["merged_at"] = "2019-05-15T15:21:18Z"
	payload, _ := json.Marshal(raw)
	b, err := Parse("pull_request", payload, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := b.PullRequests[0]
	if !got.Merged || !got.MergedAt.Equal(ingesttest.Time("2019-05-15T15:21:18Z")) || got.MergeCommitSHA != "c4295bd74fb0f4fda03689c3df3f2803b658fd85" {
		t.Fatalf("pull request = %+v", got)
	}
}

func TestParsePullRequestOpened(t *testing.T) {
	b := mustParse(t, "pull_request", "pull_request/opened.payload.json", Options{})
	got := b.PullRequests[0]
	if got.State != "open" || got.Merged || got.MergeCommitSHA != "" || !got.ClosedAt.IsZero() || !got.MergedAt.IsZero() {
		t.Fatalf("pull request = %+v", got)
	}
}

func TestParseReview(t *testing.T) {
	b := mustParse(t, "pull_request_review", "pull_request_review/submitted.payload.json", Options{})
	want := []facts.Review{{
		Repo:        "Codertocat/Hello-World",
		PRNumber:    2,
		ReviewID:    237895671,
		State:       "commented",
		Author:      "Codertocat",
		SubmittedAt: ingesttest.Time("2019-05-15T15:20:38Z"),
	}}
	if !reflect.DeepEqual(b.Reviews, want) || len(b.PullRequests) != 0 {
		t.Fatalf("batch = %+v", b)
	}
	b = mustParse(t, "pull_request_review", "pull_request_review/dismissed.payload.json", Options{})
	if b.Reviews[0].State != "dismissed" {
		t.Fatalf("dismissed review state = %q", b.Reviews[0].State)
	}
}

func TestParseDeployment(t *testing.T) {
	b := mustParse(t, "deployment", "deployment/payload.json", Options{})
	want := facts.Deployment{
		Repo:        "Codertocat/Hello-World",
		ID:          "145988746",
		SHA:         "f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
		Ref:         "master",
		Environment: "production",
		Task:        "deploy",
		Creator:     "Codertocat",
		CreatedAt:   ingesttest.Time("2019-05-15T15:20:53Z"),
		UpdatedAt:   ingesttest.Time("2019-05-15T15:20:53Z"),
	}
	if len(b.Deployments) != 1 || len(b.DeploymentStatuses) != 0 || !reflect.DeepEqual(b.Deployments[0], want) {
		t.Fatalf("batch = %+v\nwant deployment %+v", b, want)
	}

	// gh-pages carries production_environment: false explicitly.
	b = mustParse(t, "deployment", "deployment/gh-pages.payload.json", Options{})
	if d := b.Deployments[0]; d.Environment != "github-pages" || d.ProductionEnvironment || d.Creator != "github-pages[bot]" {
		t.Fatalf("gh-pages deployment = %+v", d)
	}
	// The Actions run that deployed it (workflow_run.html_url) is its page.
	if u := b.Deployments[0].URL; u != "https://github.com/Codertocat/Hello-World/actions/runs/289782451" {
		t.Errorf("gh-pages deployment URL = %q", u)
	}
}

func TestParseDeploymentStatus(t *testing.T) {
	b := mustParse(t, "deployment_status", "deployment_status/payload.json", Options{})
	if len(b.Deployments) != 1 || len(b.DeploymentStatuses) != 1 {
		t.Fatalf("batch = %+v", b)
	}
	d := b.Deployments[0]
	if d.ID != "145988746" || d.SHA != "f95f852bd8fca8fcc58a9a2d6c842781e32a215e" || d.Environment != "production" ||
		!d.UpdatedAt.Equal(ingesttest.Time("2019-05-15T15:20:55Z")) {
		t.Fatalf("deployment = %+v", d)
	}
	want := facts.DeploymentStatus{
		Repo:         "Codertocat/Hello-World",
		DeploymentID: "145988746",
		StatusID:     "209916254",
		State:        "success",
		Environment:  "production",
		CreatedAt:    ingesttest.Time("2019-05-15T15:20:55Z"),
	}
	if !reflect.DeepEqual(b.DeploymentStatuses[0], want) {
		t.Fatalf("status =\n%+v\nwant\n%+v", b.DeploymentStatuses[0], want)
	}

	b = mustParse(t, "deployment_status", "deployment_status/gh-pages.payload.json", Options{})
	if s := b.DeploymentStatuses[0]; s.State != "in_progress" || s.Environment != "github-pages" || !s.CreatedAt.Equal(ingesttest.Time("2022-01-03T01:28:40Z")) {
		t.Fatalf("gh-pages status = %+v", s)
	}
	// deployment_status.log_url, which wins over target_url.
	if u := b.DeploymentStatuses[0].URL; u != "https://github.com/CorsixTH/CorsixTH/runs/4687056418?check_suite_focus=true" {
		t.Errorf("gh-pages status URL = %q", u)
	}
}

func TestParseDeploymentProductionAndCommits(t *testing.T) {
	var raw map[string]any
	if err := json.Unmarshal(ingesttest.Fixture(t, "deployment/payload.json"), &raw); err != nil {
		t.Fatal(err)
	}
	dep := raw["deployment"].(map[string]any)
	dep["production_environment"] = true
	shaA := "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"
	shaB := "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
	cases := map[string]any{
		"object":          map[string]any{"commits": []any{shaA, strings.ToUpper(shaB)}, "other": 1},
		"string":          `{"commits": ["` + shaA + `", "` + shaB + `"]}`,
		"objects in list": map[string]any{"commits": []any{map[string]any{"sha": shaA}, map[string]any{"id": shaB}, 42, "not a sha"}},
	}
	for name, p := range cases {
		t.Run(name, func(t *testing.T) {
			dep["payload"] = p
			payload, _ := json.Marshal(raw)
			b, err := Parse("deployment", payload, Options{})
			if err != nil {
				t.Fatal(err)
			}
			d := b.Deployments[0]
			if !d.ProductionEnvironment {
				t.Fatal("ProductionEnvironment not set")
			}
			if !reflect.DeepEqual(d.CommitSHAs, []string{shaA, shaB}) {
				t.Fatalf("CommitSHAs = %v", d.CommitSHAs)
			}
		})
	}
	for name, p := range map[string]any{"garbage string": "{not json", "array": []any{1}, "commits not list": map[string]any{"commits": "x"}} {
		t.Run(name, func(t *testing.T) {
			dep["payload"] = p
			payload, _ := json.Marshal(raw)
			b, err := Parse("deployment", payload, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if b.Deployments[0].CommitSHAs != nil {
				t.Fatalf("CommitSHAs = %v, want none", b.Deployments[0].CommitSHAs)
			}
		})
	}
}

func TestParseWorkflowRun(t *testing.T) {
	b := mustParse(t, "workflow_run", "workflow_run/completed.payload.json", Options{})
	want := facts.PipelineRun{
		Repo:       "octo-org/octo-repo",
		ID:         "289782451",
		Attempt:    1,
		Name:       "test", // the run's name is empty; the workflow's is used
		Path:       ".github/workflows/test.yml",
		HeadBranch: "master",
		HeadSHA:    "3484a3fb816e0859fd6e1cea078d76385ff50625",
		Event:      "repository_dispatch",
		Status:     "completed",
		Conclusion: "success",
		StartedAt:  ingesttest.Time("2020-10-05T16:33:49Z"),
		FinishedAt: ingesttest.Time("2020-10-05T16:33:49Z"),
		UpdatedAt:  ingesttest.Time("2020-10-05T16:33:49Z"),
		URL:        "https://github.com/octo-org/octo-repo/actions/runs/289782451", // workflow_run.html_url
	}
	if len(b.PipelineRuns) != 1 || !reflect.DeepEqual(b.PipelineRuns[0], want) {
		t.Fatalf("runs = %+v\nwant %+v", b.PipelineRuns, want)
	}

	b = mustParse(t, "workflow_run", "workflow_run/requested.payload.json", Options{})
	if r := b.PipelineRuns[0]; r.Status != "queued" || r.Conclusion != "" || !r.FinishedAt.IsZero() {
		t.Fatalf("requested run = %+v", r)
	}
}

func TestParseRelease(t *testing.T) {
	b := mustParse(t, "release", "release/published.payload.json", Options{})
	want := []facts.Release{{
		Repo:        "Codertocat/Hello-World",
		ID:          "17372790",
		Tag:         "0.0.1",
		Target:      "master",
		CreatedAt:   ingesttest.Time("2019-05-15T15:19:25Z"),
		PublishedAt: ingesttest.Time("2019-05-15T15:20:53Z"),
		URL:         "https://github.com/Codertocat/Hello-World/releases/tag/0.0.1", // release.html_url
	}}
	if !reflect.DeepEqual(b.Releases, want) {
		t.Fatalf("releases = %+v\nwant %+v", b.Releases, want)
	}
	b = mustParse(t, "release", "release/prereleased.payload.json", Options{})
	if !b.Releases[0].Prerelease {
		t.Fatal("prerelease not marked")
	}
	if b = mustParse(t, "release", "release/deleted.payload.json", Options{}); b.Len() != 0 {
		t.Fatalf("deleted release gave %+v", b)
	}
}

func TestParseIssueWithoutIncidentLabel(t *testing.T) {
	// opened.payload.json carries only the label "bug": not an incident by default.
	b := mustParse(t, "issues", "issues/opened.payload.json", Options{})
	if b.Len() != 0 {
		t.Fatalf("issue without incident label gave %+v", b)
	}
}

func TestParseIssueWithIncidentLabel(t *testing.T) {
	// The fixture's issue is labelled "bug"; configure that (in another case)
	// as the incident label.
	b := mustParse(t, "issues", "issues/opened.payload.json", Options{IncidentLabels: []string{"sev", "BUG"}})
	want := []facts.Incident{{
		Source:    "github",
		ID:        "Codertocat/Hello-World#1",
		Repo:      "Codertocat/Hello-World",
		Title:     "Spelling error in the README file",
		State:     "open",
		URL:       "https://github.com/Codertocat/Hello-World/issues/1",
		Labels:    []string{"bug"},
		CreatedAt: ingesttest.Time("2019-05-15T15:20:18Z"),
		UpdatedAt: ingesttest.Time("2019-05-15T15:20:18Z"),
	}}
	if !reflect.DeepEqual(b.Incidents, want) {
		t.Fatalf("incidents = %+v\nwant %+v", b.Incidents, want)
	}
}

func TestParseIssueResolvedAndReopened(t *testing.T) {
	var raw map[string]any
	if err := json.Unmarshal(ingesttest.Fixture(t, "issues/reopened.payload.json"), &raw); err != nil {
		t.Fatal(err)
	}
	opts := Options{IncidentLabels: []string{"bug"}}
	// Reopened: open, although closed_at is still set.
	b, err := Parse("issues", ingesttest.Fixture(t, "issues/reopened.payload.json"), opts)
	if err != nil {
		t.Fatal(err)
	}
	if inc := b.Incidents[0]; inc.State != "open" || !inc.ResolvedAt.IsZero() {
		t.Fatalf("reopened incident = %+v", inc)
	}
	// Closed: resolved at closed_at.
	raw["action"] = "closed"
	raw["issue"].(map[string]any)["state"] = "closed"
	payload, _ := json.Marshal(raw)
	if b, err = Parse("issues", payload, opts); err != nil {
		t.Fatal(err)
	}
	inc := b.Incidents[0]
	if inc.State != "resolved" || !inc.ResolvedAt.Equal(ingesttest.Time("2021-07-05T18:07:10Z")) ||
		!inc.CreatedAt.Equal(ingesttest.Time("2021-07-05T18:05:24Z")) || !inc.UpdatedAt.Equal(ingesttest.Time("2021-10-11T16:40:56Z")) {
		t.Fatalf("closed incident = %+v", inc)
	}
	// Deleted issues give no fact.
	if b = mustParse(t, "issues", "issues/deleted.payload.json", opts); b.Len() != 0 {
		t.Fatalf("deleted issue gave %+v", b)
	}
}

func TestParseIssueCauseReferences(t *testing.T) {
	const sha = "3f786850e387550fdab836ed7e6dc881de23001b"
	cases := []struct {
		name       string
		labels     []string
		body       string
		deployment string
		sha        string
	}{
		{"none", nil, "It looks like you accidently spelled 'commit' with two 't's.", "", ""},
		{"body deployment colon", nil, "Broke checkout.\ndeployment: 1234\n", "1234", ""},
		{"body deployment hash", nil, "rolled back deployment #987 at noon", "987", ""},
		{"body deployment colon hash", nil, "Deployment: #55", "55", ""},
		{"body deployment id", nil, "deployment_id=77", "77", ""},
		{"body caused-by-deployment", nil, "Caused-By-Deployment: 4242", "4242", ""},
		{"label deployment", []string{"incident", "deployment:31"}, "deployment: 99", "31", ""},
		{"label caused-by-deployment", []string{"incident", "caused-by-deployment: 8"}, "", "8", ""},
		{"body commit", nil, "bad commit " + sha + " shipped", "", sha},
		{"body caused-by sha", nil, "caused-by: " + strings.ToUpper(sha), "", sha},
		{"body sha", nil, "sha=" + sha, "", sha},
		{"label sha", []string{"incident", "caused-by:" + sha}, "", "", sha},
		{"short sha ignored", nil, "commit 3f78685", "", ""},
		{"both", nil, "deployment #12\ncommit: " + sha, "12", sha},
		{"not a word boundary", nil, "redeployment: 5 and commits" + sha, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			labels := append([]string{"incident"}, c.labels...)
			dep, got := ingest.IncidentRefs(labels, c.body)
			if dep != c.deployment || got != c.sha {
				t.Fatalf("refs = %q, %q; want %q, %q", dep, got, c.deployment, c.sha)
			}
		})
	}

	// Through Parse, on a real fixture with the label and body changed.
	var raw map[string]any
	if err := json.Unmarshal(ingesttest.Fixture(t, "issues/opened.payload.json"), &raw); err != nil {
		t.Fatal(err)
	}
	issue := raw["issue"].(map[string]any)
	issue["labels"] = []any{map[string]any{"name": "Incident"}, map[string]any{"name": "severity: High"}}
	issue["body"] = "Checkout is down.\n\ncaused-by-deployment: 145988746\ncommit " + sha
	payload, _ := json.Marshal(raw)
	b, err := Parse("issues", payload, Options{})
	if err != nil {
		t.Fatal(err)
	}
	inc := b.Incidents[0]
	if inc.CausedByDeployment != "145988746" || inc.CausedBySHA != sha || inc.Severity != "high" {
		t.Fatalf("incident = %+v", inc)
	}
}

func TestSeverityFromLabels(t *testing.T) {
	for labels, want := range map[string]string{
		"":               "",
		"bug":            "",
		"severity: High": "high",
		"severity/low":   "low",
		"severity-2":     "2",
		"SEV1":           "sev1",
		"bug,sev-2":      "sev2",
		"sev 3,sev1":     "sev3",
		"several,severe": "",
	} {
		var ls []string
		if labels != "" {
			ls = strings.Split(labels, ",")
		}
		if got := ingest.SeverityFromLabels(ls); got != want {
			t.Errorf("ingest.SeverityFromLabels(%q) = %q, want %q", labels, got, want)
		}
	}
}

func TestParseIgnoredEvents(t *testing.T) {
	for _, event := range []string{"workflow_job", "check_suite", "create", "delete", "status", "ping", "made_up_event", ""} {
		b, err := Parse(event, []byte(`{"repository":{"full_name":"o/r"}}`), Options{})
		if err != nil || b.Len() != 0 {
			t.Errorf("Parse(%q) = %d facts, %v; want none, nil", event, b.Len(), err)
		}
	}
}

func TestParseMalformed(t *testing.T) {
	cases := []struct{ event, payload string }{
		{"push", `{"ref": `},
		{"push", ``},
		{"ping", `not json`},
		{"made_up_event", `{`},
		{"push", `[]`},
		{"push", `{}`}, // no repository
		{"push", `{"repository": {"full_name": "o/r"}}`},         // no ref
		{"pull_request", `{"repository": {"full_name": "o/r"}}`}, // no pull_request
		{"deployment", `{"repository": {"full_name": "o/r"}, "deployment": {}}`},
		{"deployment_status", `{"repository": {"full_name": "o/r"}, "deployment": {"id": 1}}`},
		{"workflow_run", `{"repository": {"full_name": "o/r"}}`},
		{"release", `{"repository": {"full_name": "o/r"}}`},
		{"issues", `{"repository": {"full_name": "o/r"}}`},
		{"pull_request_review", `{"repository": {"full_name": "o/r"}}`},
		{"push", `{"ref": "refs/heads/x", "repository": {"full_name": "o/r", "pushed_at": "yesterday"}}`},
		{"push", `{"ref": 5, "repository": {"full_name": "o/r"}}`},
		{"pull_request", `{"repository": {"full_name": "o/r"}, "pull_request": {"number": 1, "created_at": {}}}`},
	}
	for _, c := range cases {
		_, err := Parse(c.event, []byte(c.payload), Options{})
		if err == nil {
			t.Errorf("Parse(%q, %q) succeeded, want an error", c.event, c.payload)
		} else if !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(%q, %q) error %v does not wrap ErrMalformed", c.event, c.payload, err)
		}
	}
}

func TestGHTime(t *testing.T) {
	cases := []struct {
		in   string
		want time.Time
	}{
		{`null`, time.Time{}},
		{`""`, time.Time{}},
		{`"2019-05-15T15:20:41Z"`, ingesttest.Time("2019-05-15T15:20:41Z")},
		{`"2019-05-15T17:20:41+02:00"`, ingesttest.Time("2019-05-15T15:20:41Z")},
		{`"2019-05-15T15:20:41.5Z"`, ingesttest.Time("2019-05-15T15:20:41Z").Add(500 * time.Millisecond)},
		{`1557933657`, ingesttest.Time("2019-05-15T15:20:57Z")},
		{`"1557933657"`, ingesttest.Time("2019-05-15T15:20:57Z")},
		{`1557933657000`, ingesttest.Time("2019-05-15T15:20:57Z")},
		{`1557933657.25`, ingesttest.Time("2019-05-15T15:20:57Z").Add(250 * time.Millisecond)},
	}
	for _, c := range cases {
		var got ghTime
		if err := json.Unmarshal([]byte(c.in), &got); err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if !got.Time.Equal(c.want) || (!got.IsZero() && got.Location() != time.UTC) {
			t.Errorf("%s = %v, want %v UTC", c.in, got.Time, c.want)
		}
	}
	for _, bad := range []string{`"yesterday"`, `true`, `1e300`, `{}`} {
		var got ghTime
		if err := json.Unmarshal([]byte(bad), &got); err == nil {
			t.Errorf("%s parsed as %v, want an error", bad, got.Time)
		}
	}
}

func TestKey(t *testing.T) {
	cases := map[string]string{
		"push/payload.json":                                    "Codertocat/Hello-World",
		"workflow_run/completed.payload.json":                  "octo-org/octo-repo",
		"ping/with-organization.payload.json":                  "Octocoders",
		"check_suite/completed.with-organization.payload.json": "Codertocat/Hello-World",
	}
	for path, want := range cases {
		if got := Key(ingesttest.Fixture(t, path)); got != want {
			t.Errorf("Key(%s) = %q, want %q", path, got, want)
		}
	}
	for _, p := range []string{`{}`, `not json`, `{"repository": null, "organization": {"login": ""}}`, `[]`} {
		if got := Key([]byte(p)); got != "github" {
			t.Errorf("Key(%s) = %q, want github", p, got)
		}
	}
}
