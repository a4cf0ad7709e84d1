-- changes.sql read from the day rollups (change_days, built by the store
-- from change_leads; schema/migrations/0006_day_rollups.sql and
-- 0007_rollup_sample_times.sql): the same columns and values for any
-- range, when the rollups were built in @tz (metrics/rollup.go decides).
-- The whole days of the range, [@days_from, @days_to), come from each
-- repository's rows of its latest build in @tz as they are. The part days
-- at either end, [@from, @days_from) and [@days_to, @to), come from the
-- rows of the days they touch that hold a change deployed inside the
-- part, keeping only the samples of such changes (each sample array has
-- its times beside it);
-- a range without a whole day binds @days_from = @days_to = @to, so all of
-- it is a part. The derived records are not read.
--
-- Every quantile is taken over the union of the samples, so over the same
-- samples as changes.sql, and computed as it explains, over the day
-- arrays concatenated: groupArrayArray where the lead times are padded,
-- quantilesExactArray for the stage medians.
SELECT
    grp,
    bucket,
    length(leads) AS lead_count,
    (lead_mid[1] + lead_mid[2]) / 2 AS lead_median,
    (arrayReduce('quantileExact(0.75)', arrayConcat([toInt64(-1), toInt64(-1), toInt64(-1)], leads)) AS p75_below)
        + (greatest(lead_count, 1) - 1) * 75 % 100
        * (arrayReduce('quantileExact(0.75)', arrayConcat([toInt64(-1), toInt64(-1)], leads, [toInt64(9223372036854775807)])) - p75_below) / 100 AS lead_p75,
    (arrayReduce('quantileExact(0.9)', arrayConcat(arrayResize([toInt64(-1)], 9), leads)) AS p90_below)
        + (greatest(lead_count, 1) - 1) * 90 % 100
        * (arrayReduce('quantileExact(0.9)', arrayConcat(arrayResize([toInt64(-1)], 8), leads, [toInt64(9223372036854775807)])) - p90_below) / 100 AS lead_p90,
    lead_skewed,
    coding_count,
    (coding_mid[1] + coding_mid[2]) / 2 AS coding_median,
    coding_skewed,
    pickup_count,
    (pickup_mid[1] + pickup_mid[2]) / 2 AS pickup_median,
    pickup_skewed,
    review_count,
    (review_mid[1] + review_mid[2]) / 2 AS review_median,
    review_skewed,
    deploy_count,
    (deploy_mid[1] + deploy_mid[2]) / 2 AS deploy_median,
    deploy_skewed
FROM
(
    SELECT
        grp,
        bucket,
        groupArrayArray(day_leads) AS leads,
        arrayReduce('quantilesExact(0.49999999999, 0.5)', leads) AS lead_mid,
        sum(day_lead_skewed) AS lead_skewed,
        sum(length(day_codings)) AS coding_count,
        quantilesExactArray(0.49999999999, 0.5)(day_codings) AS coding_mid,
        sum(day_coding_skewed) AS coding_skewed,
        sum(length(day_pickups)) AS pickup_count,
        quantilesExactArray(0.49999999999, 0.5)(day_pickups) AS pickup_mid,
        sum(day_pickup_skewed) AS pickup_skewed,
        sum(length(day_reviews)) AS review_count,
        quantilesExactArray(0.49999999999, 0.5)(day_reviews) AS review_mid,
        sum(day_review_skewed) AS review_skewed,
        sum(length(day_deploys)) AS deploy_count,
        quantilesExactArray(0.49999999999, 0.5)(day_deploys) AS deploy_mid,
        sum(day_deploy_skewed) AS deploy_skewed
    FROM
    (
        SELECT
            day_group_columns,
            day_leads, day_lead_skewed, day_codings, day_coding_skewed, day_pickups, day_pickup_skewed,
            day_reviews, day_review_skewed, day_deploys, day_deploy_skewed
        FROM
        (
            SELECT
                repo, path_service, day,
                leads AS day_leads,
                lead_skewed AS day_lead_skewed,
                codings AS day_codings,
                coding_skewed AS day_coding_skewed,
                pickups AS day_pickups,
                pickup_skewed AS day_pickup_skewed,
                reviews AS day_reviews,
                review_skewed AS day_review_skewed,
                deploys AS day_deploys,
                deploy_skewed AS day_deploy_skewed
            FROM change_days
            WHERE rollup_days_in_range
              AND (@environment = '' OR environment = lower(@environment))
            -- part days: from here to their end, left out when the range has none
            UNION ALL
            SELECT
                repo, path_service, day,
                arrayFilter((v, t) -> in_part_days(t), leads, lead_at) AS day_leads,
                toUInt64(length(arrayFilter(t -> in_part_days(t), lead_skewed_at))) AS day_lead_skewed,
                arrayFilter((v, t) -> in_part_days(t), codings, coding_at) AS day_codings,
                toUInt64(length(arrayFilter(t -> in_part_days(t), coding_skewed_at))) AS day_coding_skewed,
                arrayFilter((v, t) -> in_part_days(t), pickups, pickup_at) AS day_pickups,
                toUInt64(length(arrayFilter(t -> in_part_days(t), pickup_skewed_at))) AS day_pickup_skewed,
                arrayFilter((v, t) -> in_part_days(t), reviews, review_at) AS day_reviews,
                toUInt64(length(arrayFilter(t -> in_part_days(t), review_skewed_at))) AS day_review_skewed,
                arrayFilter((v, t) -> in_part_days(t), deploys, deploy_at) AS day_deploys,
                toUInt64(length(arrayFilter(t -> in_part_days(t), deploy_skewed_at))) AS day_deploy_skewed
            FROM change_days
            WHERE rollup_part_days
              AND (@environment = '' OR environment = lower(@environment))
              AND arrayExists(t -> in_part_days(t), change_at)
            -- end of part days
        ) AS u
        ANY LEFT JOIN catalog_at_version AS catalog ON if(path_service != '', concat('s:', path_service), concat('r:', repo)) = attribution_key
    ) AS c
    WHERE (@any_service = 1 OR has(@only_services, service))
      AND (@any_team = 1 OR has(@only_teams, team))
    GROUP BY grp, bucket
) AS g
