package api_test

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/doraflow/doraflow/metrics"
	"github.com/doraflow/doraflow/metrics/metricstest"
)

// fakeEngine stands in for the metrics and toil engines: it resolves
// queries by the engine's own rules (metrics.ResolveQuery), answers with
// the numbers it was given, records every query the API asked, and fails
// every query with err when err is set. The numbers themselves are the
// metrics package's tests' (and, through the API over ClickHouse, the
// end-to-end tests').
type fakeEngine struct {
	zone     string
	settings metrics.ToilSettings

	results     []metrics.Result
	series      []metrics.SeriesRow
	deployments []metrics.DeploymentRow
	changes     []metrics.ChangeRow
	incidents   []metrics.IncidentRow
	toil        []metrics.ToilResult
	toilSeries  []metrics.ToilSeriesRow
	toilChanges []metrics.ToilChangeRow
	onboarding  metrics.Onboarding
	reinvented  metrics.Reinvented
	scorecard   metrics.Scorecard

	mu      sync.Mutex
	err     error
	asked   []metrics.Query
	lists   []metrics.ListQuery
	buckets []string
}

// newFakeEngine answers with the metricstest scenario's results (legacy,
// checkout and search by service; the organisation; the monthly series),
// one row of each drill-down, and a toil quarter.
func newFakeEngine(t *testing.T) *fakeEngine {
	t.Helper()
	f := &fakeEngine{zone: metricstest.Zone, settings: metrics.DefaultToilSettings()}
	f.settings.HourlyRate, f.settings.Currency = 80, "EUR"
	decode := func(s string, v any) {
		t.Helper()
		if err := json.Unmarshal([]byte(s), v); err != nil {
			t.Fatal(err)
		}
	}
	decode("["+metricstest.LegacyJSON+","+metricstest.CheckoutJSON+","+metricstest.SearchJSON+"]", &f.results)
	decode(metricstest.SeriesByMonthJSON, &f.series)
	at := time.Date(2026, 1, 14, 9, 0, 0, 0, time.UTC)
	recovered, recovery := at.Add(time.Hour).Format(time.RFC3339), int64(3600)
	f.deployments = []metrics.DeploymentRow{{Service: "checkout", Team: "payments", Repo: "acme/checkout",
		DeploymentID: "d4", Environment: "production", SHA: "4444444", FinishedAt: at, FailedBool: true,
		FailureCause: "incident", Recovered: &recovered, Recovery: &recovery, Rework: "", Changes: 1}}
	f.changes = []metrics.ChangeRow{{Service: "checkout", Team: "payments", Repo: "acme/checkout", ChangeID: "pr/4",
		Kind: "pull_request", Title: "a change", Author: "alice", Labels: []string{}, StartedAt: at.Add(-2 * time.Hour),
		MergedAt: at.Add(-time.Hour), DeploymentID: "d4", DeployedAt: at, Environment: "production",
		LeadSeconds: 7200, State: "deployed"}}
	restore := int64(5400)
	f.incidents = []metrics.IncidentRow{{Service: "checkout", Team: "payments", Repo: "acme/checkout", Source: "pagerduty",
		IncidentID: "i1", Title: "checkout down", CreatedAt: at.Add(10 * time.Minute), Resolved: &recovered,
		Restore: &restore, DeploymentID: "d4", Link: "explicit", Environment: "production"}}

	share, byCount := 0.25, 0.5
	f.toil = []metrics.ToilResult{{Group: "web", Team: "web", Owned: true, Changes: 2, ToilChanges: 1,
		ShareByCount: &byCount, ActiveSeconds: 14400, ToilActiveSeconds: 3600, ShareByActiveTime: &share,
		ByRule: []metrics.ToilRule{{Rule: "label", Changes: 1, ActiveSeconds: 3600}},
		Cost:   f.settings.Cost(3600, 14400, 600, 7200)}}
	f.toilSeries = []metrics.ToilSeriesRow{{Bucket: "2026-07-01T00:00:00Z", BucketMs: 1782864000000,
		BucketEnd: "2026-08-01T00:00:00Z", BucketEndMs: 1785542400000, ToilResult: f.toil[0]}}
	f.toilChanges = []metrics.ToilChangeRow{{Service: "shop", Team: "web", Repo: "acme/shop", ChangeID: "pr/1",
		Kind: "pull_request", Title: "change pr/1", Author: "alice", Labels: []string{"infra"}, Paths: []string{},
		StartedAt: at, MergedAt: at.Add(time.Hour), ToilBool: true, ToilReason: "label:infra", ToilRule: "label",
		ActiveSeconds: 3600}}
	history := "2026-01-02T10:00:00Z"
	f.onboarding = metrics.Onboarding{HistoryStart: &history, GraceSeconds: 30 * 24 * 3600, NewAfter: &history,
		Groups: []metrics.OnboardingGroup{}, Contributors: []metrics.Contributor{}}
	f.reinvented = metrics.Reinvented{SamePathRepos: 3, ActiveRepos: 1, Kinds: []metrics.ReinventedKind{{Kind: "docker",
		Title: "Dockerfiles", RepoCount: 1, Repos: []string{"acme/shop"}, TeamCount: 1, Paths: 1, Commits: 2,
		SamePath: []metrics.SamePath{}}}}
	f.scorecard = f.settings.Scorecard(f.toil[0], nil, f.onboarding, f.reinvented)
	return f
}

