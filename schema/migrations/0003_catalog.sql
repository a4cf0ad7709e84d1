-- The catalog's attribution, for the metric queries to join instead of
-- carrying the whole catalog in their text (a catalog of thousands of
-- services overflows max_query_size).
--
-- One set of rows per version of the catalog. `key` is "r:<repository>"
-- (service: the service that lists the repository, empty when none does;
-- team: that service's team) or "s:<service>" (team: the service's team),
-- for the services of monorepos. A key without a row is a repository of its
-- own, team 'unowned'. `version` is a hash of the rows, so every process
-- holding the same catalog writes the same version, and a query that names
-- a version reads one consistent catalog whatever another process writes
-- meanwhile. Equal versions are equal content, so rows written twice are
-- alike (ReplacingMergeTree folds them). written_at is refreshed while a
-- process uses the version; versions unused for days are deleted.

CREATE TABLE IF NOT EXISTS catalog_attribution (
    version     UInt64,
    key         String,
    service     String,
    team        String,
    written_at  DateTime('UTC')
) ENGINE = ReplacingMergeTree(written_at)
ORDER BY (version, key);
