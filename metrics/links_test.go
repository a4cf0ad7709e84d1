package metrics_test

import (
	"testing"
	"time"

	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/metrics"
	"github.com/doraflow/doraflow/store/storetest"
)

// Every drill-down row carries the page of its object in the tool it came
// from, from the facts the payloads gave: the newest link of a
// deployment (its own, its statuses', its CI run's, its release's) and of
// a pull request; a commit's; ” where no payload gave one. Links of
// another repository's objects with the same ids stay theirs.
func TestDrillDownLinksToTheSource(t *testing.T) {
	st := storetest.New(t)
	ctx := testCtx(t)
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	const repo, other = "acme/links", "acme/other"
	err := st.WriteFacts(ctx, facts.Batch{
		Deployments: []facts.Deployment{
			{Repo: repo, ID: "42", Environment: "production", CreatedAt: at("2026-02-02T10:00:00Z"), UpdatedAt: at("2026-02-02T10:00:00Z"),
				URL: "https://git.example.com/acme/links/actions/runs/900"},
			{Repo: other, ID: "42", Environment: "production", CreatedAt: at("2026-02-02T10:00:00Z"), UpdatedAt: at("2026-02-02T10:00:00Z"),
				URL: "https://git.example.com/acme/other/actions/runs/1"},
		},
		DeploymentStatuses: []facts.DeploymentStatus{
			{Repo: repo, DeploymentID: "42", StatusID: "1", State: "success", CreatedAt: at("2026-02-02T10:05:00Z"),
				URL: "https://git.example.com/acme/links/actions/runs/900/job/3"},
		},
		PipelineRuns: []facts.PipelineRun{
			{Repo: repo, ID: "77", Attempt: 1, Conclusion: "failure", UpdatedAt: at("2026-02-03T09:00:00Z"), URL: "https://ci.example.com/77/1"},
			{Repo: repo, ID: "77", Attempt: 2, Conclusion: "success", UpdatedAt: at("2026-02-03T09:30:00Z"), URL: "https://ci.example.com/77/2"},
		},
		Releases: []facts.Release{
			{Repo: repo, ID: "5", Tag: "v5", PublishedAt: at("2026-02-04T12:00:00Z"), URL: "https://git.example.com/acme/links/releases/tag/v5"},
		},
		PullRequests: []facts.PullRequest{
			{Repo: repo, Number: 3, State: "open", UpdatedAt: at("2026-02-01T08:00:00Z"), URL: "https://git.example.com/acme/links/pull/3?stale"},
			{Repo: repo, Number: 3, State: "closed", Merged: true, UpdatedAt: at("2026-02-01T09:00:00Z"), URL: "https://git.example.com/acme/links/pull/3"},
			{Repo: other, Number: 9, State: "closed", Merged: true, UpdatedAt: at("2026-02-01T09:00:00Z"), URL: "https://git.example.com/acme/other/pull/9"},
		},
		Commits: []facts.Commit{
			{Repo: repo, SHA: "abc1234", AuthoredAt: at("2026-02-01T07:00:00Z"), URL: "https://git.example.com/acme/links/commit/abc1234"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	dep := func(id, finished string) facts.DeploymentOutcome {
		return facts.DeploymentOutcome{Repo: repo, DeploymentID: id, Environment: "production", Production: true, FinishedAt: at(finished)}
	}
	change := func(id, kind, deployment, deployed string) facts.ChangeLead {
		return facts.ChangeLead{Repo: repo, ID: id, Kind: kind, DeploymentID: deployment, Environment: "production",
			StartedAt: at(deployed).Add(-time.Hour), MergedAt: at(deployed).Add(-time.Hour), DeployedAt: at(deployed)}
	}
	err = st.WriteDerived(ctx, map[string]facts.Derived{repo: {
		Deployments: []facts.DeploymentOutcome{
			dep("42", "2026-02-02T10:05:00Z"), dep("run/77", "2026-02-03T09:30:00Z"),
			dep("release/5", "2026-02-04T12:00:00Z"), dep("nolink", "2026-02-05T12:00:00Z"),
		},
		Changes: []facts.ChangeLead{
			change("pr/3", facts.KindPullRequest, "42", "2026-02-02T10:05:00Z"),
			change("abc1234", facts.KindCommit, "run/77", "2026-02-03T09:30:00Z"),
			change("pr/9", facts.KindPullRequest, "release/5", "2026-02-04T12:00:00Z"),
		},
	}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	e, err := metrics.New(st.Conn(), nil, metrics.Options{QueryTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	q := metrics.ListQuery{Query: metrics.Query{From: at("2026-02-01T00:00:00Z"), To: at("2026-03-01T00:00:00Z")}, Limit: 50}

	deps, err := e.Deployments(ctx, q)
	gotDeps := urlsByID(t, deps, err, func(r metrics.DeploymentRow) (string, string) { return r.DeploymentID, r.URL })
	wantDeps := map[string]string{
		"42":        "https://git.example.com/acme/links/actions/runs/900/job/3", // the status, newer than the deployment
		"run/77":    "https://ci.example.com/77/2",                               // the run's latest attempt
		"release/5": "https://git.example.com/acme/links/releases/tag/v5",
		"nolink":    "",
	}
	checkLinks(t, "deployment", gotDeps, wantDeps)

	changes, err := e.Changes(ctx, q)
	gotChanges := urlsByID(t, changes, err, func(r metrics.ChangeRow) (string, string) { return r.ChangeID, r.URL })
	wantChanges := map[string]string{
		"pr/3":    "https://git.example.com/acme/links/pull/3", // the newest state's
		"abc1234": "https://git.example.com/acme/links/commit/abc1234",
		"pr/9":    "", // acme/other's pull request 9 is not this repository's
	}
	checkLinks(t, "change", gotChanges, wantChanges)
}

// urlsByID maps each row's id to its url; err is the listing's.
func urlsByID[R any](t *testing.T, rows []R, err error, link func(R) (id, url string)) map[string]string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rows {
		id, u := link(r)
		out[id] = u
	}
	return out
}

// checkLinks compares the url of each listed row, by id, with want.
func checkLinks(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%ss %v, want %v", what, got, want)
	}
	for id, w := range want {
		if g, ok := got[id]; !ok || g != w {
			t.Errorf("%s %s url %q (listed %v), want %q", what, id, g, ok, w)
		}
	}
}
