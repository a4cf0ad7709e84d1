-- Active repositories: those with at least one commit (any branch) authored
-- in [@from, @to), the denominator beside the reinvented wheels.
SELECT service, team, repo, count() AS commits
FROM
(
    SELECT
        if(catalog_service != '', catalog_service, repo) AS service,
        if(catalog_team != '', catalog_team, 'unowned') AS team,
        repo
    FROM commits FINAL
    ANY LEFT JOIN catalog_at_version AS catalog ON concat('r:', repo) = attribution_key
    WHERE authored_at >= @from
      AND authored_at < @to
) AS c
WHERE (@any_service = 1 OR has(@only_services, service))
  AND (@any_team = 1 OR has(@only_teams, team))
GROUP BY service, team, repo
ORDER BY repo
