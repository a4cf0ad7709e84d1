-- Drill-down: the production deployments that finished in [@from, @to),
-- newest first, with what became of each (failed, why, when service was
-- restored, whether it was rework). @failed_only = 1 keeps failed ones.
SELECT service, team, repo, deployment_id, environment, sha, finished_at, failed, failure_cause,
       recovered_at, recovery_seconds, rework, changes
FROM
(
    SELECT
        if(path_service != '', path_service, if(catalog_service != '', catalog_service, repo)) AS service,
        if(catalog_team != '', catalog_team, 'unowned') AS team,
        repo, deployment_id, environment, sha, finished_at, failed, failure_cause, recovered_at,
        if(failed = 1 AND toUnixTimestamp(recovered_at) > 0,
           toInt64(toUnixTimestamp(recovered_at)) - toInt64(toUnixTimestamp(finished_at)), toInt64(-1)) AS recovery_seconds,
        rework, changes
    FROM
    (
        SELECT *
        FROM deployment_outcomes FINAL
        WHERE deleted = 0
          AND production = 1
          AND finished_at >= @from
          AND finished_at < @to
          AND (@environment = '' OR lower(environment) = lower(@environment))
          AND (@failed_only = 0 OR failed = 1)
    ) AS o
    ANY LEFT JOIN
    (
        SELECT key AS attribution_key, service AS catalog_service, team AS catalog_team
        FROM catalog_attribution
        WHERE version = @catalog
    ) AS catalog ON if(path_service != '', concat('s:', path_service), concat('r:', repo)) = attribution_key
) AS d
WHERE (@any_service = 1 OR has(@only_services, service))
  AND (@any_team = 1 OR has(@only_teams, team))
ORDER BY finished_at DESC, repo, deployment_id
LIMIT @limit
