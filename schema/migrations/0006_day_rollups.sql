-- Day rollups of the derived records, for reading a large organisation
-- fast (docs/performance.md). Each row sums one repository's (and monorepo
-- service's) records of one calendar day in the report zone, and keeps the
-- samples the exact quantiles need as arrays. The store rebuilds a
-- repository's rows from the derived tables, in one INSERT … SELECT per
-- table, every time it writes that repository's derived records
-- (store/rollup.go), numbered by when the rebuild starts.
--
-- day_rollup_builds records each rebuild: (zone, repo, version). A reader
-- takes a repository's rows of its latest build only, so rows left from
-- older builds (a day that has no records any more) are never counted, and
-- no FINAL is needed. The row with repo = '' marks a complete rebuild of
-- every repository in that zone; without it, or when a repository's latest
-- build is in another zone, the metrics read the derived tables instead.

CREATE TABLE IF NOT EXISTS change_days (
    repo           String,
    path_service   String,
    environment    String,
    day            Date,
    leads          Array(Int64),
    lead_skewed    UInt64,
    codings        Array(Int64),
    coding_skewed  UInt64,
    pickups        Array(Int64),
    pickup_skewed  UInt64,
    reviews        Array(Int64),
    review_skewed  UInt64,
    deploys        Array(Int64),
    deploy_skewed  UInt64,
    version        UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(day)
ORDER BY (repo, path_service, environment, day);

CREATE TABLE IF NOT EXISTS deployment_days (
    repo           String,
    path_service   String,
    environment    String,
    day            Date,
    deployments    UInt64,
    failed         UInt64,
    rework         UInt64,
    recoveries     Array(Int64),
    version        UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(day)
ORDER BY (repo, path_service, environment, day);

-- day is the merge day; gate is the earliest day the change's deployment
-- lets it count from (toil_share.sql counts a change merged in the range
-- only when it was not deployed before the range began).
CREATE TABLE IF NOT EXISTS toil_days (
    repo           String,
    path_service   String,
    day            Date,
    gate           Date,
    toil_seconds   UInt64,
    all_seconds    UInt64,
    toil_changes   UInt64,
    all_changes    UInt64,
    version        UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(day)
ORDER BY (repo, path_service, day, gate);

CREATE TABLE IF NOT EXISTS day_rollup_builds (
    zone     String,
    repo     String,
    version  UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY repo;
