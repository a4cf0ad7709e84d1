-- Drill-down: incidents created in [@from, @to), newest first, with the
-- deployment each is blamed on (link: explicit, window or none), the explicit
-- reference that named no deployment (unresolved_reference) and its time to
-- restore (-1 while open). An environment filter keeps the incidents blamed on
-- a deployment to that environment.
-- Each row also carries the incident's URL in its source tool where the
-- payload gave one ('' otherwise): the latest stored version's. That join
-- comes after the filters and the limit, so that nothing is pushed through it.
SELECT service, team, repo, source, incident_id, title, created_at, resolved_at, restore_seconds,
       deployment_id, link, environment, unresolved_reference, url
FROM
(
    SELECT service, team, repo, source, incident_id, title, created_at, resolved_at, restore_seconds,
           deployment_id, link, environment, unresolved_reference
    FROM
    (
        SELECT
            if(path_service != '', path_service, if(catalog_service != '', catalog_service, repo)) AS service,
            if(catalog_team != '', catalog_team, 'unowned') AS team,
            repo, source, incident_id, title, created_at, resolved_at,
            if(toUnixTimestamp(resolved_at) > 0,
               toInt64(toUnixTimestamp(resolved_at)) - toInt64(toUnixTimestamp(created_at)), toInt64(-1)) AS restore_seconds,
            deployment_id, link, environment, unresolved_reference
        FROM
        (
            SELECT *
            FROM incident_links FINAL
            WHERE deleted = 0
              AND created_at >= @from
              AND created_at < @to
              AND (@environment = '' OR lower(environment) = lower(@environment))
        ) AS l
        ANY LEFT JOIN catalog_at_version AS catalog ON if(path_service != '', concat('s:', path_service), concat('r:', repo)) = attribution_key
    ) AS i
    WHERE (@any_service = 1 OR has(@only_services, service))
      AND (@any_team = 1 OR has(@only_teams, team))
    ORDER BY created_at DESC, source, incident_id
    LIMIT @limit
) AS rows
ANY LEFT JOIN
(
    SELECT source, incident_id, argMax(url, version) AS url
    FROM incidents
    GROUP BY source, incident_id
) AS f USING (source, incident_id)
ORDER BY created_at DESC, source, incident_id
