package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/doraflow/doraflow/api"
	"github.com/doraflow/doraflow/api/apitest"
	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/metrics"
	"github.com/doraflow/doraflow/metrics/metricstest"
)

const token = "s3cret-token"

type fixture struct {
	apitest.Server
	engine   *fakeEngine
	ready    *atomic.Value // error or nil
	registry *prometheus.Registry
	logs     *bytes.Buffer
}

// newFixture serves the API over a fake engine holding the metricstest
// scenario's numbers, with the given tokens.
func newFixture(t *testing.T, tokens []string) *fixture {
	t.Helper()
	cat := metricstest.Catalog()
	e := newFakeEngine(t)
	f := &fixture{engine: e, ready: &atomic.Value{}, registry: prometheus.NewRegistry(), logs: &bytes.Buffer{}}
	f.ready.Store(errBox{})
	h := api.New(api.Config{
		Metrics: e,
		Toil:    fakeToil{e},
		Tokens:  tokens,
		Ready: func(ctx context.Context) error {
			return f.ready.Load().(errBox).err
		},
		Registry: f.registry,
		Logger:   slog.New(slog.NewTextHandler(f.logs, nil)),
		Catalog:  func() catalog.Catalog { return cat },
		Now:      func() time.Time { return time.Date(2026, 2, 10, 12, 30, 15, 500e6, time.UTC) },
	})
	f.Server = apitest.Server{Server: httptest.NewServer(h), Token: token}
	t.Cleanup(f.Close)
	return f
}

type errBox struct{ err error }

// The summary range in both accepted forms: RFC 3339 with an offset and
// epoch milliseconds.
var (
	fromParam = url.QueryEscape("2026-01-05T00:00:00+01:00")
	toParam   = strconv.FormatInt(metricstest.To.UnixMilli(), 10)
)

