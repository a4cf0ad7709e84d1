-- Drill-down: the changes that reached production in [@from, @to), the
-- longest lead time first (the changes that waited longest), with their
-- pull-request stages and toil verdict. With @undeployed = 1 instead: the
-- merged pull requests merged in [@from, @to) that had not reached
-- production by @to (or are not in production yet), the oldest first, with
-- their age at min(@to, now) in age_seconds (-1 for deployed changes).
-- Each row also carries the change's page on its host where a payload gave
-- one ('' otherwise): the pull request's (its newest state's) for pr/<n>,
-- the commit's for a direct commit. That join comes after the filters and
-- the limit, so that nothing is pushed through it.
SELECT service, team, repo, change_id, kind, title, author, labels, started_at, start_is_created,
       opened_at, first_review_at, merged_at, deployment_id, deployed_at, environment,
       lead_seconds, toil, toil_reason, active_seconds, age_seconds, url
FROM
(
SELECT service, team, repo, change_id, kind, title, author, labels, started_at, start_is_created,
       opened_at, first_review_at, merged_at, deployment_id, deployed_at, environment,
       lead_seconds, toil, toil_reason, active_seconds, age_seconds
FROM
(
    SELECT
        if(path_service != '', path_service, if(catalog_service != '', catalog_service, repo)) AS service,
        if(catalog_team != '', catalog_team, 'unowned') AS team,
        repo, change_id, kind, title, author, labels, started_at, start_is_created, opened_at,
        first_review_at, merged_at, deployment_id, deployed_at, environment,
        greatest(toInt64(toUnixTimestamp(deployed_at)) - toInt64(toUnixTimestamp(started_at)), toInt64(0)) AS lead_seconds,
        toil, toil_reason, active_seconds,
        if(@undeployed = 1,
           toInt64(least(toUnixTimestamp(@to), toUnixTimestamp(now()))) - toInt64(toUnixTimestamp(merged_at)),
           toInt64(-1)) AS age_seconds
    FROM change_leads FINAL
    ANY LEFT JOIN catalog_at_version AS catalog ON if(path_service != '', concat('s:', path_service), concat('r:', repo)) = attribution_key
    WHERE deleted = 0
      AND ((@undeployed = 0
            AND deployment_id != ''
            AND deployed_at >= @from
            AND deployed_at < @to
            AND (@environment = '' OR lower(environment) = lower(@environment)))
        OR (@undeployed = 1
            AND kind = 'pull_request'
            AND merged_at >= @from
            AND merged_at < @to
            AND (deployment_id = '' OR deployed_at >= @to)))
) AS c
WHERE (@any_service = 1 OR has(@only_services, service))
  AND (@any_team = 1 OR has(@only_teams, team))
ORDER BY lead_seconds DESC, age_seconds DESC, repo, change_id
LIMIT @limit
) AS rows
ANY LEFT JOIN
(
    SELECT repo, change_id, argMax(url, version) AS url
    FROM
    (
        SELECT repo, concat('pr/', toString(number)) AS change_id, url, version FROM pull_requests WHERE url != ''
        UNION ALL
        SELECT repo, sha AS change_id, url, toUInt64(0) AS version FROM commits WHERE url != ''
    ) AS links
    GROUP BY repo, change_id
) AS l USING (repo, change_id)
ORDER BY lead_seconds DESC, age_seconds DESC, repo, change_id
