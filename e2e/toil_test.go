package e2e

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/doraflow/doraflow/api"
	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/metrics"
	"github.com/doraflow/doraflow/report"
	"github.com/doraflow/doraflow/simulate"
)

func toilCatalog() catalog.Catalog {
	return catalog.Catalog{Services: []catalog.Service{
		{Name: "shop", Team: "web", Repos: []string{"acme/shop"}},
		{Name: "api", Team: "core", Repos: []string{"acme/api"}},
		{Name: "etl", Team: "data", Repos: []string{"acme/etl"}},
		{Name: "infra", Team: "ops", Repos: []string{"acme/infra"}},
	}}
}

// toilHistory is 2026-Q3 of four teams, every time UTC. Worked out:
//
// Changes merged in the quarter (active time: first commit → merge, at
// least 30 minutes, so a direct commit counts 1800 s):
//
//	acme/shop  PR #1  alice  label infra         09:00 → 13:00 07-06   14400 s  toil (label:infra)
//	acme/shop  PR #2  alice  product             07-07 10:00 → 07-08 10:00  86400 s
//	acme/shop  c3     alice  "ci: cache modules" direct 07-08 15:00  1800 s  toil (commit-type:ci)
//	acme/api   c5     bob    "build: use distroless base" direct 07-08 09:00  1800 s  toil (commit-type:build)
//	acme/api   PR #5  nina   product             07-13 10:00 → 07-14 10:00  86400 s
//	acme/etl   c6     carl   "Speed up CI" (only .github/workflows/ci.yml) 07-10 09:00  1800 s  toil (paths)
//	acme/etl   PR #12 nora   product             08-03 10:00 → 08-05 10:00  172800 s
//	acme/infra PR #9  dependabot[bot]            07-20 08:00 → 09:00   3600 s  toil (bot)
//	acme/infra PR #10 dora   product             07-21 09:00 → 17:00  28800 s
//
//	web 16200 of 102600 s (2 of 3), core 1800 of 88200 (1 of 2), data 1800
//	of 174600 (1 of 2), ops 3600 of 32400 (1 of 2); organisation 23400 of
//	397800 s = 5.88 %, 5 of 9 changes by count. Toil hours 6.5 → USD 650;
//	nothing reclaimable (15 % of 397800 s is more than 23400 s).
//
// CI (completed attempts finished in the quarter): shop 5001#1 success
// 600 s, 5002#1 failure 360 s re-run as 5002#2 success 480 s, 5003#1
// cancelled 240 s; api 6001#1 success 300 s re-run as 6001#2 success 300 s;
// etl 7001#1 failure 06-30 23:50 → 07-01 00:05 (900 s, finished in the
// quarter); 7002#1 finished 10-01 00:10 (after it). CI 3180 s, lost 360 +
// 240 + 300 + 900 = 1800 s (failed 1500, re-run 660).
//
// Incidents: acme/shop #40 07-09 10:30 → 12:00 (5400 s), acme/api #41 08-10
// 00:00 → 03:00 (10800 s): 4.5 h.
//
// Onboarding: the history starts with alice's commit of 03-02 09:00 (new
// contributors from 04-01 09:00); bob, carl and dora committed in March.
// nina: first commit 07-13 10:00, PR #5 in production 07-15 09:20 → 170400
// s; nora: 08-03 10:00 → 08-20 10:30 = 1470600 s; dependabot[bot] is a bot.
// Median 820500 s (9.5 days).
//
// Reinvented: .github/workflows/ci.yml changed in acme/shop (07-08),
// acme/api (07-08) and acme/etl (07-10), all in ISO week 2026-W28: CI in 3
// repositories, once the same path in 3 repositories; a Dockerfile in
// acme/api; Terraform in acme/shop (infra/alarms.tf) and acme/infra.
//
// Scorecard: toil 5.9 % no; 4 teams deployed (> 3) yes; onboarding 9.5
// days no; CI in 3 repositories yes → 2 yeses: the inflection point.
func toilHistory() []simulate.Delivery {
	b := simulate.NewBuilder("toil-q3")
	at := mustTime
	for _, c := range []struct{ repo, who, when string }{
		{"acme/shop", "alice", "2026-03-02T09:00:00Z"}, {"acme/api", "bob", "2026-03-20T09:00:00Z"},
		{"acme/etl", "carl", "2026-03-21T09:00:00Z"}, {"acme/infra", "dora", "2026-03-22T09:00:00Z"},
	} {
		b.Push(c.repo, "main", at(c.when).Add(5*time.Minute), b.NewCommit(c.who, "Initial commit", at(c.when), "README.md"))
	}
	deploy := func(repo string, id int64, created string, minutes int) {
		start := at(created)
		b.Deploy(repo, simulate.Deployment{ID: id, SHA: b.Head(repo, "main"), Environment: "production", CreatedAt: start,
			FinishedAt: start.Add(time.Duration(minutes) * time.Minute), State: "success"})
	}
	// pr plays a squash-merged pull request: the branch commit, opened,
	// merged (the squash commit pushed to main).
	pr := func(repo string, n int64, author, title string, labels []string, first, opened, merged string, paths ...string) {
		branch := fmt.Sprintf("feature/%d", n)
		c := b.NewCommit(author, title, at(first), paths...)
		b.Push(repo, branch, at(first).Add(5*time.Minute), c)
		p := simulate.PR{Number: n, Title: title, Author: author, Labels: labels, HeadRef: branch, HeadSHA: c.SHA,
			CreatedAt: at(opened)}
		b.PullRequest("opened", repo, p)
		sq := b.NewCommit(author, fmt.Sprintf("%s (#%d)", title, n), at(merged), paths...)
		b.Push(repo, "main", at(merged), sq)
		p.MergedAt, p.MergeCommitSHA = at(merged), sq.SHA
		b.PullRequest("closed", repo, p)
	}
	direct := func(repo, author, title, when string, paths ...string) {
		b.Push(repo, "main", at(when).Add(5*time.Minute), b.NewCommit(author, title, at(when), paths...))
	}
	run := func(repo string, id, attempt int64, conclusion, start string, secs int) {
		s := at(start)
		b.Run(repo, simulate.WorkflowRun{ID: id, Attempt: attempt, Name: "CI", Path: ".github/workflows/ci.yml", Branch: "main",
			SHA: b.Head(repo, "main"), Event: "push", Conclusion: conclusion, StartedAt: s, FinishedAt: s.Add(time.Duration(secs) * time.Second)})
	}
	incident := func(repo string, n int64, created, resolved string) {
		in := simulate.Incident{Number: n, Title: "Elevated errors", Labels: []string{"incident"}, CreatedAt: at(created)}
		b.Issue("opened", repo, in)
		in.ResolvedAt = at(resolved)
		b.Issue("closed", repo, in)
	}

	run("acme/etl", 7001, 1, "failure", "2026-06-30T23:50:00Z", 900)
	pr("acme/shop", 1, "alice", "Move alarms to Terraform", []string{"infra"}, "2026-07-06T09:00:00Z", "2026-07-06T09:30:00Z",
		"2026-07-06T13:00:00Z", "infra/alarms.tf", "src/alarms.go")
	run("acme/shop", 5001, 1, "success", "2026-07-06T09:06:00Z", 600)
	deploy("acme/shop", 101, "2026-07-06T14:00:00Z", 10)
	pr("acme/shop", 2, "alice", "Add order export", nil, "2026-07-07T10:00:00Z", "2026-07-07T10:30:00Z", "2026-07-08T10:00:00Z",
		"src/export.go", "src/export_test.go")
	run("acme/shop", 5002, 1, "failure", "2026-07-07T10:06:00Z", 360)
	run("acme/shop", 5002, 2, "success", "2026-07-07T10:30:00Z", 480)
	direct("acme/api", "bob", "build: use distroless base", "2026-07-08T09:00:00Z", ".github/workflows/ci.yml", "Dockerfile")
	deploy("acme/shop", 102, "2026-07-08T11:00:00Z", 10)
	direct("acme/shop", "alice", "ci: cache modules", "2026-07-08T15:00:00Z", ".github/workflows/ci.yml")
	run("acme/shop", 5003, 1, "cancelled", "2026-07-08T15:06:00Z", 240)
	deploy("acme/shop", 103, "2026-07-09T10:00:00Z", 5)
	incident("acme/shop", 40, "2026-07-09T10:30:00Z", "2026-07-09T12:00:00Z")
	deploy("acme/api", 200, "2026-07-09T12:00:00Z", 10)
	direct("acme/etl", "carl", "Speed up CI", "2026-07-10T09:00:00Z", ".github/workflows/ci.yml")
	deploy("acme/etl", 301, "2026-07-10T12:00:00Z", 5)
	pr("acme/api", 5, "nina", "Validate order ids", nil, "2026-07-13T10:00:00Z", "2026-07-13T11:00:00Z", "2026-07-14T10:00:00Z",
		"src/handler.go")
	run("acme/api", 6001, 1, "success", "2026-07-13T10:06:00Z", 300)
	run("acme/api", 6001, 2, "success", "2026-07-13T10:20:00Z", 300)
	deploy("acme/api", 201, "2026-07-15T09:00:00Z", 20)
	pr("acme/infra", 9, "dependabot[bot]", "Bump hashicorp/aws from 5.0.0 to 5.1.0", nil, "2026-07-20T08:00:00Z",
		"2026-07-20T08:02:00Z", "2026-07-20T09:00:00Z", "versions.tf")
	deploy("acme/infra", 401, "2026-07-20T10:00:00Z", 10)
	pr("acme/infra", 10, "dora", "Document runbooks", nil, "2026-07-21T09:00:00Z", "2026-07-21T09:30:00Z", "2026-07-21T17:00:00Z",
		"docs/runbook.md")
	deploy("acme/infra", 402, "2026-07-22T10:00:00Z", 10)
	pr("acme/etl", 12, "nora", "Add the nightly job", nil, "2026-08-03T10:00:00Z", "2026-08-03T11:00:00Z", "2026-08-05T10:00:00Z",
		"etl/job.py")
	incident("acme/api", 41, "2026-08-10T00:00:00Z", "2026-08-10T03:00:00Z")
	deploy("acme/etl", 302, "2026-08-20T10:00:00Z", 30)
	run("acme/etl", 7002, 1, "failure", "2026-09-30T23:55:00Z", 900)
	return b.Deliveries()
}