func (f *fakeEngine) ask(q metrics.Query, bucket string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, q)
	f.buckets = append(f.buckets, bucket)
	return f.err
}

func (f *fakeEngine) list(q metrics.ListQuery) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists = append(f.lists, q)
	return f.err
}

// last returns the last query the API asked.
func (f *fakeEngine) last(t *testing.T) (metrics.Query, string) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.asked) == 0 {
		t.Fatal("the engine was asked nothing")
	}
	return f.asked[len(f.asked)-1], f.buckets[len(f.buckets)-1]
}

func (f *fakeEngine) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

// checkBucket refuses a bucket as the engines do.
func checkBucket(bucket string) error {
	if !slices.Contains([]string{metrics.BucketDay, metrics.BucketWeek, metrics.BucketMonth, metrics.BucketQuarter}, bucket) {
		return &metrics.QueryError{Param: "bucket", Reason: "not one of day, week, month, quarter"}
	}
	return nil
}

func (f *fakeEngine) TimeZone() string { return f.zone }

func (f *fakeEngine) Resolve(q metrics.Query) (metrics.Query, error) {
	return metrics.ResolveQuery(q, f.zone)
}

func (f *fakeEngine) Summary(_ context.Context, q metrics.Query) ([]metrics.Result, error) {
	return f.results, f.ask(q, "")
}

func (f *fakeEngine) Series(_ context.Context, q metrics.Query, bucket string) ([]metrics.SeriesRow, error) {
	if err := checkBucket(bucket); err != nil {
		return nil, err
	}
	return f.series, f.ask(q, bucket)
}

func (f *fakeEngine) Deployments(_ context.Context, q metrics.ListQuery) ([]metrics.DeploymentRow, error) {
	return f.deployments, f.list(q)
}

func (f *fakeEngine) Changes(_ context.Context, q metrics.ListQuery) ([]metrics.ChangeRow, error) {
	return f.changes, f.list(q)
}

func (f *fakeEngine) Incidents(_ context.Context, q metrics.ListQuery) ([]metrics.IncidentRow, error) {
	return f.incidents, f.list(q)
}

// fakeToil is the toil side of the fake; the methods' names clash with
// the DORA side's.
type fakeToil struct{ *fakeEngine }

func (f fakeToil) Settings() metrics.ToilSettings { return f.settings }

func (f fakeToil) Summary(_ context.Context, q metrics.Query) ([]metrics.ToilResult, error) {
	return f.toil, f.ask(q, "")
}

func (f fakeToil) Series(_ context.Context, q metrics.Query, bucket string) ([]metrics.ToilSeriesRow, error) {
	if err := checkBucket(bucket); err != nil {
		return nil, err
	}
	return f.toilSeries, f.ask(q, bucket)
}

func (f fakeToil) Changes(_ context.Context, q metrics.ListQuery) ([]metrics.ToilChangeRow, error) {
	return f.toilChanges, f.list(q)
}

func (f fakeToil) Onboarding(_ context.Context, q metrics.Query, bucket string) (metrics.Onboarding, error) {
	if bucket != "" {
		if err := checkBucket(bucket); err != nil {
			return metrics.Onboarding{}, err
		}
	}
	return f.onboarding, f.ask(q, bucket)
}

func (f fakeToil) Reinvented(_ context.Context, q metrics.Query) (metrics.Reinvented, error) {
	return f.reinvented, f.ask(q, "")
}

func (f fakeToil) Scorecard(_ context.Context, q metrics.Query) (metrics.Scorecard, error) {
	return f.scorecard, f.ask(q, "")
}
