-- Time to restore service (MTTR).
--
-- For each incident created in [@from, @to) and resolved, linked to a
-- deployment or not: the time from its creation to its resolution.
--
--   restore_seconds = resolved_at - created_at   (negative counts as 0)
--
-- Incidents are attributed through their repository to its service and team.
-- Incidents are production incidents, so an environment filter does not
-- narrow them. Open incidents are left out.
-- samples = the restore times in seconds, ascending; the caller reports their
-- count and exact median (the mean of the two middle values for an even
-- count).
SELECT
    grp,
    bucket,
    count() AS restored,
    arraySort(groupArray(restore_seconds)) AS samples
FROM
(
    SELECT
        transform(repo, @repos, @services, repo) AS service,
        transform(service, @svc, @teams, 'unowned') AS team,
        multiIf(@group_by = 'team', team, @group_by = 'organization', '', service) AS grp,
        toYYYYMMDD(multiIf(
            @bucket = 'day', toDate(created_at, @tz),
            @bucket = 'week', toMonday(created_at, @tz),
            @bucket = 'month', toStartOfMonth(created_at, @tz),
            @bucket = 'quarter', toStartOfQuarter(created_at, @tz),
            toDate('1970-01-01'))) AS bucket,
        greatest(toInt64(toUnixTimestamp(resolved_at)) - toInt64(toUnixTimestamp(created_at)), toInt64(0)) AS restore_seconds
    FROM incident_links FINAL
    WHERE deleted = 0
      AND toUnixTimestamp(resolved_at) > 0
      AND created_at >= @from
      AND created_at < @to
) AS i
WHERE (@any_service = 1 OR has(@only_services, service))
  AND (@any_team = 1 OR has(@only_teams, team))
GROUP BY grp, bucket
