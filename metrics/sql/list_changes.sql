-- Drill-down: the changes that reached production in [@from, @to), the
-- longest lead time first (the changes that waited longest), with their
-- pull-request stages and toil verdict.
SELECT service, team, repo, change_id, kind, title, author, labels, started_at, start_is_created,
       opened_at, first_review_at, merged_at, deployment_id, deployed_at, environment,
       lead_seconds, toil, toil_reason, active_seconds
FROM
(
    SELECT
        if(path_service != '', path_service, if(catalog_service != '', catalog_service, repo)) AS service,
        if(catalog_team != '', catalog_team, 'unowned') AS team,
        repo, change_id, kind, title, author, labels, started_at, start_is_created, opened_at,
        first_review_at, merged_at, deployment_id, deployed_at, environment,
        greatest(toInt64(toUnixTimestamp(deployed_at)) - toInt64(toUnixTimestamp(started_at)), toInt64(0)) AS lead_seconds,
        toil, toil_reason, active_seconds
    FROM change_leads FINAL
    ANY LEFT JOIN
    (
        SELECT key AS attribution_key, service AS catalog_service, team AS catalog_team
        FROM catalog_attribution
        WHERE version = @catalog
    ) AS catalog ON if(path_service != '', concat('s:', path_service), concat('r:', repo)) = attribution_key
    WHERE deleted = 0
      AND deployment_id != ''
      AND deployed_at >= @from
      AND deployed_at < @to
      AND (@environment = '' OR environment = @environment)
) AS c
WHERE (@any_service = 1 OR has(@only_services, service))
  AND (@any_team = 1 OR has(@only_teams, team))
ORDER BY lead_seconds DESC, repo, change_id
LIMIT @limit