// TestDora checks what the API adds to the engine: the query it asks
// (parsed, defaulted and resolved by the engine's rules), the echo, and
// the engine's answer passed on unchanged.
func TestDora(t *testing.T) {
	f := newFixture(t, []string{"other-token", token})
	results := f.engine.results
	from := time.Date(2026, 1, 4, 23, 0, 0, 0, time.UTC)

	t.Run("organization", func(t *testing.T) {
		var org []metrics.Result
		if err := json.Unmarshal([]byte("["+metricstest.OrganizationJSON+"]"), &org); err != nil {
			t.Fatal(err)
		}
		f.engine.results = org
		defer func() { f.engine.results = results }()
		body := f.GetJSON(t, "/api/v1/dora?from="+fromParam+"&to="+toParam+"&group_by=organization", http.StatusOK)
		metricstest.AssertJSON(t, body, `{
		  "from": "2026-01-05T00:00:00+01:00", "from_ms": 1767567600000,
		  "to": "2026-02-02T00:00:00+01:00", "to_ms": 1769986800000,
		  "benchmark": "2023", "group_by": "organization", "time_zone": "Europe/Berlin",
		  "services": [], "teams": [], "environment": "",
		  "results": [`+metricstest.OrganizationJSON+`]}`)
		q, _ := f.engine.last(t)
		want := metrics.Query{From: from, To: metricstest.To, GroupBy: "organization", TimeZone: "Europe/Berlin", Benchmark: "2023"}
		if !reflect.DeepEqual(q, want) {
			t.Errorf("asked %+v, want %+v", q, want)
		}
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
		if q, _ := f.engine.last(t); q.GroupBy != "service" {
			t.Errorf("asked group_by %q, want service", q.GroupBy)
		}
	})

	t.Run("service list, repeated and comma separated", func(t *testing.T) {
		for _, c := range []struct {
			q               string
			services, teams []string
		}{
			{"&service=checkout,search", []string{"checkout", "search"}, nil},
			{"&service=search&service=checkout", []string{"checkout", "search"}, nil},
			{"&team=payments&team=discovery", nil, []string{"discovery", "payments"}},
			{"&team=payments,%20discovery,&service=search", []string{"search"}, []string{"discovery", "payments"}},
		} {
			body := f.GetJSON(t, "/api/v1/dora?from="+fromParam+"&to="+toParam+c.q, http.StatusOK)
			q, _ := f.engine.last(t)
			if !reflect.DeepEqual(q.Services, c.services) || !reflect.DeepEqual(q.Teams, c.teams) {
				t.Errorf("%s: asked services %q teams %q, want %q %q", c.q, q.Services, q.Teams, c.services, c.teams)
			}
			var resp api.DoraResponse
			if err := json.Unmarshal(body, &resp); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(resp.Services, nonNil(c.services)) || !reflect.DeepEqual(resp.Teams, nonNil(c.teams)) {
				t.Errorf("%s: echo services %q teams %q", c.q, resp.Services, resp.Teams)
			}
		}
	})

	t.Run("environment and benchmark", func(t *testing.T) {
		body := f.GetJSON(t, "/api/v1/dora?from="+fromParam+"&to="+toParam+"&service=checkout&environment=production&benchmark=2021", http.StatusOK)
		var resp api.DoraResponse
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatal(err)
		}
		if resp.Benchmark != "2021" || resp.Environment != "production" || len(resp.Results) != 3 {
			t.Fatalf("response %s", body)
		}
		q, _ := f.engine.last(t)
		if q.Environment != "production" || q.Benchmark != "2021" || !reflect.DeepEqual(q.Services, []string{"checkout"}) {
			t.Errorf("asked %+v", q)
		}
	})

	t.Run("default range is the last 30 days", func(t *testing.T) {
		body := f.GetJSON(t, "/api/v1/dora?group_by=organization&time_zone=UTC", http.StatusOK)
		var resp api.DoraResponse
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatal(err)
		}
		if resp.To != "2026-02-10T12:30:15Z" || resp.From != "2026-01-11T12:30:15Z" || resp.ToMs-resp.FromMs != 30*24*3600*1000 {
			t.Errorf("default range %s – %s", resp.From, resp.To)
		}
		if resp.TimeZone != "UTC" {
			t.Errorf("response %s", body)
		}
		if q, _ := f.engine.last(t); q.TimeZone != "UTC" || !q.To.Equal(time.Date(2026, 2, 10, 12, 30, 15, 0, time.UTC)) {
			t.Errorf("asked %+v", q)
		}
	})

	t.Run("series by month", func(t *testing.T) {
		from := url.QueryEscape(metricstest.SeriesFrom.Format(time.RFC3339))
		to := strconv.FormatInt(metricstest.SeriesTo.UnixMilli(), 10)
		body := f.GetJSON(t, "/api/v1/dora/series?from="+from+"&to="+to+"&group_by=organization&bucket=month", http.StatusOK)
		metricstest.AssertJSON(t, body, `{
		  "from": "2026-01-01T00:00:00+01:00", "from_ms": 1767222000000,
		  "to": "2026-04-01T00:00:00+02:00", "to_ms": 1774994400000,
		  "benchmark": "2023", "group_by": "organization", "time_zone": "Europe/Berlin",
		  "services": [], "teams": [], "environment": "", "bucket": "month",
		  "rows": `+metricstest.SeriesByMonthJSON+`}`)
	})

	t.Run("series bucket, month by default", func(t *testing.T) {
		for q, want := range map[string]string{"&bucket=week&service=search": "week", "": "month", "&bucket=%20day%20": "day"} {
			body := f.GetJSON(t, "/api/v1/dora/series?from="+fromParam+"&to="+toParam+q, http.StatusOK)
			var resp api.SeriesResponse
			if err := json.Unmarshal(body, &resp); err != nil {
				t.Fatal(err)
			}
			if _, bucket := f.engine.last(t); bucket != want || resp.Bucket != want {
				t.Errorf("%q: asked bucket %q, echo %q, want %q", q, bucket, resp.Bucket, want)
			}
		}
	})

	t.Run("catalog", func(t *testing.T) {
		// Two owned services with 10 and 5 production deployments, two
		// repositories no catalog entry lists with 3 and none: 15 of 18
		// deployments are attributed.
		since := "2025-11-03T09:00:00Z"
		f.engine.results = []metrics.Result{
			{Group: "checkout", Service: "checkout", Team: "payments", Owned: true, Deployments: 10},
			{Group: "acme/tools", Service: "acme/tools", Team: catalog.Unowned, LeadTime: metrics.LeadTime{Count: 2}},
			{Group: "search", Service: "search", Team: "discovery", Owned: true, Deployments: 5},
			{Group: "acme/legacy", Service: "acme/legacy", Team: catalog.Unowned, Deployments: 3, Incidents: 1,
				LeadTime: metrics.LeadTime{Count: 4}, ObservedSince: &since},
		}
		defer func() { f.engine.results = results }()
		body := f.GetJSON(t, "/api/v1/catalog?from="+fromParam+"&to="+toParam, http.StatusOK)
		if q, _ := f.engine.last(t); q.GroupBy != metrics.GroupByService || !q.From.Equal(from) || !q.To.Equal(metricstest.To) {
			t.Errorf("catalog asked the engine for %+v, want the range by service", q)
		}
		metricstest.AssertJSON(t, body, `{
		  "coverage": {
		    "from": "2026-01-05T00:00:00+01:00", "from_ms": 1767567600000,
		    "to": "2026-02-02T00:00:00+01:00", "to_ms": 1769986800000,
		    "deployments": 18, "owned_deployments": 15, "share": 0.8333333333333334,
		    "services": 4, "unowned_repos": 2},
		  "unowned": [
		    {"repo": "acme/legacy", "deployments": 3, "changes": 4, "incidents": 1, "observed_since": "2025-11-03T09:00:00Z"},
		    {"repo": "acme/tools", "deployments": 0, "changes": 2, "incidents": 0, "observed_since": null}],
		  "services": [
		    {"name": "checkout", "team": "payments", "repos": ["acme/checkout", "acme/checkout-web"]},
		    {"name": "search", "team": "discovery", "repos": ["acme/search"]}],
		  "teams": [
		    {"name": "discovery", "services": ["search"]},
		    {"name": "payments", "services": ["checkout"]}],
		  "repos": [
		    {"repo": "acme/checkout", "service": "checkout", "team": "payments"},
		    {"repo": "acme/checkout-web", "service": "checkout", "team": "payments"},
		    {"repo": "acme/search", "service": "search", "team": "discovery"}]}`)

		// Without deployments in the range the share is unknown, not 0.
		f.engine.results = nil
		body = f.GetJSON(t, "/api/v1/catalog", http.StatusOK)
		var resp api.CatalogResponse
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatal(err)
		}
		if c := resp.Coverage; c == nil || c.Share != nil || c.Deployments != 0 || len(resp.Unowned) != 0 {
			t.Errorf("empty range: coverage %+v, unowned %v", c, resp.Unowned)
		}
	})

	t.Run("bad parameters", func(t *testing.T) {
		// A series' bucket count is the engine's to bound (see the
		// end-to-end tests over ClickHouse).
		cases := []struct{ path, param string }{
			{"/api/v1/dora?benchmark=2019", "benchmark"},
			{"/api/v1/dora?from=" + toParam + "&to=" + fromParam, "from"},
			{"/api/v1/dora?from=" + toParam + "&to=" + toParam, "from"},
			{"/api/v1/dora?from=yesterday", "from"},
			{"/api/v1/dora?to=2026-13-01T00:00:00Z", "to"},
			{"/api/v1/dora?group_by=repository", "group_by"},
			{"/api/v1/dora?time_zone=Mars/Olympus", "time_zone"},
			{"/api/v1/dora/series?bucket=year", "bucket"},
			{"/api/v1/dora/series?benchmark=2022&bucket=week", "benchmark"},
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

func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

// TestEngineFailures: the engine's refusal of a query is the caller's
// 400; its other failures are 503 while the database does not answer,
// 504 on a timeout and 500 otherwise.
func TestEngineFailures(t *testing.T) {
	f := newFixture(t, []string{token})
	path := "/api/v1/dora?from=" + fromParam + "&to=" + toParam
	for _, c := range []struct {
		name   string
		err    error
		down   bool
		status int
		code   string
	}{
		{"refused", &metrics.QueryError{Param: "service", Reason: "too many"}, false, http.StatusBadRequest, "bad_request"},
		{"failed", errors.New("code: 60, table does not exist"), false, http.StatusInternalServerError, "internal"},
		{"database down", errors.New("connection refused"), true, http.StatusServiceUnavailable, "unavailable"},
		{"timed out", fmt.Errorf("read: %w", context.DeadlineExceeded), false, http.StatusGatewayTimeout, "timeout"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.engine.fail(c.err)
			defer f.engine.fail(nil)
			if c.down {
				f.ready.Store(errBox{errors.New("clickhouse: connection refused")})
				defer f.ready.Store(errBox{})
			}
			for _, p := range []string{path, "/api/v1/deployments?" + path[len("/api/v1/dora?"):], "/api/v1/toil/reinvented?" + path[len("/api/v1/dora?"):]} {
				status, h, body := f.Get(t, p, token)
				var e struct{ Error, Param, Reason string }
				if err := json.Unmarshal(body, &e); err != nil {
					t.Fatal(err)
				}
				if status != c.status || e.Error != c.code || e.Reason == "" {
					t.Errorf("%s: %d %s, want %d %s", p, status, body, c.status, c.code)
				}
				if c.down && h.Get("Retry-After") == "" {
					t.Errorf("%s: 503 without Retry-After", p)
				}
				if strings.Contains(string(body), "table does not exist") {
					t.Errorf("%s: the database's error reached the client: %s", p, body)
				}
			}
		})
	}
}

func TestAuth(t *testing.T) {
	f := newFixture(t, []string{token, "  ", "second-token"})
	for _, c := range []struct {
		name, header string
	}{
		{"no header", ""},
		{"wrong token", "Bearer nope"},
		{"prefix of a token", "Bearer " + token[:4]},
		{"token with a suffix", "Bearer " + token + "x"},
		{"basic scheme", "Basic " + token},
		{"bare token", token},
		{"empty bearer", "Bearer "},
	} {
		for _, path := range []string{"/api/v1/dora", "/api/v1/dora/series", "/api/v1/catalog", "/api/v1/nothing"} {
			req, _ := http.NewRequest(http.MethodGet, f.URL+path, nil)
			if c.header != "" {
				req.Header.Set("Authorization", c.header)
			}
			resp, err := f.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s %s: status %d, want 401", c.name, path, resp.StatusCode)
				continue
			}
			var e struct{ Error, Reason string }
			if err := json.Unmarshal(body, &e); err != nil || e.Error != "unauthorized" || e.Reason == "" {
				t.Errorf("%s %s: body %s", c.name, path, body)
			}
			if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s %s: no WWW-Authenticate challenge", c.name, path)
			}
		}
	}
	// Either configured token works, with the scheme in any case.
	for _, h := range []string{"Bearer " + token, "bearer second-token", "BEARER  " + token} {
		req, _ := http.NewRequest(http.MethodGet, f.URL+"/api/v1/catalog", nil)
		req.Header.Set("Authorization", h)
		resp, err := f.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%q: status %d, want 200", h, resp.StatusCode)
		}
	}
	// Health, readiness, metrics and the OpenAPI document need no token.
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/openapi.json"} {
		if status, _, body := f.Get(t, path, ""); status != http.StatusOK {
			t.Errorf("%s without a token: %d %s", path, status, body)
		}
	}
	if strings.Contains(f.logs.String(), "no bearer tokens") {
		t.Error("warned about missing tokens although some are configured")
	}
}

