-- Lead time for changes.
--
-- A change is a merged pull request, or a commit pushed straight to the
-- deployed branch outside any pull request. Its lead time runs from its
-- start (the first commit's time; for a pull request with no commit seen,
-- its creation time) to the finish of the first production deployment of
-- its service that contains it:
--
--   lead_time_seconds = deployed_at - started_at   (negative clock skew counts as 0)
--
-- Counted: changes whose deployment finished in [@from, @to) and, when an
-- environment is asked for, went to production in that environment. Changes
-- not yet deployed, or with no known start, are left out.
--
-- samples = the lead times in seconds, ascending. The caller reports their
-- count, median, p75 and p90, each exact: the p-quantile of n sorted values
-- x[1..n] is x[k] + f * (x[k+1] - x[k]) with h = (n - 1) * p, k = floor(h) + 1
-- and f = h - floor(h) (linear interpolation between closest ranks), so the
-- median of an even count is the mean of the two middle values.
SELECT
    grp,
    bucket,
    count() AS changes,
    arraySort(groupArray(lead_seconds)) AS samples
FROM
(
    SELECT
        transform(repo, @repos, @services, repo) AS service,
        transform(service, @svc, @teams, 'unowned') AS team,
        multiIf(@group_by = 'team', team, @group_by = 'organization', '', service) AS grp,
        toYYYYMMDD(multiIf(
            @bucket = 'day', toDate(deployed_at, @tz),
            @bucket = 'week', toMonday(deployed_at, @tz),
            @bucket = 'month', toStartOfMonth(deployed_at, @tz),
            @bucket = 'quarter', toStartOfQuarter(deployed_at, @tz),
            toDate('1970-01-01'))) AS bucket,
        greatest(toInt64(toUnixTimestamp(deployed_at)) - toInt64(toUnixTimestamp(started_at)), toInt64(0)) AS lead_seconds
    FROM change_leads FINAL
    WHERE deleted = 0
      AND deployment_id != ''
      AND deployed_at >= @from
      AND deployed_at < @to
      AND toUnixTimestamp(started_at) > 0
      AND (@environment = '' OR environment = @environment)
) AS c
WHERE (@any_service = 1 OR has(@only_services, service))
  AND (@any_team = 1 OR has(@only_teams, team))
GROUP BY grp, bucket
