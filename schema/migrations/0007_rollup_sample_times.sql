-- The time of every sample in the day rollups, so that the part days at
-- the ends of a range (the API's default "last 30 days up to now", any
-- range Grafana sends) are read from the rollups too, filtered to the
-- range, instead of from the derived records, whose part days cost a
-- FINAL scan of their whole month (docs/performance.md). Each *_at array
-- runs beside the array or count it dates, element by element: a change's
-- deployment time for its duration samples and its skewed samples (and
-- change_at holds every change's, so that a part day with a change but no
-- sample still answers, as the records do), a
-- deployment's finish time for its counts and its recovery, a change's
-- merge and deployment times (0 when undeployed) for the toil share.
--
-- Rows built before these columns have empty arrays, which would read as
-- no samples. So a build records its format (store/rollup.go); the
-- metrics read the rollups only when every repository's latest build has
-- the current format, and the store rebuilds the older ones when it
-- starts. Plain ADD COLUMN runs on 18.16 and current releases; the store
-- ignores the duplicate-column error of a second run.
ALTER TABLE change_days ADD COLUMN change_at Array(DateTime('UTC'));
ALTER TABLE change_days ADD COLUMN lead_at Array(DateTime('UTC'));
ALTER TABLE change_days ADD COLUMN lead_skewed_at Array(DateTime('UTC'));
ALTER TABLE change_days ADD COLUMN coding_at Array(DateTime('UTC'));
ALTER TABLE change_days ADD COLUMN coding_skewed_at Array(DateTime('UTC'));
ALTER TABLE change_days ADD COLUMN pickup_at Array(DateTime('UTC'));
ALTER TABLE change_days ADD COLUMN pickup_skewed_at Array(DateTime('UTC'));
ALTER TABLE change_days ADD COLUMN review_at Array(DateTime('UTC'));
ALTER TABLE change_days ADD COLUMN review_skewed_at Array(DateTime('UTC'));
ALTER TABLE change_days ADD COLUMN deploy_at Array(DateTime('UTC'));
ALTER TABLE change_days ADD COLUMN deploy_skewed_at Array(DateTime('UTC'));
ALTER TABLE deployment_days ADD COLUMN finished_at Array(DateTime('UTC'));
ALTER TABLE deployment_days ADD COLUMN failed_at Array(DateTime('UTC'));
ALTER TABLE deployment_days ADD COLUMN rework_at Array(DateTime('UTC'));
ALTER TABLE deployment_days ADD COLUMN recovery_at Array(DateTime('UTC'));
ALTER TABLE toil_days ADD COLUMN merged_at Array(DateTime('UTC'));
ALTER TABLE toil_days ADD COLUMN deployed_at Array(DateTime('UTC'));
ALTER TABLE toil_days ADD COLUMN change_seconds Array(UInt64);
ALTER TABLE toil_days ADD COLUMN change_toil Array(UInt8);
ALTER TABLE day_rollup_builds ADD COLUMN format UInt8 DEFAULT 0;
