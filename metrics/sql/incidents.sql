-- Incidents: time to restore (MTTR) and unlinked incidents, in one pass.
-- Definitions: docs/metrics.md ("Linking incidents to deployments", "Time to
-- restore"). Per group and bucket: incidents created in [@from, @to) (with
-- @environment, those blamed on a deployment to it, any case); the unlinked
-- ones (deployment_id empty); restore_count and restore_median = the exact
-- median of created → resolved in seconds over the resolved ones, computed
-- here as in deployments.sql (the mean of the two middle values that
-- quantilesExact(0.49999999999, 0.5) returns).
SELECT
    grp,
    bucket,
    count() AS incidents,
    countIf(deployment_id = '') AS unlinked_incidents,
    countIf(resolved = 1) AS restore_count,
    arrayReduce('sum', quantilesExactIf(0.49999999999, 0.5)(restore_seconds, resolved = 1)) / 2 AS restore_median
FROM
(
    SELECT
        if(path_service != '', path_service, if(catalog_service != '', catalog_service, repo)) AS service,
        if(catalog_team != '', catalog_team, 'unowned') AS team,
        multiIf(@group_by = 'team', team, @group_by = 'organization', '', service) AS grp,
        toYYYYMMDD(multiIf(
            @bucket = 'day', toDate(created_at, @tz),
            @bucket = 'week', toMonday(created_at, @tz),
            @bucket = 'month', toStartOfMonth(created_at, @tz),
            @bucket = 'quarter', toStartOfQuarter(created_at, @tz),
            toDate('1970-01-01'))) AS bucket,
        deployment_id,
        toUnixTimestamp(resolved_at) > 0 AS resolved,
        greatest(toInt64(toUnixTimestamp(resolved_at)) - toInt64(toUnixTimestamp(created_at)), toInt64(0)) AS restore_seconds
    FROM incident_links FINAL
    ANY LEFT JOIN catalog_at_version AS catalog ON if(path_service != '', concat('s:', path_service), concat('r:', repo)) = attribution_key
    WHERE deleted = 0
      AND created_at >= @from
      AND created_at < @to
      AND (@environment = '' OR lower(environment) = lower(@environment))
) AS i
WHERE (@any_service = 1 OR has(@only_services, service))
  AND (@any_team = 1 OR has(@only_teams, team))
GROUP BY grp, bucket
