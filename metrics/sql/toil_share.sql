-- Infra-toil share: the share of engineering effort spent on
-- infrastructure and tooling rather than product.
--
-- Every change merged in [@from, @to) (pull requests by merge time, direct
-- commits by commit time) is classified by the toil rules when it is
-- derived (label, conventional-commit type, bot author, then changed paths;
-- see docs/toil.md) and credited with its active time: first commit to
-- merge, at least 30 minutes and at most 5 days by default.
--
--   infra_toil_share = active seconds of toil changes / active seconds of all changes
--
-- Deployed or not. A change merges before it is deployed, so the deployed_at
-- condition only lets ClickHouse skip older monthly partitions.
SELECT
    grp,
    bucket,
    sumIf(active_seconds, toil = 1) AS toil_seconds,
    sum(active_seconds) AS all_seconds,
    countIf(toil = 1) AS toil_changes,
    count() AS all_changes
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
        toUInt64(active_seconds) AS active_seconds,
        toil
    FROM change_leads FINAL
    ANY LEFT JOIN catalog_at_version AS catalog ON if(path_service != '', concat('s:', path_service), concat('r:', repo)) = attribution_key
    WHERE deleted = 0
      AND (deployed_at >= @from OR toUnixTimestamp(deployed_at) = 0)
      AND merged_at >= @from
      AND merged_at < @to
) AS c
WHERE (@any_service = 1 OR has(@only_services, service))
  AND (@any_team = 1 OR has(@only_teams, team))
GROUP BY grp, bucket
