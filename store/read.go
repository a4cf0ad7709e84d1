package store

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"golang.org/x/sync/errgroup"

	"github.com/doraflow/doraflow/delivery"
	"github.com/doraflow/doraflow/facts"
)

// History returns every fact of one repository, one row per entity (the
// newest state where entities are versioned). Incidents belong to the
// repository named in their repo field.
func (s *Store) History(ctx context.Context, repo string) (facts.Batch, error) {
	m, err := s.HistoryMany(ctx, []string{repo})
	if err != nil {
		return facts.Batch{}, err
	}
	return m[repo], nil
}

// HistoryMany is History for several repositories at once, with one query
// per table. The map has an entry for every requested repository, empty
// when it has no facts. Times come back in UTC, epoch 0 as the zero time,
// empty arrays as nil; each slice is ordered by time, then by id.
func (s *Store) HistoryMany(ctx context.Context, repos []string) (map[string]facts.Batch, error) {
	want := map[string][]string{IncidentsTable: repos}
	for _, t := range RepoTables {
		want[t] = repos
	}
	hs, err := s.HistoryRead(ctx, want)
	if err != nil {
		return nil, err
	}
	out := make(map[string]facts.Batch, len(hs))
	for r, h := range hs {
		out[r] = h.Batch
	}
	return out, nil
}

// ReadHistory is what HistoryRead read of one repository: its facts, and the
// version column of each row of the tables that have one (pull_requests,
// deployments, pipeline_runs), in the order of the batch's slices.
type ReadHistory struct {
	facts.Batch
	Versions map[string][]uint64
}

