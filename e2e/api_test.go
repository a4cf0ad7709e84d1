package e2e

// The API over real ClickHouse: the HTTP layer with the metrics and toil
// engines of the metrics package reading a fresh database, on the
// metricstest scenario and on a small toil quarter. The API's own tests
// (package api) run on a fake engine; these check that the numbers the
// engines compute reach the answers unchanged, and validate the real
// answers against the OpenAPI document.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doraflow/doraflow/api"
	"github.com/doraflow/doraflow/api/apitest"
	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/metrics"
	"github.com/doraflow/doraflow/metrics/metricstest"
	"github.com/doraflow/doraflow/store/storetest"
)

const apiToken = "s3cret-token"

// apiFixture is the API over ClickHouse; ready, when it holds an error,
// fails the readiness check.
type apiFixture struct {
	apitest.Server
	ready *atomic.Value // errBox
}

type errBox struct{ err error }

// newAPIFixture serves the API over the metricstest scenario in a fresh
// database.
func newAPIFixture(t *testing.T) *apiFixture {
	t.Helper()
	st := storetest.New(t)
	metricstest.Load(t, st)
	cat := metricstest.Catalog()
	e, err := metrics.New(st.Conn(), func() catalog.Catalog { return cat }, metrics.Options{TimeZone: metricstest.Zone, QueryTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	f := &apiFixture{ready: &atomic.Value{}}
	f.ready.Store(errBox{})
	h := api.New(api.Config{
		Metrics: e,
		Tokens:  []string{apiToken},
		Ready: func(ctx context.Context) error {
			if err := f.ready.Load().(errBox).err; err != nil {
				return err
			}
			return st.Ping(ctx)
		},
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		Catalog: func() catalog.Catalog { return cat },
		Now:     func() time.Time { return time.Date(2026, 2, 10, 12, 30, 15, 500e6, time.UTC) },
	})
	f.Server = apitest.Server{Server: httptest.NewServer(h), Token: apiToken}
	t.Cleanup(f.Close)
	return f
}

// The summary range in both accepted forms: RFC 3339 with an offset and
// epoch milliseconds.
var (
	fromParam = url.QueryEscape("2026-01-05T00:00:00+01:00")
	toParam   = strconv.FormatInt(metricstest.To.UnixMilli(), 10)
)

func TestAPIDora(t *testing.T) {
	f := newAPIFixture(t)

	t.Run("organization", func(t *testing.T) {
		body := f.GetJSON(t, "/api/v1/dora?from="+fromParam+"&to="+toParam+"&group_by=organization", http.StatusOK)
		metricstest.AssertJSON(t, body, `{
		  "from": "2026-01-05T00:00:00+01:00", "from_ms": 1767567600000,
		  "to": "2026-02-02T00:00:00+01:00", "to_ms": 1769986800000,
		  "benchmark": "2023", "group_by": "organization", "time_zone": "Europe/Berlin",
		  "services": [], "teams": [], "environment": "",
		  "results": [`+metricstest.OrganizationJSON+`]}`)
	})

	t.Run("by service", func(t *testing.T) {
		body := f.GetJSON(t, "/api/v1/dora?from="+fromParam+"&to="+toParam, http.StatusOK)
		var resp struct {
			GroupBy string            `json:"group_by"`
			Results []json.RawMessage `json:"results"`
		}
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatal(err)
		}
		if resp.GroupBy != "service" || len(resp.Results) != 3 {
			t.Fatalf("group_by %q with %d results: %s", resp.GroupBy, len(resp.Results), body)
		}
		metricstest.AssertJSON(t, resp.Results[0], metricstest.LegacyJSON)
		metricstest.AssertJSON(t, resp.Results[1], metricstest.CheckoutJSON)
		metricstest.AssertJSON(t, resp.Results[2], metricstest.SearchJSON)
	})

	t.Run("service list, repeated and comma separated", func(t *testing.T) {
		for _, q := range []string{"&service=checkout,search", "&service=search&service=checkout", "&team=payments&team=discovery"} {
			body := f.GetJSON(t, "/api/v1/dora?from="+fromParam+"&to="+toParam+q, http.StatusOK)
			var resp struct {
				Results []json.RawMessage `json:"results"`
			}
			if err := json.Unmarshal(body, &resp); err != nil {
				t.Fatal(err)
			}
			if len(resp.Results) != 2 {
				t.Fatalf("%s: %d results, want checkout and search: %s", q, len(resp.Results), body)
			}
			metricstest.AssertJSON(t, resp.Results[0], metricstest.CheckoutJSON)
			metricstest.AssertJSON(t, resp.Results[1], metricstest.SearchJSON)
		}
	})

	t.Run("environment and benchmark", func(t *testing.T) {
		// checkout in "production" only: 6 deployments, 3 failed (see the
		// metrics tests); under 2021 weekly 1 < 5, monthly 2 ≥ 1 → high,
		// lead 9000 s → high, 50 % → low, restore 5400 s → high.
		body := f.GetJSON(t, "/api/v1/dora?from="+fromParam+"&to="+toParam+"&service=checkout&environment=production&benchmark=2021", http.StatusOK)
		var resp api.DoraResponse
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatal(err)
		}
		if resp.Benchmark != "2021" || resp.Environment != "production" || len(resp.Results) != 1 {
			t.Fatalf("response %s", body)
		}
		r := resp.Results[0]
		if r.Deployments != 6 || r.FailedDeployments != 3 || *r.ChangeFailureRate != 0.5 || *r.LeadTime.Median != 9000 {
			t.Errorf("checkout in production: %+v", r)
		}
		want := metrics.Levels{DeploymentFrequency: metrics.High, LeadTime: metrics.High, ChangeFailureRate: metrics.Low, RecoveryTime: metrics.High, Overall: metrics.Low}
		if r.Level != want {
			t.Errorf("levels %+v, want %+v", r.Level, want)
		}
	})

	t.Run("series by week per service", func(t *testing.T) {
		body := f.GetJSON(t, "/api/v1/dora/series?from="+fromParam+"&to="+toParam+"&bucket=week&service=search", http.StatusOK)
		var resp api.SeriesResponse
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatal(err)
		}
		if resp.Bucket != "week" || len(resp.Rows) != 4 {
			t.Fatalf("response %s", body)
		}
		if r := resp.Rows[0]; r.Bucket != "2026-01-05T00:00:00+01:00" || r.BucketMs != 1767567600000 || r.Deployments != 3 || r.Service != "search" {
			t.Errorf("first week %+v", r)
		}
		if r := resp.Rows[3]; r.Bucket != "2026-01-26T00:00:00+01:00" || r.Deployments != 0 || r.ChangeFailureRate != nil {
			t.Errorf("last week %+v", r)
		}
	})

	t.Run("bad parameters", func(t *testing.T) {
		// The engine's own refusals; the API's tests check the rest of the
		// parameters on a fake that resolves queries by the engine's rules.
		cases := []struct{ path, param string }{
			{"/api/v1/dora/series?bucket=year", "bucket"},
			{"/api/v1/dora/series?bucket=day&from=2000-01-01T00:00:00Z", "bucket"},
			{"/api/v1/toil?bucket=fortnight", "bucket"},
		}
		for _, c := range cases {
			body := f.GetJSON(t, c.path, http.StatusBadRequest)
			var e struct{ Error, Param, Reason string }
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatal(err)
			}
			if e.Error != "bad_request" || e.Param != c.param || e.Reason == "" {
				t.Errorf("%s: %s, want a bad_request for %s with a reason", c.path, body, c.param)
			}
		}
	})
}

