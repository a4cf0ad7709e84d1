package gitlab_test

import (
	"context"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/doraflow/doraflow/backfill/backfilltest"
	bfgitlab "github.com/doraflow/doraflow/backfill/gitlab"
	"github.com/doraflow/doraflow/backfill/gitlab/gitlabfake"
	"github.com/doraflow/doraflow/githubapi"
)

// BenchmarkImportGroup imports a generated group (gitlabfake.Generate:
// 100 merged requests per project over 180 days) through the fake REST API
// (answering at once) into a publisher that keeps nothing: the import's own
// cost, and the API calls it makes. DORA_BENCH_PROJECTS sets the number of
// projects (default 20), DORA_BENCH_MERGE_REQUESTS the merged requests per
// project (default 100), DORA_BENCH_API_LATENCY a delay of every answer
// (200ms: a real host's answer time) and DORA_BENCH_WORKERS the --workers
// compared (1,4).
func BenchmarkImportGroup(b *testing.B) {
	projects := 20
	if v, err := strconv.Atoi(os.Getenv("DORA_BENCH_PROJECTS")); err == nil && v > 0 {
		projects = v
	}
	mrs := 100
	if v, err := strconv.Atoi(os.Getenv("DORA_BENCH_MERGE_REQUESTS")); err == nil && v > 0 {
		mrs = v
	}
	end := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	start := end.AddDate(0, 0, -180)
	inst := gitlabfake.Generate(gitlabfake.GroupConfig{Group: "acme", Projects: projects, MergeRequests: mrs,
		Start: start, End: end, Seed: 12})
	latency := backfilltest.BenchLatency(b)
	for _, workers := range backfilltest.BenchWorkers(b) {
		b.Run("workers="+strconv.Itoa(workers), func(b *testing.B) {
			importGroup(b, inst, start, end, latency, workers)
		})
	}
}

func importGroup(b *testing.B, inst gitlabfake.Instance, start, end time.Time, latency time.Duration, workers int) {
	for i := 0; i < b.N; i++ {
		api := gitlabfake.New(inst, "tok")
		api.Latency = latency
		srv := httptest.NewServer(api)
		tr := &githubapi.Transport{}
		client, err := bfgitlab.NewClient("tok", srv.URL, tr)
		if err != nil {
			b.Fatal(err)
		}
		cps := backfilltest.Checkpoints(b)
		pub := &backfilltest.Discard{}
		t0 := time.Now()
		sum, err := bfgitlab.Run(context.Background(), bfgitlab.Config{Client: client, Transport: tr, Group: "acme",
			Since: start.AddDate(0, 0, -1), Until: end.AddDate(0, 0, 1), Publisher: pub, Checkpoints: cps, Workers: workers})
		took := time.Since(t0)
		srv.Close()
		if err != nil {
			b.Fatal(err)
		}
		_, routes := api.Calls()
		perProject := float64(sum.Calls) / float64(sum.Repositories)
		b.ReportMetric(perProject, "calls/project")
		b.ReportMetric(float64(sum.Deliveries)/took.Seconds(), "deliveries/s")
		b.ReportMetric(took.Seconds(), "s/import")
		b.Logf("%d projects, %d deliveries %v, %d calls (%.1f per project) %v, in %s with %d workers (answers after %s; at most %d requests in flight)",
			sum.Repositories, sum.Deliveries, sum.Kinds, sum.Calls, perProject, routes, took.Round(time.Millisecond),
			workers, latency, api.PeakInFlight())
	}
}