// HistoryRead reads, for each table named in want (RepoTables and
// IncidentsTable), the facts of the repositories listed for it, as
// HistoryMany does: one query per table, all at once. The map has an entry
// for every listed repository.
func (s *Store) HistoryRead(ctx context.Context, want map[string][]string) (map[string]ReadHistory, error) {
	acc := map[string]*ReadHistory{}
	lists := make(map[string][]string, len(want))
	for t, repos := range want {
		repos = uniq(repos)
		lists[t] = repos
		for _, r := range repos {
			if acc[r] == nil {
				acc[r] = &ReadHistory{Versions: map[string][]uint64{}}
			}
		}
	}
	out := make(map[string]ReadHistory, len(acc))
	if len(acc) == 0 {
		return out, nil
	}
	var mu sync.Mutex // guards Versions, the one map steps share
	get := func(repo string) *facts.Batch {
		if h, ok := acc[repo]; ok {
			return &h.Batch
		}
		return nil
	}
	keepVersion := func(table, repo string, v uint64) {
		mu.Lock()
		defer mu.Unlock()
		if h, ok := acc[repo]; ok {
			h.Versions[table] = append(h.Versions[table], v)
		}
	}

	var incidents []facts.Incident // every update, ordered by incident and version
	steps := []struct {
		table string
		query string
		scan  func(driver.Rows) error
	}{
		{"commits", "SELECT " + commitCols + " FROM commits FINAL WHERE repo IN (?) ORDER BY repo, authored_at, sha",
			func(rows driver.Rows) error {
				var c facts.Commit
				if err := rows.Scan(&c.Repo, &c.SHA, &c.Message, &c.AuthorName, &c.AuthorEmail, &c.AuthorLogin, &c.AuthoredAt, &c.Paths, &c.URL); err != nil {
					return err
				}
				c.AuthoredAt = fromDT(c.AuthoredAt)
				c.Paths = nilIfEmpty(c.Paths)
				if b := get(c.Repo); b != nil {
					b.Commits = append(b.Commits, c)
				}
				return nil
			}},
		{"pushes", "SELECT " + pushCols + " FROM pushes FINAL WHERE repo IN (?) ORDER BY repo, pushed_at, ref, after_sha, before_sha",
			func(rows driver.Rows) error {
				var p facts.Push
				var forced, deleted uint8
				var total uint32
				if err := rows.Scan(&p.Repo, &p.Ref, &p.Before, &p.After, &p.CommitSHAs, &total, &p.PushedAt, &forced, &deleted, &p.Pusher); err != nil {
					return err
				}
				p.PushedAt = fromDT(p.PushedAt)
				p.CommitSHAs = nilIfEmpty(p.CommitSHAs)
				p.TotalCommits = int(total)
				p.Forced, p.Deleted = forced != 0, deleted != 0
				if b := get(p.Repo); b != nil {
					b.Pushes = append(b.Pushes, p)
				}
				return nil
			}},
		{"pull_requests", "SELECT " + prCols + " FROM pull_requests FINAL WHERE repo IN (?) ORDER BY repo, number, version",
			func(rows driver.Rows) error {
				var p facts.PullRequest
				var merged uint8
				var version uint64
				if err := rows.Scan(&p.Repo, &p.Number, &p.Title, &p.Author, &p.Labels, &p.HeadRef, &p.HeadSHA,
					&p.BaseRef, &p.State, &merged, &p.MergeCommitSHA, &p.CreatedAt, &p.MergedAt, &p.ClosedAt,
					&p.UpdatedAt, &version, &p.URL); err != nil {
					return err
				}
				p.Merged = merged != 0
				p.Labels = nilIfEmpty(p.Labels)
				p.CreatedAt, p.MergedAt = fromDT(p.CreatedAt), fromDT(p.MergedAt)
				p.ClosedAt, p.UpdatedAt = fromDT(p.ClosedAt), fromDT(p.UpdatedAt)
				if b := get(p.Repo); b != nil {
					b.PullRequests = append(b.PullRequests, p)
					keepVersion(PullRequestsTable, p.Repo, version)
				}
				return nil
			}},
		{"reviews", "SELECT " + reviewCols + " FROM reviews FINAL WHERE repo IN (?) ORDER BY repo, submitted_at, pr_number, review_id",
			func(rows driver.Rows) error {
				var r facts.Review
				if err := rows.Scan(&r.Repo, &r.PRNumber, &r.ReviewID, &r.State, &r.Author, &r.SubmittedAt); err != nil {
					return err
				}
				r.SubmittedAt = fromDT(r.SubmittedAt)
				if b := get(r.Repo); b != nil {
					b.Reviews = append(b.Reviews, r)
				}
				return nil
			}},
		{"deployments", "SELECT " + deploymentCols + " FROM deployments FINAL WHERE repo IN (?) ORDER BY repo, created_at, deployment_id",
			func(rows driver.Rows) error {
				var d facts.Deployment
				var prod uint8
				var version uint64
				if err := rows.Scan(&d.Repo, &d.ID, &d.SHA, &d.Ref, &d.Environment, &prod, &d.Task,
					&d.Description, &d.Creator, &d.CommitSHAs, &d.CreatedAt, &d.UpdatedAt, &version, &d.URL); err != nil {
					return err
				}
				d.ProductionEnvironment = prod != 0
				d.CommitSHAs = nilIfEmpty(d.CommitSHAs)
				d.CreatedAt, d.UpdatedAt = fromDT(d.CreatedAt), fromDT(d.UpdatedAt)
				if b := get(d.Repo); b != nil {
					b.Deployments = append(b.Deployments, d)
					keepVersion(DeploymentsTable, d.Repo, version)
				}
				return nil
			}},
		{"deployment_statuses", "SELECT " + statusCols + " FROM deployment_statuses FINAL WHERE repo IN (?) ORDER BY repo, created_at, deployment_id, status_id",
			func(rows driver.Rows) error {
				var d facts.DeploymentStatus
				if err := rows.Scan(&d.Repo, &d.DeploymentID, &d.StatusID, &d.State, &d.Environment, &d.CreatedAt, &d.URL); err != nil {
					return err
				}
				d.CreatedAt = fromDT(d.CreatedAt)
				if b := get(d.Repo); b != nil {
					b.DeploymentStatuses = append(b.DeploymentStatuses, d)
				}
				return nil
			}},
		{"pipeline_runs", "SELECT " + runCols + " FROM pipeline_runs FINAL WHERE repo IN (?) ORDER BY repo, started_at, run_id, attempt",
			func(rows driver.Rows) error {
				var r facts.PipelineRun
				var version uint64
				if err := rows.Scan(&r.Repo, &r.ID, &r.Attempt, &r.Name, &r.Path, &r.HeadBranch, &r.HeadSHA,
					&r.Event, &r.Status, &r.Conclusion, &r.StartedAt, &r.FinishedAt, &r.UpdatedAt, &version, &r.URL); err != nil {
					return err
				}
				r.StartedAt, r.FinishedAt, r.UpdatedAt = fromDT(r.StartedAt), fromDT(r.FinishedAt), fromDT(r.UpdatedAt)
				if b := get(r.Repo); b != nil {
					b.PipelineRuns = append(b.PipelineRuns, r)
					keepVersion(PipelineRunsTable, r.Repo, version)
				}
				return nil
			}},
		{"releases", "SELECT " + releaseCols + " FROM releases FINAL WHERE repo IN (?) ORDER BY repo, created_at, release_id",
			func(rows driver.Rows) error {
				var r facts.Release
				var pre, draft uint8
				if err := rows.Scan(&r.Repo, &r.ID, &r.Tag, &r.Target, &r.Name, &pre, &draft, &r.CreatedAt, &r.PublishedAt, &r.URL); err != nil {
					return err
				}
				r.Prerelease, r.Draft = pre != 0, draft != 0
				r.CreatedAt, r.PublishedAt = fromDT(r.CreatedAt), fromDT(r.PublishedAt)
				if b := get(r.Repo); b != nil {
					b.Releases = append(b.Releases, r)
				}
				return nil
			}},
		// Every update of an incident is kept; an incident belongs to the
		// repository its newest update names, so all its updates are read
		// for that repository.
		{"incidents", "SELECT " + incidentCols + " FROM incidents FINAL WHERE (source, incident_id) IN " +
			"(SELECT source, incident_id FROM incidents GROUP BY source, incident_id HAVING argMax(repo, version) IN (?)) " +
			"ORDER BY source, incident_id, version",
			func(rows driver.Rows) error {
				var x facts.Incident
				var version uint64
				if err := rows.Scan(&x.Source, &x.ID, &x.Repo, &x.Service, &x.Title, &x.State, &x.Severity, &x.URL,
					&x.Labels, &x.CreatedAt, &x.ResolvedAt, &x.UpdatedAt, &x.CausedByDeployment, &x.CausedBySHA,
					&version); err != nil {
					return err
				}
				x.Labels = nilIfEmpty(x.Labels)
				x.CreatedAt, x.ResolvedAt, x.UpdatedAt = fromDT(x.CreatedAt), fromDT(x.ResolvedAt), fromDT(x.UpdatedAt)
				incidents = append(incidents, x)
				return nil
			}},
	}
	// One query per table, all at once: on 18.16 a FINAL read runs on one
	// thread, so concurrent tables use the server's other cores. Each step
	// appends only to its own field of the batches (acc is only read), and
	// only the incidents step to incidents, so the steps share no memory.
	// At most historyReaders at once, leaving the pool's other connections
	// (ten by default) to the archive insert running beside it and to an API
	// sharing the pool.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(historyReaders)
	for _, st := range steps {
		repos := lists[st.table]
		if len(repos) == 0 {
			continue
		}
		g.Go(func() error {
			if err := s.eachRepos(gctx, st.query, repos, st.scan); err != nil {
				return fmt.Errorf("store: read %s: %w", st.table, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	// The rows of one incident are adjacent, its newest last.
	for i := 0; i < len(incidents); {
		j := i
		for j < len(incidents) && incidents[j].Source == incidents[i].Source && incidents[j].ID == incidents[i].ID {
			j++
		}
		if b := get(incidents[j-1].Repo); b != nil {
			b.Incidents = append(b.Incidents, incidents[i:j]...)
		}
		i = j
	}
	for r, h := range acc {
		out[r] = *h
	}
	return out, nil
}

// historyReaders bounds the concurrent queries of one HistoryMany.
const historyReaders = 4

// each runs a query and calls fn for every row.
func (s *Store) each(ctx context.Context, query string, args []any, fn func(driver.Rows) error) error {
	rows, err := s.conn.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// maxListBytes bounds the repository names bound into one query, well
// under the server's default max_query_size (256 KiB).
const maxListBytes = 64 << 10

// eachRepos runs a query whose single argument is a list of repositories,
// bound as `repo IN (?)`, and calls fn for every row. IN over a literal list
// lets ClickHouse (18.16 included) select the granules of those
// repositories by primary key, where has(array, repo) reads the whole
// table. Lists too long for one query are split, so that a query covers as
// many repositories as fit.
func (s *Store) eachRepos(ctx context.Context, query string, repos []string, fn func(driver.Rows) error) error {
	return inLists(repos, func(list []clickhouse.GroupSet) error { return s.each(ctx, query, []any{list}, fn) })
}

// inLists splits repos into lists that each fit in a query as `repo IN
// (?)` and calls fn with each in turn.
func inLists(repos []string, fn func([]clickhouse.GroupSet) error) error {
	for len(repos) > 0 {
		n, size := 0, 0
		for n < len(repos) && (n == 0 || size+len(repos[n])+6 <= maxListBytes) {
			size += len(repos[n]) + 6
			n++
		}
		if err := fn(inList(repos[:n])); err != nil {
			return err
		}
		repos = repos[n:]
	}
	return nil
}

// inList binds strings as the elements of `col IN (?)`: ('a'), ('b'), …
func inList(xs []string) []clickhouse.GroupSet {
	set := make([]clickhouse.GroupSet, len(xs))
	for i, x := range xs {
		set[i] = clickhouse.GroupSet{Value: []any{x}}
	}
	return set
}

// Repos lists, sorted, every repository that has at least one fact.
func (s *Store) Repos(ctx context.Context) ([]string, error) {
	var parts []string
	for _, t := range []string{"commits", "pushes", "pull_requests", "reviews", "deployments",
		"deployment_statuses", "pipeline_runs", "releases", "incidents"} {
		parts = append(parts, "SELECT DISTINCT repo FROM "+t)
	}
	q := "SELECT DISTINCT repo FROM ("
	for i, p := range parts {
		if i > 0 {
			q += " UNION ALL "
		}
		q += p
	}
	q += ") WHERE repo != '' ORDER BY repo"
	out, err := s.column(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("store: list repositories: %w", err)
	}
	return out, nil
}

// column runs a query of one String column and returns its values.
func (s *Store) column(ctx context.Context, query string) ([]string, error) {
	var out []string
	err := s.each(ctx, query, nil, func(rows driver.Rows) error {
		var v string
		if err := rows.Scan(&v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// CountRaw counts the archived deliveries, each (source, delivery id) once.
func (s *Store) CountRaw(ctx context.Context) (uint64, error) {
	var n uint64
	err := s.conn.QueryRow(ctx,
		"SELECT count() FROM (SELECT source, delivery_id FROM raw_deliveries GROUP BY source, delivery_id)").Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count raw deliveries: %w", err)
	}
	return n, nil
}

// rawChunk is how many deliveries RawDeliveries fetches per query.
const rawChunk = 500

type rawKey struct {
	source, id string
}

// RawDeliveries streams the archive in the order deliveries were received
// (ties by source, then delivery id), each (source, delivery id) once, at
// its first reception. An empty source means every source. It stops at the
// first error fn returns and returns that error.
//
// The archive is walked one UTC day at a time: the day's keys are listed
// and sorted first, then the payloads are fetched in chunks by primary key,
// so neither side ever holds more than a day of keys and a chunk of
// payloads, and no single query runs for long.
func (s *Store) RawDeliveries(ctx context.Context, source string, fn func(delivery.Delivery) error) error {
	var days []uint32
	err := s.each(ctx,
		"SELECT intDiv(toUInt32(received_at), 86400) AS day FROM raw_deliveries WHERE (? = '' OR source = ?) GROUP BY day ORDER BY day",
		[]any{source, source}, func(rows driver.Rows) error {
			var d uint32
			if err := rows.Scan(&d); err != nil {
				return err
			}
			days = append(days, d)
			return nil
		})
	if err != nil {
		return fmt.Errorf("store: list archive days: %w", err)
	}
	for _, day := range days {
		from := time.Unix(int64(day)*86400, 0).UTC()
		to := from.Add(24 * time.Hour)
		var keys []rawKey
		var firsts []time.Time
		err := s.each(ctx,
			"SELECT source, delivery_id, received_at FROM raw_deliveries"+
				" WHERE received_at >= ? AND received_at < ? AND (? = '' OR source = ?)"+
				" ORDER BY received_at, source, delivery_id LIMIT 1 BY source, delivery_id",
			[]any{from, to, source, source}, func(rows driver.Rows) error {
				var k rawKey
				var at time.Time
				if err := rows.Scan(&k.source, &k.id, &at); err != nil {
					return err
				}
				keys = append(keys, k)
				firsts = append(firsts, fromDT(at))
				return nil
			})
		if err != nil {
			return fmt.Errorf("store: list archive keys of %s: %w", from.Format("2006-01-02"), err)
		}
		for lo := 0; lo < len(keys); lo += rawChunk {
			hi := min(lo+rawChunk, len(keys))
			got, err := s.rawByKey(ctx, keys[lo:hi])
			if err != nil {
				return err
			}
			for i := lo; i < hi; i++ {
				d, ok := got[keys[i]]
				if !ok || !d.ReceivedAt.Equal(firsts[i]) {
					// First received on an earlier day, and streamed then.
					continue
				}
				if err := fn(d); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// scanDelivery reads a row of source, delivery_id, event, received_at, key,
// payload.
func scanDelivery(rows driver.Rows) (delivery.Delivery, error) {
	var d delivery.Delivery
	var payload string
	if err := rows.Scan(&d.Source, &d.ID, &d.Event, &d.ReceivedAt, &d.Key, &payload); err != nil {
		return d, err
	}
	d.ReceivedAt = fromDT(d.ReceivedAt)
	d.Payload = []byte(payload)
	return d, nil
}

// rawByKey fetches the first reception of each key.
func (s *Store) rawByKey(ctx context.Context, keys []rawKey) (map[rawKey]delivery.Delivery, error) {
	set := make([]clickhouse.GroupSet, 0, len(keys)+1)
	for _, k := range keys {
		set = append(set, clickhouse.GroupSet{Value: []any{k.source, k.id}})
	}
	if len(set) == 1 {
		// A one-element list would read as a bare tuple on the right of IN.
		set = append(set, set[0])
	}
	out := make(map[rawKey]delivery.Delivery, len(keys))
	err := s.each(ctx,
		"SELECT source, delivery_id, event, received_at, key, payload FROM raw_deliveries"+
			" WHERE (source, delivery_id) IN (?)"+
			" ORDER BY source, delivery_id, received_at LIMIT 1 BY source, delivery_id",
		[]any{set}, func(rows driver.Rows) error {
			d, err := scanDelivery(rows)
			out[rawKey{d.Source, d.ID}] = d
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: read archived deliveries: %w", err)
	}
	return out, nil
}

func uniq(xs []string) []string {
	seen := make(map[string]bool, len(xs))
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// IncidentRepos names the repository each of the given incidents is stored
// under (its newest update's), for incidents whose new update names none.
// Keys and the result's keys are facts.IncidentKey(source, id); incidents
// not yet stored are absent.
func (s *Store) IncidentRepos(ctx context.Context, keys []string) (map[string]string, error) {
	out := map[string]string{}
	if len(keys) == 0 {
		return out, nil
	}
	err := s.each(ctx, "SELECT concat(source, '\\n', incident_id) AS k, argMax(repo, version) FROM incidents "+
		"WHERE has(?, concat(source, '\\n', incident_id)) GROUP BY k", []any{uniq(keys)}, func(rows driver.Rows) error {
		var k, repo string
		if err := rows.Scan(&k, &repo); err != nil {
			return err
		}
		out[k] = repo
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: read incident repositories: %w", err)
	}
	return out, nil
}

// scanRangeRows is about how many deliveries one query of ScanRaw reads.
const scanRangeRows = 20000

// scanSampleEvery is the sampling rate ScanRaw finds its range bounds with.
const scanSampleEvery = 100

// keyRange is a run of the archive's key order within one source:
// delivery ids in [lo, hi), hi empty for no upper bound.
type keyRange struct {
	source, lo, hi string
}

// ScanRaw streams every archived delivery of the given sources, each
// (source, delivery id) once, in the archive's key order: source, then
// delivery id in ranges of about scanRangeRows. Unlike RawDeliveries it does
// not follow reception order, so it reads each granule once and its cost
// grows linearly with the archive. Of several receptions of one delivery it
// returns any one (their payloads are the same). It stops at the first
// error fn returns and returns that error.
func (s *Store) ScanRaw(ctx context.Context, sources []string, fn func(delivery.Delivery) error) error {
	return s.scanRaw(ctx, sources, scanRangeRows, fn)
}

func (s *Store) scanRaw(ctx context.Context, sources []string, rangeRows int, fn func(delivery.Delivery) error) error {
	if len(sources) == 0 {
		return nil
	}
	ranges, err := s.rawRanges(ctx, sources, rangeRows)
	if err != nil {
		return err
	}
	const sel = "SELECT source, delivery_id, event, received_at, key, payload FROM raw_deliveries WHERE source = ? AND delivery_id >= ?"
	for _, r := range ranges {
		// Two shapes rather than "(? = '' OR delivery_id < ?)", which would
		// keep the server from using the upper bound on the primary key.
		q, args := sel, []any{r.source, r.lo}
		if r.hi != "" {
			q, args = q+" AND delivery_id < ?", append(args, r.hi)
		}
		err := s.each(ctx, q+" ORDER BY delivery_id LIMIT 1 BY source, delivery_id", args, func(rows driver.Rows) error {
			d, err := scanDelivery(rows)
			if err != nil {
				return err
			}
			return fn(d)
		})
		if err != nil {
			return fmt.Errorf("store: scan archive %s [%q, %q): %w", r.source, r.lo, r.hi, err)
		}
	}
	return nil
}

// rawRanges cuts the archive of sources into key ranges of about
// scanRangeRows deliveries, from a hash sample of the delivery ids: one pass
// over the id column, however large the archive.
func (s *Store) rawRanges(ctx context.Context, sources []string, rangeRows int) ([]keyRange, error) {
	step := max(1, rangeRows/scanSampleEvery)
	samples := map[string][]string{}
	err := s.each(ctx,
		"SELECT source, delivery_id FROM raw_deliveries WHERE source IN (?) AND cityHash64(delivery_id) % ? = 0",
		[]any{inList(sources), uint64(scanSampleEvery)}, func(rows driver.Rows) error {
			var src, id string
			if err := rows.Scan(&src, &id); err != nil {
				return err
			}
			samples[src] = append(samples[src], id)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("store: sample archive keys: %w", err)
	}
	var out []keyRange
	for _, src := range uniq(sources) {
		ids := uniq(samples[src]) // sorted; a redelivered id may be sampled twice
		r := keyRange{source: src}
		for i := step; i < len(ids); i += step {
			r.hi = ids[i]
			out = append(out, r)
			r = keyRange{source: src, lo: ids[i]}
		}
		out = append(out, r) // the rest, or the whole source when small
	}
	return out, nil
}

// RawSources lists the sources present in the archive, sorted.
func (s *Store) RawSources(ctx context.Context) ([]string, error) {
	out, err := s.column(ctx, "SELECT DISTINCT source FROM raw_deliveries ORDER BY source")
	if err != nil {
		return nil, fmt.Errorf("store: list archive sources: %w", err)
	}
	return out, nil
}
