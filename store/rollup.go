package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"golang.org/x/sync/errgroup"
)

// The day rollups (schema/migrations/0006_day_rollups.sql) are a second
// form of the derived records, one row per repository, monorepo service,
// environment and calendar day in the report zone, that the metric
// queries read instead of the records for the whole days in that zone of
// a request's range (metrics/sql/*_by_day.sql; the part days at its ends
// are read from the records). They are never
// updated in place: every write of a repository's derived records rebuilds
// all of that repository's rows from the derived tables, as the row
// queries would read them (FINAL, deleted = 0), numbered by when the
// rebuild starts, and then records the build. Readers take each
// repository's latest build, so the rollups say exactly what the derived
// tables say after every write, whatever was re-derived, deleted or moved.

// ChangeSamples is the one statement of a change's durations in seconds
// and of which of them count, as items of a SELECT list over change_leads
// rows (docs/metrics.md: lead time, the pull-request stages, skewed
// samples). changes.sql writes change_samples where it uses them, and the
// change_days rollup is built from them.
const ChangeSamples = `toUnixTimestamp(started_at) > 0 AS has_start,
        kind = 'pull_request' AS is_pr,
        is_pr AND start_is_created = 0 AND has_start AS has_commit,
        is_pr AND toUnixTimestamp(first_review_at) > 0 AS reviewed,
        toInt64(toUnixTimestamp(deployed_at)) - toInt64(toUnixTimestamp(started_at)) AS lead_seconds,
        toInt64(toUnixTimestamp(opened_at)) - toInt64(toUnixTimestamp(started_at)) AS coding,
        toInt64(toUnixTimestamp(first_review_at)) - toInt64(toUnixTimestamp(opened_at)) AS pickup,
        toInt64(toUnixTimestamp(merged_at)) - toInt64(toUnixTimestamp(first_review_at)) AS review,
        toInt64(toUnixTimestamp(deployed_at)) - toInt64(toUnixTimestamp(merged_at)) AS deploy,
        has_start AND lead_seconds >= 0 AS lead_counted,
        has_start AND lead_seconds < 0 AS lead_skew,
        has_commit AND coding >= 0 AS coding_counted,
        has_commit AND coding < 0 AS coding_skew,
        reviewed AND pickup >= 0 AS pickup_counted,
        reviewed AND pickup < 0 AS pickup_skew,
        reviewed AND review >= 0 AS review_counted,
        reviewed AND review < 0 AS review_skew,
        is_pr AND deploy >= 0 AS deploy_counted,
        is_pr AND deploy < 0 AS deploy_skew`

