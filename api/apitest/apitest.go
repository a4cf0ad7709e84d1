// Package apitest holds what the API's tests share, whether they run the
// API on a fake engine (package api) or over ClickHouse with data (package
// e2e): requests with a bearer token, and the validation of real requests
// and answers against the OpenAPI document the API serves.
package apitest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/doraflow/doraflow/api"
)

func init() {
	// The report's Markdown and HTML answers are documented as strings.
	openapi3filter.RegisterBodyDecoder("text/markdown", openapi3filter.FileBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.FileBodyDecoder)
}

// Server is a running API and the bearer token GetJSON and Validate send.
type Server struct {
	*httptest.Server
	Token string
}

// Get sends GET path with bearer as the token ("" sends none).
func (s Server) Get(t testing.TB, path, bearer string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := s.Client().Do(req)
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

// GetJSON sends GET path with the token and requires wantStatus and a
// JSON answer.
func (s Server) GetJSON(t testing.TB, path string, wantStatus int) []byte {
	t.Helper()
	status, h, body := s.Get(t, path, s.Token)
	if status != wantStatus {
		t.Fatalf("GET %s: status %d, want %d: %s", path, status, wantStatus, body)
	}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("GET %s: content type %q", path, ct)
	}
	return body
}

// Exchange is one request and the answer it must get.
type Exchange struct {
	Path   string
	Status int
	// BadRequest: the document itself says the request is invalid (a
	// value outside an enum, over a maxLength); request validation must
	// then fail, and the answer still matches the document.
	BadRequest bool
	NoToken    bool
}

// router loads the document the API serves at /openapi.json, validates
// it, and routes requests to the server through it.
func (s Server) router(t testing.TB) routers.Router {
	t.Helper()
	status, _, body := s.Get(t, "/openapi.json", "")
	if status != http.StatusOK {
		t.Fatalf("/openapi.json: %d", status)
	}
	doc, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the OpenAPI document is invalid: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: s.URL}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return router
}

// Validate sends each request to the running API and validates the
// request and the real response against the document with
// openapi3filter.
func (s Server) Validate(t testing.TB, exchanges []Exchange) {
	t.Helper()
	router := s.router(t)
	ctx := context.Background()
	for _, x := range exchanges {
		req, err := http.NewRequest(http.MethodGet, s.URL+x.Path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !x.NoToken {
			req.Header.Set("Authorization", "Bearer "+s.Token)
		}
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != x.Status {
			t.Errorf("GET %s: status %d, want %d: %.300s", x.Path, resp.StatusCode, x.Status, body)
			continue
		}
		route, pathParams, err := router.FindRoute(req)
		if err != nil {
			t.Errorf("GET %s: not in the document: %v", x.Path, err)
			continue
		}
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
		reqErr := openapi3filter.ValidateRequest(ctx, in)
		switch {
		case x.BadRequest && reqErr == nil:
			t.Errorf("GET %s: the document accepts a request the API refuses", x.Path)
		case !x.BadRequest && reqErr != nil:
			t.Errorf("GET %s: request does not match the document: %v", x.Path, reqErr)
		}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode,
			Header: resp.Header, Body: io.NopCloser(bytes.NewReader(body)),
			Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
		if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
			t.Errorf("GET %s: %d response does not match the document: %v\n%.600s", x.Path, resp.StatusCode, err, body)
		}
	}
}

