-- Rework rate (DORA 2024).
--
-- Of the production deployments that finished in [@from, @to) (see
-- deployments.sql), the share that were unplanned work made because of a
-- production problem: hotfix, revert and rollback deployments
-- (deployment_outcomes.rework is not empty).
--
--   rework_rate = rework_deployments / deployments
--
-- A group or bucket without deployments has no rate (null), not 0.
SELECT
    grp,
    bucket,
    count() AS deployments,
    countIf(rework != '') AS rework_deployments,
    rework_deployments / deployments AS rework_rate
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
        rework
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
