package gitlab

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doraflow/doraflow/backfill"
	"github.com/doraflow/doraflow/backfill/backfilltest"
	"github.com/doraflow/doraflow/backfill/gitlab/gitlabfake"
	"github.com/doraflow/doraflow/delivery"
	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/githubapi"
	glingest "github.com/doraflow/doraflow/ingest/gitlab"
)

func sha(n int) string { return fmt.Sprintf("%040x", 0xa0000+n) }

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// history is acme/api over one week of March 2026, every value chosen by
// hand:
//
//	g0  on main before the period (2026-02-20)
//	f1, f2  pushed to feature/login Mon 10:00 and 11:00; MR !1 opened 11:30,
//	        approved by bob 12:00, merged by carol 13:00 with merge commit m1
//	        (parents g0, f2): main push 13:00 lists f1, f2, m1
//	d1  pushed straight to main Tue 09:00 (changes docs/ops.md)
//	MR !2 opened Tue 10:00, closed Tue 11:00 unmerged
//	pipeline 501 for m1 (success, 13:00-13:20); 502 for tag v1.0 (failed)
//	deployment 71: m1 to production, running 13:30, success 13:40
//	deployment 72: d1 to production, running Tue 09:30, failed 09:35
//	deployment 73: d1 to staging, success Tue 09:20
//	issue #5 labelled incident: opened Tue 09:40, closed 10:10
//	issue #6 of type incident (no label): opened Wed 08:00, still open
//	issue #7 labelled bug: not an incident, not read
func history() gitlabfake.Instance {
	g0, f1, f2, m1, d1 := sha(0), sha(1), sha(2), sha(3), sha(4)
	p := &gitlabfake.Project{ID: 42, Path: "acme/api", CIConfigPath: "ci/main.yml",
		Commits: []*gitlabfake.Commit{
			{SHA: g0, Author: "alice", Message: "Start", At: at("2026-02-20T09:00:00Z"), Changes: []gitlabfake.Change{{Path: "README.md", Kind: "added"}}},
			{SHA: f1, Parents: []string{g0}, Author: "alice", Message: "Login form", At: at("2026-03-16T10:00:00Z")},
			{SHA: f2, Parents: []string{f1}, Author: "alice", Message: "Login check", At: at("2026-03-16T11:00:00Z")},
			{SHA: m1, Parents: []string{g0, f2}, Author: "carol", Message: "Merge branch 'feature/login' into 'main'", At: at("2026-03-16T13:00:00Z")},
			{SHA: d1, Parents: []string{m1}, Author: "dave", Message: "Runbook", At: at("2026-03-17T09:00:00Z"),
				Changes: []gitlabfake.Change{{Path: "docs/ops.md", Kind: "modified"}, {Path: "docs/old.md", Kind: "removed"}}},
		},
		Pushes: []gitlabfake.Push{
			{ID: 9000, Ref: "main", Before: zeroSHA, After: g0, At: at("2026-02-20T09:00:00Z"), By: "alice"},
			{ID: 9001, Ref: "feature/login", Before: zeroSHA, After: f2, At: at("2026-03-16T11:00:00Z"), By: "alice"},
			{ID: 9002, Ref: "main", Before: g0, After: m1, At: at("2026-03-16T13:00:00Z"), By: "carol"},
			{ID: 9003, Ref: "main", Before: m1, After: d1, At: at("2026-03-17T09:00:00Z"), By: "dave"},
		},
		MergeRequests: []*gitlabfake.MergeRequest{
			{ID: 801, IID: 1, Title: "Login", Author: "alice", Source: "feature/login", Target: "main", State: "merged",
				Created: at("2026-03-16T11:30:00Z"), Updated: at("2026-03-16T13:00:00Z"), Merged: at("2026-03-16T13:00:00Z"),
				Closed: time.Time{}, MergedBy: "carol", HeadSHA: f2, MergeCommitSHA: m1, Commits: []string{f1, f2},
				Changes:   []gitlabfake.Change{{Path: "auth/login.go", Kind: "added"}, {Path: "auth/check.go", Kind: "modified"}},
				Approvals: []gitlabfake.Approval{{By: "bob", At: at("2026-03-16T12:00:00Z")}}, Labels: []string{"feature"}},
			{ID: 802, IID: 2, Title: "Try", Author: "erin", Source: "try", Target: "main", State: "closed",
				Created: at("2026-03-17T10:00:00Z"), Updated: at("2026-03-17T11:00:00Z"), Closed: at("2026-03-17T11:00:00Z"), HeadSHA: sha(9)},
		},
		Pipelines: []gitlabfake.Pipeline{
			{ID: 501, IID: 1, Ref: "main", SHA: m1, Source: "push", Status: "success", Created: at("2026-03-16T13:00:00Z"), Updated: at("2026-03-16T13:20:00Z")},
			{ID: 502, IID: 2, Ref: "v1.0", Tag: true, SHA: m1, Source: "push", Status: "failed", Created: at("2026-03-16T14:00:00Z"), Updated: at("2026-03-16T14:05:00Z")},
		},
		Deployments: []gitlabfake.Deployment{
			{ID: 71, IID: 1, Ref: "main", SHA: m1, Status: "success", Environment: "production", JobID: 7001, By: "carol",
				Created: at("2026-03-16T13:25:00Z"), Started: at("2026-03-16T13:30:00Z"), Updated: at("2026-03-16T13:40:00Z")},
			{ID: 72, IID: 2, Ref: "main", SHA: d1, Status: "failed", Environment: "production", JobID: 7002, By: "dave",
				Created: at("2026-03-17T09:25:00Z"), Started: at("2026-03-17T09:30:00Z"), Updated: at("2026-03-17T09:35:00Z")},
			{ID: 73, IID: 3, Ref: "main", SHA: d1, Status: "success", Environment: "staging", JobID: 7003, By: "dave",
				Created: at("2026-03-17T09:10:00Z"), Started: at("2026-03-17T09:15:00Z"), Updated: at("2026-03-17T09:20:00Z")},
		},
		Environments: []gitlabfake.Environment{{ID: 1, Name: "production", Tier: "production"}, {ID: 2, Name: "staging", Tier: "staging"}},
		Issues: []gitlabfake.Issue{
			{ID: 905, IID: 5, Title: "Logins fail", State: "closed", Labels: []string{"incident", "severity::high"}, Author: "bob",
				Created: at("2026-03-17T09:40:00Z"), Updated: at("2026-03-17T10:10:00Z"), Closed: at("2026-03-17T10:10:00Z")},
			{ID: 906, IID: 6, Title: "Slow search", State: "opened", Type: "incident", Author: "bob",
				Created: at("2026-03-18T08:00:00Z"), Updated: at("2026-03-18T08:00:00Z")},
			{ID: 907, IID: 7, Title: "Typo", State: "opened", Labels: []string{"bug"}, Author: "bob",
				Created: at("2026-03-18T08:00:00Z"), Updated: at("2026-03-18T08:00:00Z")},
		},
	}
	return gitlabfake.Instance{Projects: []*gitlabfake.Project{p,
		{ID: 43, Path: "acme/old", Archived: true}, {ID: 44, Path: "other/x"}}}
}

