-- Changes that reached production: lead time for changes and the
-- pull-request stages, in one pass. Definitions: docs/metrics.md ("Lead time
-- for changes", the stage table, and skewed samples).
--
-- Counted: changes whose deployment finished in [@from, @to) and, when an
-- environment is asked for, went to production in that environment (any
-- case). Negative values are left out of their median and returned as the
-- *_skewed counts. The durations and which of them count (*_counted,
-- *_skew) are stated once, in store/rollup.go (ChangeSamples), which the
-- engine writes in where the inner SELECT names them; the day rollups are
-- built from the same statement.
--
-- Every quantile is exact and computed here, so no sample leaves the
-- server: the p-quantile of n sorted values is
-- x[k] + f * (x[k+1] - x[k]) with h = (n - 1) * p, k = floor(h) (zero-based)
-- and f = h - k, so the median of an even count is the mean of the two middle
-- values. ClickHouse's quantileExact(l) is not that: it returns the single
-- value x[floor(l * n)] (the upper middle for a median). Two uses of it give
-- the neighbours needed:
--
-- * Medians: quantilesExact(0.49999999999, 0.5)(x) returns, from one partial
--   sort, x[floor(0.49999999999 n)], which is the lower middle
--   x[n - 1 - floor(n/2)] for any count below 10^10, and the upper middle
--   x[floor(n/2)]; their mean (arrayReduce('sum', …) / 2) is the median for
--   an odd and an even count alike.
-- * p75 and p90 of lead time: padding the samples with c values below all
--   of them shifts the index quantileExact(l) picks to floor(l * (n + c)) - c,
--   which is floor(l * (n - 1)) = k when c = l / (1 - l) (3 for p75, 9 for
--   p90); moving one of those c values above all samples picks k + 1. Lead
--   times here are never negative, so -1 pads below and the largest Int64
--   above; k + 1 is a sample whenever f > 0, the only time it is used.
--   l * (n + c) is exact for 0.75, and for 0.9 the double just above 0.9 keeps
--   the floor right for any count below 10^15.
--
--   Two partial sorts (quantileExact) cost 18.16 less than one arraySort.
--
-- The interpolation is written as the Go reference (metrics.Quantile) does
-- it, x[k] + (100 f) * (x[k+1] - x[k]) / 100 with the integer
-- 100 f = (n - 1) * 100 p mod 100, so both give the same double;
-- greatest(n, 1) keeps a group without samples (whose quantiles the caller
-- drops) from wrapping round.
SELECT
    grp,
    bucket,
    countIf(lead_counted) AS lead_count,
    arrayReduce('sum', quantilesExactIf(0.49999999999, 0.5)(lead_seconds, lead_counted)) / 2 AS lead_median,
    (arrayReduce('quantileExact(0.75)', arrayConcat([toInt64(-1), toInt64(-1), toInt64(-1)], groupArrayIf(lead_seconds, lead_counted) AS leads)) AS p75_below)
        + (greatest(lead_count, 1) - 1) * 75 % 100
        * (arrayReduce('quantileExact(0.75)', arrayConcat([toInt64(-1), toInt64(-1)], leads, [toInt64(9223372036854775807)])) - p75_below) / 100 AS lead_p75,
    (arrayReduce('quantileExact(0.9)', arrayConcat(arrayResize([toInt64(-1)], 9), leads)) AS p90_below)
        + (greatest(lead_count, 1) - 1) * 90 % 100
        * (arrayReduce('quantileExact(0.9)', arrayConcat(arrayResize([toInt64(-1)], 8), leads, [toInt64(9223372036854775807)])) - p90_below) / 100 AS lead_p90,
    countIf(lead_skew) AS lead_skewed,
    countIf(coding_counted) AS coding_count,
    arrayReduce('sum', quantilesExactIf(0.49999999999, 0.5)(coding, coding_counted)) / 2 AS coding_median,
    countIf(coding_skew) AS coding_skewed,
    countIf(pickup_counted) AS pickup_count,
    arrayReduce('sum', quantilesExactIf(0.49999999999, 0.5)(pickup, pickup_counted)) / 2 AS pickup_median,
    countIf(pickup_skew) AS pickup_skewed,
    countIf(review_counted) AS review_count,
    arrayReduce('sum', quantilesExactIf(0.49999999999, 0.5)(review, review_counted)) / 2 AS review_median,
    countIf(review_skew) AS review_skewed,
    countIf(deploy_counted) AS deploy_count,
    arrayReduce('sum', quantilesExactIf(0.49999999999, 0.5)(deploy, deploy_counted)) / 2 AS deploy_median,
    countIf(deploy_skew) AS deploy_skewed
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
        change_samples
    FROM change_leads FINAL
    ANY LEFT JOIN catalog_at_version AS catalog ON if(path_service != '', concat('s:', path_service), concat('r:', repo)) = attribution_key
    WHERE deleted = 0
      AND deployment_id != ''
      AND deployed_at >= @from
      AND deployed_at < @to
      AND (@environment = '' OR lower(environment) = lower(@environment))
) AS c
WHERE (@any_service = 1 OR has(@only_services, service))
  AND (@any_team = 1 OR has(@only_teams, team))
GROUP BY grp, bucket