func TestOpenWhenNoTokens(t *testing.T) {
	f := newFixture(t, nil)
	if status, _, body := f.Get(t, "/api/v1/catalog", ""); status != http.StatusOK {
		t.Errorf("open API: %d %s", status, body)
	}
	if !strings.Contains(f.logs.String(), "level=WARN") || !strings.Contains(f.logs.String(), "no bearer tokens") {
		t.Errorf("no warning logged: %q", f.logs.String())
	}
}

func TestHealthReadinessMetrics(t *testing.T) {
	f := newFixture(t, []string{token})

	status, _, body := f.Get(t, "/healthz", "")
	if status != http.StatusOK || !strings.Contains(string(body), `"ok"`) {
		t.Errorf("healthz: %d %s", status, body)
	}
	status, _, body = f.Get(t, "/readyz", "")
	if status != http.StatusOK || !strings.Contains(string(body), `"ready"`) {
		t.Errorf("readyz: %d %s", status, body)
	}
	f.ready.Store(errBox{errors.New("clickhouse: connection refused")})
	status, _, body = f.Get(t, "/readyz", "")
	if status != http.StatusServiceUnavailable || !strings.Contains(string(body), "connection refused") {
		t.Errorf("readyz when not ready: %d %s", status, body)
	}
	// Liveness does not depend on readiness.
	if status, _, _ = f.Get(t, "/healthz", ""); status != http.StatusOK {
		t.Errorf("healthz when not ready: %d", status)
	}
	f.ready.Store(errBox{})

	f.GetJSON(t, "/api/v1/dora?from="+fromParam+"&to="+toParam, http.StatusOK)
	f.GetJSON(t, "/api/v1/dora/series?from="+fromParam+"&to="+toParam+"&bucket=week", http.StatusOK)
	status, _, body = f.Get(t, "/metrics", "")
	if status != http.StatusOK {
		t.Fatalf("metrics: %d", status)
	}
	for _, want := range []string{
		`doraflow_api_request_duration_seconds_count{route="/api/v1/dora"} 1`,
		`doraflow_api_request_duration_seconds_count{route="/api/v1/dora/series"} 1`,
		`doraflow_api_request_duration_seconds_count{route="/readyz"} 2`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}

	status, _, body = f.Get(t, "/nowhere", "")
	if status != http.StatusNotFound || !strings.Contains(string(body), "not_found") {
		t.Errorf("unknown path: %d %s", status, body)
	}
	resp, err := f.Client().Post(f.URL+"/healthz", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz: %d, want 405", resp.StatusCode)
	}

	// A second handler on the same registry reuses the histogram.
	_ = api.New(api.Config{Registry: f.registry, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

func TestOpenAPIDocument(t *testing.T) {
	f := newFixture(t, []string{token})
	status, _, body := f.Get(t, "/openapi.json", "")
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	var doc struct {
		OpenAPI    string                    `json:"openapi"`
		Paths      map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]any `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	for _, p := range []string{"/api/v1/dora", "/api/v1/dora/series", "/api/v1/catalog", "/healthz", "/readyz", "/metrics", "/openapi.json"} {
		if _, ok := doc.Paths[p]["get"]; !ok {
			t.Errorf("no GET %s", p)
		}
	}
	// The documented fields are exactly the ones the API writes.
	check := func(schema string, v any) {
		t.Helper()
		documented := keys(doc.Components.Schemas[schema].Properties)
		got := jsonKeys(v)
		if strings.HasSuffix(schema, "Response") {
			// notes is written only when there is something to note.
			got = append(got, "notes")
			sort.Strings(got)
		}
		if !reflect.DeepEqual(got, documented) {
			t.Errorf("%s: writes %v, documents %v", schema, got, documented)
		}
	}
	check("Result", metrics.Result{Service: "s", Team: "t"})
	check("SeriesRow", metrics.SeriesRow{Result: metrics.Result{Service: "s", Team: "t"}})
	check("LeadTime", metrics.LeadTime{})
	check("Duration", metrics.Duration{})
	check("Levels", metrics.Levels{})
	check("DoraResponse", api.DoraResponse{})
	check("SeriesResponse", api.SeriesResponse{})
	check("Catalog", api.CatalogResponse{})
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func jsonKeys(v any) []string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	return keys(m)
}
