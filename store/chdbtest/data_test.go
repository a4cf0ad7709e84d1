package chdbtest_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/doraflow/doraflow/facts"
)

// compatFacts are facts beside the scenario's derived records, for the
// queries that read commits and pipeline runs: infrastructure and product
// paths, people and bots, a first-time contributor, failed and re-run
// pipelines, all in the scenario's repositories.
func compatFacts() facts.Batch {
	at := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return t.UTC()
	}
	commit := func(repo, sha, login, when string, paths ...string) facts.Commit {
		return facts.Commit{Repo: repo, SHA: sha, Message: "change " + sha, AuthorName: login,
			AuthorEmail: login + "@example.com", AuthorLogin: login, AuthoredAt: at(when), Paths: paths,
			URL: "https://github.com/" + repo + "/commit/" + sha}
	}
	run := func(repo, id string, attempt int64, conclusion, start, end string) facts.PipelineRun {
		return facts.PipelineRun{Repo: repo, ID: id, Attempt: attempt, Name: "ci", Path: ".github/workflows/ci.yml",
			HeadBranch: "main", HeadSHA: id + "sha", Event: "push", Status: "completed", Conclusion: conclusion,
			StartedAt: at(start), FinishedAt: at(end), UpdatedAt: at(end),
			URL: fmt.Sprintf("https://github.com/%s/actions/runs/%s/attempts/%d", repo, id, attempt)}
	}
	return facts.Batch{
		Commits: []facts.Commit{
			commit("acme/checkout", "c1", "alice", "2025-12-01T09:00:00Z", "src/pay.go"),
			commit("acme/checkout", "c2", "alice", "2026-01-05T09:00:00Z", "infra/main.tf", "infra/vars.tf", "src/pay.go"),
			commit("acme/checkout", "c3", "bob", "2026-01-06T09:00:00Z", ".github/workflows/ci.yml"),
			commit("acme/checkout", "c4", "dependabot[bot]", "2026-01-07T09:00:00Z", "go.mod", "go.sum"),
			commit("acme/checkout-web", "w1", "carol", "2026-01-12T12:00:00Z", "Dockerfile", "web/index.html"),
			commit("acme/search", "s1", "dave", "2026-01-08T08:00:00Z", "helm/search/values.yaml", "k8s/deploy.yaml"),
			commit("acme/search", "s2", "erin", "2026-01-20T08:00:00Z", "search/index.go"),
			commit("acme/legacy", "l1", "frank", "2026-01-21T08:00:00Z", "deploy/legacy.hcl", "Dockerfile"),
			commit("acme/platform", "c9", "gina", "2026-01-15T08:00:00Z", "infra/a.tf"),
		},
		PipelineRuns: []facts.PipelineRun{
			run("acme/checkout", "r1", 1, "failure", "2026-01-05T10:00:00Z", "2026-01-05T10:12:00Z"),
			run("acme/checkout", "r1", 2, "success", "2026-01-05T10:20:00Z", "2026-01-05T10:31:00Z"),
			run("acme/checkout", "r2", 1, "success", "2026-01-06T10:00:00Z", "2026-01-06T10:09:30Z"),
			run("acme/search", "r3", 1, "failure", "2026-01-08T10:00:00Z", "2026-01-08T10:45:00Z"),
			run("acme/search", "r4", 1, "cancelled", "2026-01-09T10:00:00Z", "2026-01-09T10:02:00Z"),
			run("acme/legacy", "r5", 1, "failure", "2026-01-21T10:00:00Z", "2026-01-21T11:00:00Z"),
			run("acme/legacy", "r5", 2, "failure", "2026-01-21T11:05:00Z", "2026-01-21T12:00:00Z"),
			run("acme/legacy", "r5", 3, "success", "2026-01-21T12:05:00Z", "2026-01-21T12:30:00Z"),
		},
		// Links to the source of compatDerived's rows: two states of pr/1
		// (the newer link wins), the direct commit c9, deployment p-pr/1
		// and its status (the status, newer, wins).
		PullRequests: []facts.PullRequest{
			{Repo: "acme/platform", Number: 1, Title: "platform pr/1", State: "open", UpdatedAt: at("2026-01-05T09:00:00Z"),
				URL: "https://git.example.com/acme/platform/pull/1?old"},
			{Repo: "acme/platform", Number: 1, Title: "platform pr/1", State: "closed", Merged: true, UpdatedAt: at("2026-01-06T08:00:00Z"),
				URL: "https://git.example.com/acme/platform/pull/1"},
		},
		Deployments: []facts.Deployment{{Repo: "acme/platform", ID: "p-pr/1", SHA: "p1", Environment: "production",
			CreatedAt: at("2026-01-06T09:50:00Z"), UpdatedAt: at("2026-01-06T09:50:00Z"), URL: "https://ci.example.com/runs/7"}},
		DeploymentStatuses: []facts.DeploymentStatus{{Repo: "acme/platform", DeploymentID: "p-pr/1", StatusID: "1", State: "success",
			Environment: "production", CreatedAt: at("2026-01-06T10:00:00Z"), URL: "https://ci.example.com/runs/7/log"}},
	}
}

