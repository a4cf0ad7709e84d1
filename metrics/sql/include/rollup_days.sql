-- The day rollup rows a *_by_day.sql file reads for the whole days of the
-- range: each repository's rows of its latest build, when that build is
-- in @tz (schema/migrations/0006_day_rollups.sql), on the days from
-- @days_from up to @days_to (metrics/rollup.go binds them). A file names
-- it as the condition rollup_days_in_range, which metrics.SQL replaces.
(repo, version) IN (SELECT repo, max(version) FROM day_rollup_builds GROUP BY repo HAVING argMax(zone, version) = @tz)
AND day >= toDate(@days_from, @tz)
AND day < toDate(@days_to, @tz)
