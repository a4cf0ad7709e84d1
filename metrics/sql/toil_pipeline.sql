-- Pipeline toil: CI time lost to failed and re-run pipelines.
--
-- A pipeline attempt is one row of pipeline_runs (a GitHub workflow run
-- attempt, a GitLab pipeline, a CircleCI workflow, a Jenkins build, ...),
-- newest state per (repo, run_id, attempt). Counted: completed attempts
-- with a known start that finished in [@from, @to).
--
--   duration      = finished_at - started_at             (negative counts as 0)
--   failed        = conclusion is failure, cancelled, timed_out, startup_failure
--                   (or the raw failed, canceled, error of other tools)
--   re-run        = a later attempt of the same run exists (any state, any time)
--   lost          = failed or re-run                      (an attempt counts once)
--
--   ci_seconds     = sum of durations
--   lost_seconds   = sum of durations of lost attempts
--   failed_seconds = sum of durations of failed attempts
--   rerun_seconds  = sum of durations of attempts that were re-run
--   pipeline toil share = lost_seconds / ci_seconds  (null without CI time)
--
-- A later attempt finishes after the earlier one, so looking for it only
-- among attempts that finished at or after @from (or have not finished)
-- misses none. Attribution: the run's repository, through the catalog.
SELECT
    grp,
    bucket,
    uniqExact(repo, run_id) AS runs,
    count() AS attempts,
    countIf(lost = 1) AS lost_attempts,
    sum(duration) AS ci_seconds,
    sumIf(duration, lost = 1) AS lost_seconds,
    sumIf(duration, failed = 1) AS failed_seconds,
    sumIf(duration, rerun = 1) AS rerun_seconds
FROM
(
    SELECT
        if(catalog_service != '', catalog_service, repo) AS service,
        if(catalog_team != '', catalog_team, 'unowned') AS team,
        multiIf(@group_by = 'team', team, @group_by = 'organization', '', service) AS grp,
        toYYYYMMDD(multiIf(
            @bucket = 'day', toDate(finished_at, @tz),
            @bucket = 'week', toMonday(finished_at, @tz),
            @bucket = 'month', toStartOfMonth(finished_at, @tz),
            @bucket = 'quarter', toStartOfQuarter(finished_at, @tz),
            toDate('1970-01-01'))) AS bucket,
        repo,
        run_id,
        toUInt64(greatest(toInt64(toUnixTimestamp(finished_at)) - toInt64(toUnixTimestamp(started_at)), toInt64(0))) AS duration,
        has(['failure', 'failed', 'cancelled', 'canceled', 'timed_out', 'startup_failure', 'error'], lower(conclusion)) AS failed,
        attempt < last_attempt AS rerun,
        failed = 1 OR rerun = 1 AS lost
    FROM
    (
        SELECT repo, run_id, attempt, conclusion, started_at, finished_at, catalog_service, catalog_team
        FROM pipeline_runs FINAL
        ANY LEFT JOIN catalog_at_version AS catalog ON concat('r:', repo) = attribution_key
        WHERE status = 'completed'
          AND toUnixTimestamp(started_at) > 0
          AND finished_at >= @from
          AND finished_at < @to
    ) AS r
    ANY LEFT JOIN
    (
        SELECT repo, run_id, max(attempt) AS last_attempt
        FROM pipeline_runs FINAL
        WHERE finished_at >= @from OR toUnixTimestamp(finished_at) = 0
        GROUP BY repo, run_id
    ) AS l USING (repo, run_id)
) AS p
WHERE (@any_service = 1 OR has(@only_services, service))
  AND (@any_team = 1 OR has(@only_teams, team))
GROUP BY grp, bucket
