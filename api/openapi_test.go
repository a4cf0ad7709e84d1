package api_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/doraflow/doraflow/api"
	"github.com/doraflow/doraflow/metrics"
)

func init() {
	// The report's Markdown and HTML answers are documented as strings.
	openapi3filter.RegisterBodyDecoder("text/markdown", openapi3filter.FileBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.FileBodyDecoder)
}

// openAPIRouter loads the document the API serves at /openapi.json,
// validates it, and routes requests to srvURL through it.
func openAPIRouter(t *testing.T, f *fixture) routers.Router {
	t.Helper()
	status, _, body := f.get(t, "/openapi.json", "")
	if status != http.StatusOK {
		t.Fatalf("/openapi.json: %d", status)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(body)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the OpenAPI document is invalid: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: f.srv.URL}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return router
}

// exchange is one request and the answer it must get.
type exchange struct {
	path   string
	status int
	// badRequest: the document itself says the request is invalid (a
	// value outside an enum, over a maxLength); request validation must
	// then fail, and the answer still matches the document.
	badRequest bool
	noToken    bool
}

// validateExchanges sends each request to the running API and validates
// the request and the real response against the document with
// openapi3filter.
func validateExchanges(t *testing.T, f *fixture, exchanges []exchange) {
	t.Helper()
	router := openAPIRouter(t, f)
	ctx := context.Background()
	for _, x := range exchanges {
		req, err := http.NewRequest(http.MethodGet, f.srv.URL+x.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !x.noToken {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := f.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != x.status {
			t.Errorf("GET %s: status %d, want %d: %.300s", x.path, resp.StatusCode, x.status, body)
			continue
		}
		route, pathParams, err := router.FindRoute(req)
		if err != nil {
			t.Errorf("GET %s: not in the document: %v", x.path, err)
			continue
		}
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
		reqErr := openapi3filter.ValidateRequest(ctx, in)
		switch {
		case x.badRequest && reqErr == nil:
			t.Errorf("GET %s: the document accepts a request the API refuses", x.path)
		case !x.badRequest && reqErr != nil:
			t.Errorf("GET %s: request does not match the document: %v", x.path, reqErr)
		}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode,
			Header: resp.Header, Body: io.NopCloser(bytes.NewReader(body)),
			Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
		if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
			t.Errorf("GET %s: %d response does not match the document: %v\n%.600s", x.path, resp.StatusCode, err, body)
		}
	}
}

// TestOpenAPIMatchesRealResponses validates real answers of every endpoint,
// and of every error they give, over real ClickHouse with data.
func TestOpenAPIMatchesRealResponses(t *testing.T) {
	t.Run("DORA", func(t *testing.T) {
		f := newFixture(t, []string{token})
		r := "from=" + fromParam + "&to=" + toParam
		long := strings.Repeat("x", api.MaxValueLength+1)
		validateExchanges(t, f, []exchange{
			{path: "/healthz", status: 200},
			{path: "/readyz", status: 200},
			{path: "/metrics", status: 200},
			{path: "/openapi.json", status: 200},
			{path: "/api/v1/dora?" + r, status: 200},
			{path: "/api/v1/dora?" + r + "&group_by=team&benchmark=2021", status: 200},
			{path: "/api/v1/dora?" + r + "&group_by=organization&benchmark=2024&tz=UTC", status: 200},
			{path: "/api/v1/dora?" + r + "&service=nosuch", status: 200},
			{path: "/api/v1/dora?" + r + "&service=search&service=checkout,acme/legacy&environment=production", status: 200},
			{path: "/api/v1/dora?from=yesterday", status: 400},
			{path: "/api/v1/dora?" + r + "&group_by=galaxy", status: 400, badRequest: true},
			{path: "/api/v1/dora?" + r + "&environment=" + long, status: 400, badRequest: true},
			{path: "/api/v1/dora?" + r + "&time_zone=Mars/Olympus", status: 400},
			{path: "/api/v1/dora?" + r + "&colour=blue", status: 400},
			{path: "/api/v1/dora?" + r, status: 401, noToken: true},
			{path: "/api/v1/dora/series?" + r + "&bucket=week&group_by=organization", status: 200},
			{path: "/api/v1/dora/series?" + r + "&team=payments", status: 200},
			{path: "/api/v1/dora/series?" + r + "&bucket=fortnight", status: 400, badRequest: true},
			{path: "/api/v1/catalog", status: 200},
			{path: "/api/v1/catalog?team=payments", status: 400},
			{path: "/api/v1/catalog", status: 401, noToken: true},
			{path: "/api/v1/deployments?" + r, status: 200},
			{path: "/api/v1/deployments?" + r + "&failed=true&limit=2", status: 200},
			{path: "/api/v1/deployments?" + r + "&limit=0", status: 400, badRequest: true},
			{path: "/api/v1/changes?" + r, status: 200},
			{path: "/api/v1/incidents?" + r, status: 200},
			{path: "/api/v1/incidents?" + r + "&limit=many", status: 400, badRequest: true},
			{path: "/api/v1/reports/quarterly?quarter=2026-Q1", status: 200},
			{path: "/api/v1/reports/quarterly?quarter=2026-Q1&format=md", status: 200},
			{path: "/api/v1/reports/quarterly?quarter=2026-Q1&format=html&team=payments", status: 200},
			{path: "/api/v1/reports/quarterly?quarter=Q9", status: 400},
			{path: "/api/v1/reports/quarterly?format=pdf", status: 400, badRequest: true},
		})
		f.ready.Store(errBox{errors.New("ClickHouse is away")})
		validateExchanges(t, f, []exchange{{path: "/readyz", status: 503}})
	})
	t.Run("toil", func(t *testing.T) {
		f := toilFixture(t)
		q := "from=2026-07-01T00:00:00Z&to=2026-10-01T00:00:00Z"
		validateExchanges(t, f, []exchange{
			{path: "/api/v1/toil?" + q, status: 200},
			{path: "/api/v1/toil?" + q + "&bucket=month&group_by=team", status: 200},
			{path: "/api/v1/toil?" + q + "&bucket=year", status: 400, badRequest: true},
			{path: "/api/v1/toil/changes?" + q, status: 200},
			{path: "/api/v1/toil/changes?" + q + "&toil=true&limit=1", status: 200},
			{path: "/api/v1/toil/changes?" + q + "&toil=maybe", status: 400, badRequest: true},
			{path: "/api/v1/toil/onboarding?" + q, status: 200},
			{path: "/api/v1/toil/onboarding?" + q + "&bucket=week&group_by=organization", status: 200},
			{path: "/api/v1/toil/reinvented?" + q, status: 200},
			{path: "/api/v1/toil/scorecard?quarter=2026-Q3", status: 200},
			{path: "/api/v1/toil/scorecard?quarter=2026-Q5", status: 400},
			{path: "/api/v1/changes?" + q, status: 200},
			{path: "/api/v1/deployments?" + q, status: 200},
			{path: "/api/v1/incidents?" + q, status: 200},
			{path: "/api/v1/dora?" + q, status: 200},
			{path: "/api/v1/reports/quarterly?quarter=2026-Q3", status: 200},
			{path: "/api/v1/reports/quarterly?quarter=2026-Q3&format=md", status: 200},
			{path: "/api/v1/reports/quarterly?quarter=2026-Q3&format=html", status: 200},
		})
	})
}

// TestOpenAPIParametersAreThoseAccepted compares each operation's
// documented query parameters with those the API accepts: a parameter the
// document lists is accepted, and every other is refused with 400.
func TestOpenAPIParametersAreThoseAccepted(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	accepted := api.AcceptedParams()
	for path, item := range doc.Paths.Map() {
		want, checked := accepted[path]
		if !checked {
			if strings.HasPrefix(path, "/api/") {
				t.Errorf("%s: documented but takes no parameter check", path)
			}
			continue
		}
		var got []string
		for _, p := range item.Get.Parameters {
			got = append(got, p.Value.Name)
		}
		sort.Strings(got)
		want = append([]string(nil), want...)
		sort.Strings(want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: documented parameters %v, accepted %v", path, got, want)
		}
	}
	for path := range accepted {
		if doc.Paths.Find(path) == nil {
			t.Errorf("%s accepts requests but is not documented", path)
		}
	}
	// The documented benchmarks are the engine's.
	b := doc.Components.Parameters["benchmark"].Value.Schema.Value.Enum
	var names []string
	for _, v := range b {
		names = append(names, v.(string))
	}
	if !reflect.DeepEqual(names, metrics.BenchmarkNames()) {
		t.Errorf("documented benchmarks %v, the engine's %v", names, metrics.BenchmarkNames())
	}
}
