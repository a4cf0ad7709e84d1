-- Whether the instant t of a rollup sample lies in a part day at the ends
-- of the range, [@from, @days_from) or [@days_to, @to); t is the lambda
-- parameter of the arrayFilter or arrayMap that names it. A file writes it
-- as in_part_days(t), which metrics.SQL replaces.
(@from < @days_from AND t >= @from AND t < @days_from) OR (@days_to < @to AND t >= @days_to AND t < @to)
