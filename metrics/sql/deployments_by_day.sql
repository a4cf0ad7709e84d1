-- deployments.sql read from the day rollups (deployment_days) for the
-- whole days of the range and from the records for the part days at its
-- ends (see changes_by_day.sql): the same columns and values. A rollup row
-- exists only for a day with a production deployment, so its day is a
-- deployment day; a record of a part day is one deployment on its day. The
-- recovery median is taken as in deployments.sql, over the union of the
-- samples.
SELECT
    grp,
    bucket,
    deployments,
    days,
    failed_deployments,
    rework_deployments,
    recovery_count,
    (recovery_mid[1] + recovery_mid[2]) / 2 AS recovery_median
FROM
(
    SELECT
        grp,
        bucket,
        sum(day_deployments) AS deployments,
        arraySort(groupUniqArray(deploy_day)) AS days,
        sum(day_failed) AS failed_deployments,
        sum(day_rework) AS rework_deployments,
        sum(length(day_recoveries)) AS recovery_count,
        quantilesExactArray(0.49999999999, 0.5)(day_recoveries) AS recovery_mid
    FROM
    (
        SELECT
            day_group_columns,
            toYYYYMMDD(day) AS deploy_day,
            day_deployments, day_failed, day_rework, day_recoveries
        FROM
        (
            SELECT
                repo, path_service, day,
                deployments AS day_deployments,
                failed AS day_failed,
                rework AS day_rework,
                recoveries AS day_recoveries
            FROM deployment_days
            WHERE rollup_days_in_range
              AND (@environment = '' OR environment = lower(@environment))
            UNION ALL
            SELECT
                repo, path_service,
                toDate(finished_at, @tz) AS day,
                toUInt64(1) AS day_deployments,
                toUInt64(failed) AS day_failed,
                toUInt64(rework != '') AS day_rework,
                if(failed = 1 AND toUnixTimestamp(recovered_at) > 0,
                    [greatest(toInt64(toUnixTimestamp(recovered_at)) - toInt64(toUnixTimestamp(finished_at)), toInt64(0))],
                    emptyArrayInt64()) AS day_recoveries
            FROM deployment_outcomes FINAL
            WHERE deleted = 0
              AND production = 1
              AND ((@from < @days_from AND finished_at >= @from AND finished_at < @days_from)
                OR (@days_to < @to AND finished_at >= @days_to AND finished_at < @to))
              AND (@environment = '' OR lower(environment) = lower(@environment))
        ) AS u
        ANY LEFT JOIN catalog_at_version AS catalog ON if(path_service != '', concat('s:', path_service), concat('r:', repo)) = attribution_key
    ) AS d
    WHERE (@any_service = 1 OR has(@only_services, service))
      AND (@any_team = 1 OR has(@only_teams, team))
    GROUP BY grp, bucket
) AS g
