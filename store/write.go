package store

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"golang.org/x/sync/errgroup"

	"github.com/doraflow/doraflow/delivery"
	"github.com/doraflow/doraflow/facts"
)

var epoch = time.Unix(0, 0).UTC()

// dt converts a time for a DateTime('UTC') column: UTC, whole seconds, and
// the zero time (or anything the column cannot hold) as epoch 0.
func dt(t time.Time) time.Time {
	if t.IsZero() {
		return epoch
	}
	u := t.Unix()
	if u <= 0 || u > math.MaxUint32 {
		return epoch
	}
	return time.Unix(u, 0).UTC()
}

// fromDT is the inverse of dt: epoch 0 reads back as the zero time.
func fromDT(t time.Time) time.Time {
	if t.IsZero() || t.Unix() <= 0 {
		return time.Time{}
	}
	return t.UTC()
}

// versionOf is a fact's version: its update time in milliseconds.
func versionOf(t time.Time) uint64 {
	if t.IsZero() || t.UnixMilli() <= 0 {
		return 0
	}
	return uint64(t.UnixMilli())
}

func b8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func strs(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func u32(n int) uint32 {
	switch {
	case n < 0:
		return 0
	case uint64(n) > math.MaxUint32:
		return math.MaxUint32
	}
	return uint32(n)
}

// insert sends n rows to one table through a single batch. row appends the
// i-th row's values in the order of cols.
func (s *Store) insert(ctx context.Context, table, cols string, n int, row func(b driver.Batch, i int) error) error {
	if n == 0 {
		return nil
	}
	b, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+table+" ("+cols+")")
	if err != nil {
		return fmt.Errorf("store: insert into %s: %w", table, err)
	}
	for i := 0; i < n; i++ {
		if err := row(b, i); err != nil {
			_ = b.Abort()
			return fmt.Errorf("store: insert into %s, row %d: %w", table, i, err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("store: insert into %s: %w", table, err)
	}
	return nil
}

const rawCols = "source, delivery_id, event, received_at, key, payload, archived_at"

// WriteRaw archives deliveries exactly as received. Writing the same
// delivery again is harmless: reads deduplicate by (source, delivery id).
// The batch is handed over a column at a time: the archive is the widest
// insert of a batch, and whole columns skip the per-value conversions of
// row-wise appends.
func (s *Store) WriteRaw(ctx context.Context, ds []delivery.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	n := len(ds)
	sources, ids, events, keys, payloads := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	received, archived := make([]time.Time, n), make([]time.Time, n)
	now := dt(time.Now())
	for i, d := range ds {
		sources[i], ids[i], events[i], keys[i], payloads[i] = d.Source, d.ID, d.Event, d.Key, string(d.Payload)
		received[i], archived[i] = dt(d.ReceivedAt), now
	}
	b, err := s.conn.PrepareBatch(ctx, "INSERT INTO raw_deliveries ("+rawCols+")")
	if err != nil {
		return fmt.Errorf("store: insert into raw_deliveries: %w", err)
	}
	// In the order of rawCols.
	for i, col := range []any{sources, ids, events, received, keys, payloads, archived} {
		if err := b.Column(i).Append(col); err != nil {
			_ = b.Abort()
			return fmt.Errorf("store: insert into raw_deliveries, column %d: %w", i, err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("store: insert into raw_deliveries: %w", err)
	}
	return nil
}

const (
	commitCols = "repo, sha, message, author_name, author_email, author_login, authored_at, paths, url"
	pushCols   = "repo, ref, before_sha, after_sha, commit_shas, total_commits, pushed_at, forced, deleted, pusher"
	prCols     = "repo, number, title, author, labels, head_ref, head_sha, base_ref, state, merged, " +
		"merge_commit_sha, created_at, merged_at, closed_at, updated_at, version, url"
	reviewCols     = "repo, pr_number, review_id, state, author, submitted_at"
	deploymentCols = "repo, deployment_id, sha, ref, environment, production_environment, task, " +
		"description, creator, commit_shas, created_at, updated_at, version, url"
	statusCols = "repo, deployment_id, status_id, state, environment, created_at, url"
	runCols    = "repo, run_id, attempt, name, path, head_branch, head_sha, event, status, conclusion, " +
		"started_at, finished_at, updated_at, version, url"
	releaseCols  = "repo, release_id, tag, target, name, prerelease, draft, created_at, published_at, url"
	incidentCols = "source, incident_id, repo, service, title, state, severity, url, labels, " +
		"created_at, resolved_at, updated_at, caused_by_deployment, caused_by_sha, version"
)

// factWriters bounds the concurrent inserts of one WriteFacts: with the
// archive insert beside it and a derivation's four history readers and
// three derived-table writes, the aggregator then needs at most the pool's
// ten connections.
const factWriters = 2

// WriteFacts writes every fact of the batch, one insert per non-empty table,
// the tables at once (they are independent; each insert is atomic on its
// own). Entities that change over time are versioned by their update time,
// so the newest state wins however late an older one arrives.
func (s *Store) WriteFacts(ctx context.Context, fb facts.Batch) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(factWriters)
	g.Go(func() error {
		return s.insert(ctx, "commits", commitCols, len(fb.Commits), func(b driver.Batch, i int) error {
			c := fb.Commits[i]
			return b.Append(c.Repo, c.SHA, c.Message, c.AuthorName, c.AuthorEmail, c.AuthorLogin,
				dt(c.AuthoredAt), strs(c.Paths), c.URL)
		})
	})
	g.Go(func() error {
		return s.insert(ctx, "pushes", pushCols, len(fb.Pushes), func(b driver.Batch, i int) error {
			p := fb.Pushes[i]
			return b.Append(p.Repo, p.Ref, p.Before, p.After, strs(p.CommitSHAs), u32(p.TotalCommits), dt(p.PushedAt),
				b8(p.Forced), b8(p.Deleted), p.Pusher)
		})
	})
	g.Go(func() error {
		return s.insert(ctx, "pull_requests", prCols, len(fb.PullRequests), func(b driver.Batch, i int) error {
			p := fb.PullRequests[i]
			return b.Append(p.Repo, p.Number, p.Title, p.Author, strs(p.Labels), p.HeadRef, p.HeadSHA,
				p.BaseRef, p.State, b8(p.Merged), p.MergeCommitSHA, dt(p.CreatedAt), dt(p.MergedAt),
				dt(p.ClosedAt), dt(p.UpdatedAt), versionOf(p.UpdatedAt), p.URL)
		})
	})
	g.Go(func() error {
		return s.insert(ctx, "reviews", reviewCols, len(fb.Reviews), func(b driver.Batch, i int) error {
			r := fb.Reviews[i]
			return b.Append(r.Repo, r.PRNumber, r.ReviewID, r.State, r.Author, dt(r.SubmittedAt))
		})
	})
	g.Go(func() error {
		return s.insert(ctx, "deployments", deploymentCols, len(fb.Deployments), func(b driver.Batch, i int) error {
			d := fb.Deployments[i]
			ver := d.UpdatedAt
			if ver.IsZero() {
				ver = d.CreatedAt
			}
			return b.Append(d.Repo, d.ID, d.SHA, d.Ref, d.Environment, b8(d.ProductionEnvironment),
				d.Task, d.Description, d.Creator, strs(d.CommitSHAs), dt(d.CreatedAt), dt(d.UpdatedAt),
				versionOf(ver), d.URL)
		})
	})
	g.Go(func() error {
		return s.insert(ctx, "deployment_statuses", statusCols, len(fb.DeploymentStatuses), func(b driver.Batch, i int) error {
			d := fb.DeploymentStatuses[i]
			return b.Append(d.Repo, d.DeploymentID, d.StatusID, d.State, d.Environment, dt(d.CreatedAt), d.URL)
		})
	})
	g.Go(func() error {
		return s.insert(ctx, "pipeline_runs", runCols, len(fb.PipelineRuns), func(b driver.Batch, i int) error {
			r := fb.PipelineRuns[i]
			return b.Append(r.Repo, r.ID, r.Attempt, r.Name, r.Path, r.HeadBranch, r.HeadSHA, r.Event,
				r.Status, r.Conclusion, dt(r.StartedAt), dt(r.FinishedAt), dt(r.UpdatedAt),
				versionOf(r.UpdatedAt), r.URL)
		})
	})
	g.Go(func() error {
		return s.insert(ctx, "releases", releaseCols, len(fb.Releases), func(b driver.Batch, i int) error {
			r := fb.Releases[i]
			return b.Append(r.Repo, r.ID, r.Tag, r.Target, r.Name, b8(r.Prerelease), b8(r.Draft),
				dt(r.CreatedAt), dt(r.PublishedAt), r.URL)
		})
	})
	g.Go(func() error {
		return s.insert(ctx, "incidents", incidentCols, len(fb.Incidents), func(b driver.Batch, i int) error {
			x := fb.Incidents[i]
			return b.Append(x.Source, x.ID, x.Repo, x.Service, x.Title, x.State, x.Severity, x.URL,
				strs(x.Labels), dt(x.CreatedAt), dt(x.ResolvedAt), dt(x.UpdatedAt),
				x.CausedByDeployment, x.CausedBySHA, versionOf(x.UpdatedAt))
		})
	})
	return g.Wait()
}