// TestAPIUnknownNamesAnswerEmpty: a service or team the catalog does not
// know, with no data, gets no invented zero row (the note that says why is
// the API's, checked in its own tests).
func TestAPIUnknownNamesAnswerEmpty(t *testing.T) {
	f := newAPIFixture(t)
	rangeQ := "from=" + fromParam + "&to=" + toParam
	for _, path := range []string{
		"/api/v1/dora?" + rangeQ + "&service=nosuch",
		"/api/v1/dora?" + rangeQ + "&service=nosuch&group_by=organization",
		"/api/v1/dora?" + rangeQ + "&team=nosuch&group_by=team",
		"/api/v1/dora/series?" + rangeQ + "&team=nosuch",
		"/api/v1/toil?" + rangeQ + "&service=nosuch",
	} {
		var resp struct {
			Results []json.RawMessage `json:"results"`
			Rows    []json.RawMessage `json:"rows"`
		}
		if err := json.Unmarshal(f.GetJSON(t, path, http.StatusOK), &resp); err != nil {
			t.Fatal(err)
		}
		if len(resp.Results)+len(resp.Rows) != 0 {
			t.Errorf("%s: %d results and %d rows, want none", path, len(resp.Results), len(resp.Rows))
		}
	}
}

// toilAPIFixture serves the API over a small quarter: acme/shop (service
// shop, team web) with two changes in July 2026, pr/1 toil (label:infra,
// 3600 s active) and pr/2 product (10800 s), a failed CI attempt of 600 s
// re-run for 900 s, and an incident of 7200 s; the hourly rate is EUR 80.
func toilAPIFixture(t *testing.T) *apiFixture {
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
	h := api.New(api.Config{Metrics: e, Tokens: []string{apiToken}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Catalog: func() catalog.Catalog { return cat },
		Now:     func() time.Time { return time.Date(2026, 10, 5, 9, 0, 0, 0, time.UTC) }})
	f := &apiFixture{Server: apitest.Server{Server: httptest.NewServer(h), Token: apiToken}}
	t.Cleanup(f.Close)
	return f
}

const july = "from=2026-07-01T00:00:00Z&to=2026-08-01T00:00:00Z"

