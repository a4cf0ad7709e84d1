package metrics_test

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/metrics"
	"github.com/doraflow/doraflow/store/storetest"
)

// The toil scenario, in UTC, over the third quarter of 2026
// [2026-07-01, 2026-10-01):
//
//	catalog: shop (acme/shop, team web), api (acme/api, team core),
//	         etl (acme/etl, team data); acme/misc is in no entry.
//
//	changes (merged in the range unless said):
//	  acme/shop pr/1  toil label:infra        active  7200  merged 07-10  deployed 07-11
//	  acme/shop pr/2  product                  active 10800  merged 07-12  deployed 07-13
//	  acme/shop pr/3  toil paths:2/2 **/*.tf   active  3600  merged 08-05  not deployed
//	  acme/shop pr/0  toil label:ci            active  5000  merged 06-20  (before the range)
//	  acme/api  c1    toil commit-type:ci      active  1800  merged 07-20 10:00 deployed 07-21 10:00 (dave)
//	  acme/api  pr/7  product                  active 18000  merged 07-08 09:00 deployed 07-08 12:00 (carol)
//	  → shop 2 of 3 toil, 10800 of 21600 s; api 1 of 2, 1800 of 19800 s;
//	    organisation 3 of 5 (0.6), 12600 of 41400 s (0.304…).
//
//	pipeline runs, acme/shop:
//	  100#1 success 600 s; 101#1 failure 360 s, 101#2 success 480 s;
//	  102#1 cancelled 240 s; 103#1 success 300 s re-run as 103#2 success 300 s;
//	  104#1 failure finished 06-30 (before the range); 105#1 in progress.
//	  → ci 2280 s, lost 360 + 240 + 300 = 900 s (failed 600, re-run 660),
//	    4 runs, 6 attempts, 3 lost.
//
//	incidents: acme/shop i1 07-05 10:00 → 12:30 (9000 s), i2 07-06 open;
//	           acme/api i3 08-01 00:00 → 01:00 (3600 s).
//
//	commits: alice 2026-01-10 (the start of the history, cutoff 02-09 with
//	  the 30-day grace), bob 02-01 (not new), frank 06-15 (new, before the
//	  range), Carol 07-06 10:00 on acme/api (in production 07-08 12:00:
//	  180000 s), dave 07-20 10:00 on acme/api (c1 in production 07-21 10:00:
//	  86400 s), erin 09-25 on acme/etl (nothing in production),
//	  dependabot[bot] 07-15 (a bot). Median of new contributors: 133200 s.
//
//	infrastructure paths: .github/workflows/ci.yml in acme/shop 07-07,
//	  acme/api 07-08, acme/etl 07-09 (ISO week 2026-W28: three
//	  repositories); Dockerfile in acme/api and acme/shop; Terraform in
//	  acme/shop (infra/main.tf) and acme/misc; Kubernetes in acme/shop
//	  (deploy/prod/values.yaml) and acme/api (helm/api/values.yaml).
func toilCatalog() catalog.Catalog {
	return catalog.Catalog{Services: []catalog.Service{
		{Name: "shop", Team: "web", Repos: []string{"acme/shop"}},
		{Name: "api", Team: "core", Repos: []string{"acme/api"}},
		{Name: "etl", Team: "data", Repos: []string{"acme/etl"}},
	}}
}

var (
	toilFrom = time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	toilTo   = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
)

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func toilChange(repo, id, author, reason string, active int64, merged, deployed string) facts.ChangeLead {
	c := facts.ChangeLead{Repo: repo, ID: id, Kind: facts.KindPullRequest, Title: "change " + id, Author: author,
		MergedAt: ts(merged), ActiveSeconds: active, Toil: reason != "", ToilReason: reason}
	if !strings.HasPrefix(id, "pr/") {
		c.Kind = facts.KindCommit
	}
	c.StartedAt = c.MergedAt.Add(-time.Duration(active) * time.Second)
	if deployed != "" {
		c.DeploymentID, c.DeployedAt, c.Environment = "d-"+id, ts(deployed), "production"
	}
	return c
}

func toilDeployment(repo, id, finished string) facts.DeploymentOutcome {
	return facts.DeploymentOutcome{Repo: repo, DeploymentID: id, Origin: "deployment", Environment: "production",
		Production: true, FinishedAt: ts(finished), Changes: 1}
}