// DoraExchanges are requests to every DORA, catalog, drill-down and
// report endpoint and the answers they get, errors included; r is the
// range ("from=…&to=…") of a data set with the services checkout and
// search of the teams payments and discovery, and the quarterly reports
// ask for 2026-Q1.
func DoraExchanges(r string) []Exchange {
	long := strings.Repeat("x", api.MaxValueLength+1)
	return []Exchange{
		{Path: "/healthz", Status: 200},
		{Path: "/readyz", Status: 200},
		{Path: "/metrics", Status: 200},
		{Path: "/openapi.json", Status: 200},
		{Path: "/api/v1/dora?" + r, Status: 200},
		{Path: "/api/v1/dora?" + r + "&group_by=team&benchmark=2021", Status: 200},
		{Path: "/api/v1/dora?" + r + "&group_by=organization&benchmark=2024&tz=UTC", Status: 200},
		{Path: "/api/v1/dora?" + r + "&service=nosuch", Status: 200},
		{Path: "/api/v1/dora?" + r + "&service=search&service=checkout,acme/legacy&environment=production", Status: 200},
		{Path: "/api/v1/dora?from=yesterday", Status: 400},
		{Path: "/api/v1/dora?" + r + "&group_by=galaxy", Status: 400, BadRequest: true},
		{Path: "/api/v1/dora?" + r + "&environment=" + long, Status: 400, BadRequest: true},
		{Path: "/api/v1/dora?" + r + "&time_zone=Mars/Olympus", Status: 400},
		{Path: "/api/v1/dora?" + r + "&colour=blue", Status: 400},
		{Path: "/api/v1/dora?" + r, Status: 401, NoToken: true},
		{Path: "/api/v1/dora/series?" + r + "&bucket=week&group_by=organization", Status: 200},
		{Path: "/api/v1/dora/series?" + r + "&team=payments", Status: 200},
		{Path: "/api/v1/dora/series?" + r + "&bucket=fortnight", Status: 400, BadRequest: true},
		{Path: "/api/v1/catalog", Status: 200},
		{Path: "/api/v1/catalog?team=payments", Status: 400},
		{Path: "/api/v1/catalog", Status: 401, NoToken: true},
		{Path: "/api/v1/deployments?" + r, Status: 200},
		{Path: "/api/v1/deployments?" + r + "&failed=true&limit=2", Status: 200},
		{Path: "/api/v1/deployments?" + r + "&limit=0", Status: 400, BadRequest: true},
		{Path: "/api/v1/changes?" + r, Status: 200},
		{Path: "/api/v1/incidents?" + r, Status: 200},
		{Path: "/api/v1/incidents?" + r + "&limit=many", Status: 400, BadRequest: true},
		{Path: "/api/v1/reports/quarterly?quarter=2026-Q1", Status: 200},
		{Path: "/api/v1/reports/quarterly?quarter=2026-Q1&format=md", Status: 200},
		{Path: "/api/v1/reports/quarterly?quarter=2026-Q1&format=html&team=payments", Status: 200},
		{Path: "/api/v1/reports/quarterly?quarter=Q9", Status: 400},
		{Path: "/api/v1/reports/quarterly?format=pdf", Status: 400, BadRequest: true},
	}
}

// ToilExchanges are requests to every toil endpoint (and the others over
// the same range) and the answers they get; q is a range, the scorecard
// asks for 2026-Q3 and the reports for quarter, which must have started.
func ToilExchanges(q, quarter string) []Exchange {
	return []Exchange{
		{Path: "/api/v1/toil?" + q, Status: 200},
		{Path: "/api/v1/toil?" + q + "&bucket=month&group_by=team", Status: 200},
		{Path: "/api/v1/toil?" + q + "&bucket=year", Status: 400, BadRequest: true},
		{Path: "/api/v1/toil/changes?" + q, Status: 200},
		{Path: "/api/v1/toil/changes?" + q + "&toil=true&limit=1", Status: 200},
		{Path: "/api/v1/toil/changes?" + q + "&toil=maybe", Status: 400, BadRequest: true},
		{Path: "/api/v1/toil/onboarding?" + q, Status: 200},
		{Path: "/api/v1/toil/onboarding?" + q + "&bucket=week&group_by=organization", Status: 200},
		{Path: "/api/v1/toil/reinvented?" + q, Status: 200},
		{Path: "/api/v1/toil/scorecard?quarter=2026-Q3", Status: 200},
		{Path: "/api/v1/toil/scorecard?quarter=2026-Q5", Status: 400},
		{Path: "/api/v1/changes?" + q, Status: 200},
		{Path: "/api/v1/deployments?" + q, Status: 200},
		{Path: "/api/v1/incidents?" + q, Status: 200},
		{Path: "/api/v1/dora?" + q, Status: 200},
		{Path: "/api/v1/reports/quarterly?quarter=" + quarter, Status: 200},
		{Path: "/api/v1/reports/quarterly?quarter=" + quarter + "&format=md", Status: 200},
		{Path: "/api/v1/reports/quarterly?quarter=" + quarter + "&format=html", Status: 200},
	}
}
