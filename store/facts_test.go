package store_test

import (
	"fmt"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/store/storetest"
)

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// fullBatch sets every field of every fact type by hand, leaving some
// times zero on purpose (an open pull request, an unresolved incident).
func fullBatch(repo string) facts.Batch {
	return facts.Batch{
		Commits: []facts.Commit{{
			Repo: repo, SHA: "c1c1c1", Message: "feat: it's \"quoted\"\n\nbody",
			AuthorName: "Ada Lovelace", AuthorEmail: "ada@example.com", AuthorLogin: "ada",
			AuthoredAt: ts("2026-03-01T10:00:00Z"), Paths: []string{"main.go", "deploy/app.yaml"},
			URL: "https://github.com/" + repo + "/commit/c1c1c1",
		}},
		Pushes: []facts.Push{{
			Repo: repo, Ref: "refs/heads/main", Before: "b0b0b0", After: "c1c1c1",
			CommitSHAs: []string{"a0a0a0", "c1c1c1"}, PushedAt: ts("2026-03-01T10:05:00Z"),
			Forced: true, Deleted: false, Pusher: "ada",
		}},
		PullRequests: []facts.PullRequest{
			{
				Repo: repo, Number: 42, Title: "Add thing", Author: "ada", Labels: []string{"infra", "ci"},
				HeadRef: "feature/x", HeadSHA: "d1d1d1", BaseRef: "main", State: "closed", Merged: true,
				MergeCommitSHA: "e1e1e1", CreatedAt: ts("2026-03-01T09:00:00Z"),
				MergedAt: ts("2026-03-02T09:00:00Z"), ClosedAt: ts("2026-03-02T09:00:00Z"),
				UpdatedAt: ts("2026-03-02T09:00:01Z"), URL: "https://github.com/" + repo + "/pull/42",
			},
			{
				Repo: repo, Number: 43, Title: "Open one", Author: "bob", HeadRef: "feature/y",
				HeadSHA: "f1f1f1", BaseRef: "main", State: "open",
				CreatedAt: ts("2026-03-03T09:00:00Z"), UpdatedAt: ts("2026-03-03T09:00:00Z"),
			},
		},
		Reviews: []facts.Review{{
			Repo: repo, PRNumber: 42, ReviewID: 9001, State: "approved", Author: "bob",
			SubmittedAt: ts("2026-03-01T12:00:00Z"),
		}},
		Deployments: []facts.Deployment{{
			Repo: repo, ID: "777", SHA: "e1e1e1", Ref: "main", Environment: "production",
			ProductionEnvironment: true, Task: "deploy", Description: "ship it", Creator: "bot",
			CreatedAt: ts("2026-03-02T10:00:00Z"), UpdatedAt: ts("2026-03-02T10:01:00Z"),
			CommitSHAs: []string{"e1e1e1", "c1c1c1"}, URL: "https://github.com/" + repo + "/actions/runs/5",
		}},
		DeploymentStatuses: []facts.DeploymentStatus{{
			Repo: repo, DeploymentID: "777", StatusID: "s1", State: "success", Environment: "production",
			CreatedAt: ts("2026-03-02T10:05:00Z"), URL: "https://deploy.example.com/777/log",
		}},
		PipelineRuns: []facts.PipelineRun{{
			Repo: repo, ID: "run-5", Attempt: 2, Name: "CI", Path: ".github/workflows/ci.yml",
			HeadBranch: "main", HeadSHA: "e1e1e1", Event: "push", Status: "completed", Conclusion: "failure",
			StartedAt: ts("2026-03-02T09:01:00Z"), FinishedAt: ts("2026-03-02T09:11:00Z"),
			UpdatedAt: ts("2026-03-02T09:11:00Z"), URL: "https://ci.example.com/run-5/2",
		}},
		Releases: []facts.Release{{
			Repo: repo, ID: "rel-1", Tag: "v1.0.0", Target: "main", Name: "One", Prerelease: true, Draft: true,
			CreatedAt: ts("2026-03-02T11:00:00Z"), PublishedAt: ts("2026-03-02T11:30:00Z"),
			URL: "https://github.com/" + repo + "/releases/tag/v1.0.0",
		}},
		Incidents: []facts.Incident{{
			Source: "pagerduty", ID: "PD-" + repo, Repo: repo, Service: "checkout", Title: "500s", State: "open",
			Severity: "P1", URL: "https://example.pagerduty.com/incidents/PD1", Labels: []string{"sev1"},
			CreatedAt: ts("2026-03-02T12:00:00Z"), UpdatedAt: ts("2026-03-02T12:00:00Z"),
			CausedByDeployment: "777", CausedBySHA: "e1e1e1",
		}},
	}
}

