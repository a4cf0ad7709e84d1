-- Infra-toil by rule: which classification rule made the toil changes toil.
--
-- The same changes as toil_share.sql (merged in [@from, @to), deployed or
-- not), toil ones only, grouped by the rule that decided: label,
-- commit-type, bot or paths (the part of toil_reason before the colon).
--
--   changes        = toil changes the rule classified
--   active_seconds = their credited active time
SELECT
    grp,
    bucket,
    rule,
    count() AS changes,
    sum(active_seconds) AS active_seconds
FROM
(
    SELECT
        if(path_service != '', path_service, if(catalog_service != '', catalog_service, repo)) AS service,
        if(catalog_team != '', catalog_team, 'unowned') AS team,
        multiIf(@group_by = 'team', team, @group_by = 'organization', '', service) AS grp,
        toYYYYMMDD(multiIf(
            @bucket = 'day', toDate(merged_at, @tz),
            @bucket = 'week', toMonday(merged_at, @tz),
            @bucket = 'month', toStartOfMonth(merged_at, @tz),
            @bucket = 'quarter', toStartOfQuarter(merged_at, @tz),
            toDate('1970-01-01'))) AS bucket,
        splitByChar(':', toil_reason)[1] AS rule,
        toUInt64(active_seconds) AS active_seconds
    FROM change_leads FINAL
    ANY LEFT JOIN catalog_at_version AS catalog ON if(path_service != '', concat('s:', path_service), concat('r:', repo)) = attribution_key
    WHERE deleted = 0
      AND toil = 1
      AND (deployed_at >= @from OR toUnixTimestamp(deployed_at) = 0)
      AND merged_at >= @from
      AND merged_at < @to
) AS c
WHERE (@any_service = 1 OR has(@only_services, service))
  AND (@any_team = 1 OR has(@only_teams, team))
GROUP BY grp, bucket, rule
