-- Raw deliveries: the permanent archive. One row per (source, delivery id);
-- a redelivery replaces the row instead of adding one.
CREATE TABLE IF NOT EXISTS raw_deliveries (
    source       String,
    delivery_id  String,
    event        String,
    received_at  DateTime('UTC'),
    key          String,
    payload      String,
    archived_at  DateTime('UTC')
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(received_at)
ORDER BY (source, delivery_id);

-- Normalized facts. Each table is keyed by the entity's natural id, so a
-- replayed or redelivered event collapses onto the row it already wrote.
-- Entities that change over time carry `version` (the source's update time in
-- milliseconds) and the newest state wins. Pull requests and incidents keep
-- every state (version is part of their key), because hosts and incident
-- tools often send only part of it; the deriver folds the states together. Tables are not partitioned by a
-- time that could move, because ReplacingMergeTree only collapses rows
-- within one partition.

CREATE TABLE IF NOT EXISTS commits (
    repo          String,
    sha           String,
    message       String,
    author_name   String,
    author_email  String,
    author_login  String,
    authored_at   DateTime('UTC'),
    paths         Array(String)
) ENGINE = ReplacingMergeTree()
ORDER BY (repo, sha);

CREATE TABLE IF NOT EXISTS pushes (
    repo         String,
    ref          String,
    before_sha   String,
    after_sha    String,
    commit_shas  Array(String),
    total_commits UInt32,
    pushed_at    DateTime('UTC'),
    forced       UInt8,
    deleted      UInt8,
    pusher       String
) ENGINE = ReplacingMergeTree()
ORDER BY (repo, ref, after_sha, before_sha);

CREATE TABLE IF NOT EXISTS pull_requests (
    repo              String,
    number            Int64,
    title             String,
    author            String,
    labels            Array(String),
    head_ref          String,
    head_sha          String,
    base_ref          String,
    state             String,
    merged            UInt8,
    merge_commit_sha  String,
    created_at        DateTime('UTC'),
    merged_at         DateTime('UTC'),
    closed_at         DateTime('UTC'),
    updated_at        DateTime('UTC'),
    version           UInt64
) ENGINE = ReplacingMergeTree()
ORDER BY (repo, number, version);

CREATE TABLE IF NOT EXISTS reviews (
    repo          String,
    pr_number     Int64,
    review_id     Int64,
    state         String,
    author        String,
    submitted_at  DateTime('UTC')
) ENGINE = ReplacingMergeTree()
ORDER BY (repo, pr_number, review_id);

CREATE TABLE IF NOT EXISTS deployments (
    repo                    String,
    deployment_id           String,
    sha                     String,
    ref                     String,
    environment             String,
    production_environment  UInt8,
    task                    String,
    description             String,
    creator                 String,
    commit_shas             Array(String),
    created_at              DateTime('UTC'),
    updated_at              DateTime('UTC'),
    version                 UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (repo, deployment_id);

CREATE TABLE IF NOT EXISTS deployment_statuses (
    repo           String,
    deployment_id  String,
    status_id      String,
    state          String,
    environment    String,
    created_at     DateTime('UTC')
) ENGINE = ReplacingMergeTree()
ORDER BY (repo, deployment_id, status_id);

CREATE TABLE IF NOT EXISTS pipeline_runs (
    repo         String,
    run_id       String,
    attempt      Int64,
    name         String,
    path         String,
    head_branch  String,
    head_sha     String,
    event        String,
    status       String,
    conclusion   String,
    started_at   DateTime('UTC'),
    finished_at  DateTime('UTC'),
    updated_at   DateTime('UTC'),
    version      UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (repo, run_id, attempt);

CREATE TABLE IF NOT EXISTS releases (
    repo          String,
    release_id    String,
    tag           String,
    target        String,
    name          String,
    prerelease    UInt8,
    draft         UInt8,
    created_at    DateTime('UTC'),
    published_at  DateTime('UTC')
) ENGINE = ReplacingMergeTree()
ORDER BY (repo, release_id);

CREATE TABLE IF NOT EXISTS incidents (
    source                String,
    incident_id           String,
    repo                  String,
    service               String,
    title                 String,
    state                 String,
    severity              String,
    url                   String,
    labels                Array(String),
    created_at            DateTime('UTC'),
    resolved_at           DateTime('UTC'),
    updated_at            DateTime('UTC'),
    caused_by_deployment  String,
    caused_by_sha         String,
    version               UInt64
) ENGINE = ReplacingMergeTree()
ORDER BY (source, incident_id, version);
