-- Derived records, rewritten whole for a repository each time its facts
-- change. `version` is the derivation's time in nanoseconds; a record that a
-- newer derivation no longer produces is overwritten by a row with
-- deleted = 1. Read them with FINAL and `deleted = 0`.
--
-- The tables are partitioned by month of the time reports filter on, so a
-- quarter reads three partitions. ReplacingMergeTree collapses rows only
-- within a partition: when a record's time moves to another month, the
-- writer puts a tombstone in the old month as well.
--
-- path_service names the service within a monorepo (the catalog gives
-- services path prefixes of one repository); it is empty for a repository
-- of one service, whose service the catalog gives at query time.

CREATE TABLE IF NOT EXISTS deployment_outcomes (
    repo           String,
    path_service   String,
    deployment_id  String,
    origin         String,
    environment    String,
    sha            String,
    production     UInt8,
    finished_at    DateTime('UTC'),
    failed         UInt8,
    failure_cause  String,
    recovered_at   DateTime('UTC'),
    rework         String,
    changes        UInt32,
    deleted        UInt8,
    version        UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(finished_at)
ORDER BY (repo, deployment_id);

CREATE TABLE IF NOT EXISTS change_leads (
    repo              String,
    path_service      String,
    change_id         String,
    kind              String,
    title             String,
    author            String,
    labels            Array(String),
    paths             Array(String),
    started_at        DateTime('UTC'),
    start_is_created  UInt8,
    opened_at         DateTime('UTC'),
    first_review_at   DateTime('UTC'),
    merged_at         DateTime('UTC'),
    deployment_id     String,
    deployed_at       DateTime('UTC'),
    environment       String,
    toil              UInt8,
    toil_reason       String,
    active_seconds    UInt32,
    deleted           UInt8,
    version           UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(deployed_at)
ORDER BY (repo, change_id);

CREATE TABLE IF NOT EXISTS incident_links (
    source         String,
    path_service   String,
    incident_id    String,
    repo           String,
    title          String,
    created_at     DateTime('UTC'),
    resolved_at    DateTime('UTC'),
    deployment_id  String,
    link           String,
    deleted        UInt8,
    version        UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(created_at)
ORDER BY (source, incident_id);
