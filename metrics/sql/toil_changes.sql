-- Drill-down: the classified changes merged in [@from, @to) (pull requests
-- by merge time, direct commits by commit time; deployed or not), the toil
-- ones first, then the largest credited effort first, with the rule that
-- decided ("label:infra", "commit-type:ci", "bot:dependabot[bot]",
-- "paths:3/4 **/*.tf"). @toil_only = 1 keeps the toil ones.
SELECT service, team, repo, change_id, kind, title, author, labels, paths, started_at, merged_at,
       deployment_id, deployed_at, toil, toil_reason, active_seconds
FROM
(
    SELECT
        if(path_service != '', path_service, if(catalog_service != '', catalog_service, repo)) AS service,
        if(catalog_team != '', catalog_team, 'unowned') AS team,
        repo, change_id, kind, title, author, labels, paths, started_at, merged_at,
        deployment_id, deployed_at, toil, toil_reason, active_seconds
    FROM
    (
        SELECT *
        FROM change_leads FINAL
        WHERE deleted = 0
          AND (deployed_at >= @from OR toUnixTimestamp(deployed_at) = 0)
          AND merged_at >= @from
          AND merged_at < @to
          AND (@toil_only = 0 OR toil = 1)
    ) AS l
    ANY LEFT JOIN catalog_at_version AS catalog ON if(path_service != '', concat('s:', path_service), concat('r:', repo)) = attribution_key
) AS c
WHERE (@any_service = 1 OR has(@only_services, service))
  AND (@any_team = 1 OR has(@only_teams, team))
ORDER BY toil DESC, active_seconds DESC, merged_at DESC, repo, change_id
LIMIT @limit
