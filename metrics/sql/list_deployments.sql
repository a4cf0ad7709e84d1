-- Drill-down: the production deployments that finished in [@from, @to),
-- newest first, with what became of each (failed, why, when service was
-- restored, whether it was rework). @failed_only = 1 keeps failed ones.
-- Each row also carries the deployment's page in the tool that ran it where
-- a payload gave one ('' otherwise): the newest link among the deployment's
-- own, its statuses' (their logs), its CI run's or its release's, matched by
-- the ids derive gives them (run/<id>, release/<id>). That join comes after
-- the filters and the limit, so that nothing is pushed through it.
SELECT service, team, repo, deployment_id, environment, sha, finished_at, failed, failure_cause,
       recovered_at, recovery_seconds, rework, changes, url
FROM
(
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
    ANY LEFT JOIN catalog_at_version AS catalog ON if(path_service != '', concat('s:', path_service), concat('r:', repo)) = attribution_key
) AS d
WHERE (@any_service = 1 OR has(@only_services, service))
  AND (@any_team = 1 OR has(@only_teams, team))
ORDER BY finished_at DESC, repo, deployment_id
LIMIT @limit
) AS rows
ANY LEFT JOIN
(
    SELECT repo, deployment_id, argMax(url, at) AS url
    FROM
    (
        SELECT repo, deployment_id, url, updated_at AS at FROM deployments WHERE url != ''
        UNION ALL
        SELECT repo, deployment_id, url, created_at AS at FROM deployment_statuses WHERE url != ''
        UNION ALL
        SELECT repo, concat('run/', run_id) AS deployment_id, url, updated_at AS at FROM pipeline_runs WHERE url != ''
        UNION ALL
        SELECT repo, concat('release/', release_id) AS deployment_id, url, published_at AS at FROM releases WHERE url != ''
    ) AS links
    GROUP BY repo, deployment_id
) AS l USING (repo, deployment_id)
ORDER BY finished_at DESC, repo, deployment_id
