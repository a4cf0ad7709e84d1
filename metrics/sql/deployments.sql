-- Production deployments: deployment frequency, change failure rate,
-- failed deployment recovery time and rework rate, in one pass. The
-- definitions are in docs/metrics.md ("Deployments", "Change failure rate",
-- "Failed deployment recovery time", "Rework rate"); the deriver has already
-- decided which deployments are production deployments and which failed.
--
-- Per group and bucket: the production deployments finished in [@from, @to)
-- (to @environment only, when given, any case); days = their distinct dates
-- in @tz (the caller takes the per-period medians); failed_deployments;
-- rework_deployments; recovery_count and recovery_median = the exact median
-- of finish → recovery in seconds over the failed ones that recovered.
-- quantilesExact(0.49999999999, 0.5)(x) returns the lower middle value
-- x[n - 1 - floor(n/2)] and the upper middle x[floor(n/2)] (see
-- changes.sql); their mean is the median (the mean of the two middle values
-- for an even count), so no sample leaves the server.
--
-- Attribution follows the catalog at query time: a repository belongs to the
-- service that lists it (or is its own service), a service belongs to its
-- team (or to 'unowned'); the catalog is joined from catalog_attribution at
-- the version @catalog (see schema/migrations), not written into the query.
-- Groups are services, teams, or the whole organisation (''); buckets are
-- calendar days, ISO weeks (Monday), months or quarters in the report's time
-- zone @tz (19700101 when not bucketed).
SELECT
    grp,
    bucket,
    count() AS deployments,
    arraySort(groupUniqArray(deploy_day)) AS days,
    sum(failed) AS failed_deployments,
    countIf(rework != '') AS rework_deployments,
    countIf(recovered = 1) AS recovery_count,
    arrayReduce('sum', quantilesExactIf(0.49999999999, 0.5)(recovery_seconds, recovered = 1)) / 2 AS recovery_median
FROM
(
    SELECT
        if(path_service != '', path_service, if(catalog_service != '', catalog_service, repo)) AS service,
        if(catalog_team != '', catalog_team, 'unowned') AS team,
        multiIf(@group_by = 'team', team, @group_by = 'organization', '', service) AS grp,
        toYYYYMMDD(multiIf(
            @bucket = 'day', toDate(finished_at, @tz),
            @bucket = 'week', toMonday(finished_at, @tz),
            @bucket = 'month', toStartOfMonth(finished_at, @tz),
            @bucket = 'quarter', toStartOfQuarter(finished_at, @tz),
            toDate('1970-01-01'))) AS bucket,
        toYYYYMMDD(toDate(finished_at, @tz)) AS deploy_day,
        failed,
        rework,
        failed = 1 AND toUnixTimestamp(recovered_at) > 0 AS recovered,
        greatest(toInt64(toUnixTimestamp(recovered_at)) - toInt64(toUnixTimestamp(finished_at)), toInt64(0)) AS recovery_seconds
    FROM deployment_outcomes FINAL
    ANY LEFT JOIN catalog_at_version AS catalog ON if(path_service != '', concat('s:', path_service), concat('r:', repo)) = attribution_key
    WHERE deleted = 0
      AND production = 1
      AND finished_at >= @from
      AND finished_at < @to
      AND (@environment = '' OR lower(environment) = lower(@environment))
) AS d
WHERE (@any_service = 1 OR has(@only_services, service))
  AND (@any_team = 1 OR has(@only_teams, team))
GROUP BY grp, bucket