func checkBatch(t *testing.T, got, want facts.Batch) {
	t.Helper()
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := 0; i < g.NumField(); i++ {
		name := g.Type().Field(i).Name
		gf, wf := g.Field(i), w.Field(i)
		if gf.Len() != wf.Len() {
			t.Errorf("%s: got %d rows, want %d:\n got %+v\nwant %+v", name, gf.Len(), wf.Len(), gf.Interface(), wf.Interface())
			continue
		}
		for j := 0; j < gf.Len(); j++ {
			if !reflect.DeepEqual(gf.Index(j).Interface(), wf.Index(j).Interface()) {
				t.Errorf("%s[%d]:\n got %+v\nwant %+v", name, j, gf.Index(j).Interface(), wf.Index(j).Interface())
			}
		}
	}
}

func TestFactsRoundTrip(t *testing.T) {
	st := storetest.New(t)
	ctx := testCtx(t)
	want := fullBatch("acme/shop")
	if err := st.WriteFacts(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := st.History(ctx, "acme/shop")
	if err != nil {
		t.Fatal(err)
	}
	checkBatch(t, got, want)
	for _, x := range got.PullRequests {
		if x.CreatedAt.Location() != time.UTC {
			t.Errorf("pull request time in %v, want UTC", x.CreatedAt.Location())
		}
	}
	if !got.PullRequests[1].MergedAt.IsZero() || !got.Incidents[0].ResolvedAt.IsZero() {
		t.Errorf("unset times must read back as zero")
	}

	other, err := st.History(ctx, "acme/other")
	if err != nil {
		t.Fatal(err)
	}
	if other.Len() != 0 {
		t.Errorf("unrelated repository has %d facts", other.Len())
	}
}

func TestTimesAreStoredInUTCWholeSeconds(t *testing.T) {
	st := storetest.New(t)
	ctx := testCtx(t)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("no time zone data:", err)
		}
		t.Skip("no time zone data:", err)
	}
	at := time.Date(2026, 10, 31, 23, 30, 0, 987654321, berlin)
	b := facts.Batch{Commits: []facts.Commit{{Repo: "r", SHA: "x", AuthoredAt: at}}}
	if err := st.WriteFacts(ctx, b); err != nil {
		t.Fatal(err)
	}
	got, err := st.History(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Commits) != 1 {
		t.Fatalf("got %d commits", len(got.Commits))
	}
	want := at.Truncate(time.Second).UTC()
	if c := got.Commits[0].AuthoredAt; !c.Equal(want) || c.Location() != time.UTC {
		t.Errorf("authored_at = %v, want %v", c, want)
	}
}

