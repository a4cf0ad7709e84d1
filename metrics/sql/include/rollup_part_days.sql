-- The day rollup rows a *_by_day.sql file reads for the part days at the
-- ends of the range, [@from, @days_from) and [@days_to, @to): each
-- repository's rows of its latest build in @tz on the calendar days those
-- parts touch (one day at each end, two when a range without a whole day
-- crosses a midnight or a zone skips one). The file keeps only the samples
-- whose own time lies in a part (in_part_days). A file names it as the
-- condition rollup_part_days, which metrics.SQL replaces.
(repo, version) IN (SELECT repo, max(version) FROM day_rollup_builds GROUP BY repo HAVING argMax(zone, version) = @tz)
AND ((@from < @days_from AND day >= toDate(@from, @tz) AND day <= toDate(@days_from - 1, @tz))
  OR (@days_to < @to AND day >= toDate(@days_to, @tz) AND day <= toDate(@to - 1, @tz)))
