-- Observation starts kept as the facts arrive. Every summary and series
-- says from when doraflow has data for each group (docs/metrics.md,
-- "Observation start"): per repository, the earliest push, deployment
-- status, pull-request merge, CI run start or release publication. Read
-- from the facts tables, that is a scan of five time columns of every
-- fact ever stored, on every request: with a few million facts it costs
-- more than the summary's own queries (docs/performance.md).
--
-- Here each insert into those tables also inserts, per repository, the
-- earliest time of its rows (materialized views), and the table keeps per
-- repository the row with the earliest time once its parts merge
-- (ReplacingMergeTree on rank, which is larger for an earlier time).
-- Readers take min(since) per repository, right before and after merges:
-- the same minimum over the same rows as the scan, duplicates included.
-- Facts are never deleted, so the minimum never has to go back up.
CREATE TABLE IF NOT EXISTS observation_starts (
    repo  String,
    since DateTime('UTC'),
    rank  UInt32
) ENGINE = ReplacingMergeTree(rank)
ORDER BY repo;

CREATE MATERIALIZED VIEW IF NOT EXISTS observation_starts_pushes TO observation_starts AS
SELECT repo, min(pushed_at) AS since, toUInt32(4294967295 - toUnixTimestamp(min(pushed_at))) AS rank
FROM pushes WHERE toUnixTimestamp(pushed_at) > 0 GROUP BY repo;

CREATE MATERIALIZED VIEW IF NOT EXISTS observation_starts_deployment_statuses TO observation_starts AS
SELECT repo, min(created_at) AS since, toUInt32(4294967295 - toUnixTimestamp(min(created_at))) AS rank
FROM deployment_statuses WHERE toUnixTimestamp(created_at) > 0 GROUP BY repo;

CREATE MATERIALIZED VIEW IF NOT EXISTS observation_starts_pull_requests TO observation_starts AS
SELECT repo, min(merged_at) AS since, toUInt32(4294967295 - toUnixTimestamp(min(merged_at))) AS rank
FROM pull_requests WHERE toUnixTimestamp(merged_at) > 0 GROUP BY repo;

CREATE MATERIALIZED VIEW IF NOT EXISTS observation_starts_pipeline_runs TO observation_starts AS
SELECT repo, min(started_at) AS since, toUInt32(4294967295 - toUnixTimestamp(min(started_at))) AS rank
FROM pipeline_runs WHERE toUnixTimestamp(started_at) > 0 GROUP BY repo;

CREATE MATERIALIZED VIEW IF NOT EXISTS observation_starts_releases TO observation_starts AS
SELECT repo, min(published_at) AS since, toUInt32(4294967295 - toUnixTimestamp(min(published_at))) AS rank
FROM releases WHERE toUnixTimestamp(published_at) > 0 GROUP BY repo;

-- The facts stored before the views existed. The views are created
-- first, so a fact inserted meanwhile is counted by a view, by this
-- statement, or by both, which changes no minimum.
INSERT INTO observation_starts (repo, since, rank)
SELECT repo, min(t) AS since, toUInt32(4294967295 - toUnixTimestamp(min(t))) AS rank
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
GROUP BY repo;