// compatDerived is a repository in no catalog entry whose changes were
// reviewed, classified as toil by each kind of rule, or not deployed yet.
func compatDerived() map[string]facts.Derived {
	at := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return t.UTC()
	}
	change := func(id, started, review, merged, deployed, reason string, active int64) facts.ChangeLead {
		c := facts.ChangeLead{Repo: "acme/platform", ID: id, Kind: facts.KindPullRequest, Title: "platform " + id,
			Author: "gina", StartedAt: at(started), OpenedAt: at(started).Add(time.Hour), MergedAt: at(merged),
			Toil: reason != "", ToilReason: reason, ActiveSeconds: active, Environment: "production"}
		if review != "" {
			c.FirstReviewAt = at(review)
		}
		if deployed != "" {
			c.DeploymentID, c.DeployedAt = "p-"+id, at(deployed)
		}
		return c
	}
	labelled := change("pr/1", "2026-01-05T08:00:00Z", "2026-01-05T12:00:00Z", "2026-01-06T08:00:00Z", "2026-01-06T10:00:00Z", "label:infra", 7200)
	labelled.Labels = []string{"infra", "it's quoted"}
	created := change("pr/4", "2026-01-12T08:00:00Z", "", "2026-01-13T08:00:00Z", "2026-01-13T09:00:00Z", "", 3600)
	created.StartIsCreated = true
	return map[string]facts.Derived{"acme/platform": {
		Deployments: []facts.DeploymentOutcome{
			{Repo: "acme/platform", DeploymentID: "p-pr/1", Origin: "deployment", Environment: "production", SHA: "p1",
				Production: true, FinishedAt: at("2026-01-06T10:00:00Z"), Changes: 1, Rework: facts.CauseHotfix},
		},
		Changes: []facts.ChangeLead{
			labelled,
			change("pr/2", "2026-01-07T08:00:00Z", "2026-01-07T09:30:00Z", "2026-01-08T08:00:00Z", "", "commit-type:ci", 1800),
			change("pr/3", "2026-01-09T08:00:00Z", "", "2026-01-09T09:00:00Z", "2026-01-10T09:00:00Z", "bot:dependabot[bot]", 600),
			change("c9", "2026-01-15T08:00:00Z", "", "2026-01-15T08:00:00Z", "", "paths:3/4 **/*.tf", 900),
			created,
		},
	}}
}

// dumpInserts reads every table the migrations made, every row as stored
// (older versions and tombstones included, so that FINAL has work to do),
// and writes them as INSERT … VALUES statements.
func dumpInserts(ctx context.Context, t *testing.T, conn driver.Conn) []string {
	t.Helper()
	var tables []string
	// Materialized views hold nothing of their own: their target tables
	// are dumped, and on chDB the views fill them again as the facts are
	// inserted, which changes no minimum they keep.
	rows, err := conn.Query(ctx, "SELECT name FROM system.tables WHERE database = currentDatabase() AND name != 'schema_migrations' AND engine != 'MaterializedView' ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	var out []string
	total := 0
	for _, table := range tables {
		var cols, types []string
		rows, err := conn.Query(ctx, "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = ?", table)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var name, typ string
			if err := rows.Scan(&name, &typ); err != nil {
				t.Fatal(err)
			}
			cols, types = append(cols, name), append(types, typ)
		}
		rows.Close()
		rows, err = conn.Query(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+table)
		if err != nil {
			t.Fatal(err)
		}
		var tuples []string
		for rows.Next() {
			vals := scanRow(t, rows)
			lits := make([]string, len(vals))
			for i, v := range vals {
				if lits[i], err = valuesLiteral(types[i], reflect.ValueOf(v)); err != nil {
					t.Fatalf("%s.%s: %v", table, cols[i], err)
				}
			}
			tuples = append(tuples, "("+strings.Join(lits, ", ")+")")
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		total += len(tuples)
		for len(tuples) > 0 {
			n := min(len(tuples), 500)
			out = append(out, "INSERT INTO "+table+" ("+strings.Join(cols, ", ")+") VALUES "+strings.Join(tuples[:n], ", "))
			tuples = tuples[n:]
		}
	}
	if total == 0 {
		t.Fatal("no rows to copy: the scenario did not load")
	}
	return out
}
