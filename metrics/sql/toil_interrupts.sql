-- Interrupt toil: the hours incidents kept people busy.
--
-- Counted: incidents created in [@from, @to) (incident_links, linked to a
-- deployment or not), attributed through their repository to its service and
-- team. An environment filter does not narrow them.
--
--   incident_seconds = sum of (resolved_at - created_at) over the resolved ones
--                      (negative counts as 0); open incidents add nothing yet
--   incidents        = all of them, resolved_incidents = the resolved ones
--
-- This is elapsed time from opening to resolution, not the number of people
-- who worked on it.
SELECT
    grp,
    bucket,
    count() AS incidents,
    countIf(is_resolved = 1) AS resolved_incidents,
    sumIf(seconds, is_resolved = 1) AS incident_seconds
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
        toUnixTimestamp(resolved_at) > 0 AS is_resolved,
        toUInt64(greatest(toInt64(toUnixTimestamp(resolved_at)) - toInt64(toUnixTimestamp(created_at)), toInt64(0))) AS seconds
    FROM incident_links FINAL
    ANY LEFT JOIN catalog_at_version AS catalog ON if(path_service != '', concat('s:', path_service), concat('r:', repo)) = attribution_key
    WHERE deleted = 0
      AND created_at >= @from
      AND created_at < @to
) AS i
WHERE (@any_service = 1 OR has(@only_services, service))
  AND (@any_team = 1 OR has(@only_teams, team))
GROUP BY grp, bucket