// dayRollupSQL builds the rollup rows of some repositories: {zone} is the
// report zone, {version} the build's version and {repos} the condition on
// repo. Each statement reads one derived table once. The condition on repo
// is a PREWHERE: repo leads the derived tables' sorting key, so every
// version of a record has the same repo and FINAL keeps the same rows,
// while 18.16 then merges only that repository's rows of the granules it
// reads (a third of the CPU for one repository with two years of history).
var dayRollupSQL = []string{
	// Each duration sample is kept beside its change's deployment time, as
	// one (sample, time) pair per change until the rows are grouped, so
	// the two arrays stay in step; a skewed sample keeps only its time.
	`INSERT INTO change_days (repo, path_service, environment, day, change_at,
    leads, lead_at, lead_skewed, lead_skewed_at, codings, coding_at, coding_skewed, coding_skewed_at,
    pickups, pickup_at, pickup_skewed, pickup_skewed_at, reviews, review_at, review_skewed, review_skewed_at,
    deploys, deploy_at, deploy_skewed, deploy_skewed_at, version)
SELECT
    repo, path_service, env, day, changes,
    arrayMap(p -> p.1, lead_pairs), arrayMap(p -> p.2, lead_pairs), length(lead_skews), lead_skews,
    arrayMap(p -> p.1, coding_pairs), arrayMap(p -> p.2, coding_pairs), length(coding_skews), coding_skews,
    arrayMap(p -> p.1, pickup_pairs), arrayMap(p -> p.2, pickup_pairs), length(pickup_skews), pickup_skews,
    arrayMap(p -> p.1, review_pairs), arrayMap(p -> p.2, review_pairs), length(review_skews), review_skews,
    arrayMap(p -> p.1, deploy_pairs), arrayMap(p -> p.2, deploy_pairs), length(deploy_skews), deploy_skews,
    toUInt64({version})
FROM
(
    SELECT
        repo, path_service, env, day,
        groupArray(deployed_at) AS changes,
        groupArrayIf((lead_seconds, deployed_at), lead_counted) AS lead_pairs,
        groupArrayIf(deployed_at, lead_skew) AS lead_skews,
        groupArrayIf((coding, deployed_at), coding_counted) AS coding_pairs,
        groupArrayIf(deployed_at, coding_skew) AS coding_skews,
        groupArrayIf((pickup, deployed_at), pickup_counted) AS pickup_pairs,
        groupArrayIf(deployed_at, pickup_skew) AS pickup_skews,
        groupArrayIf((review, deployed_at), review_counted) AS review_pairs,
        groupArrayIf(deployed_at, review_skew) AS review_skews,
        groupArrayIf((deploy, deployed_at), deploy_counted) AS deploy_pairs,
        groupArrayIf(deployed_at, deploy_skew) AS deploy_skews
    FROM
    (
        SELECT
            repo, path_service,
            lower(environment) AS env,
            toDate(deployed_at, '{zone}') AS day,
            deployed_at,
            {samples}
        FROM change_leads FINAL
        PREWHERE {repos}
        WHERE deleted = 0
          AND deployment_id != ''
          AND toUnixTimestamp(deployed_at) > 0
    ) AS c
    GROUP BY repo, path_service, env, day
) AS g`,

	`INSERT INTO deployment_days (repo, path_service, environment, day, deployments, finished_at, failed, failed_at,
    rework, rework_at, recoveries, recovery_at, version)
SELECT
    repo, path_service, env, day,
    length(finishes), finishes,
    length(failures), failures,
    length(reworks), reworks,
    arrayMap(p -> p.1, recovery_pairs), arrayMap(p -> p.2, recovery_pairs),
    toUInt64({version})
FROM
(
    SELECT
        repo, path_service, env, day,
        groupArray(finished_at) AS finishes,
        groupArrayIf(finished_at, failed = 1) AS failures,
        groupArrayIf(finished_at, rework != '') AS reworks,
        groupArrayIf((recovery_seconds, finished_at), recovered = 1) AS recovery_pairs
    FROM
    (
        SELECT
            repo, path_service,
            lower(environment) AS env,
            toDate(finished_at, '{zone}') AS day,
            finished_at,
            failed,
            rework,
            failed = 1 AND toUnixTimestamp(recovered_at) > 0 AS recovered,
            greatest(toInt64(toUnixTimestamp(recovered_at)) - toInt64(toUnixTimestamp(finished_at)), toInt64(0)) AS recovery_seconds
        FROM deployment_outcomes FINAL
        PREWHERE {repos}
        WHERE deleted = 0
          AND production = 1
          AND toUnixTimestamp(finished_at) > 0
    ) AS d
    GROUP BY repo, path_service, env, day
) AS g`,

	// gate: toil_share.sql keeps a change merged in [from, to) only when
	// it is undeployed or was deployed at or after from. For from at a
	// midnight of the zone, that is gate >= the day of from. For any
	// other from, the row's changes are filtered one by one, by their
	// merge and deployment times.
	`INSERT INTO toil_days (repo, path_service, day, gate, toil_seconds, all_seconds, toil_changes, all_changes,
    merged_at, deployed_at, change_seconds, change_toil, version)
SELECT
    repo, path_service, day, gate,
    arraySum(arrayMap(c -> if(c.4 = 1, c.3, toUInt64(0)), cs)),
    arraySum(arrayMap(c -> c.3, cs)),
    arraySum(arrayMap(c -> toUInt64(c.4 = 1), cs)),
    length(cs),
    arrayMap(c -> c.1, cs), arrayMap(c -> c.2, cs), arrayMap(c -> c.3, cs), arrayMap(c -> c.4, cs),
    toUInt64({version})
FROM
(
    SELECT
        repo, path_service, day, gate,
        groupArray((merged_at, deployed_at, active_seconds, toil)) AS cs
    FROM
    (
        SELECT
            repo, path_service,
            toDate(merged_at, '{zone}') AS day,
            if(toUnixTimestamp(deployed_at) = 0, day, least(toDate(deployed_at, '{zone}'), day)) AS gate,
            merged_at,
            deployed_at,
            toUInt64(active_seconds) AS active_seconds,
            toil
        FROM change_leads FINAL
        PREWHERE {repos}
        WHERE deleted = 0
          AND toUnixTimestamp(merged_at) > 0
    ) AS c
    GROUP BY repo, path_service, day, gate
) AS g`,
}

// rollupSources are the derived tables dayRollupSQL reads.
var rollupSources = []string{"change_leads", "deployment_outcomes"}

// DayRollupSQL returns the statements that build the day rollups of every
// repository in zone under version, without recording the build (the
// compatibility test runs them on a current engine).
func DayRollupSQL(zone string, version uint64) []string {
	out := make([]string, len(dayRollupSQL))
	for i, s := range dayRollupSQL {
		out[i] = bindRollup(s, zone, version, "1")
	}
	return out
}

func bindRollup(sql, zone string, version uint64, repos string) string {
	return strings.NewReplacer("{samples}", ChangeSamples, "{zone}", zone, "{version}", strconv.FormatUint(version, 10),
		"{repos}", repos).Replace(sql)
}

// RollupZone is the zone the store builds the day rollups in.
func (s *Store) RollupZone() string { return s.cfg.ReportZone }

// lastBuild is the version of the latest build this process started.
var lastBuild atomic.Uint64

