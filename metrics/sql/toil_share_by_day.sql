-- toil_share.sql read from the day rollups (toil_days; see
-- changes_by_day.sql): the same columns and values. day is the merge day;
-- gate >= the first whole day is toil_share.sql's condition that the
-- change was not deployed before the range began, when it begins at that
-- day, so those rows count whole. Every other change toil_share.sql
-- counts is taken one by one, by its own merge and deployment times, from
-- the rows that may hold it: those of the part days, and those of whole
-- days whose gate lies in the part day before the first (merged in a
-- whole day, deployed on or after @from but before @days_from). keep is
-- toil_share.sql's condition less what the whole rows already counted.
SELECT
    grp,
    bucket,
    sum(day_toil_seconds) AS toil_seconds,
    sum(day_all_seconds) AS all_seconds,
    sum(day_toil_changes) AS toil_changes,
    sum(day_all_changes) AS all_changes
FROM
(
    SELECT
        day_group_columns,
        day_toil_seconds, day_all_seconds, day_toil_changes, day_all_changes
    FROM
    (
        SELECT
            repo, path_service, day,
            toil_seconds AS day_toil_seconds,
            all_seconds AS day_all_seconds,
            toil_changes AS day_toil_changes,
            all_changes AS day_all_changes
        FROM toil_days
        WHERE rollup_days_in_range
          AND gate >= toDate(@days_from, @tz)
        -- part days: from here to their end, left out when the range has none
        UNION ALL
        SELECT
            repo, path_service, day,
            arraySum(arrayMap((s, k, x) -> if(k AND x = 1, s, toUInt64(0)), change_seconds, keep, change_toil)) AS day_toil_seconds,
            arraySum(arrayMap((s, k) -> if(k, s, toUInt64(0)), change_seconds, keep)) AS day_all_seconds,
            arraySum(arrayMap((k, x) -> toUInt64(k AND x = 1), keep, change_toil)) AS day_toil_changes,
            arraySum(arrayMap(k -> toUInt64(k), keep)) AS day_all_changes
        FROM
        (
            SELECT
                repo, path_service, day, change_seconds, change_toil,
                arrayMap((m, d) -> m >= @from AND m < @to
                    AND (d >= @from OR toUnixTimestamp(d) = 0)
                    AND NOT (m >= @days_from AND m < @days_to AND (d >= @days_from OR toUnixTimestamp(d) = 0)),
                    merged_at, deployed_at) AS keep
            FROM toil_days
            WHERE rollup_part_days
               OR (rollup_days_in_range
                 AND @from < @days_from
                 AND gate < toDate(@days_from, @tz)
                 AND gate >= toDate(@from, @tz))
        ) AS p
        WHERE arrayExists(k -> k, keep)
        -- end of part days
    ) AS u
    ANY LEFT JOIN catalog_at_version AS catalog ON if(path_service != '', concat('s:', path_service), concat('r:', repo)) = attribution_key
) AS c
WHERE (@any_service = 1 OR has(@only_services, service))
  AND (@any_team = 1 OR has(@only_teams, team))
GROUP BY grp, bucket
