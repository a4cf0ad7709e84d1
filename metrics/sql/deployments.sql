-- Deployments (deployment frequency).
--
-- A production deployment is a successful deployment to a production
-- environment (deployment_outcomes.production = 1) that finished in the
-- half-open range [@from, @to). When an environment is asked for, only
-- production deployments to that environment count.
--
-- deployments = the number of such deployments.
-- Deployments per week is deployments / (length of the range in days / 7),
-- computed by the caller, which knows the length of each bucket.
--
-- Attribution follows the catalog at query time: a repository belongs to the
-- service that lists it (or is its own service), a service belongs to its
-- team (or to 'unowned'). Groups are services, teams, or the whole
-- organisation (''); buckets are calendar days, ISO weeks (Monday), months or
-- quarters in the report's time zone @tz (19700101 when not bucketed).
SELECT
    grp,
    bucket,
    count() AS deployments
FROM
(
    SELECT
        transform(repo, @repos, @services, repo) AS service,
        transform(service, @svc, @teams, 'unowned') AS team,
        multiIf(@group_by = 'team', team, @group_by = 'organization', '', service) AS grp,
        toYYYYMMDD(multiIf(
            @bucket = 'day', toDate(finished_at, @tz),
            @bucket = 'week', toMonday(finished_at, @tz),
            @bucket = 'month', toStartOfMonth(finished_at, @tz),
            @bucket = 'quarter', toStartOfQuarter(finished_at, @tz),
            toDate('1970-01-01'))) AS bucket
    FROM deployment_outcomes FINAL
    WHERE deleted = 0
      AND production = 1
      AND finished_at >= @from
      AND finished_at < @to
      AND (@environment = '' OR environment = @environment)
) AS d
WHERE (@any_service = 1 OR has(@only_services, service))
  AND (@any_team = 1 OR has(@only_teams, team))
GROUP BY grp, bucket
