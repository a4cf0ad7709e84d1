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
	`INSERT INTO change_days (repo, path_service, environment, day, leads, lead_skewed, codings, coding_skewed,
    pickups, pickup_skewed, reviews, review_skewed, deploys, deploy_skewed, version)
SELECT
    repo, path_service, env, day,
    groupArrayIf(lead_seconds, lead_counted),
    countIf(lead_skew),
    groupArrayIf(coding, coding_counted),
    countIf(coding_skew),
    groupArrayIf(pickup, pickup_counted),
    countIf(pickup_skew),
    groupArrayIf(review, review_counted),
    countIf(review_skew),
    groupArrayIf(deploy, deploy_counted),
    countIf(deploy_skew),
    toUInt64({version})
FROM
(
    SELECT
        repo, path_service,
        lower(environment) AS env,
        toDate(deployed_at, '{zone}') AS day,
        {samples}
    FROM change_leads FINAL
    PREWHERE {repos}
    WHERE deleted = 0
      AND deployment_id != ''
      AND toUnixTimestamp(deployed_at) > 0
) AS c
GROUP BY repo, path_service, env, day`,

	`INSERT INTO deployment_days (repo, path_service, environment, day, deployments, failed, rework, recoveries, version)
SELECT
    repo, path_service, env, day,
    count(),
    sum(failed),
    countIf(rework != ''),
    groupArrayIf(recovery_seconds, recovered = 1),
    toUInt64({version})
FROM
(
    SELECT
        repo, path_service,
        lower(environment) AS env,
        toDate(finished_at, '{zone}') AS day,
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
GROUP BY repo, path_service, env, day`,

	// gate: toil_share.sql keeps a change merged in [from, to) only when
	// it is undeployed or was deployed at or after from. For from at a
	// midnight of the zone, that is gate >= the day of from.
	`INSERT INTO toil_days (repo, path_service, day, gate, toil_seconds, all_seconds, toil_changes, all_changes, version)
SELECT
    repo, path_service, day, gate,
    sumIf(active_seconds, toil = 1),
    sum(active_seconds),
    countIf(toil = 1),
    count(),
    toUInt64({version})
FROM
(
    SELECT
        repo, path_service,
        toDate(merged_at, '{zone}') AS day,
        if(toUnixTimestamp(deployed_at) = 0, day, least(toDate(deployed_at, '{zone}'), day)) AS gate,
        toUInt64(active_seconds) AS active_seconds,
        toil
    FROM change_leads FINAL
    PREWHERE {repos}
    WHERE deleted = 0
      AND toUnixTimestamp(merged_at) > 0
) AS c
GROUP BY repo, path_service, day, gate`,
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

// recordBuilds marks the builds of repos at version in the store's zone.
func (s *Store) recordBuilds(ctx context.Context, repos []string, version uint64) error {
	err := s.insert(ctx, "day_rollup_builds", "zone, repo, version", len(repos), func(b driver.Batch, i int) error {
		return b.Append(s.cfg.ReportZone, repos[i], version)
	})
	if err != nil {
		return fmt.Errorf("store: record day rollup builds: %w", err)
	}
	return nil
}

// DayRollupsReady tells whether the day rollups can answer for zone: every
// repository was last built in zone and a complete build in zone is
// recorded.
func DayRollupsReady(ctx context.Context, conn driver.Conn, zone string) (bool, error) {
	var complete, other uint64
	err := conn.QueryRow(ctx, `SELECT countIf(repo = '' AND z = @zone), countIf(z != @zone)
FROM (SELECT repo, argMax(zone, version) AS z FROM day_rollup_builds GROUP BY repo)`,
		clickhouse.Named("zone", zone)).Scan(&complete, &other)
	if err != nil {
		return false, fmt.Errorf("store: read day rollup builds: %w", err)
	}
	return complete > 0 && other == 0, nil
}

// ensureDayRollups builds the day rollups, in the store's zone, of every
// repository whose latest build is not in that zone (all of them after the
// migration that adds the rollups, or when the report zone changed), then
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
		" WHERE repo NOT IN (SELECT repo FROM day_rollup_builds GROUP BY repo HAVING argMax(zone, version) = @zone) ORDER BY repo",
		[]any{clickhouse.Named("zone", s.cfg.ReportZone)},
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
