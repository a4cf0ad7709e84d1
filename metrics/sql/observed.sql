-- Observation start: per repository, the earliest moment doraflow has data
-- for it, as docs/metrics.md ("Observation start") defines it. The times
-- taken are those a delivery or an import reports as happening then: pushes,
-- deployment statuses, pull-request merges, CI runs and release
-- publications. Commit author times and pull-request creation times are not
-- taken: a push or a merge carries them from long before doraflow was
-- watching.
SELECT repo, min(t) AS since
FROM
(
    SELECT repo, min(pushed_at) AS t FROM pushes WHERE toUnixTimestamp(pushed_at) > 0 GROUP BY repo
    UNION ALL
    SELECT repo, min(created_at) AS t FROM deployment_statuses WHERE toUnixTimestamp(created_at) > 0 GROUP BY repo
    UNION ALL
    SELECT repo, min(merged_at) AS t FROM pull_requests WHERE toUnixTimestamp(merged_at) > 0 GROUP BY repo
    UNION ALL
    SELECT repo, min(started_at) AS t FROM pipeline_runs WHERE toUnixTimestamp(started_at) > 0 GROUP BY repo
    UNION ALL
    SELECT repo, min(published_at) AS t FROM releases WHERE toUnixTimestamp(published_at) > 0 GROUP BY repo
) AS o
GROUP BY repo
ORDER BY repo
