-- Failed deployment recovery time.
--
-- For each failed production deployment that finished in [@from, @to) (see
-- change_failure.sql) and has recovered: the time from its finish to the
-- restoration of service (deployment_outcomes.recovered_at), which is the
-- resolution of the incident linked to it, or for a failure found by a
-- rollback, revert or hotfix with no linked incident the finish of that
-- repairing deployment, whichever came first:
--
--   recovery_seconds = recovered_at - finished_at   (negative counts as 0)
--
-- Failed deployments that have not recovered yet are left out.
-- samples = the recovery times in seconds, ascending; the caller reports
-- their count and exact median (the mean of the two middle values for an
-- even count).
SELECT
    grp,
    bucket,
    count() AS recoveries,
    arraySort(groupArray(recovery_seconds)) AS samples
FROM
(
    SELECT
        transform(repo, @repos, @services, repo) AS service,
        transform(service, @svc, @teams, 'unowned') AS team,
        multiIf(@group_by = 'team', team, @group_by = 'organization', '', service) AS grp,
        toYYYYMMDD(multiIf(
            @bucket = 'day', toDate(finished_at, @tz),
            @bucket = 'week', toMonday(finished_at, @tz),
            @bucket = 'month', toStartOfMonth(finished_at, @tz),
            @bucket = 'quarter', toStartOfQuarter(finished_at, @tz),
            toDate('1970-01-01'))) AS bucket,
        greatest(toInt64(toUnixTimestamp(recovered_at)) - toInt64(toUnixTimestamp(finished_at)), toInt64(0)) AS recovery_seconds
    FROM deployment_outcomes FINAL
    WHERE deleted = 0
      AND production = 1
      AND failed = 1
      AND toUnixTimestamp(recovered_at) > 0
      AND finished_at >= @from
      AND finished_at < @to
      AND (@environment = '' OR environment = @environment)
) AS d
WHERE (@any_service = 1 OR has(@only_services, service))
  AND (@any_team = 1 OR has(@only_teams, team))
GROUP BY grp, bucket
