package metrics_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/metrics"
	"github.com/doraflow/doraflow/schema"
	"github.com/doraflow/doraflow/store/storetest"
)

// observedByScan is the observation start read straight from the facts
// tables, as observed.sql read it before observation_starts kept it: the
// independent route the kept table is compared with.
const observedByScan = `SELECT repo, min(t) AS since
FROM
(
    SELECT repo, min(pushed_at) AS t FROM pushes WHERE toUnixTimestamp(pushed_at) > 0 GROUP BY repo
    UNION ALL
    SELECT repo, min(created_at) AS t FROM deployment_statuses WHERE toUnixTimestamp(created_at) > 0 GROUP BY repo
    UNION ALL
    SELECT repo, min(merged_at) AS t FROM pull_requests WHERE toUnixTimestamp(merged_at) > 0 GROUP BY repo
    UNION ALL
    SELECT repo, min(started_at) AS t FROM pipeline_runs WHERE toUnixTimestamp(started_at) > 0 GROUP BY repo
    UNION ALL
    SELECT repo, min(published_at) AS t FROM releases WHERE toUnixTimestamp(published_at) > 0 GROUP BY repo
) AS o
GROUP BY repo
ORDER BY repo`

// The observation starts kept as facts arrive are those a scan of every
// fact gives: over batches of the five kinds in random order, later
// batches bringing earlier times, times at the epoch (no time) left out;
// and the migration's backfill alone gives them again from the facts.
func TestObservationStartsAnswerAsTheFacts(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	rng := rand.New(rand.NewPCG(13, 8))
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func() time.Time {
		if rng.IntN(10) == 0 {
			return time.Time{} // no time: never an observation start
		}
		return base.Add(time.Duration(rng.IntN(700*24)) * time.Hour)
	}
	// Hand-worked: acme/early's earliest fact is a release published on
	// 2024-06-01, sent in the last batch; acme/none has only facts without
	// a time and no observation start.
	early := time.Date(2024, 6, 1, 8, 0, 0, 0, time.UTC)
	for b := range 12 {
		var batch facts.Batch
		for i := range 40 {
			repo := fmt.Sprintf("acme/r%d", rng.IntN(15))
			id := fmt.Sprintf("%d-%d", b, i)
			switch rng.IntN(5) {
			case 0:
				batch.Pushes = append(batch.Pushes, facts.Push{Repo: repo, Ref: "refs/heads/main", Before: "0", After: id, PushedAt: at()})
			case 1:
				batch.DeploymentStatuses = append(batch.DeploymentStatuses, facts.DeploymentStatus{Repo: repo, DeploymentID: id, StatusID: id, CreatedAt: at()})
			case 2:
				batch.PullRequests = append(batch.PullRequests, facts.PullRequest{Repo: repo, Number: int64(b*100 + i), CreatedAt: at(), MergedAt: at()})
			case 3:
				batch.PipelineRuns = append(batch.PipelineRuns, facts.PipelineRun{Repo: repo, ID: id, StartedAt: at()})
			default:
				batch.Releases = append(batch.Releases, facts.Release{Repo: repo, ID: id, Tag: "v" + id, PublishedAt: at()})
			}
		}
		batch.Pushes = append(batch.Pushes, facts.Push{Repo: "acme/none", Ref: "refs/heads/main", Before: "0", After: fmt.Sprint(b)})
		if b == 11 {
			batch.Releases = append(batch.Releases, facts.Release{Repo: "acme/early", ID: "r1", Tag: "v1", PublishedAt: early})
		}
		batch.Pushes = append(batch.Pushes, facts.Push{Repo: "acme/early", Ref: "refs/heads/main", Before: "0", After: "e" + fmt.Sprint(b),
			PushedAt: base.AddDate(0, 0, 30-b)})
		if err := st.WriteFacts(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	read := func(sql string) string {
		t.Helper()
		rows, err := st.Conn().Query(ctx, sql)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var repo string
			var since time.Time
			if err := rows.Scan(&repo, &since); err != nil {
				t.Fatal(err)
			}
			out = append(out, repo+" "+since.UTC().Format(time.RFC3339))
		}
		return strings.Join(out, "\n")
	}
	kept, err := metrics.SQL("observed")
	if err != nil {
		t.Fatal(err)
	}
	want := read(observedByScan)
	if got := read(kept); got != want {
		t.Errorf("kept observation starts:\n%s\nwant, from a scan of the facts:\n%s", got, want)
	}
	if !strings.Contains(want, "acme/early 2024-06-01T08:00:00Z") || strings.Contains(want, "acme/none") {
		t.Errorf("the scan itself is not what the hand-worked repositories say:\n%s", want)
	}
	if strings.Count(want, "\n") < 15 {
		t.Fatalf("only %d repositories: the comparison proves little", strings.Count(want, "\n")+1)
	}

	// Facts stored before the views existed: the migration's backfill
	// alone, on an emptied table, gives the same starts.
	if err := st.Conn().Exec(ctx, "TRUNCATE TABLE observation_starts"); err != nil {
		t.Fatal(err)
	}
	if got := read(kept); got != "" {
		t.Fatalf("observation_starts not emptied: %s", got)
	}
	var ran bool
	for _, m := range schema.MustMigrations() {
		if !strings.Contains(m.Name, "observation_starts") {
			continue
		}
		for _, stmt := range m.Statements() {
			if err := st.Conn().Exec(ctx, stmt); err != nil {
				t.Fatalf("%s: %v", m.Name, err)
			}
		}
		ran = true
	}
	if !ran {
		t.Fatal("no observation_starts migration")
	}
	if got := read(kept); got != want {
		t.Errorf("after the backfill:\n%s\nwant:\n%s", got, want)
	}
}
