-- toil_share.sql read from the day rollups (toil_days) for the whole days
-- of the range and from the records for the rest (see
-- changes_by_day.sql): the same columns and values. day is the merge day;
-- gate >= the first whole day is toil_share.sql's condition that the
-- change was not deployed before the range began, when it begins at that
-- day. The records answer for every change toil_share.sql counts that the
-- rollup rows do not: merged in a part day, or merged in a whole day but
-- deployed in the part day before the first (on or after @from, so it
-- counts, but before @days_from, so its gate is too early). A change a
-- part day holds may have been deployed in any month since @from, so that
-- part reads the records of every month since.
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
        UNION ALL
        SELECT
            repo, path_service,
            toDate(merged_at, @tz) AS day,
            if(toil = 1, toUInt64(active_seconds), toUInt64(0)) AS day_toil_seconds,
            toUInt64(active_seconds) AS day_all_seconds,
            toUInt64(toil = 1) AS day_toil_changes,
            toUInt64(1) AS day_all_changes
        FROM change_leads FINAL
        WHERE deleted = 0
          AND (deployed_at >= @from OR toUnixTimestamp(deployed_at) = 0)
          AND merged_at >= @from
          AND merged_at < @to
          AND NOT (merged_at >= @days_from AND merged_at < @days_to
            AND (deployed_at >= @days_from OR toUnixTimestamp(deployed_at) = 0))
          AND ((@from < @days_from AND merged_at < @days_from)
            OR (@days_to < @to AND merged_at >= @days_to)
            OR (@from < @days_from AND deployed_at < @days_from))
    ) AS u
    ANY LEFT JOIN catalog_at_version AS catalog ON if(path_service != '', concat('s:', path_service), concat('r:', repo)) = attribution_key
) AS c
WHERE (@any_service = 1 OR has(@only_services, service))
  AND (@any_team = 1 OR has(@only_teams, team))
GROUP BY grp, bucket
