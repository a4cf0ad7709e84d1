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
// projects (default 20).
func BenchmarkImportGroup(b *testing.B) {
	projects := 20
	if v, err := strconv.Atoi(os.Getenv("DORA_BENCH_PROJECTS")); err == nil && v > 0 {
		projects = v
	}
	end := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	start := end.AddDate(0, 0, -180)
	inst := gitlabfake.Generate(gitlabfake.GroupConfig{Group: "acme", Projects: projects, MergeRequests: 100,
		Start: start, End: end, Seed: 12})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		api := gitlabfake.New(inst, "tok")
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
			Since: start.AddDate(0, 0, -1), Until: end.AddDate(0, 0, 1), Publisher: pub, Checkpoints: cps})
		took := time.Since(t0)
		srv.Close()
		if err != nil {
			b.Fatal(err)
		}
		_, routes := api.Calls()
		perProject := float64(sum.Calls) / float64(sum.Repositories)
		b.ReportMetric(perProject, "calls/project")
		b.ReportMetric(float64(sum.Deliveries)/took.Seconds(), "deliveries/s")
		b.Logf("%d projects, %d deliveries %v, %d calls (%.1f per project of 100 merge requests) %v, in %s",
			sum.Repositories, sum.Deliveries, sum.Kinds, sum.Calls, perProject, routes, took.Round(time.Millisecond))
	}
}
