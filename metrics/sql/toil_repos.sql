-- Active repositories: those with at least one commit (any branch) authored
-- in [@from, @to), the denominator beside the reinvented wheels.
SELECT service, team, repo, count() AS commits
FROM
(
    SELECT
        transform(repo, (SELECT repos FROM catalog_attribution WHERE version = @catalog LIMIT 1), (SELECT services FROM catalog_attribution WHERE version = @catalog LIMIT 1), repo) AS service,
        transform(service, (SELECT svc FROM catalog_attribution WHERE version = @catalog LIMIT 1), (SELECT teams FROM catalog_attribution WHERE version = @catalog LIMIT 1), 'unowned') AS team,
        repo
    FROM commits FINAL
    WHERE authored_at >= @from
      AND authored_at < @to
) AS c
WHERE (@any_service = 1 OR has(@only_services, service))
  AND (@any_team = 1 OR has(@only_teams, team))
GROUP BY service, team, repo
ORDER BY repo