func TestSameBatchTwiceReadsOnce(t *testing.T) {
	st := storetest.New(t)
	ctx := testCtx(t)
	b := fullBatch("acme/shop")
	for i := 0; i < 2; i++ {
		if err := st.WriteFacts(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.History(ctx, "acme/shop")
	if err != nil {
		t.Fatal(err)
	}
	checkBatch(t, got, b)
}

func TestNewerVersionWins(t *testing.T) {
	st := storetest.New(t)
	ctx := testCtx(t)
	newer := facts.PullRequest{
		Repo: "acme/shop", Number: 7, Title: "final title", State: "closed", Merged: true,
		MergeCommitSHA: "abc", CreatedAt: ts("2026-01-01T00:00:00Z"), MergedAt: ts("2026-01-02T00:00:00Z"),
		ClosedAt: ts("2026-01-02T00:00:00Z"), UpdatedAt: ts("2026-01-02T00:00:00Z"),
	}
	older := facts.PullRequest{
		Repo: "acme/shop", Number: 7, Title: "draft title", State: "open",
		CreatedAt: ts("2026-01-01T00:00:00Z"), UpdatedAt: ts("2026-01-01T00:00:00Z"),
	}
	// The older state arrives last, as a late redelivery would.
	for _, pr := range []facts.PullRequest{newer, older} {
		if err := st.WriteFacts(ctx, facts.Batch{PullRequests: []facts.PullRequest{pr}}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.History(ctx, "acme/shop")
	if err != nil {
		t.Fatal(err)
	}
	// Every state of a pull request is kept, oldest first; the deriver
	// folds them, the newest winning.
	if !reflect.DeepEqual(got.PullRequests, []facts.PullRequest{older, newer}) {
		t.Fatalf("pull requests = %+v, want %+v", got.PullRequests, []facts.PullRequest{older, newer})
	}
	if err := st.WriteFacts(ctx, facts.Batch{PullRequests: []facts.PullRequest{newer}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.History(ctx, "acme/shop"); len(got.PullRequests) != 2 {
		t.Fatalf("a redelivered state was stored twice: %d states", len(got.PullRequests))
	}

	// Deployments without an update time are versioned by creation time.
	d1 := facts.Deployment{Repo: "acme/shop", ID: "1", Environment: "staging", CreatedAt: ts("2026-01-03T00:00:00Z")}
	d0 := facts.Deployment{Repo: "acme/shop", ID: "1", Environment: "old", CreatedAt: ts("2026-01-01T00:00:00Z")}
	for _, d := range []facts.Deployment{d1, d0} {
		if err := st.WriteFacts(ctx, facts.Batch{Deployments: []facts.Deployment{d}}); err != nil {
			t.Fatal(err)
		}
	}
	got, err = st.History(ctx, "acme/shop")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Deployments) != 1 || got.Deployments[0].Environment != "staging" {
		t.Fatalf("deployments = %+v, want the staging one", got.Deployments)
	}
}

func TestIncidentFollowsItsNewestRepo(t *testing.T) {
	st := storetest.New(t)
	ctx := testCtx(t)
	first := facts.Incident{Source: "pagerduty", ID: "P1", Repo: "acme/a", State: "open",
		CreatedAt: ts("2026-02-01T00:00:00Z"), UpdatedAt: ts("2026-02-01T00:00:00Z")}
	moved := first
	moved.Repo, moved.State = "acme/b", "resolved"
	moved.ResolvedAt, moved.UpdatedAt = ts("2026-02-01T01:00:00Z"), ts("2026-02-01T01:00:00Z")
	for _, x := range []facts.Incident{moved, first} {
		if err := st.WriteFacts(ctx, facts.Batch{Incidents: []facts.Incident{x}}); err != nil {
			t.Fatal(err)
		}
	}
	m, err := st.HistoryMany(ctx, []string{"acme/a", "acme/b", "acme/b"})
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 {
		t.Fatalf("got %d repositories, want 2", len(m))
	}
	if n := len(m["acme/a"].Incidents); n != 0 {
		t.Errorf("acme/a has %d incidents, want 0", n)
	}
	// Every update is kept, oldest first, under the repository the newest
	// one names; the deriver folds them together.
	if got := m["acme/b"].Incidents; !reflect.DeepEqual(got, []facts.Incident{first, moved}) {
		t.Errorf("acme/b incidents = %+v, want %+v", got, []facts.Incident{first, moved})
	}
}

func TestHistoryManyAndRepos(t *testing.T) {
	st := storetest.New(t)
	ctx := testCtx(t)
	var all facts.Batch
	for _, r := range []string{"acme/one", "acme/two", "acme/three"} {
		all.Append(fullBatch(r))
	}
	all.Incidents = append(all.Incidents, facts.Incident{Source: "opsgenie", ID: "x", Service: "unmapped"})
	all.Reviews = append(all.Reviews, facts.Review{Repo: "acme/reviews-only", PRNumber: 1, ReviewID: 1})
	if err := st.WriteFacts(ctx, all); err != nil {
		t.Fatal(err)
	}
	repos, err := st.Repos(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"acme/one", "acme/reviews-only", "acme/three", "acme/two"}
	if !reflect.DeepEqual(repos, want) {
		t.Errorf("Repos = %q, want %q", repos, want)
	}
	m, err := st.HistoryMany(ctx, []string{"acme/one", "acme/two", "acme/missing"})
	if err != nil {
		t.Fatal(err)
	}
	checkBatch(t, m["acme/one"], fullBatch("acme/one"))
	checkBatch(t, m["acme/two"], fullBatch("acme/two"))
	if b, ok := m["acme/missing"]; !ok || b.Len() != 0 {
		t.Errorf("missing repository: present %v, %d facts", ok, b.Len())
	}
	if _, ok := m["acme/three"]; ok {
		t.Errorf("unrequested repository returned")
	}
	empty, err := st.HistoryMany(ctx, nil)
	if err != nil || len(empty) != 0 {
		t.Errorf("HistoryMany(nil) = %v, %v", empty, err)
	}
}

func TestHistoryManyWithManyRepositories(t *testing.T) {
	st := storetest.New(t)
	ctx := testCtx(t)
	var repos []string
	for i := 0; i < 6000; i++ {
		repos = append(repos, fmt.Sprintf("some-organisation/repository-%05d", i))
	}
	var b facts.Batch
	for _, i := range []int{0, 2999, 5999} {
		b.Commits = append(b.Commits, facts.Commit{Repo: repos[i], SHA: "s", AuthoredAt: ts("2026-01-01T00:00:00Z")})
	}
	if err := st.WriteFacts(ctx, b); err != nil {
		t.Fatal(err)
	}
	m, err := st.HistoryMany(ctx, repos)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != len(repos) {
		t.Fatalf("got %d repositories, want %d", len(m), len(repos))
	}
	found := 0
	for _, h := range m {
		found += len(h.Commits)
	}
	if found != 3 {
		t.Errorf("found %d commits, want 3", found)
	}
	d := map[string]facts.Derived{}
	for _, r := range repos {
		d[r] = facts.Derived{Changes: []facts.ChangeLead{{ID: "c"}}}
	}
	if err := st.WriteDerived(ctx, d, 1); err != nil {
		t.Fatal(err)
	}
	delete(d, repos[0])
	for _, r := range repos[1:] {
		d[r] = facts.Derived{}
	}
	if err := st.WriteDerived(ctx, d, 2); err != nil {
		t.Fatal(err)
	}
	got, err := st.Derived(ctx, repos)
	if err != nil {
		t.Fatal(err)
	}
	live := 0
	for _, x := range got {
		live += len(x.Changes)
	}
	if live != 1 || len(got[repos[0]].Changes) != 1 {
		t.Errorf("live changes = %d, want only %s's", live, repos[0])
	}
}