var (
	since = at("2026-03-01T00:00:00Z")
	until = at("2026-03-22T00:00:00Z")
)

type fixture struct {
	api   *gitlabfake.API
	clock *githubapi.FakeClock
	tr    *githubapi.Transport
	pub   *backfilltest.Publisher
	state string
}

func newFixture(t *testing.T, inst gitlabfake.Instance) *fixture {
	t.Helper()
	return &fixture{api: gitlabfake.New(inst, "glpat-good"), clock: githubapi.NewFakeClock(until.Add(time.Hour)),
		pub: &backfilltest.Publisher{}, state: filepath.Join(t.TempDir(), "state.json")}
}

func (f *fixture) run(t *testing.T, token string, cfg Config) (backfill.Summary, error) {
	t.Helper()
	srv := httptest.NewServer(f.api)
	defer srv.Close()
	f.tr = &githubapi.Transport{Clock: f.clock}
	c, err := NewClient(token, srv.URL, f.tr)
	if err != nil {
		t.Fatal(err)
	}
	cps, err := backfill.OpenCheckpoints(f.state, "gitlab test", f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Client, cfg.Transport, cfg.Publisher, cfg.Checkpoints, cfg.Clock = c, f.tr, f.pub, cps, f.clock
	if cfg.Since.IsZero() {
		cfg.Since, cfg.Until = since, until
	}
	return Run(context.Background(), cfg)
}

// parsed runs every delivery through the webhook parser, as the aggregator
// does, and merges the facts.
func parsed(t *testing.T, ds []delivery.Delivery) facts.Batch {
	t.Helper()
	var all facts.Batch
	for _, d := range ds {
		if d.Source != glingest.Source || d.Key != "acme/api" {
			t.Errorf("delivery %s: source %q key %q", d.ID, d.Source, d.Key)
		}
		b, err := glingest.Parse(d.Event, d.Payload, glingest.Options{})
		if err != nil {
			t.Fatalf("delivery %s does not parse as a %s: %v", d.ID, d.Event, err)
		}
		all.Append(b)
	}
	return all
}

func TestImportBuildsTheWebhooksFacts(t *testing.T) {
	f := newFixture(t, history())
	sum, err := f.run(t, "glpat-good", Config{Group: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Repositories != 1 {
		t.Errorf("%d projects imported, want 1 (acme/old is archived, other/x is another group)", sum.Repositories)
	}
	b := parsed(t, f.pub.Deliveries())
	g0, f1, f2, m1, d1 := sha(0), sha(1), sha(2), sha(3), sha(4)

	type push struct {
		ref, before, after string
		commits            []string
	}
	var pushes []push
	for _, p := range b.Pushes {
		pushes = append(pushes, push{p.Ref, p.Before, p.After, p.CommitSHAs})
	}
	want := []push{
		{"refs/heads/main", g0, m1, []string{f1, f2, m1}},
		{"refs/heads/main", m1, d1, []string{d1}},
		{"refs/heads/feature/login", zeroSHA, f2, []string{f1, f2}},
	}
	if !slices.EqualFunc(pushes, want, func(a, b push) bool {
		return a.ref == b.ref && a.before == b.before && a.after == b.after && slices.Equal(a.commits, b.commits)
	}) {
		t.Errorf("pushes\n got %v\nwant %v", pushes, want)
	}
	paths := map[string][]string{}
	authored := map[string]time.Time{}
	for _, c := range b.Commits {
		paths[c.SHA] = c.Paths
		authored[c.SHA] = c.AuthoredAt
	}
	if got := paths[m1]; !slices.Equal(got, []string{"auth/login.go", "auth/check.go"}) {
		t.Errorf("merge commit paths %v, want the merge request's auth/login.go and auth/check.go", got)
	}
	if got := paths[d1]; !slices.Equal(got, []string{"docs/ops.md", "docs/old.md"}) {
		t.Errorf("direct commit paths %v, want docs/ops.md and docs/old.md", got)
	}
	if !authored[f1].Equal(at("2026-03-16T10:00:00Z")) {
		t.Errorf("f1 authored %v, want Mon 10:00", authored[f1])
	}

	// MR !1: open (author alice), approved by bob at 12:00, merged 13:00
	// with m1; MR !2 closed at 11:00.
	var merged, closed *facts.PullRequest
	authors := map[int64]string{}
	for i := range b.PullRequests {
		pr := &b.PullRequests[i]
		if pr.Author != "" {
			authors[pr.Number] = pr.Author
		}
		switch {
		case pr.Number == 1 && pr.Merged:
			merged = pr
		case pr.Number == 2 && pr.State == "closed":
			closed = pr
		}
	}
	if merged == nil || merged.MergeCommitSHA != m1 || !merged.MergedAt.Equal(at("2026-03-16T13:00:00Z")) ||
		!merged.CreatedAt.Equal(at("2026-03-16T11:30:00Z")) || merged.HeadRef != "feature/login" || merged.BaseRef != "main" {
		t.Errorf("merged request: %+v", merged)
	}
	if authors[1] != "alice" || authors[2] != "erin" {
		t.Errorf("authors %v, want !1 alice and !2 erin (from the open hooks)", authors)
	}
	if closed == nil || closed.Merged || !closed.ClosedAt.Equal(at("2026-03-17T11:00:00Z")) {
		t.Errorf("closed request: %+v", closed)
	}
	if len(b.Reviews) != 1 || b.Reviews[0].Author != "bob" || !b.Reviews[0].SubmittedAt.Equal(at("2026-03-16T12:00:00Z")) ||
		b.Reviews[0].PRNumber != 1 || b.Reviews[0].ReviewID != gitlabfake.UserID("bob") {
		t.Errorf("reviews %+v, want bob's approval of !1 at 12:00", b.Reviews)
	}

	runs := map[string]facts.PipelineRun{}
	for _, r := range b.PipelineRuns {
		runs[r.ID] = r
	}
	if r := runs["501"]; r.Conclusion != "success" || r.Path != "ci/main.yml" || r.HeadBranch != "main" ||
		!r.FinishedAt.Equal(at("2026-03-16T13:20:00Z")) || !r.StartedAt.Equal(at("2026-03-16T13:00:00Z")) {
		t.Errorf("pipeline 501: %+v", r)
	}
	if r := runs["502"]; r.Conclusion != "failure" || r.HeadBranch != "refs/tags/v1.0" {
		t.Errorf("pipeline 502 (a tag's): %+v", r)
	}

	type status struct {
		dep, state string
		at         time.Time
		prod       bool
	}
	prod := map[string]bool{}
	for _, d := range b.Deployments {
		prod[d.ID] = d.ProductionEnvironment
		if d.ID == "71" && d.SHA != m1 {
			t.Errorf("deployment 71 SHA %s, want m1 %s (from the commit URL)", d.SHA, m1)
		}
	}
	var statuses []status
	for _, s := range b.DeploymentStatuses {
		statuses = append(statuses, status{s.DeploymentID, s.State, s.CreatedAt, prod[s.DeploymentID]})
	}
	wantStatuses := []status{
		{"71", "in_progress", at("2026-03-16T13:30:00Z"), true}, {"71", "success", at("2026-03-16T13:40:00Z"), true},
		{"73", "in_progress", at("2026-03-17T09:15:00Z"), false}, {"73", "success", at("2026-03-17T09:20:00Z"), false},
		{"72", "in_progress", at("2026-03-17T09:30:00Z"), true}, {"72", "failure", at("2026-03-17T09:35:00Z"), true},
	}
	if !slices.EqualFunc(statuses, wantStatuses, func(a, b status) bool {
		return a.dep == b.dep && a.state == b.state && a.at.Equal(b.at) && a.prod == b.prod
	}) {
		t.Errorf("deployment statuses\n got %v\nwant %v", statuses, wantStatuses)
	}

	incidents := map[string]facts.Incident{}
	for _, i := range b.Incidents {
		incidents[i.ID] = i
	}
	if len(incidents) != 2 {
		t.Errorf("incidents %v, want #5 and #6", incidents)
	}
	if i := incidents["acme/api#5"]; i.State != "resolved" || !i.ResolvedAt.Equal(at("2026-03-17T10:10:00Z")) || i.Severity != "high" {
		t.Errorf("incident #5: %+v", i)
	}
	if i := incidents["acme/api#6"]; i.State != "open" || !i.CreatedAt.Equal(at("2026-03-18T08:00:00Z")) {
		t.Errorf("incident #6 (of type incident): %+v", i)
	}

	// Calls: group list, events, commits, merge requests, !1's approvals,
	// commits and diffs, d1's diff; tag pipelines and pipelines;
	// deployments and environments; two issue lists.
	if sum.Calls != 14 {
		_, routes := f.api.Calls()
		t.Errorf("%d API calls, want 14: %v", sum.Calls, routes)
	}
	if sum.Deliveries != len(f.pub.Deliveries()) || sum.Kinds[eventMergeRequest] != 5 || sum.Kinds[eventPush] != 3 {
		t.Errorf("summary %+v", sum)
	}
}

// TestRerunPublishesTheSameIDs: a second import of the same history, from
// scratch, publishes exactly the same delivery ids.
func TestRerunPublishesTheSameIDs(t *testing.T) {
	f := newFixture(t, history())
	if _, err := f.run(t, "glpat-good", Config{Projects: []string{"acme/api"}}); err != nil {
		t.Fatal(err)
	}
	first := f.pub.IDs()
	g := newFixture(t, history())
	g.clock = githubapi.NewFakeClock(until.Add(48 * time.Hour))
	if _, err := g.run(t, "glpat-good", Config{Projects: []string{"acme/api"}}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(first, g.pub.IDs()) {
		t.Errorf("ids differ between runs:\n%v\n%v", first, g.pub.IDs())
	}
	if len(first) != 18 || len(slices.Compact(slices.Clone(first))) != len(first) {
		t.Errorf("%d ids (%d distinct), want 18 distinct (3 pushes, 5 merge request hooks, 2 pipelines, 6 deployment statuses, 2 issues): %v", len(first), len(slices.Compact(slices.Clone(first))), first)
	}
}

// TestFaultsAreWaitedOut: GitLab's 429 with Retry-After is waited exactly
// as long as it says; a 429 with only RateLimit-Reset until one second past
// the reset; a 502 is retried after a backoff of 0.5 to 1 s. Nothing is
// lost: the deliveries equal a clean run's.
func TestFaultsAreWaitedOut(t *testing.T) {
	clean := newFixture(t, history())
	if _, err := clean.run(t, "glpat-good", Config{Group: "acme"}); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, history())
	reset := f.clock.Now().Add(90 * time.Second).Unix()
	f.api.Fail(
		gitlabfake.Fault{Match: "/merge_requests", Times: 1, Status: 429, Header: map[string]string{"Retry-After": "7"},
			Body: `{"message":"Retry later"}`},
		gitlabfake.Fault{Match: "/deployments", Times: 1, Status: 429, Header: map[string]string{"RateLimit-Reset": fmt.Sprint(reset)},
			Body: `{"message":"Retry later"}`},
		gitlabfake.Fault{Match: "/pipelines", Times: 1, Status: 502, Body: `<html>502 Bad Gateway</html>`},
	)
	sum, err := f.run(t, "glpat-good", Config{Group: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	slept := f.clock.Slept()
	if len(slept) != 3 || slept[0] != 7*time.Second || slept[1] < 500*time.Millisecond || slept[1] > time.Second {
		t.Fatalf("slept %v, want 7s, then 0.5-1s, then until the reset", slept)
	}
	// The reset wait started after 7 s and the backoff had passed.
	if want := time.Unix(reset, 0).Add(time.Second).Sub(until.Add(time.Hour).Add(7*time.Second + slept[1])); slept[2] != want {
		t.Errorf("waited %v for RateLimit-Reset, want %v", slept[2], want)
	}
	if sum.RateWaited != 7*time.Second+slept[2] || sum.Retries != 3 {
		t.Errorf("summary waited %v with %d retries, want %v and 3", sum.RateWaited, sum.Retries, 7*time.Second+slept[2])
	}
	if !slices.Equal(f.pub.IDs(), clean.pub.IDs()) {
		t.Errorf("deliveries differ from a clean run's")
	}
}

// TestTruncatedPageAdvancesNothing: a page cut in the middle fails the
// import with a message saying so; the kind it was reading is not
// checkpointed, nothing of it is published, and a rerun completes with the
// same deliveries as a clean run and skips the kinds done before.
func TestTruncatedPageAdvancesNothing(t *testing.T) {
	clean := newFixture(t, history())
	if _, err := clean.run(t, "glpat-good", Config{Group: "acme"}); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, history())
	f.api.Fail(gitlabfake.Fault{Match: "/deployments", Times: 1, Truncate: true})
	_, err := f.run(t, "glpat-good", Config{Group: "acme"})
	if err == nil || !strings.Contains(err.Error(), "not complete JSON") || !strings.Contains(err.Error(), "deployments of acme/api") {
		t.Fatalf("error %v, want one naming the truncated deployments page", err)
	}
	for _, d := range f.pub.Deliveries() {
		if d.Event == eventDeployment {
			t.Errorf("published %s before the deployments were read whole", d.ID)
		}
	}
	cps, _ := backfill.OpenCheckpoints(f.state, "gitlab test", f.clock.Now())
	if cps.Get("acme/api", KindDeployments).Done || !cps.Get("acme/api", KindPipelines).Done {
		t.Errorf("checkpoints: deployments done=%v, pipelines done=%v; want false and true",
			cps.Get("acme/api", KindDeployments).Done, cps.Get("acme/api", KindPipelines).Done)
	}
	before, _ := f.api.Calls()
	sum, err := f.run(t, "glpat-good", Config{Group: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Skipped != 2 {
		t.Errorf("rerun skipped %d kinds, want 2 (changes, pipelines)", sum.Skipped)
	}
	after, _ := f.api.Calls()
	if after-before != 5 { // group, deployments, environments, two issue lists
		t.Errorf("rerun made %d calls, want 5", after-before)
	}
	got := slices.Compact(f.pub.IDs())
	if !slices.Equal(got, clean.pub.IDs()) {
		t.Errorf("after the rerun the deliveries are\n%v\nwant\n%v", got, clean.pub.IDs())
	}
}

func TestBadInputIsNamed(t *testing.T) {
	cases := []struct {
		name, token string
		noScope     bool
		cfg         Config
		want        []string
	}{
		{"token without read_api", "glpat-good", true, Config{Group: "acme"}, []string{"read_api", "insufficient_scope", TokenEnv}},
		{"revoked token", "glpat-revoked", false, Config{Group: "acme"}, []string{"401", "revoked", TokenEnv}},
		{"unknown group", "glpat-good", false, Config{Group: "nobody"}, []string{"group nobody", "404"}},
		{"unknown project", "glpat-good", false, Config{Projects: []string{"acme/nothing"}}, []string{"acme/nothing", "404"}},
		{"project without group", "glpat-good", false, Config{Projects: []string{"api"}}, []string{`"api" is not group/name`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, history())
			f.api.NoReadAPI = c.noScope
			_, err := f.run(t, c.token, c.cfg)
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), c.token) {
				t.Errorf("error %q shows the token", err)
			}
			if len(f.pub.Deliveries()) != 0 {
				t.Errorf("%d deliveries published", len(f.pub.Deliveries()))
			}
		})
	}
}

// TestPagesAreFollowed: 230 incidents come in three pages of 100.
func TestPagesAreFollowed(t *testing.T) {
	inst := history()
	p := inst.Projects[0]
	for i := range 230 {
		c := at("2026-03-10T00:00:00Z").Add(time.Duration(i) * time.Minute)
		p.Issues = append(p.Issues, gitlabfake.Issue{ID: int64(10000 + i), IID: int64(100 + i), Title: "x", State: "opened",
			Labels: []string{"incident"}, Author: "bob", Created: c, Updated: c})
	}
	f := newFixture(t, inst)
	sum, err := f.run(t, "glpat-good", Config{Projects: []string{"acme/api"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := sum.Kinds[eventIssue]; got != 232 {
		t.Errorf("%d issue hooks, want 230 + #5 + #6", got)
	}
	if _, routes := f.api.Calls(); routes["projects/:id/issues"] != 4 {
		t.Errorf("%d issue list calls, want 3 pages of the label list and 1 of the incident type", routes["projects/:id/issues"])
	}
}

// TestApprovalsNotServed: an instance that answers 404 for a merge
// request's approvals (a tier without them) imports everything else.
func TestApprovalsNotServed(t *testing.T) {
	f := newFixture(t, history())
	f.api.Fail(gitlabfake.Fault{Match: "/approvals", Times: 1, Status: 404, Body: `{"message":"404 Not found"}`})
	sum, err := f.run(t, "glpat-good", Config{Group: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if b := parsed(t, f.pub.Deliveries()); len(b.Reviews) != 0 || sum.Kinds[eventMergeRequest] != 4 {
		t.Errorf("reviews %v and %d merge request hooks, want none and 4 (no approval hook)", b.Reviews, sum.Kinds[eventMergeRequest])
	}
}

// TestJobsWhenAsked: with Jobs set, the project's jobs of the period (the
// list read until one older than the period) come as Job Hooks; without
// it, the jobs are not read.
func TestJobsWhenAsked(t *testing.T) {
	inst := history()
	inst.Projects[0].Jobs = []gitlabfake.Job{
		{ID: 6001, PipelineID: 501, Name: "build", Stage: "build", Ref: "main", SHA: sha(3), Status: "success", By: "carol",
			Created: at("2026-02-27T13:00:00Z"), Started: at("2026-02-27T13:01:00Z"), Finished: at("2026-02-27T13:05:00Z")},
		{ID: 6002, PipelineID: 501, Name: "deploy-production", Stage: "deploy", Ref: "main", SHA: sha(3), Status: "success", By: "carol",
			Created: at("2026-03-16T13:10:00Z"), Started: at("2026-03-16T13:11:00Z"), Finished: at("2026-03-16T13:18:00Z")},
		{ID: 6003, PipelineID: 502, Name: "deploy-production", Stage: "deploy", Ref: "v1.0", Tag: true, SHA: sha(3), Status: "failed",
			By: "carol", Created: at("2026-03-16T14:01:00Z"), Started: at("2026-03-16T14:02:00Z"), Finished: at("2026-03-16T14:04:00Z")},
	}
	f := newFixture(t, inst)
	if _, err := f.run(t, "glpat-good", Config{Group: "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, routes := f.api.Calls(); routes["projects/:id/jobs"] != 0 {
		t.Errorf("jobs read without being asked for")
	}
	g := newFixture(t, inst)
	if _, err := g.run(t, "glpat-good", Config{Group: "acme", Jobs: true}); err != nil {
		t.Fatal(err)
	}
	runs := map[string]facts.PipelineRun{}
	for _, r := range parsed(t, g.pub.Deliveries()).PipelineRuns {
		runs[r.ID] = r
	}
	if _, ok := runs["job/6001"]; ok {
		t.Errorf("job 6001 of February imported")
	}
	if r := runs["job/6002"]; r.Name != "deploy-production" || r.Conclusion != "success" || r.HeadBranch != "main" || r.HeadSHA != sha(3) ||
		!r.StartedAt.Equal(at("2026-03-16T13:11:00Z")) || !r.FinishedAt.Equal(at("2026-03-16T13:18:00Z")) {
		t.Errorf("job 6002: %+v", r)
	}
	if r := runs["job/6003"]; r.Conclusion != "failure" || r.HeadBranch != "refs/tags/v1.0" {
		t.Errorf("job 6003: %+v", r)
	}
}
