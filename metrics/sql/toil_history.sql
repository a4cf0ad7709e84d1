-- The start of the collected history: the earliest author time of any stored
-- commit, and how many commits there are. New contributors are counted from
-- history_start plus the configured grace (see toil_onboarding.sql).
SELECT min(authored_at) AS history_start, count() AS commits
FROM commits
WHERE toUnixTimestamp(authored_at) > 0
