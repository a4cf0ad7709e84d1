package githubapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/doraflow/doraflow/githubapi"
	"github.com/doraflow/doraflow/simulate"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// history is a small simulated organisation's REST history.
func history(t *testing.T) (*simulate.RESTHistory, string) {
	t.Helper()
	cfg := simulate.DefaultOrgConfig()
	cfg.Seed, cfg.Teams, cfg.ServicesPerTeam, cfg.EngineersPerTeam = 3, 1, 1, 2
	cfg.End = cfg.Start.AddDate(0, 0, 5)
	cfg.WarmupDays = 0
	_, h, err := simulate.GenerateHistory(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h, h.Repos()[0]
}

type fixture struct {
	api    *simulate.GitHubAPI
	clock  *githubapi.FakeClock
	tr     *githubapi.Transport
	client *gh.Client
	repo   string
	waits  []githubapi.Wait
}

func newFixture(t *testing.T, opts simulate.APIOptions, token string, base http.RoundTripper) *fixture {
	t.Helper()
	h, repo := history(t)
	f := &fixture{clock: githubapi.NewFakeClock(t0), repo: repo}
	opts.Now = f.clock.Now
	f.api = simulate.NewGitHubAPI(h, opts)
	srv := httptest.NewServer(f.api)
	t.Cleanup(srv.Close)
	f.tr = &githubapi.Transport{Clock: f.clock, Base: base, OnWait: func(w githubapi.Wait) { f.waits = append(f.waits, w) }}
	c, err := githubapi.NewClient(token, srv.URL, f.tr)
	if err != nil {
		t.Fatal(err)
	}
	f.client = c
	return f
}

func (f *fixture) getRepo() (*gh.Repository, *gh.Response, error) {
	owner, name, _ := strings.Cut(f.repo, "/")
	return f.client.Repositories.Get(context.Background(), owner, name)
}

func TestPrimaryLimitWaitsForTheReset(t *testing.T) {
	f := newFixture(t, simulate.APIOptions{RateLimit: 3}, "tok", nil)
	for i := 0; i < 5; i++ {
		if _, _, err := f.getRepo(); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	// Three requests fit the window; the fourth is refused with the reset
	// an hour after the first, and waits until one second past it.
	want := time.Hour + time.Second
	if got := f.clock.Slept(); len(got) != 1 || got[0] != want {
		t.Fatalf("slept %v, want [%v]", got, want)
	}
	if len(f.waits) != 1 || f.waits[0].Reason != "primary rate limit" || !f.waits[0].Until.Equal(t0.Add(want)) {
		t.Errorf("waits announced: %+v", f.waits)
	}
	st := f.tr.Stats()
	if st.Calls != 6 || st.Retries != 1 || st.RateWaited != want || st.FaultWaited != 0 {
		t.Errorf("stats %+v, want 6 calls, 1 retry, %v waited for the limit", st, want)
	}
}

func TestSecondaryLimitHonoursRetryAfter(t *testing.T) {
	for _, status := range []int{http.StatusForbidden, http.StatusTooManyRequests} {
		f := newFixture(t, simulate.APIOptions{Faults: []*simulate.APIFault{{Match: "/repos/", Status: status, RetryAfter: 37}}}, "tok", nil)
		if _, _, err := f.getRepo(); err != nil {
			t.Fatalf("%d: %v", status, err)
		}
		if got := f.clock.Slept(); len(got) != 1 || got[0] != 37*time.Second {
			t.Errorf("%d: slept %v, want [37s]", status, got)
		}
		if st := f.tr.Stats(); st.Calls != 2 || st.RateWaited != 37*time.Second {
			t.Errorf("%d: stats %+v", status, st)
		}
	}
}

func TestSecondaryLimitWithoutRetryAfterWaitsAMinute(t *testing.T) {
	f := newFixture(t, simulate.APIOptions{Faults: []*simulate.APIFault{{Match: "/repos/", Status: http.StatusForbidden}}}, "tok", nil)
	if _, _, err := f.getRepo(); err != nil {
		t.Fatal(err)
	}
	if got := f.clock.Slept(); len(got) != 1 || got[0] != time.Minute {
		t.Errorf("slept %v, want [1m0s]", got)
	}
}

func TestServerErrorsBackOffWithJitter(t *testing.T) {
	f := newFixture(t, simulate.APIOptions{Faults: []*simulate.APIFault{{Match: "/repos/", Status: http.StatusBadGateway, Times: 3}}}, "tok", nil)
	if _, _, err := f.getRepo(); err != nil {
		t.Fatal(err)
	}
	got := f.clock.Slept()
	if len(got) != 3 {
		t.Fatalf("slept %v, want three backoffs", got)
	}
	for i, d := range got {
		lo, hi := (time.Second<<i)/2, time.Second<<i
		if d < lo || d > hi {
			t.Errorf("backoff %d = %v, want within [%v, %v]", i+1, d, lo, hi)
		}
	}
	if st := f.tr.Stats(); st.Calls != 4 || st.RateWaited != 0 || st.FaultWaited == 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestServerErrorsGiveUp(t *testing.T) {
	f := newFixture(t, simulate.APIOptions{Faults: []*simulate.APIFault{{Match: "/repos/", Status: http.StatusBadGateway, Times: 100}}}, "tok", nil)
	f.tr.MaxRetries = 2
	_, resp, err := f.getRepo()
	if err == nil || resp == nil || resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("err %v, want the 502 after the retries", err)
	}
	if st := f.tr.Stats(); st.Calls != 3 {
		t.Errorf("%d calls, want 3", st.Calls)
	}
}

type flaky struct{ n atomic.Int32 }

func (f *flaky) RoundTrip(r *http.Request) (*http.Response, error) {
	if f.n.Add(1) == 1 {
		return nil, errors.New("connection reset by peer")
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestNetworkErrorsAreRetried(t *testing.T) {
	f := newFixture(t, simulate.APIOptions{}, "tok", &flaky{})
	if _, _, err := f.getRepo(); err != nil {
		t.Fatal(err)
	}
	if got := f.clock.Slept(); len(got) != 1 || got[0] < 500*time.Millisecond || got[0] > time.Second {
		t.Errorf("slept %v, want one backoff of 0.5–1 s", got)
	}
}

func TestConditionalRequestAnswered304(t *testing.T) {
	f := newFixture(t, simulate.APIOptions{RateLimit: 10}, "tok", nil)
	_, resp, err := f.getRepo()
	if err != nil {
		t.Fatal(err)
	}
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	req, _ := f.client.NewRequest("GET", "repos/"+f.repo, nil)
	req.Header.Set("If-None-Match", etag)
	resp, _ = f.client.Do(context.Background(), req, nil)
	if resp == nil || resp.StatusCode != http.StatusNotModified {
		t.Fatalf("answer %v, want 304", resp)
	}
	if st := f.tr.Stats(); st.NotModified != 1 || st.Remaining != 9 {
		t.Errorf("stats %+v: want one 304, and it must not use the limit (9 of 10 left)", st)
	}
}

func TestRevokedTokenIsNotRetried(t *testing.T) {
	f := newFixture(t, simulate.APIOptions{Tokens: map[string]simulate.APIToken{"old": {Revoked: true}}}, "old", nil)
	_, _, err := f.getRepo()
	err = githubapi.Explain(err, "read repository")
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), githubapi.TokenEnv) {
		t.Fatalf("error %v, want the 401 and %s named", err, githubapi.TokenEnv)
	}
	if st := f.tr.Stats(); st.Calls != 1 {
		t.Errorf("%d calls, want 1", st.Calls)
	}
}

func TestMissingPermissionIsNamed(t *testing.T) {
	f := newFixture(t, simulate.APIOptions{Tokens: map[string]simulate.APIToken{"fine": {Permissions: []string{"contents"}}}}, "fine", nil)
	_, _, err := f.client.PullRequests.List(context.Background(), strings.Split(f.repo, "/")[0], strings.Split(f.repo, "/")[1], nil)
	err = githubapi.Explain(err, "list pull requests")
	if err == nil || !strings.Contains(err.Error(), "pull_requests=read") || !strings.Contains(err.Error(), "pull requests") {
		t.Fatalf("error %v, want the pull_requests permission named", err)
	}
}

func TestMissingOAuthScopeIsNamed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-OAuth-Scopes", "read:org")
		w.Header().Set("X-Accepted-OAuth-Scopes", "repo")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"message":"Must have admin rights to Repository."}`))
	}))
	defer srv.Close()
	c, err := githubapi.NewClient("classic", srv.URL, &githubapi.Transport{Clock: githubapi.NewFakeClock(t0)})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Repositories.ListDeployments(context.Background(), "o", "r", nil)
	err = githubapi.Explain(err, "list deployments")
	if err == nil || !strings.Contains(err.Error(), "OAuth scope repo") {
		t.Fatalf("error %v, want the repo scope named", err)
	}
}

// TestGraphQLLimitWaitsForTheReset: GraphQL answers a spent budget with 200,
// an error of type RATE_LIMITED and X-RateLimit-Remaining 0; the query waits
// for the reset and is sent again, as a REST call would be.
func TestGraphQLLimitWaitsForTheReset(t *testing.T) {
	f := newFixture(t, simulate.APIOptions{RateLimit: 2}, "tok", nil)
	owner, name, _ := strings.Cut(f.repo, "/")
	endpoint := *f.client.BaseURL // GitHub Enterprise's layout: /api/v3/ and /api/graphql
	endpoint.Path = "/api/graphql"
	for i := 0; i < 3; i++ {
		req, err := f.client.NewRequest("POST", endpoint.String(), map[string]any{
			"query":     "query($owner: String!, $name: String!) { rateLimit { cost remaining resetAt } repository(owner: $owner, name: $name) { pr1: pullRequest(number: 1) { files(first: 100) { nodes { path } } } } }",
			"variables": map[string]string{"owner": owner, "name": name}})
		if err != nil {
			t.Fatal(err)
		}
		var ans struct {
			Data struct {
				RateLimit struct {
					Cost int `json:"cost"`
				} `json:"rateLimit"`
			} `json:"data"`
			Errors []struct {
				Type string `json:"type"`
			} `json:"errors"`
		}
		if _, err := f.client.Do(context.Background(), req, &ans); err != nil {
			t.Fatalf("query %d: %v", i+1, err)
		}
		// (The pull request does not exist: a NOT_FOUND error is fine.)
		if len(ans.Errors) != 1 || ans.Errors[0].Type != "NOT_FOUND" || ans.Data.RateLimit.Cost != 1 {
			t.Fatalf("query %d answered %+v", i+1, ans)
		}
	}
	want := time.Hour + time.Second
	if got := f.clock.Slept(); len(got) != 1 || got[0] != want {
		t.Fatalf("slept %v, want [%v]", got, want)
	}
	if len(f.waits) != 1 || !strings.Contains(f.waits[0].Reason, "primary rate limit") {
		t.Errorf("waits announced: %+v", f.waits)
	}
	if st := f.tr.Stats(); st.Calls != 4 || st.RateWaited != want {
		t.Errorf("stats %+v, want 4 calls and %v waited", st, want)
	}
}