func TestAPIToilEndpoint(t *testing.T) {
	f := toilAPIFixture(t)
	var got api.ToilResponse
	if err := json.Unmarshal(f.GetJSON(t, "/api/v1/toil?"+july+"&group_by=team&bucket=week", 200), &got); err != nil {
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
	raw := string(f.GetJSON(t, "/api/v1/toil?"+july, 200))
	if strings.Contains(raw, `"series"`) || !strings.Contains(raw, `"share_by_active_time":0.25`) {
		t.Errorf("summary without a bucket: %s", raw)
	}
	f.GetJSON(t, "/api/v1/toil?"+july+"&bucket=year", 400)
}

func TestAPIToilDrillDowns(t *testing.T) {
	f := toilAPIFixture(t)
	var changes struct {
		Rows []metrics.ToilChangeRow `json:"rows"`
	}
	if err := json.Unmarshal(f.GetJSON(t, "/api/v1/toil/changes?"+july+"&toil=true", 200), &changes); err != nil {
		t.Fatal(err)
	}
	if len(changes.Rows) != 1 || changes.Rows[0].ChangeID != "pr/1" || changes.Rows[0].ToilRule != "label" {
		t.Errorf("toil changes %+v", changes.Rows)
	}
	f.GetJSON(t, "/api/v1/toil/changes?"+july+"&toil=maybe", 400)

	var ob api.OnboardingResponse
	if err := json.Unmarshal(f.GetJSON(t, "/api/v1/toil/onboarding?"+july, 200), &ob); err != nil {
		t.Fatal(err)
	}
	if ob.HistoryStart == nil || *ob.HistoryStart != "2026-01-02T10:00:00Z" || ob.Overall.NewContributors != 0 {
		t.Errorf("onboarding %+v", ob)
	}
	var re api.ReinventedResponse
	if err := json.Unmarshal(f.GetJSON(t, "/api/v1/toil/reinvented?"+july, 200), &re); err != nil {
		t.Fatal(err)
	}
	if re.ActiveRepos != 1 || re.Kinds[1].Kind != "docker" || re.Kinds[1].RepoCount != 1 {
		t.Errorf("reinvented %+v", re)
	}
	var sc api.ScorecardResponse
	if err := json.Unmarshal(f.GetJSON(t, "/api/v1/toil/scorecard?quarter=2026-Q3", 200), &sc); err != nil {
		t.Fatal(err)
	}
	if sc.Quarter != "2026-Q3" || sc.From != "2026-07-01T00:00:00Z" || sc.To != "2026-10-01T00:00:00Z" || len(sc.Questions) != 4 ||
		sc.Questions[0].Answer != "no" || sc.Yes != 0 {
		t.Errorf("scorecard %+v", sc)
	}
	f.GetJSON(t, "/api/v1/toil/scorecard?quarter=2026-Q9", 400)
}

func TestAPIQuarterlyReportEndpoint(t *testing.T) {
	f := toilAPIFixture(t)
	var rep struct {
		Quarter string `json:"quarter"`
		Toil    struct {
			Organization metrics.ToilResult `json:"organization"`
		} `json:"toil"`
		ExecutiveSummary []string `json:"executive_summary"`
	}
	if err := json.Unmarshal(f.GetJSON(t, "/api/v1/reports/quarterly?quarter=2026-Q3", 200), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Quarter != "2026-Q3" || rep.Toil.Organization.Changes != 2 || len(rep.ExecutiveSummary) < 3 {
		t.Errorf("report %+v", rep)
	}
	for format, ct := range map[string]string{"md": "text/markdown", "html": "text/html"} {
		status, h, body := f.Get(t, "/api/v1/reports/quarterly?quarter=2026-Q3&format="+format, apiToken)
		if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), ct) || !strings.Contains(string(body), "Platform investment review 2026-Q3") {
			t.Errorf("%s: %d %s %.200s", format, status, h.Get("Content-Type"), body)
		}
	}
	f.GetJSON(t, "/api/v1/reports/quarterly?quarter=2026-Q3&format=pdf", 400)
	f.GetJSON(t, "/api/v1/reports/quarterly?quarter=2027-Q1", 400) // not started yet
	if status, _, _ := f.Get(t, "/api/v1/reports/quarterly?quarter=2026-Q3", ""); status != 401 {
		t.Errorf("no token: %d", status)
	}
}

// TestOpenAPIMatchesRealResponses validates real answers of every endpoint,
// and of every error they give, over real ClickHouse with data.
func TestOpenAPIMatchesRealResponses(t *testing.T) {
	t.Run("DORA", func(t *testing.T) {
		f := newAPIFixture(t)
		f.Validate(t, apitest.DoraExchanges("from="+fromParam+"&to="+toParam))
		f.ready.Store(errBox{errors.New("ClickHouse is away")})
		f.Validate(t, []apitest.Exchange{{Path: "/readyz", Status: 503}})
	})
	t.Run("toil", func(t *testing.T) {
		f := toilAPIFixture(t)
		f.Validate(t, apitest.ToilExchanges("from=2026-07-01T00:00:00Z&to=2026-10-01T00:00:00Z", "2026-Q3"))
	})
}
