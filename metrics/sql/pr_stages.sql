-- Pull-request stages: where a merged pull request's lead time went.
--
--   coding = opened_at       - started_at       (first commit -> pull request opened;
--                                                 left out when no commit was seen)
--   pickup = first_review_at - opened_at        (opened -> first review by someone else;
--                                                 left out when nobody reviewed it)
--   review = merged_at       - first_review_at  (first review -> merged; reviewed ones only)
--   deploy = deployed_at     - merged_at        (merged -> running in production)
--
-- Counted: pull requests whose production deployment finished in [@from, @to),
-- as for lead time. Negative clock skew counts as 0. Each stage's samples
-- come back sorted; the caller reports their exact median.
SELECT
    grp,
    bucket,
    arraySort(groupArrayIf(coding, has_start)) AS coding_samples,
    arraySort(groupArrayIf(pickup, reviewed)) AS pickup_samples,
    arraySort(groupArrayIf(review, reviewed)) AS review_samples,
    arraySort(groupArray(deploy)) AS deploy_samples
FROM
(
    SELECT
        transform(repo, @repos, @services, repo) AS service,
        transform(service, @svc, @teams, 'unowned') AS team,
        multiIf(@group_by = 'team', team, @group_by = 'organization', '', service) AS grp,
        toYYYYMMDD(multiIf(
            @bucket = 'day', toDate(deployed_at, @tz),
            @bucket = 'week', toMonday(deployed_at, @tz),
            @bucket = 'month', toStartOfMonth(deployed_at, @tz),
            @bucket = 'quarter', toStartOfQuarter(deployed_at, @tz),
            toDate('1970-01-01'))) AS bucket,
        start_is_created = 0 AND toUnixTimestamp(started_at) > 0 AS has_start,
        toUnixTimestamp(first_review_at) > 0 AS reviewed,
        greatest(toInt64(toUnixTimestamp(opened_at)) - toInt64(toUnixTimestamp(started_at)), toInt64(0)) AS coding,
        greatest(toInt64(toUnixTimestamp(first_review_at)) - toInt64(toUnixTimestamp(opened_at)), toInt64(0)) AS pickup,
        greatest(toInt64(toUnixTimestamp(merged_at)) - toInt64(toUnixTimestamp(first_review_at)), toInt64(0)) AS review,
        greatest(toInt64(toUnixTimestamp(deployed_at)) - toInt64(toUnixTimestamp(merged_at)), toInt64(0)) AS deploy
    FROM change_leads FINAL
    WHERE deleted = 0
      AND kind = 'pull_request'
      AND deployment_id != ''
      AND deployed_at >= @from
      AND deployed_at < @to
      AND (@environment = '' OR environment = @environment)
) AS c
WHERE (@any_service = 1 OR has(@only_services, service))
  AND (@any_team = 1 OR has(@only_teams, team))
GROUP BY grp, bucket
