-- Reinvented wheels: which repositories change infrastructure files of their
-- own, and when.
--
-- Counted: commits (any branch) authored in [@from, @to), each changed path
-- that may be an infrastructure file (@infra_re, a pre-filter built from the
-- configured globs; the caller matches the globs exactly and sorts each path
-- into its kind: CI pipeline definitions, Dockerfiles, Terraform, Helm and
-- Kubernetes manifests).
--
-- Rows: (repository, path, ISO week) with the week's Monday in @tz as
-- YYYYMMDD and the number of commits that changed the path that week. A
-- repository maintains its own wheel of a kind when it changed a file of that
-- kind in the range; the same wheel is reinvented when the same path changed
-- in at least N repositories in the same ISO week.
SELECT service, team, repo, path, week, count() AS commits
FROM
(
    SELECT
        if(catalog_service != '', catalog_service, repo) AS service,
        if(catalog_team != '', catalog_team, 'unowned') AS team,
        repo,
        path,
        toYYYYMMDD(toMonday(authored_at, @tz)) AS week
    FROM commits FINAL
    ARRAY JOIN arrayFilter(p -> match(p, @infra_re), paths) AS path
    ANY LEFT JOIN catalog_at_version AS catalog ON concat('r:', repo) = attribution_key
    WHERE authored_at >= @from
      AND authored_at < @to
) AS c
WHERE (@any_service = 1 OR has(@only_services, service))
  AND (@any_team = 1 OR has(@only_teams, team))
GROUP BY service, team, repo, path, week
ORDER BY week, path, repo