func run(repo, id string, attempt int64, conclusion, started string, secs int) facts.PipelineRun {
	r := facts.PipelineRun{Repo: repo, ID: id, Attempt: attempt, Name: "CI", Path: ".github/workflows/ci.yml",
		Status: "completed", Conclusion: conclusion, StartedAt: ts(started)}
	r.FinishedAt = r.StartedAt.Add(time.Duration(secs) * time.Second)
	r.UpdatedAt = r.FinishedAt
	return r
}

func commit(repo, sha, login, at string, paths ...string) facts.Commit {
	return facts.Commit{Repo: repo, SHA: sha, Message: "work", AuthorName: strings.ToUpper(login[:1]) + login[1:],
		AuthorEmail: login + "@example.com", AuthorLogin: login, AuthoredAt: ts(at), Paths: paths}
}

func toilEngine(t *testing.T) *metrics.ToilEngine {
	t.Helper()
	st := storetest.New(t)
	ctx := testCtx(t)
	derived := map[string]facts.Derived{
		"acme/shop": {
			Deployments: []facts.DeploymentOutcome{toilDeployment("acme/shop", "d-pr/1", "2026-07-11T10:00:00Z"),
				toilDeployment("acme/shop", "d-pr/2", "2026-07-13T10:00:00Z")},
			Changes: []facts.ChangeLead{
				toilChange("acme/shop", "pr/1", "alice", "label:infra", 7200, "2026-07-10T10:00:00Z", "2026-07-11T10:00:00Z"),
				toilChange("acme/shop", "pr/2", "bob", "", 10800, "2026-07-12T10:00:00Z", "2026-07-13T10:00:00Z"),
				toilChange("acme/shop", "pr/3", "alice", "paths:2/2 **/*.tf", 3600, "2026-08-05T10:00:00Z", ""),
				toilChange("acme/shop", "pr/0", "alice", "label:ci", 5000, "2026-06-20T10:00:00Z", "2026-06-21T10:00:00Z"),
			},
			Incidents: []facts.IncidentLink{
				{Source: "github", IncidentID: "acme/shop#1", Repo: "acme/shop", CreatedAt: ts("2026-07-05T10:00:00Z"),
					ResolvedAt: ts("2026-07-05T12:30:00Z"), Link: facts.LinkNone},
				{Source: "github", IncidentID: "acme/shop#2", Repo: "acme/shop", CreatedAt: ts("2026-07-06T10:00:00Z"), Link: facts.LinkNone},
			},
		},
		"acme/api": {
			Deployments: []facts.DeploymentOutcome{toilDeployment("acme/api", "d-pr/7", "2026-07-08T12:00:00Z"),
				toilDeployment("acme/api", "d-c1", "2026-07-21T10:00:00Z")},
			Changes: []facts.ChangeLead{
				toilChange("acme/api", "c1", "dave", "commit-type:ci", 1800, "2026-07-20T10:00:00Z", "2026-07-21T10:00:00Z"),
				toilChange("acme/api", "pr/7", "carol", "", 18000, "2026-07-08T09:00:00Z", "2026-07-08T12:00:00Z"),
			},
			Incidents: []facts.IncidentLink{
				{Source: "pagerduty", IncidentID: "P3", Repo: "acme/api", CreatedAt: ts("2026-08-01T00:00:00Z"),
					ResolvedAt: ts("2026-08-01T01:00:00Z"), Link: facts.LinkNone},
			},
		},
	}
	if err := st.WriteDerived(ctx, derived, 1); err != nil {
		t.Fatal(err)
	}
	in := run("acme/shop", "105", 1, "", "2026-07-05T10:00:00Z", 0)
	in.Status, in.FinishedAt = "in_progress", time.Time{}
	batch := facts.Batch{
		PipelineRuns: []facts.PipelineRun{
			run("acme/shop", "100", 1, "success", "2026-07-02T10:00:00Z", 600),
			run("acme/shop", "101", 1, "failure", "2026-07-03T10:00:00Z", 360),
			run("acme/shop", "101", 2, "success", "2026-07-03T10:20:00Z", 480),
			run("acme/shop", "102", 1, "cancelled", "2026-07-04T10:00:00Z", 240),
			run("acme/shop", "103", 1, "success", "2026-07-04T11:00:00Z", 300),
			run("acme/shop", "103", 2, "success", "2026-07-04T11:10:00Z", 300),
			run("acme/shop", "104", 1, "failure", "2026-06-30T23:50:00Z", 500),
			in,
		},
		Commits: []facts.Commit{
			commit("acme/shop", "a1", "alice", "2026-01-10T09:00:00Z", "README.md"),
			commit("acme/shop", "b1", "bob", "2026-02-01T09:00:00Z", "src/a.go"),
			commit("acme/shop", "f1", "frank", "2026-06-15T09:00:00Z", "src/b.go"),
			commit("acme/api", "c0", "Carol", "2026-07-06T10:00:00Z", "src/api.go"),
			commit("acme/api", "d1", "dave", "2026-07-20T10:00:00Z", ".github/workflows/release.yml"),
			commit("acme/etl", "e1", "erin", "2026-09-25T10:00:00Z", "etl.py"),
			commit("acme/shop", "bot1", "dependabot[bot]", "2026-07-15T10:00:00Z", "go.mod"),
			commit("acme/shop", "p1", "alice", "2026-07-07T10:00:00Z", ".github/workflows/ci.yml", "src/a.go"),
			commit("acme/api", "p2", "carol", "2026-07-08T08:00:00Z", ".github/workflows/ci.yml", "Dockerfile"),
			commit("acme/etl", "p3", "alice", "2026-07-09T10:00:00Z", ".github/workflows/ci.yml"),
			commit("acme/shop", "p4", "bob", "2026-07-20T10:00:00Z", "Dockerfile", "deploy/prod/values.yaml", "infra/main.tf"),
			commit("acme/misc", "p5", "bob", "2026-08-03T10:00:00Z", "terraform/x.tf"),
			commit("acme/api", "p6", "dave", "2026-09-01T10:00:00Z", "helm/api/values.yaml"),
		},
	}
	if err := st.WriteFacts(ctx, batch); err != nil {
		t.Fatal(err)
	}
	cat := toilCatalog()
	e, err := metrics.New(st.Conn(), func() catalog.Catalog { return cat }, metrics.Options{TimeZone: "UTC", QueryTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return e.Toil()
}

func q3(groupBy string) metrics.Query {
	return metrics.Query{From: toilFrom, To: toilTo, GroupBy: groupBy}
}

func closeTo(t *testing.T, what string, got *float64, want float64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s = null, want %v", what, want)
		return
	}
	if math.Abs(*got-want) > 1e-9 {
		t.Errorf("%s = %v, want %v", what, *got, want)
	}
}

func TestToilSummary(t *testing.T) {
	te := toilEngine(t)
	ctx := testCtx(t)

	org, err := te.Summary(ctx, q3(metrics.GroupByOrganization))
	if err != nil {
		t.Fatal(err)
	}
	if len(org) != 1 {
		t.Fatalf("organisation: %+v", org)
	}
	o := org[0]
	if o.Changes != 5 || o.ToilChanges != 3 || o.ActiveSeconds != 41400 || o.ToilActiveSeconds != 12600 {
		t.Errorf("organisation changes: %+v", o)
	}
	closeTo(t, "share by count", o.ShareByCount, 0.6)
	closeTo(t, "share by active time", o.ShareByActiveTime, 12600.0/41400)
	wantRules := []metrics.ToilRule{{Rule: "label", Changes: 1, ActiveSeconds: 7200},
		{Rule: "commit-type", Changes: 1, ActiveSeconds: 1800}, {Rule: "paths", Changes: 1, ActiveSeconds: 3600}}
	if !reflect.DeepEqual(o.ByRule, wantRules) {
		t.Errorf("by rule %+v, want %+v", o.ByRule, wantRules)
	}
	wantPipe := metrics.PipelineToil{Runs: 4, Attempts: 6, LostAttempts: 3, CISeconds: 2280, LostSeconds: 900,
		FailedSeconds: 600, RerunSeconds: 660}
	gotPipe := o.Pipeline
	closeTo(t, "pipeline lost share", gotPipe.LostShare, 900.0/2280)
	gotPipe.LostShare = nil
	if gotPipe != wantPipe {
		t.Errorf("pipeline %+v, want %+v", gotPipe, wantPipe)
	}
	if o.Interrupts != (metrics.InterruptToil{Incidents: 3, ResolvedIncidents: 2, IncidentSeconds: 12600, IncidentHours: 3.5}) {
		t.Errorf("interrupts %+v", o.Interrupts)
	}
	c := o.Cost
	if c.Currency != "USD" || c.HourlyRate != 100 || c.TargetShare != 0.15 {
		t.Errorf("cost settings %+v", c)
	}
	closeTo(t, "toil hours", &c.ToilHours, 3.5)
	closeTo(t, "cost", &c.Cost, 350)
	closeTo(t, "reclaimable hours", &c.ReclaimableHours, (12600-0.15*41400)/3600)
	closeTo(t, "reclaimable cost", &c.ReclaimableCost, (12600-0.15*41400)/36)
	closeTo(t, "pipeline lost minutes", &c.PipelineLostMinutes, 15)
	closeTo(t, "incident hours", &c.IncidentHours, 3.5)

	teams, err := te.Summary(ctx, q3(metrics.GroupByTeam))
	if err != nil {
		t.Fatal(err)
	}
	byTeam := map[string]metrics.ToilResult{}
	for _, r := range teams {
		byTeam[r.Team] = r
	}
	if len(teams) != 3 {
		t.Errorf("teams: %+v", teams)
	}
	closeTo(t, "web share by time", byTeam["web"].ShareByActiveTime, 0.5)
	closeTo(t, "web share by count", byTeam["web"].ShareByCount, 2.0/3)
	closeTo(t, "core share by time", byTeam["core"].ShareByActiveTime, 1800.0/19800)
	if byTeam["data"].ShareByActiveTime != nil || byTeam["data"].Changes != 0 || byTeam["data"].Pipeline.LostShare != nil {
		t.Errorf("data has no changes and no CI: %+v", byTeam["data"])
	}
	if byTeam["web"].Pipeline.CISeconds != 2280 || byTeam["core"].Interrupts.IncidentSeconds != 3600 {
		t.Errorf("attribution: web %+v core %+v", byTeam["web"].Pipeline, byTeam["core"].Interrupts)
	}

	// Filtered to one service.
	q := q3(metrics.GroupByService)
	q.Services = []string{"api"}
	svc, err := te.Summary(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(svc) != 1 || svc[0].Service != "api" || svc[0].Team != "core" || svc[0].Changes != 2 {
		t.Errorf("api only: %+v", svc)
	}
}

func TestToilSeries(t *testing.T) {
	te := toilEngine(t)
	rows, err := te.Series(testCtx(t), q3(metrics.GroupByOrganization), metrics.BucketMonth)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d monthly rows, want 3", len(rows))
	}
	// July: pr/1, pr/2, c1, pr/7 → toil 9000 of 37800 s; August: pr/3
	// only; September: nothing.
	if rows[0].Bucket != "2026-07-01T00:00:00Z" || rows[0].Changes != 4 || rows[0].ToilActiveSeconds != 9000 ||
		rows[0].ActiveSeconds != 37800 || rows[0].Pipeline.CISeconds != 2280 || rows[0].Interrupts.Incidents != 2 {
		t.Errorf("July %+v", rows[0])
	}
	if rows[1].Changes != 1 || rows[1].ToilChanges != 1 || rows[1].Interrupts.IncidentSeconds != 3600 {
		t.Errorf("August %+v", rows[1])
	}
	if rows[2].Changes != 0 || rows[2].ShareByActiveTime != nil || rows[2].Cost.Cost != 0 {
		t.Errorf("September %+v", rows[2])
	}
	if _, err := te.Series(testCtx(t), q3(""), "year"); err == nil {
		t.Error("a yearly bucket was accepted")
	}
}

func TestToilChanges(t *testing.T) {
	te := toilEngine(t)
	ctx := testCtx(t)
	rows, err := te.Changes(ctx, metrics.ListQuery{Query: q3("")})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range rows {
		ids = append(ids, r.ChangeID)
	}
	// Toil first, the largest effort first.
	if want := []string{"pr/1", "pr/3", "c1", "pr/7", "pr/2"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("changes %v, want %v", ids, want)
	}
	if rows[0].ToilRule != "label" || rows[0].ToilReason != "label:infra" || !rows[0].ToilBool || rows[0].Deployed == nil {
		t.Errorf("first row %+v", rows[0])
	}
	if rows[1].Deployed != nil {
		t.Errorf("pr/3 is not deployed: %+v", rows[1])
	}
	toilOnly, err := te.Changes(ctx, metrics.ListQuery{Query: q3(""), ToilOnly: true, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(toilOnly) != 2 || toilOnly[0].ChangeID != "pr/1" || toilOnly[1].ChangeID != "pr/3" {
		t.Errorf("toil only, 2 rows: %+v", toilOnly)
	}
}

func TestOnboarding(t *testing.T) {
	te := toilEngine(t)
	ctx := testCtx(t)
	ob, err := te.Onboarding(ctx, q3(metrics.GroupByTeam), metrics.BucketQuarter)
	if err != nil {
		t.Fatal(err)
	}
	if ob.HistoryStart == nil || *ob.HistoryStart != "2026-01-10T09:00:00Z" || ob.NewAfter == nil ||
		*ob.NewAfter != "2026-02-09T09:00:00Z" || ob.GraceSeconds != 30*86400 {
		t.Errorf("history %v, new after %v, grace %d", ob.HistoryStart, ob.NewAfter, ob.GraceSeconds)
	}
	var logins []string
	for _, c := range ob.Contributors {
		logins = append(logins, c.Login)
	}
	if want := []string{"carol", "dave", "erin"}; !reflect.DeepEqual(logins, want) {
		t.Fatalf("new contributors %v, want %v", logins, want)
	}
	carol := ob.Contributors[0]
	if carol.Team != "core" || carol.Repo != "acme/api" || carol.OnboardingSeconds == nil || *carol.OnboardingSeconds != 180000 ||
		*carol.FirstProductionAt != "2026-07-08T12:00:00Z" {
		t.Errorf("carol %+v", carol)
	}
	if ob.Contributors[2].OnboardingSeconds != nil || ob.Contributors[2].FirstProductionAt != nil {
		t.Errorf("erin has nothing in production: %+v", ob.Contributors[2])
	}
	if ob.Overall.NewContributors != 3 || ob.Overall.ReachedProduction != 2 {
		t.Errorf("overall %+v", ob.Overall)
	}
	closeTo(t, "overall median", ob.Overall.MedianSeconds, 133200)
	if len(ob.Groups) != 2 || ob.Groups[0].Team != "core" || ob.Groups[0].Bucket != "2026-07-01T00:00:00Z" ||
		ob.Groups[1].Team != "data" || ob.Groups[1].MedianSeconds != nil || ob.Groups[1].NewContributors != 1 {
		b, _ := json.Marshal(ob.Groups)
		t.Errorf("groups %s", b)
	}
	closeTo(t, "core median", ob.Groups[0].MedianSeconds, 133200)

	// A longer grace leaves only contributors after it.
	st := te.Settings()
	st.NewContributorGrace = 200 * 24 * time.Hour // history start + 200 days = 07-29
	te2, err := metrics.NewToilEngine(te.Metrics(), st)
	if err != nil {
		t.Fatal(err)
	}
	ob2, err := te2.Onboarding(ctx, q3(metrics.GroupByOrganization), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(ob2.Contributors) != 1 || ob2.Contributors[0].Login != "erin" || len(ob2.Groups) != 1 || ob2.Groups[0].Group != "organization" {
		t.Errorf("with a 200-day grace: %+v", ob2)
	}
}

func TestReinvented(t *testing.T) {
	te := toilEngine(t)
	re, err := te.Reinvented(testCtx(t), q3(""))
	if err != nil {
		t.Fatal(err)
	}
	if re.ActiveRepos != 4 || re.SamePathRepos != 3 || len(re.Kinds) != 4 {
		t.Fatalf("reinvented %+v", re)
	}
	want := map[string][]string{
		"ci":         {"acme/api", "acme/etl", "acme/shop"},
		"docker":     {"acme/api", "acme/shop"},
		"terraform":  {"acme/misc", "acme/shop"},
		"kubernetes": {"acme/api", "acme/shop"},
	}
	for _, k := range re.Kinds {
		if !reflect.DeepEqual(k.Repos, want[k.Kind]) || k.RepoCount != len(want[k.Kind]) {
			t.Errorf("%s kept in %v, want %v", k.Kind, k.Repos, want[k.Kind])
		}
	}
	ci := re.Kinds[0]
	if ci.Paths != 2 || ci.SamePathCount != 1 || len(ci.SamePath) != 1 {
		t.Fatalf("ci %+v", ci)
	}
	sp := ci.SamePath[0]
	if sp.Week != "2026-W28" || sp.WeekStart != "2026-07-06" || sp.Path != ".github/workflows/ci.yml" || sp.RepoCount != 3 {
		t.Errorf("same path %+v", sp)
	}
	if w := re.Widest(); w == nil || w.Kind != "ci" {
		t.Errorf("widest %+v", w)
	}
}

func TestScorecard(t *testing.T) {
	te := toilEngine(t)
	sc, err := te.Scorecard(testCtx(t), q3(""))
	if err != nil {
		t.Fatal(err)
	}
	answers := map[string]string{}
	for _, q := range sc.Questions {
		answers[q.ID] = q.Answer
	}
	// 30.4 % > 25 %: yes; 2 teams deployed (web, core), not more than 3:
	// no; median 37 h, not over 14 days: no; CI files in 3 repositories:
	// yes.
	want := map[string]string{metrics.QuestionToilShare: "yes", metrics.QuestionTeamsDeploying: "no",
		metrics.QuestionOnboarding: "no", metrics.QuestionReinvented: "yes"}
	if !reflect.DeepEqual(answers, want) {
		t.Errorf("answers %v, want %v", answers, want)
	}
	if sc.Yes != 2 || !sc.InflectionPoint || sc.Verdict != metrics.VerdictInflection {
		t.Errorf("verdict %+v", sc)
	}
	closeTo(t, "teams", sc.Questions[1].Value, 2)
	closeTo(t, "onboarding", sc.Questions[2].Value, 133200)
	closeTo(t, "reinvented", sc.Questions[3].Value, 3)
	if !strings.Contains(sc.Questions[3].Detail, "CI pipeline definitions in 3 of 4") {
		t.Errorf("reinvented detail %q", sc.Questions[3].Detail)
	}

	// No data at all: unknown answers, not yeses.
	empty := metrics.DefaultToilSettings().Scorecard(metrics.ToilResult{}, nil, metrics.Onboarding{}, metrics.Reinvented{})
	if empty.Yes != 0 || empty.InflectionPoint || empty.Questions[0].Answer != metrics.AnswerUnknown ||
		empty.Questions[1].Answer != metrics.AnswerNo || empty.Questions[2].Answer != metrics.AnswerUnknown ||
		empty.Questions[3].Answer != metrics.AnswerUnknown {
		t.Errorf("empty scorecard %+v", empty)
	}
}

func TestToilSettings(t *testing.T) {
	s := metrics.DefaultToilSettings()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path, kind string
	}{
		{".github/workflows/ci.yml", "ci"}, {".gitlab-ci.yml", "ci"}, {"Jenkinsfile", "ci"}, {".circleci/config.yml", "ci"},
		{"Dockerfile", "docker"}, {"build/Dockerfile.dev", "docker"}, {"infra/main.tf", "terraform"},
		{"terragrunt.hcl", "terraform"}, {"charts/api/values.yaml", "kubernetes"}, {"deploy/prod/app.yaml", "kubernetes"},
		{"deploy/run.sh", ""}, {"src/main.go", ""},
	} {
		if got := s.KindOf(c.path); got != c.kind {
			t.Errorf("KindOf(%q) = %q, want %q", c.path, got, c.kind)
		}
	}
	for _, bad := range []func(*metrics.ToilSettings){
		func(s *metrics.ToilSettings) { s.TargetShare = 1 },
		func(s *metrics.ToilSettings) { s.HourlyRate = -1 },
		func(s *metrics.ToilSettings) { s.Currency = "" },
		func(s *metrics.ToilSettings) { s.SamePathRepos = 1 },
		func(s *metrics.ToilSettings) { s.InfraKinds = nil },
		func(s *metrics.ToilSettings) { s.InfraKinds = append(s.InfraKinds, s.InfraKinds[0]) },
	} {
		s := metrics.DefaultToilSettings()
		bad(&s)
		if s.Validate() == nil {
			t.Errorf("accepted %+v", s)
		}
	}
	// Cost with no excess over the target: nothing reclaimable.
	c := metrics.DefaultToilSettings().Cost(1000, 10000, 120, 7200)
	if c.ToilHours != 1000.0/3600 || c.ReclaimableHours != 0 || c.PipelineLostMinutes != 2 || c.IncidentHours != 2 {
		t.Errorf("cost %+v", c)
	}
}
