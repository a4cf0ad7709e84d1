-- Deployment days.
--
-- A deployment day is a calendar day in the report's time zone @tz on which
-- at least one production deployment (see deployments.sql) finished, within
-- [@from, @to) and, when asked for, to the given environment.
--
-- deployment_days = the number of distinct such days in the group and bucket;
-- days = those days as YYYYMMDD, ascending.
--
-- The DORA deployment-frequency band uses the median number of deployment
-- days per ISO week (Monday to Sunday in @tz) over the weeks that overlap
-- the range, weeks without a deployment counting as 0 (and likewise per
-- calendar month and per half-year where a benchmark bands on those). The
-- caller computes these medians from `days`.
SELECT
    grp,
    bucket,
    uniqExact(deploy_day) AS deployment_days,
    arraySort(groupUniqArray(deploy_day)) AS days
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
            toDate('1970-01-01'))) AS bucket,
        toYYYYMMDD(toDate(finished_at, @tz)) AS deploy_day
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
