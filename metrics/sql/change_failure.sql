-- Change failure rate.
--
-- Of the production deployments that finished in [@from, @to) (see
-- deployments.sql), the share that failed:
--
--   change_failure_rate = failed_deployments / deployments
--
-- A deployment has failed when an incident is linked to it, when it was
-- rolled back (a later deployment of a version the service ran before), when
-- a later deployment reverted a change it shipped, or when a hotfix
-- deployment of the same service followed it (deployment_outcomes.failed).
-- A group or bucket without deployments has no rate (null), not 0.
SELECT
    grp,
    bucket,
    count() AS deployments,
    sum(failed) AS failed_deployments,
    failed_deployments / deployments AS change_failure_rate
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
        failed
    FROM deployment_outcomes FINAL
    WHERE deleted = 0
      AND production = 1
      AND finished_at >= @from
      AND finished_at < @to
      AND (@environment = '' OR environment = @environment)
) AS d
WHERE (@any_service = 1 OR has(@only_services, service))
  AND (@any_team = 1 OR has(@only_teams, team))
GROUP BY grp, bucket
