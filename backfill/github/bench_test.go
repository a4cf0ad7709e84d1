package github_test

import (
	"context"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/doraflow/doraflow/backfill/backfilltest"
	ghbackfill "github.com/doraflow/doraflow/backfill/github"
	"github.com/doraflow/doraflow/githubapi"
	"github.com/doraflow/doraflow/simulate"
)

// BenchmarkImportOrganisation imports a simulated organisation's year
// through the fake REST API (answering at once) into a publisher that
// keeps nothing: the import's own cost, and the API calls it makes.
// DORA_BENCH_REPOS sets the number of repositories (default 20; the
// figures in docs/performance.md are for 200), DORA_BENCH_DAYS the period,
// DORA_BENCH_API_LATENCY a delay of every answer (200ms: a real host's
// answer time) and DORA_BENCH_WORKERS the --workers compared (1,4).
func BenchmarkImportOrganisation(b *testing.B) {
	repos := 20
	if v, err := strconv.Atoi(os.Getenv("DORA_BENCH_REPOS")); err == nil && v >= 10 {
		repos = v
	}
	cfg := simulate.DefaultOrgConfig()
	cfg.Seed = 2025
	cfg.Teams, cfg.ServicesPerTeam, cfg.EngineersPerTeam = repos/10, 10, 6
	cfg.Start = time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC)
	cfg.End = cfg.Start.AddDate(1, 0, 0)
	cfg.WarmupDays = 7
	cfg.DeploysPerWeek, cfg.ChangesPerDeploy = 2, 1
	cfg.UnlinkedIncidentsPerMonth = float64(repos) / 10
	start := time.Now()
	org, hist, err := simulate.GenerateHistory(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%d repositories, %d webhook deliveries of history, generated in %s", len(hist.Repos()), len(org.Deliveries()), time.Since(start).Round(time.Second))
	// DORA_BENCH_DAYS imports only the last days of the year (the
	// default 180 days of an import, say); default: all of it.
	since := cfg.Start.AddDate(0, 0, -8)
	if v, err := strconv.Atoi(os.Getenv("DORA_BENCH_DAYS")); err == nil && v > 0 {
		since = cfg.End.AddDate(0, 0, -v)
	}
	latency := backfilltest.BenchLatency(b)
	for _, workers := range backfilltest.BenchWorkers(b) {
		b.Run("workers="+strconv.Itoa(workers), func(b *testing.B) {
			importOrganisation(b, hist, cfg.Owner, since, latency, workers)
		})
	}
}

func importOrganisation(b *testing.B, hist *simulate.RESTHistory, owner string, since time.Time, latency time.Duration, workers int) {
	for i := 0; i < b.N; i++ {
		api := simulate.NewGitHubAPI(hist, simulate.APIOptions{Org: owner, RateLimit: 1 << 30, Latency: latency})
		srv := httptest.NewServer(api)
		tr := &githubapi.Transport{}
		client, err := githubapi.NewClient("tok", srv.URL, tr)
		if err != nil {
			b.Fatal(err)
		}
		cps := backfilltest.Checkpoints(b)
		pub := &backfilltest.Discard{}
		t0 := time.Now()
		sum, err := ghbackfill.Run(context.Background(), ghbackfill.Config{Client: client, Transport: tr, Org: owner,
			Since: since, Publisher: pub, Checkpoints: cps, Workers: workers})
		took := time.Since(t0)
		srv.Close()
		if err != nil {
			b.Fatal(err)
		}
		prs := sum.Kinds["pull_request"]
		b.ReportMetric(float64(sum.Calls)/float64(sum.Repositories), "calls/repo")
		b.ReportMetric(float64(sum.Calls)/float64(sum.Repositories)/(float64(prs)/float64(sum.Repositories)/100), "calls/repo/100PRs")
		b.ReportMetric(float64(sum.Deliveries)/took.Seconds(), "deliveries/s")
		b.ReportMetric(took.Seconds(), "s/import")
		b.Logf("%d repositories, %d pull requests, %d deliveries %v, %d calls %v (GraphQL: %d points), in %s with %d workers (answers after %s; at most %d requests in flight)",
			sum.Repositories, prs, sum.Deliveries, sum.Kinds, sum.Calls, api.CallsByKind(), sum.GraphQLPoints, took.Round(time.Millisecond),
			workers, latency, api.PeakInFlight())
	}
}
