-- toil_share.sql read from the day rollups (toil_days; see
-- changes_by_day.sql for when the engine uses them): the same columns and
-- values for a range of whole days in @tz. day is the merge day; gate >=
-- the first day is toil_share.sql's condition that the change was not
-- deployed before the range began.
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
        if(path_service != '', path_service, if(catalog_service != '', catalog_service, repo)) AS service,
        if(catalog_team != '', catalog_team, 'unowned') AS team,
        multiIf(@group_by = 'team', team, @group_by = 'organization', '', service) AS grp,
        toYYYYMMDD(multiIf(
            @bucket = 'day', day,
            @bucket = 'week', toMonday(day),
            @bucket = 'month', toStartOfMonth(day),
            @bucket = 'quarter', toStartOfQuarter(day),
            toDate('1970-01-01'))) AS bucket,
        toil_seconds AS day_toil_seconds,
        all_seconds AS day_all_seconds,
        toil_changes AS day_toil_changes,
        all_changes AS day_all_changes
    FROM toil_days
    ANY LEFT JOIN catalog_at_version AS catalog ON if(path_service != '', concat('s:', path_service), concat('r:', repo)) = attribution_key
    WHERE (repo, version) IN (SELECT repo, max(version) FROM day_rollup_builds GROUP BY repo HAVING argMax(zone, version) = @tz)
      AND day >= toDate(@from, @tz)
      AND day < toDate(@to, @tz)
      AND gate >= toDate(@from, @tz)
) AS c
WHERE (@any_service = 1 OR has(@only_services, service))
  AND (@any_team = 1 OR has(@only_teams, team))
GROUP BY grp, bucket
