-- Changes that reached production: lead time for changes and the
-- pull-request stages, in one pass.
--
-- A change is a merged pull request, or a commit pushed straight to the
-- deployed branch outside any pull request. Its lead time runs from its
-- start (the first commit's time; for a pull request with no commit seen,
-- its creation time) to the finish of the first production deployment of
-- its service that contains it:
--
--   lead_samples = deployed_at - started_at, for changes with a known start
--
-- A merged pull request's lead time splits into stages:
--
--   coding = opened_at       - started_at       (first commit -> opened; left out
--                                                 when no commit was seen)
--   pickup = first_review_at - opened_at        (opened -> first review by someone
--                                                 else; left out when nobody reviewed)
--   review = merged_at       - first_review_at  (first review -> merged; reviewed only)
--   deploy = deployed_at     - merged_at        (merged -> running in production)
--
-- Counted: changes whose deployment finished in [@from, @to) and, when an
-- environment is asked for, went to production in that environment. Negative
-- clock skew counts as 0.
--
-- Lead times come back sorted; the caller reports their count, median, p75
-- and p90, each exact: the p-quantile of n sorted values is
-- x[k] + f * (x[k+1] - x[k]) with h = (n - 1) * p, k = floor(h) (zero-based)
-- and f = h - k, so the median of an even count is the mean of the two middle
-- values. Each stage's exact median is computed here without sorting:
-- quantileExact(0.5)(x) is the upper middle value x[floor(n/2)] and
-- -quantileExact(0.5)(-x) the lower middle x[n - 1 - floor(n/2)]; their mean
-- is the median for an odd and an even count alike.
SELECT
    grp,
    bucket,
    arraySort(groupArrayIf(lead_seconds, has_start)) AS lead_samples,
    countIf(is_pr AND has_commit) AS coding_count,
    (quantileExactIf(0.5)(coding, is_pr AND has_commit) - quantileExactIf(0.5)(-coding, is_pr AND has_commit)) / 2 AS coding_median,
    countIf(is_pr AND reviewed) AS reviewed_count,
    (quantileExactIf(0.5)(pickup, is_pr AND reviewed) - quantileExactIf(0.5)(-pickup, is_pr AND reviewed)) / 2 AS pickup_median,
    (quantileExactIf(0.5)(review, is_pr AND reviewed) - quantileExactIf(0.5)(-review, is_pr AND reviewed)) / 2 AS review_median,
    countIf(is_pr) AS deploy_count,
    (quantileExactIf(0.5)(deploy, is_pr) - quantileExactIf(0.5)(-deploy, is_pr)) / 2 AS deploy_median
FROM
(
    SELECT
        if(path_service != '', path_service, if(catalog_service != '', catalog_service, repo)) AS service,
        if(catalog_team != '', catalog_team, 'unowned') AS team,
        multiIf(@group_by = 'team', team, @group_by = 'organization', '', service) AS grp,
        toYYYYMMDD(multiIf(
            @bucket = 'day', toDate(deployed_at, @tz),
            @bucket = 'week', toMonday(deployed_at, @tz),
            @bucket = 'month', toStartOfMonth(deployed_at, @tz),
            @bucket = 'quarter', toStartOfQuarter(deployed_at, @tz),
            toDate('1970-01-01'))) AS bucket,
        kind = 'pull_request' AS is_pr,
        toUnixTimestamp(started_at) > 0 AS has_start,
        start_is_created = 0 AND toUnixTimestamp(started_at) > 0 AS has_commit,
        toUnixTimestamp(first_review_at) > 0 AS reviewed,
        greatest(toInt64(toUnixTimestamp(deployed_at)) - toInt64(toUnixTimestamp(started_at)), toInt64(0)) AS lead_seconds,
        greatest(toInt64(toUnixTimestamp(opened_at)) - toInt64(toUnixTimestamp(started_at)), toInt64(0)) AS coding,
        greatest(toInt64(toUnixTimestamp(first_review_at)) - toInt64(toUnixTimestamp(opened_at)), toInt64(0)) AS pickup,
        greatest(toInt64(toUnixTimestamp(merged_at)) - toInt64(toUnixTimestamp(first_review_at)), toInt64(0)) AS review,
        greatest(toInt64(toUnixTimestamp(deployed_at)) - toInt64(toUnixTimestamp(merged_at)), toInt64(0)) AS deploy
    FROM change_leads FINAL
    ANY LEFT JOIN
    (
        SELECT key AS attribution_key, service AS catalog_service, team AS catalog_team
        FROM catalog_attribution
        WHERE version = @catalog
    ) AS catalog ON if(path_service != '', concat('s:', path_service), concat('r:', repo)) = attribution_key
    WHERE deleted = 0
      AND deployment_id != ''
      AND deployed_at >= @from
      AND deployed_at < @to
      AND (@environment = '' OR environment = @environment)
) AS c
WHERE (@any_service = 1 OR has(@only_services, service))
  AND (@any_team = 1 OR has(@only_teams, team))
GROUP BY grp, bucket
