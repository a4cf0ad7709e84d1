package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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
	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/metrics"
	"github.com/doraflow/doraflow/metrics/metricstest"
	"github.com/doraflow/doraflow/store/storetest"
)

const token = "s3cret-token"

type fixture struct {
	srv      *httptest.Server
	ready    *atomic.Value // error or nil
	registry *prometheus.Registry
	logs     *bytes.Buffer
}

// newFixture serves the API over the metricstest scenario in a fresh
// database, with the given tokens.
func newFixture(t *testing.T, tokens []string) *fixture {
	t.Helper()
	st := storetest.New(t)
	metricstest.Load(t, st)
	cat := metricstest.Catalog()
	e, err := metrics.New(st.Conn(), func() catalog.Catalog { return cat }, metrics.Options{TimeZone: metricstest.Zone, QueryTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{ready: &atomic.Value{}, registry: prometheus.NewRegistry(), logs: &bytes.Buffer{}}
	f.ready.Store(errBox{})
	h := api.New(api.Config{
		Metrics: e,
		Tokens:  tokens,
		Ready: func(ctx context.Context) error {
			if err := f.ready.Load().(errBox).err; err != nil {
				return err
			}
			return st.Ping(ctx)
		},
		Registry: f.registry,
		Logger:   slog.New(slog.NewTextHandler(f.logs, nil)),
		Catalog:  func() catalog.Catalog { return cat },
		Now:      func() time.Time { return time.Date(2026, 2, 10, 12, 30, 15, 500e6, time.UTC) },
	})
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

type errBox struct{ err error }

func (f *fixture) get(t *testing.T, path, bearer string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

func (f *fixture) getJSON(t *testing.T, path string, wantStatus int) []byte {
	t.Helper()
	status, h, body := f.get(t, path, token)
	if status != wantStatus {
		t.Fatalf("GET %s: status %d, want %d: %s", path, status, wantStatus, body)
	}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("GET %s: content type %q", path, ct)
	}
	return body
}

// The summary range in both accepted forms: RFC 3339 with an offset and
// epoch milliseconds.
var (
	fromParam = url.QueryEscape("2026-01-05T00:00:00+01:00")
	toParam   = strconv.FormatInt(metricstest.To.UnixMilli(), 10)
)

func TestDora(t *testing.T) {
	f := newFixture(t, []string{"other-token", token})

	t.Run("organization", func(t *testing.T) {
		body := f.getJSON(t, "/api/v1/dora?from="+fromParam+"&to="+toParam+"&group_by=organization", http.StatusOK)
		metricstest.AssertJSON(t, body, `{
		  "from": "2026-01-05T00:00:00+01:00", "from_ms": 1767567600000,
		  "to": "2026-02-02T00:00:00+01:00", "to_ms": 1769986800000,
		  "benchmark": "2023", "group_by": "organization", "time_zone": "Europe/Berlin",
		  "services": [], "teams": [], "environment": "",
		  "results": [`+metricstest.OrganizationJSON+`]}`)
	})

	t.Run("by service", func(t *testing.T) {
		body := f.getJSON(t, "/api/v1/dora?from="+fromParam+"&to="+toParam, http.StatusOK)
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
			body := f.getJSON(t, "/api/v1/dora?from="+fromParam+"&to="+toParam+q, http.StatusOK)
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
		body := f.getJSON(t, "/api/v1/dora?from="+fromParam+"&to="+toParam+"&service=checkout&environment=production&benchmark=2021", http.StatusOK)
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

	t.Run("default range is the last 30 days", func(t *testing.T) {
		body := f.getJSON(t, "/api/v1/dora?group_by=organization&time_zone=UTC", http.StatusOK)
		var resp api.DoraResponse
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatal(err)
		}
		if resp.To != "2026-02-10T12:30:15Z" || resp.From != "2026-01-11T12:30:15Z" || resp.ToMs-resp.FromMs != 30*24*3600*1000 {
			t.Errorf("default range %s – %s", resp.From, resp.To)
		}
		if resp.TimeZone != "UTC" || len(resp.Results) != 1 {
			t.Errorf("response %s", body)
		}
	})

	t.Run("series by month", func(t *testing.T) {
		from := url.QueryEscape(metricstest.SeriesFrom.Format(time.RFC3339))
		to := strconv.FormatInt(metricstest.SeriesTo.UnixMilli(), 10)
		body := f.getJSON(t, "/api/v1/dora/series?from="+from+"&to="+to+"&group_by=organization&bucket=month", http.StatusOK)
		metricstest.AssertJSON(t, body, `{
		  "from": "2026-01-01T00:00:00+01:00", "from_ms": 1767222000000,
		  "to": "2026-04-01T00:00:00+02:00", "to_ms": 1774994400000,
		  "benchmark": "2023", "group_by": "organization", "time_zone": "Europe/Berlin",
		  "services": [], "teams": [], "environment": "", "bucket": "month",
		  "rows": `+metricstest.SeriesByMonthJSON+`}`)
	})

	t.Run("series by week per service", func(t *testing.T) {
		body := f.getJSON(t, "/api/v1/dora/series?from="+fromParam+"&to="+toParam+"&bucket=week&service=search", http.StatusOK)
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

	t.Run("catalog", func(t *testing.T) {
		body := f.getJSON(t, "/api/v1/catalog", http.StatusOK)
		metricstest.AssertJSON(t, body, `{
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
	})

	t.Run("bad parameters", func(t *testing.T) {
		cases := []struct{ path, param string }{
			{"/api/v1/dora?benchmark=2019", "benchmark"},
			{"/api/v1/dora?from=" + toParam + "&to=" + fromParam, "from"},
			{"/api/v1/dora?from=" + toParam + "&to=" + toParam, "from"},
			{"/api/v1/dora?from=yesterday", "from"},
			{"/api/v1/dora?to=2026-13-01T00:00:00Z", "to"},
			{"/api/v1/dora?group_by=repository", "group_by"},
			{"/api/v1/dora?time_zone=Mars/Olympus", "time_zone"},
			{"/api/v1/dora/series?bucket=year", "bucket"},
			{"/api/v1/dora/series?bucket=day&from=2000-01-01T00:00:00Z", "bucket"},
			{"/api/v1/dora/series?benchmark=2022&bucket=week", "benchmark"},
		}
		for _, c := range cases {
			body := f.getJSON(t, c.path, http.StatusBadRequest)
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
			req, _ := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
			if c.header != "" {
				req.Header.Set("Authorization", c.header)
			}
			resp, err := f.srv.Client().Do(req)
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
		req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/api/v1/catalog", nil)
		req.Header.Set("Authorization", h)
		resp, err := f.srv.Client().Do(req)
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
		if status, _, body := f.get(t, path, ""); status != http.StatusOK {
			t.Errorf("%s without a token: %d %s", path, status, body)
		}
	}
	if strings.Contains(f.logs.String(), "no bearer tokens") {
		t.Error("warned about missing tokens although some are configured")
	}
}

func TestOpenWhenNoTokens(t *testing.T) {
	f := newFixture(t, nil)
	if status, _, body := f.get(t, "/api/v1/catalog", ""); status != http.StatusOK {
		t.Errorf("open API: %d %s", status, body)
	}
	if !strings.Contains(f.logs.String(), "level=WARN") || !strings.Contains(f.logs.String(), "no bearer tokens") {
		t.Errorf("no warning logged: %q", f.logs.String())
	}
}

func TestHealthReadinessMetrics(t *testing.T) {
	f := newFixture(t, []string{token})

	status, _, body := f.get(t, "/healthz", "")
	if status != http.StatusOK || !strings.Contains(string(body), `"ok"`) {
		t.Errorf("healthz: %d %s", status, body)
	}
	status, _, body = f.get(t, "/readyz", "")
	if status != http.StatusOK || !strings.Contains(string(body), `"ready"`) {
		t.Errorf("readyz: %d %s", status, body)
	}
	f.ready.Store(errBox{errors.New("clickhouse: connection refused")})
	status, _, body = f.get(t, "/readyz", "")
	if status != http.StatusServiceUnavailable || !strings.Contains(string(body), "connection refused") {
		t.Errorf("readyz when not ready: %d %s", status, body)
	}
	// Liveness does not depend on readiness.
	if status, _, _ = f.get(t, "/healthz", ""); status != http.StatusOK {
		t.Errorf("healthz when not ready: %d", status)
	}
	f.ready.Store(errBox{})

	f.getJSON(t, "/api/v1/dora?from="+fromParam+"&to="+toParam, http.StatusOK)
	f.getJSON(t, "/api/v1/dora/series?from="+fromParam+"&to="+toParam+"&bucket=week", http.StatusOK)
	status, _, body = f.get(t, "/metrics", "")
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

	status, _, body = f.get(t, "/nowhere", "")
	if status != http.StatusNotFound || !strings.Contains(string(body), "not_found") {
		t.Errorf("unknown path: %d %s", status, body)
	}
	resp, err := f.srv.Client().Post(f.srv.URL+"/healthz", "application/json", nil)
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
	status, _, body := f.get(t, "/openapi.json", "")
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
