-- Onboarding: how long a new contributor takes from their first commit to
-- their first change running in production.
--
--   identity           = lower(author_login), or when a commit has no login its
--                        author name, else its e-mail: the same identity the
--                        deriver gives a direct commit's change, so it matches
--                        change_leads.author (a pull request's author login)
--   history_start      = the earliest author time of any stored commit: where
--                        the collected history begins
--   first_commit_at    = the contributor's earliest commit in any repository
--                        and on any branch; repo is that commit's repository
--                        (the alphabetically first on a tie), and its service
--                        and team are the contributor's
--   new contributor    = first_commit_at >= history_start + @grace seconds;
--                        bots (a login ending in "[bot]" or containing one of
--                        @bots) are never new contributors
--   first_production_at = the earliest finish of the first production deployment
--                        of a change they authored, at or after their first
--                        commit; 1970 (none) while nothing of theirs is in
--                        production
--
-- Rows: the new contributors whose first commit falls in [@from, @to),
-- oldest first. The caller groups them, takes the exact median of
-- first_production_at - first_commit_at over those in production, and counts
-- the others as still on their way.
WITH (SELECT min(authored_at) FROM commits WHERE toUnixTimestamp(authored_at) > 0) AS history_start
SELECT service, team, who AS login, first_repo AS repo, first_commit_at, first_production_at, history_start
FROM
(
    SELECT
        if(catalog_service != '', catalog_service, first_repo) AS service,
        if(catalog_team != '', catalog_team, 'unowned') AS team,
        who,
        first_repo,
        first_commit_at,
        arrayFilter(d -> d >= toUInt32(first_commit_at), deploys) AS later,
        toDateTime(if(length(later) > 0, arrayReduce('min', later), toUInt32(0)), 'UTC') AS first_production_at
    FROM
    (
        SELECT who, first_commit_at, first_repo, catalog_service, catalog_team
        FROM
        (
            SELECT
                lower(if(author_login != '', author_login, if(author_name != '', author_name, author_email))) AS who,
                min(authored_at) AS first_commit_at,
                tupleElement(arraySort(groupArray((toUInt32(authored_at), repo)))[1], 2) AS first_repo
            FROM commits FINAL
            WHERE toUnixTimestamp(authored_at) > 0
            GROUP BY who
        ) AS f0
        ANY LEFT JOIN catalog_at_version AS catalog ON concat('r:', first_repo) = attribution_key
    ) AS f
    ANY LEFT JOIN
    (
        SELECT lower(author) AS who, groupArray(toUInt32(deployed_at)) AS deploys
        FROM change_leads FINAL
        WHERE deleted = 0
          AND deployment_id != ''
          AND toUnixTimestamp(deployed_at) > 0
        GROUP BY who
    ) AS d USING who
    WHERE who != ''
      AND first_commit_at >= @from
      AND first_commit_at < @to
      AND NOT match(who, '\\[bot\\]$')
      AND NOT arrayExists(b -> position(who, b) > 0, @bots)
) AS o
WHERE first_commit_at >= history_start + @grace
  AND (@any_service = 1 OR has(@only_services, service))
  AND (@any_team = 1 OR has(@only_teams, team))
ORDER BY first_commit_at, login