// buildVersion numbers a build: the time it starts, in nanoseconds, and
// above every earlier build of this process. Readers take a repository's
// highest build, so a build that reads the derived tables later wins; and
// no two builds share a number, whose rows a reader would count twice
// (derived versions may repeat: a caller may write twice under one).
func buildVersion() uint64 {
	for {
		last := lastBuild.Load()
		v := max(uint64(time.Now().UnixNano()), last+1)
		if lastBuild.CompareAndSwap(last, v) {
			return v
		}
	}
}

// RebuildDayRollups rebuilds the day rollups of repos from the derived
// tables and records the builds. WriteDerived calls it for the
// repositories it wrote; a writer of the derived tables that does not go
// through WriteDerived must call it after writing.
func (s *Store) RebuildDayRollups(ctx context.Context, repos []string) error {
	return s.rebuildDayRollups(ctx, uniq(repos), buildVersion())
}

func (s *Store) rebuildDayRollups(ctx context.Context, repos []string, version uint64) error {
	done := 0
	return inLists(repos, func(list []clickhouse.GroupSet) error {
		chunk := repos[done : done+len(list)]
		done += len(list)
		g, gctx := errgroup.WithContext(ctx)
		for _, stmt := range dayRollupSQL {
			g.Go(func() error {
				return s.conn.Exec(gctx, bindRollup(stmt, s.cfg.ReportZone, version, "repo IN (?)"), list)
			})
		}
		if err := g.Wait(); err != nil {
			return fmt.Errorf("store: rebuild day rollups: %w", err)
		}
		// Recorded once the rows are in: readers never see a build
		// without its rows.
		return s.recordBuilds(ctx, chunk, version)
	})
}

// rollupFormat numbers the form of the rows a build writes: 1 since each
// sample keeps its time (schema/migrations/0007_rollup_sample_times.sql).
// Builds recorded before carry 0, and their rows cannot answer for part
// days, so the metrics read the rollups only when every repository's
// latest build has this format.
const rollupFormat = 1

// recordBuilds marks the builds of repos at version in the store's zone.
func (s *Store) recordBuilds(ctx context.Context, repos []string, version uint64) error {
	err := s.insert(ctx, "day_rollup_builds", "zone, repo, version, format", len(repos), func(b driver.Batch, i int) error {
		return b.Append(s.cfg.ReportZone, repos[i], version, uint8(rollupFormat))
	})
	if err != nil {
		return fmt.Errorf("store: record day rollup builds: %w", err)
	}
	return nil
}

// DayRollupsReady tells whether the day rollups can answer for zone: every
// repository was last built in zone, in the current format, and a
// complete build in zone is recorded.
func DayRollupsReady(ctx context.Context, conn driver.Conn, zone string) (bool, error) {
	var complete, other uint64
	err := conn.QueryRow(ctx, `SELECT countIf(repo = '' AND z = @zone), countIf(z != @zone)
FROM (SELECT repo, if(argMax(format, version) = @format, argMax(zone, version), '') AS z FROM day_rollup_builds GROUP BY repo)`,
		clickhouse.Named("zone", zone), clickhouse.Named("format", uint8(rollupFormat))).Scan(&complete, &other)
	if err != nil {
		return false, fmt.Errorf("store: read day rollup builds: %w", err)
	}
	return complete > 0 && other == 0, nil
}

// ensureDayRollups builds the day rollups, in the store's zone, of every
// repository whose latest build is not in that zone or not in the current
// format (all of them after the migrations that add the rollups and their
// sample times, or when the report zone changed), then
// records the complete build (the row with an empty repo). The writers keep
// them from then on.
func (s *Store) ensureDayRollups(ctx context.Context) error {
	ready, err := DayRollupsReady(ctx, s.conn, s.cfg.ReportZone)
	if err != nil || ready {
		return err
	}
	version := uint64(time.Now().UnixNano())
	parts := make([]string, len(rollupSources))
	for i, t := range rollupSources {
		parts[i] = "SELECT DISTINCT repo FROM " + t
	}
	var repos []string
	err = s.each(ctx, "SELECT DISTINCT repo FROM ("+strings.Join(parts, " UNION ALL ")+")"+
		" WHERE repo NOT IN (SELECT repo FROM day_rollup_builds GROUP BY repo"+
		" HAVING argMax(zone, version) = @zone AND argMax(format, version) = @format) ORDER BY repo",
		[]any{clickhouse.Named("zone", s.cfg.ReportZone), clickhouse.Named("format", uint8(rollupFormat))},
		func(rows driver.Rows) error {
			var r string
			if err := rows.Scan(&r); err != nil {
				return err
			}
			repos = append(repos, r)
			return nil
		})
	if err != nil {
		return fmt.Errorf("store: list repositories for the day rollups: %w", err)
	}
	// A bounded number of repositories per statement keeps each within the
	// server's time limit however large the history.
	for len(repos) > 0 {
		n := min(len(repos), 200)
		if err := s.rebuildDayRollups(ctx, repos[:n], version); err != nil {
			return err
		}
		repos = repos[n:]
	}
	return s.recordBuilds(ctx, []string{""}, version)
}
