package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/doraflow/doraflow/api"
	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/metrics"
	"github.com/doraflow/doraflow/store/storetest"
)

// toilFixture serves the API over a small quarter: acme/shop (service
// shop, team web) with two changes in July 2026, pr/1 toil (label:infra,
// 3600 s active) and pr/2 product (10800 s), a failed CI attempt of 600 s
// re-run for 900 s, and an incident of 7200 s; the hourly rate is EUR 80.
func toilFixture(t *testing.T) *fixture {
	t.Helper()
	st := storetest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	change := func(id, reason string, active int64, merged string) facts.ChangeLead {
		c := facts.ChangeLead{Repo: "acme/shop", ID: id, Kind: facts.KindPullRequest, Title: "change " + id, Author: "alice",
			MergedAt: at(merged), ActiveSeconds: active, Toil: reason != "", ToilReason: reason,
			DeploymentID: "d1", DeployedAt: at("2026-07-20T12:00:00Z"), Environment: "production"}
		c.StartedAt = c.MergedAt.Add(-time.Duration(active) * time.Second)
		return c
	}
	err := st.WriteDerived(ctx, map[string]facts.Derived{"acme/shop": {
		Deployments: []facts.DeploymentOutcome{{Repo: "acme/shop", DeploymentID: "d1", Origin: "deployment",
			Environment: "production", Production: true, FinishedAt: at("2026-07-20T12:00:00Z"), Changes: 2}},
		Changes: []facts.ChangeLead{change("pr/1", "label:infra", 3600, "2026-07-10T10:00:00Z"),
			change("pr/2", "", 10800, "2026-07-12T10:00:00Z")},
		Incidents: []facts.IncidentLink{{Source: "github", IncidentID: "acme/shop#9", Repo: "acme/shop",
			CreatedAt: at("2026-07-21T10:00:00Z"), ResolvedAt: at("2026-07-21T12:00:00Z"), Link: facts.LinkNone}},
	}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	runs := []facts.PipelineRun{
		{Repo: "acme/shop", ID: "7", Attempt: 1, Status: "completed", Conclusion: "failure",
			StartedAt: at("2026-07-10T09:00:00Z"), FinishedAt: at("2026-07-10T09:10:00Z"), UpdatedAt: at("2026-07-10T09:10:00Z")},
		{Repo: "acme/shop", ID: "7", Attempt: 2, Status: "completed", Conclusion: "success",
			StartedAt: at("2026-07-10T09:20:00Z"), FinishedAt: at("2026-07-10T09:35:00Z"), UpdatedAt: at("2026-07-10T09:35:00Z")},
	}
	commits := []facts.Commit{
		{Repo: "acme/shop", SHA: "c1", AuthorLogin: "alice", AuthoredAt: at("2026-01-02T10:00:00Z"), Paths: []string{"Dockerfile"}},
		{Repo: "acme/shop", SHA: "c2", AuthorLogin: "alice", AuthoredAt: at("2026-07-09T10:00:00Z"), Paths: []string{"Dockerfile"}},
	}
	if err := st.WriteFacts(ctx, facts.Batch{PipelineRuns: runs, Commits: commits}); err != nil {
		t.Fatal(err)
	}
	cat := catalog.Catalog{Services: []catalog.Service{{Name: "shop", Team: "web", Repos: []string{"acme/shop"}}}}
	e, err := metrics.New(st.Conn(), func() catalog.Catalog { return cat }, metrics.Options{TimeZone: "UTC", QueryTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s := metrics.DefaultToilSettings()
	s.HourlyRate, s.Currency = 80, "EUR"
	if err := e.SetToilSettings(s); err != nil {
		t.Fatal(err)
	}
	f := &fixture{}
	h := api.New(api.Config{Metrics: e, Tokens: []string{token}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Catalog: func() catalog.Catalog { return cat },
		Now:     func() time.Time { return time.Date(2026, 10, 5, 9, 0, 0, 0, time.UTC) }})
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

const july = "from=2026-07-01T00:00:00Z&to=2026-08-01T00:00:00Z"

func TestToilEndpoint(t *testing.T) {
	f := toilFixture(t)
	var got api.ToilResponse
	if err := json.Unmarshal(f.getJSON(t, "/api/v1/toil?"+july+"&group_by=team&bucket=week", 200), &got); err != nil {
		t.Fatal(err)
	}
	if got.Settings.Currency != "EUR" || got.Settings.HourlyRate != 80 || got.GroupBy != "team" || got.Bucket != "week" {
		t.Errorf("echo group_by %q bucket %q settings %+v", got.GroupBy, got.Bucket, got.Settings)
	}
	if len(got.Results) != 1 {
		t.Fatalf("results %+v", got.Results)
	}
	w := got.Results[0]
	if w.Team != "web" || w.Changes != 2 || w.ToilChanges != 1 || *w.ShareByActiveTime != 0.25 || *w.ShareByCount != 0.5 ||
		w.Pipeline.CISeconds != 1500 || w.Pipeline.LostSeconds != 600 || w.Interrupts.IncidentSeconds != 7200 ||
		w.Cost.Cost != 80 || w.Cost.Currency != "EUR" {
		t.Errorf("web %+v", w)
	}
	// July 2026 starts on a Wednesday: ISO weeks of June 29 to July 27.
	if len(got.Series) != 5 || got.Series[0].Bucket != "2026-06-29T00:00:00Z" || got.Series[1].Changes != 2 ||
		got.Series[1].Pipeline.Attempts != 2 {
		t.Errorf("weekly series %+v", got.Series)
	}
	raw := string(f.getJSON(t, "/api/v1/toil?"+july, 200))
	if strings.Contains(raw, `"series"`) || !strings.Contains(raw, `"share_by_active_time":0.25`) {
		t.Errorf("summary without a bucket: %s", raw)
	}
	f.getJSON(t, "/api/v1/toil?"+july+"&bucket=year", 400)
}

func TestToilDrillDowns(t *testing.T) {
	f := toilFixture(t)
	var changes struct {
		Rows []metrics.ToilChangeRow `json:"rows"`
	}
	if err := json.Unmarshal(f.getJSON(t, "/api/v1/toil/changes?"+july+"&toil=true", 200), &changes); err != nil {
		t.Fatal(err)
	}
	if len(changes.Rows) != 1 || changes.Rows[0].ChangeID != "pr/1" || changes.Rows[0].ToilRule != "label" {
		t.Errorf("toil changes %+v", changes.Rows)
	}
	f.getJSON(t, "/api/v1/toil/changes?"+july+"&toil=maybe", 400)

	var ob api.OnboardingResponse
	if err := json.Unmarshal(f.getJSON(t, "/api/v1/toil/onboarding?"+july, 200), &ob); err != nil {
		t.Fatal(err)
	}
	if ob.HistoryStart == nil || *ob.HistoryStart != "2026-01-02T10:00:00Z" || ob.Overall.NewContributors != 0 {
		t.Errorf("onboarding %+v", ob)
	}
	var re api.ReinventedResponse
	if err := json.Unmarshal(f.getJSON(t, "/api/v1/toil/reinvented?"+july, 200), &re); err != nil {
		t.Fatal(err)
	}
	if re.ActiveRepos != 1 || re.Kinds[1].Kind != "docker" || re.Kinds[1].RepoCount != 1 {
		t.Errorf("reinvented %+v", re)
	}
	var sc api.ScorecardResponse
	if err := json.Unmarshal(f.getJSON(t, "/api/v1/toil/scorecard?quarter=2026-Q3", 200), &sc); err != nil {
		t.Fatal(err)
	}
	if sc.Quarter != "2026-Q3" || sc.From != "2026-07-01T00:00:00Z" || sc.To != "2026-10-01T00:00:00Z" || len(sc.Questions) != 4 ||
		sc.Questions[0].Answer != "no" || sc.Yes != 0 {
		t.Errorf("scorecard %+v", sc)
	}
	f.getJSON(t, "/api/v1/toil/scorecard?quarter=2026-Q9", 400)
}

func TestQuarterlyReportEndpoint(t *testing.T) {
	f := toilFixture(t)
	var rep struct {
		Quarter string `json:"quarter"`
		Toil    struct {
			Organization metrics.ToilResult `json:"organization"`
		} `json:"toil"`
		ExecutiveSummary []string `json:"executive_summary"`
	}
	if err := json.Unmarshal(f.getJSON(t, "/api/v1/reports/quarterly?quarter=2026-Q3", 200), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Quarter != "2026-Q3" || rep.Toil.Organization.Changes != 2 || len(rep.ExecutiveSummary) < 3 {
		t.Errorf("report %+v", rep)
	}
	for format, ct := range map[string]string{"md": "text/markdown", "html": "text/html"} {
		status, h, body := f.get(t, "/api/v1/reports/quarterly?quarter=2026-Q3&format="+format, token)
		if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), ct) || !strings.Contains(string(body), "Platform investment review 2026-Q3") {
			t.Errorf("%s: %d %s %.200s", format, status, h.Get("Content-Type"), body)
		}
	}
	f.getJSON(t, "/api/v1/reports/quarterly?quarter=2026-Q3&format=pdf", 400)
	f.getJSON(t, "/api/v1/reports/quarterly?quarter=2027-Q1", 400) // not started yet
	if status, _, _ := f.get(t, "/api/v1/reports/quarterly?quarter=2026-Q3", ""); status != 401 {
		t.Errorf("no token: %d", status)
	}
}
