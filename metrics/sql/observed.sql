-- Observation start: per repository, the earliest moment doraflow has data
-- for it, as docs/metrics.md ("Observation start") defines it. The times
-- taken are those a delivery or an import reports as happening then: pushes,
-- deployment statuses, pull-request merges, CI runs and release
-- publications. Commit author times and pull-request creation times are not
-- taken: a push or a merge carries them from long before doraflow was
-- watching. observation_starts holds each insert's earliest such time per
-- repository (schema/migrations/0008_observation_starts.sql), so the
-- minimum here is the minimum over every stored fact of those kinds.
SELECT repo, min(since) AS since
FROM observation_starts
GROUP BY repo
ORDER BY repo