type toilAnswer struct {
	Results []metrics.ToilResult    `json:"results"`
	Series  []metrics.ToilSeriesRow `json:"series"`
}

func closeTo(t *testing.T, what string, got *float64, want float64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s = null, want %v", what, want)
		return
	}
	if math.Abs(*got-want) > 1e-6*math.Max(1, math.Abs(want)) {
		t.Errorf("%s = %v, want %v", what, *got, want)
	}
}

var q3 = url.Values{"from": {"2026-07-01T00:00:00Z"}, "to": {"2026-10-01T00:00:00Z"}}

func with(v url.Values, kv ...string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = vs
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out.Set(kv[i], kv[i+1])
	}
	return out
}

// TestToilHandWorked posts toilHistory through the pipeline and checks the
// toil numbers, the drill-down, onboarding, reinvented wheels, the
// scorecard, the cost and the quarterly report against the values worked
// out there.
func TestToilHandWorked(t *testing.T) {
	p := startPipeline(t, toilCatalog())
	p.post(t, toilHistory())
	p.settle(t)

	var teams toilAnswer
	p.get(t, "/api/v1/toil", with(q3, "group_by", "team"), &teams)
	want := map[string][4]uint64{ // changes, toil changes, active, toil active
		"web": {3, 2, 102600, 16200}, "core": {2, 1, 88200, 1800}, "data": {2, 1, 174600, 1800}, "ops": {2, 1, 32400, 3600},
	}
	if len(teams.Results) != 4 {
		t.Fatalf("teams %+v", teams.Results)
	}
	for _, r := range teams.Results {
		w := want[r.Team]
		if [4]uint64{r.Changes, r.ToilChanges, r.ActiveSeconds, r.ToilActiveSeconds} != w {
			t.Errorf("team %s: changes %d, toil %d, active %d, toil active %d; want %v", r.Team, r.Changes, r.ToilChanges,
				r.ActiveSeconds, r.ToilActiveSeconds, w)
		}
		closeTo(t, r.Team+" share by time", r.ShareByActiveTime, float64(w[3])/float64(w[2]))
		closeTo(t, r.Team+" share by count", r.ShareByCount, float64(w[1])/float64(w[0]))
	}

	var org toilAnswer
	p.get(t, "/api/v1/toil", with(q3, "group_by", "organization", "bucket", "month"), &org)
	o := org.Results[0]
	closeTo(t, "organisation share by time", o.ShareByActiveTime, 23400.0/397800)
	closeTo(t, "organisation share by count", o.ShareByCount, 5.0/9)
	wantRules := []metrics.ToilRule{{Rule: "label", Changes: 1, ActiveSeconds: 14400},
		{Rule: "commit-type", Changes: 2, ActiveSeconds: 3600}, {Rule: "bot", Changes: 1, ActiveSeconds: 3600},
		{Rule: "paths", Changes: 1, ActiveSeconds: 1800}}
	if fmt.Sprint(o.ByRule) != fmt.Sprint(wantRules) {
		t.Errorf("by rule %+v, want %+v", o.ByRule, wantRules)
	}
	pipe := o.Pipeline
	if pipe.CISeconds != 3180 || pipe.LostSeconds != 1800 || pipe.FailedSeconds != 1500 || pipe.RerunSeconds != 660 ||
		pipe.Attempts != 7 || pipe.Runs != 5 || pipe.LostAttempts != 4 {
		t.Errorf("pipeline %+v", pipe)
	}
	closeTo(t, "pipeline toil share", pipe.LostShare, 1800.0/3180)
	if o.Interrupts.Incidents != 2 || o.Interrupts.IncidentSeconds != 16200 {
		t.Errorf("interrupts %+v", o.Interrupts)
	}
	closeTo(t, "toil hours", &o.Cost.ToilHours, 6.5)
	closeTo(t, "cost", &o.Cost.Cost, 650)
	closeTo(t, "reclaimable", &o.Cost.ReclaimableHours, 0)
	closeTo(t, "CI minutes lost", &o.Cost.PipelineLostMinutes, 30)
	closeTo(t, "incident hours", &o.Cost.IncidentHours, 4.5)
	// By month: July has everything but PR #12 and incident #41.
	if len(org.Series) != 3 || org.Series[0].Changes != 8 || org.Series[0].ToilActiveSeconds != 23400 ||
		org.Series[1].Changes != 1 || org.Series[1].Interrupts.IncidentSeconds != 10800 || org.Series[2].Changes != 0 {
		t.Errorf("monthly series %+v", org.Series)
	}
	closeTo(t, "July cost", &org.Series[0].Cost.Cost, 650)

	var changes struct {
		Rows []metrics.ToilChangeRow `json:"rows"`
	}
	p.get(t, "/api/v1/toil/changes", with(q3, "toil", "true"), &changes)
	var reasons []string
	for _, r := range changes.Rows {
		reasons = append(reasons, r.Repo+" "+r.ChangeID+" "+r.ToilReason)
	}
	sort.Strings(reasons)
	if len(reasons) != 5 || !strings.HasPrefix(reasons[0], "acme/api ") || !strings.HasSuffix(reasons[0], "commit-type:build") ||
		!strings.HasSuffix(reasons[1], "paths:1/1 .github/workflows/**") || reasons[2] != "acme/infra pr/9 bot:dependabot[bot]" ||
		!strings.HasSuffix(reasons[3], "commit-type:ci") || reasons[4] != "acme/shop pr/1 label:infra" {
		t.Errorf("toil changes: %q", reasons)
	}
	var all struct {
		Rows []metrics.ToilChangeRow `json:"rows"`
	}
	p.get(t, "/api/v1/toil/changes", q3, &all)
	if len(all.Rows) != 9 || all.Rows[0].ChangeID != "pr/1" || !all.Rows[4].ToilBool || all.Rows[5].ToilBool {
		t.Errorf("all changes, toil first: %+v", all.Rows)
	}

	var ob api.OnboardingResponse
	p.get(t, "/api/v1/toil/onboarding", with(q3, "group_by", "team", "bucket", "quarter"), &ob)
	if ob.HistoryStart == nil || *ob.HistoryStart != "2026-03-02T09:00:00Z" || len(ob.Contributors) != 2 ||
		ob.Contributors[0].Login != "nina" || ob.Contributors[0].Team != "core" || *ob.Contributors[0].OnboardingSeconds != 170400 ||
		ob.Contributors[1].Login != "nora" || ob.Contributors[1].Team != "data" || *ob.Contributors[1].OnboardingSeconds != 1470600 {
		t.Errorf("onboarding %+v", ob)
	}
	closeTo(t, "onboarding median", ob.Overall.MedianSeconds, 820500)
	if len(ob.Groups) != 2 || ob.Groups[0].Team != "core" || ob.Groups[0].Bucket != "2026-07-01T00:00:00Z" {
		t.Errorf("onboarding groups %+v", ob.Groups)
	}

	var re api.ReinventedResponse
	p.get(t, "/api/v1/toil/reinvented", q3, &re)
	counts := map[string]int{}
	for _, k := range re.Kinds {
		counts[k.Kind] = k.RepoCount
	}
	if re.ActiveRepos != 4 || fmt.Sprint(counts) != "map[ci:3 docker:1 kubernetes:0 terraform:2]" ||
		re.Kinds[0].SamePathCount != 1 || re.Kinds[0].SamePath[0].Week != "2026-W28" {
		t.Errorf("reinvented %+v", re)
	}

	var sc api.ScorecardResponse
	p.get(t, "/api/v1/toil/scorecard", url.Values{"quarter": {"2026-Q3"}}, &sc)
	var answers []string
	for _, q := range sc.Questions {
		answers = append(answers, q.ID+"="+q.Answer)
	}
	if strings.Join(answers, " ") != "toil_share=no teams_deploying=yes onboarding=no reinvented=yes" || sc.Yes != 2 ||
		!sc.InflectionPoint || sc.Verdict != metrics.VerdictInflection {
		t.Errorf("scorecard %v %+v", answers, sc)
	}
	closeTo(t, "teams deploying", sc.Questions[1].Value, 4)

	// The report carries the same numbers.
	var rep report.Report
	p.get(t, "/api/v1/reports/quarterly", url.Values{"quarter": {"2026-Q3"}}, &rep)
	closeTo(t, "report share", rep.Toil.Organization.ShareByActiveTime, 23400.0/397800)
	closeTo(t, "report cost", &rep.Cost.Quarter.Cost, 650)
	closeTo(t, "report onboarding", rep.Onboarding.Overall.MedianSeconds, 820500)
	if rep.Scorecard.Yes != 2 || len(rep.DORA.Teams) != 4 || rep.DORA.Organization.Current.Deployments != 9 ||
		len(rep.Cost.Months) != 3 || rep.Cost.Months[0].Month != "2026-07" {
		t.Errorf("report %+v", rep)
	}
	md := getText(t, p, "/api/v1/reports/quarterly", url.Values{"quarter": {"2026-Q3"}, "format": {"md"}})
	for _, w := range []string{"| **Organisation** | 5.9 % | 55.6 % | 5 of 9 | 6.5 h | USD 650 | 30 min (56.6 %) | 4.5 h |",
		"nina (core, 47.3 h)", "**Verdict: inflection point: a platform team pays for itself**", "2026-W28: .github/workflows/ci.yml changed in 3 repositories"} {
		if !strings.Contains(md, w) {
			t.Errorf("the Markdown report lacks %q", w)
		}
	}
}

func getText(t *testing.T, p *pipeline, path string, q url.Values) string {
	t.Helper()
	resp, err := http.Get(p.APIURL + path + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", path, resp.Status, b)
	}
	return string(b)
}
