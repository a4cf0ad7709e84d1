-- deployments.sql read from the day rollups (deployment_days): the whole
-- days of the range from their rows as they are, the part days at its
-- ends from the rows of the days they touch, counting only the
-- deployments that finished inside the part (see changes_by_day.sql): the
-- same columns and values. A whole-day row exists only for a day with a
-- production deployment, so its day is a deployment day; a part-day row
-- is one only when a deployment of the part remains. The recovery median
-- is taken as in deployments.sql, over the union of the samples.
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
            -- part days: from here to their end, left out when the range has none
            UNION ALL
            SELECT
                repo, path_service, day,
                length(arrayFilter(t -> in_part_days(t), finished_at)) AS day_deployments,
                length(arrayFilter(t -> in_part_days(t), failed_at)) AS day_failed,
                length(arrayFilter(t -> in_part_days(t), rework_at)) AS day_rework,
                arrayFilter((v, t) -> in_part_days(t), recoveries, recovery_at) AS day_recoveries
            FROM deployment_days
            WHERE rollup_part_days
              AND (@environment = '' OR environment = lower(@environment))
              AND arrayExists(t -> in_part_days(t), finished_at)
            -- end of part days
        ) AS u
        ANY LEFT JOIN catalog_at_version AS catalog ON if(path_service != '', concat('s:', path_service), concat('r:', repo)) = attribution_key
    ) AS d
    WHERE (@any_service = 1 OR has(@only_services, service))
      AND (@any_team = 1 OR has(@only_teams, team))
    GROUP BY grp, bucket
) AS g
