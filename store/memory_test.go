package store_test

import (
	"cmp"
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/store"
	"github.com/doraflow/doraflow/store/storetest"
)

// RepoFacts, loaded from a read and then told every later write, must hold
// exactly what a new read returns: the rows ReplacingMergeTree keeps (the
// last insert of a key; of a versioned key the highest version, of equal
// versions the last insert), as the columns store them (whole seconds,
// milliseconds kept in the versions, empty arrays as nil, services not
// stored).
func TestRepoFactsHoldWhatAReadReturns(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	const repo = "acme/api"
	at := func(s string, ms int) time.Time {
		return ts(s).Add(time.Duration(ms) * time.Millisecond)
	}
	first := fullBatch(repo)
	first.Incidents = nil
	// Written later, one insert per batch: repeats, changes, an older
	// version arriving late, two states within one second, a repeat within
	// one insert.
	later := []facts.Batch{
		{
			Commits: []facts.Commit{
				{Repo: repo, SHA: "c1c1c1", Message: "rewritten", AuthoredAt: at("2026-03-01T10:00:00Z", 700), Paths: []string{}},
				{Repo: repo, SHA: "c2c2c2", Message: "one", AuthoredAt: at("2026-03-04T10:00:00Z", 0)},
				{Repo: repo, SHA: "c2c2c2", Message: "two, the last in its insert"},
				{Repo: "acme/other", SHA: "c3c3c3", Message: "another repository"},
			},
			Pushes: []facts.Push{{Repo: repo, Ref: "refs/heads/main", Before: "b0b0b0", After: "c1c1c1", TotalCommits: -3, Pusher: "eve"}},
			PullRequests: []facts.PullRequest{
				{Repo: repo, Number: 42, Title: "state at .200", UpdatedAt: at("2026-03-05T09:00:00Z", 200), Labels: []string{}},
				{Repo: repo, Number: 42, Title: "state at .900", UpdatedAt: at("2026-03-05T09:00:00Z", 900)},
			},
			Deployments: []facts.Deployment{
				{Repo: repo, ID: "777", Description: "newer", Service: "api", CreatedAt: ts("2026-03-02T10:00:00Z"), UpdatedAt: at("2026-03-02T10:05:00Z", 500)},
				{Repo: repo, ID: "778", Description: "no update time", CreatedAt: at("2026-03-06T10:00:00Z", 10)},
			},
			PipelineRuns: []facts.PipelineRun{{Repo: repo, ID: "r1", Attempt: 1, Status: "queued", Service: "api", UpdatedAt: at("2026-03-02T10:00:00Z", 100)}},
		},
		{
			Deployments: []facts.Deployment{
				{Repo: repo, ID: "777", Description: "older, late", UpdatedAt: at("2026-03-02T10:05:00Z", 499)},
				{Repo: repo, ID: "778", Description: "same version, later insert", CreatedAt: at("2026-03-06T10:00:00Z", 10)},
			},
			PipelineRuns: []facts.PipelineRun{
				{Repo: repo, ID: "r1", Attempt: 1, Status: "completed", UpdatedAt: at("2026-03-02T10:00:00Z", 100)},
				{Repo: repo, ID: "r1", Attempt: 2, Status: "queued", UpdatedAt: at("2026-03-02T11:00:00Z", 0)},
			},
			Reviews:            []facts.Review{{Repo: repo, PRNumber: 42, ReviewID: 9001, State: "dismissed"}},
			DeploymentStatuses: []facts.DeploymentStatus{{Repo: repo, DeploymentID: "777", StatusID: "s9", State: "failure"}},
			Releases:           []facts.Release{{Repo: repo, ID: "rel-2", Tag: "v2", CreatedAt: at("2026-03-07T00:00:00Z", 999)}},
		},
	}
	if err := st.WriteFacts(ctx, first); err != nil {
		t.Fatal(err)
	}
	read := func() store.ReadHistory {
		t.Helper()
		want := map[string][]string{}
		for _, tb := range store.RepoTables {
			want[tb] = []string{repo}
		}
		h, err := st.HistoryRead(ctx, want)
		if err != nil {
			t.Fatal(err)
		}
		return h[repo]
	}
	held := store.NewRepoFacts()
	h := read()
	for _, tb := range store.RepoTables {
		held.Load(tb, h)
	}
	for _, b := range later {
		if err := st.WriteFacts(ctx, b); err != nil {
			t.Fatal(err)
		}
		var own facts.Batch
		own.Append(b)
		own.Commits = slices.DeleteFunc(slices.Clone(own.Commits), func(c facts.Commit) bool { return c.Repo != repo })
		held.Apply(own)
	}
	var got facts.Batch
	held.Fill(&got)
	want := read().Batch
	sameRows(t, "commits", got.Commits, want.Commits, func(c facts.Commit) string { return c.SHA })
	sameRows(t, "pushes", got.Pushes, want.Pushes, func(p facts.Push) string { return p.Ref + " " + p.After + " " + p.Before })
	sameRows(t, "pull requests", got.PullRequests, want.PullRequests, func(p facts.PullRequest) string {
		return fmt.Sprint(p.Number, p.Title)
	})
	sameRows(t, "reviews", got.Reviews, want.Reviews, func(r facts.Review) string { return fmt.Sprint(r.PRNumber, r.ReviewID) })
	sameRows(t, "deployments", got.Deployments, want.Deployments, func(d facts.Deployment) string { return d.ID })
	sameRows(t, "statuses", got.DeploymentStatuses, want.DeploymentStatuses, func(d facts.DeploymentStatus) string {
		return d.DeploymentID + " " + d.StatusID
	})
	sameRows(t, "pipeline runs", got.PipelineRuns, want.PipelineRuns, func(r facts.PipelineRun) string { return fmt.Sprint(r.ID, r.Attempt) })
	sameRows(t, "releases", got.Releases, want.Releases, func(r facts.Release) string { return r.ID })
	// The cases above happened, as the store resolved them.
	if n := len(want.PullRequests); n != 4 {
		t.Errorf("%d pull request states stored, want 4 (two from the first batch, two within one second)", n)
	}
	for _, d := range want.Deployments {
		if d.ID == "777" && d.Description != "newer" || d.ID == "778" && d.Description != "same version, later insert" {
			t.Errorf("deployment %s stored as %q", d.ID, d.Description)
		}
	}
}

// sameRows compares two sets of rows, each ordered by key first.
func sameRows[T any](t *testing.T, what string, got, want []T, key func(T) string) {
	t.Helper()
	got, want = slices.Clone(got), slices.Clone(want)
	by := func(x, y T) int { return cmp.Compare(key(x), key(y)) }
	slices.SortFunc(got, by)
	slices.SortFunc(want, by)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s held:\n%+v\nread:\n%+v", what, got, want)
	}
}
